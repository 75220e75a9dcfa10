"""Course styles: each is one module holding everything the style means (crosscheck/student/styles), so a fourth
course is one new file — tests/styles/lists.py is one, registered here and run through the one runner, in the
worker process (which loads it by path) and in this process."""
import inspect
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from crosscheck.engine.problem import Spec
from crosscheck.reference.trace import computed_names
from crosscheck.student import styles
from crosscheck.student.runner import Runner

HERE = Path(__file__).resolve().parent
CALLABLES = ("default_layers", "gradable", "looks_like", "owns", "needs", "describe", "call")


@pytest.fixture
def lists_style():
    """The fourth style, registered for one test and then forgotten."""
    module = styles.register(str(HERE / "styles" / "lists.py"))
    yield module
    styles.STYLES.pop(module.NAME)


def check_style(module):
    missing = [name for name in styles.REQUIRED if not hasattr(module, name)]
    assert not missing, f"style {getattr(module, 'NAME', module)} lacks {missing}"
    assert module.LAYOUT in (None, "rows", "columns")
    assert module.LOSSES is None or set(module.LOSSES) <= {"softmax-ce", "sigmoid-bce", "mse"}
    for name in CALLABLES:
        assert callable(getattr(module, name)), f"{module.NAME}.{name} is not callable"
    assert list(inspect.signature(module.call).parameters) == ["namespace", "function", "options", "arrays"]
    names = computed_names(2)
    assert set(module.gradable(names, 2)) <= set(names) and {"dW1", "db1", "dW2", "db2"} <= set(module.gradable(names, 2))
    layers = module.default_layers(3)
    assert layers is None or len(layers) == 4


@pytest.mark.parametrize("name", list(styles.STYLES))
def test_every_style_defines_what_a_style_must(name):
    check_style(styles.get(name))


def test_the_worker_can_load_the_styles_without_crosscheck():
    """Styles run in the worker, which imports the standard library and NumPy only."""
    for path in (Path(styles.__file__).parent).glob("*.py"):
        imports = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
        outside = [line for line in imports if not line.startswith(("from .", "import numpy", "import re",
                                                                     "import inspect", "import importlib", "import os",
                                                                     "import ast", "import textwrap"))]
        assert not outside, f"{path.name} imports {outside}"


LISTS_CODE = textwrap.dedent('''
    import numpy as np


    def forward(X, weights, biases):
        zs, activations, A = [], [], X
        for l, (W, b) in enumerate(zip(weights, biases), start=1):
            Z = A @ W + b
            if l < len(weights):
                A = np.maximum(Z, 0)
            else:
                E = np.exp(Z - Z.max(axis=1, keepdims=True))
                A = E / E.sum(axis=1, keepdims=True)
            zs.append(Z)
            activations.append(A)
        return zs, activations


    def backward(X, Y, weights, biases):
        zs, activations = forward(X, weights, biases)
        m = X.shape[0]
        loss = -np.sum(Y * np.log(activations[-1])) / m
        dweights, dbiases = [None] * len(weights), [None] * len(weights)
        dZ = activations[-1] - Y
        for l in range(len(weights) - 1, -1, -1):
            A_prev = X if l == 0 else activations[l - 1]
            dweights[l] = A_prev.T @ dZ / m
            dbiases[l] = dZ.sum(axis=0) / m
            if l > 0:
                dZ = (dZ @ weights[l].T) * (zs[l - 1] > 0)
        return loss, dweights, dbiases
''')


@pytest.mark.parametrize("where", ["worker", "here"])
def test_a_fourth_style_is_one_file(lists_style, tmp_path, where):
    check_style(lists_style)
    path = tmp_path / "scratch.py"
    path.write_text(LISTS_CODE)
    runner = Runner("lists", Spec(layers=(2, 4, 3)))
    if where == "worker":
        run = runner.run(str(path))
    else:
        namespace = {}
        exec(compile(LISTS_CODE, "scratch.py", "exec"), namespace)
        run = runner.run(types.SimpleNamespace(forward=namespace["forward"], backward=namespace["backward"]))
    assert run.ok and run.error is None, run.error
    assert [r.status for r in run.results] == ["ok"] * len(run.results) and "deeper" in [r.probe.name for r in run.results]
    provided = run.results[0].outcome.provided
    assert provided == 4 + 1 + 4  # Z1 A1 Z2 A2, J, dW1 db1 dW2 db2: dZ and dA are not in this style's API

    wrong = tmp_path / "wrong.py"
    wrong.write_text(LISTS_CODE.replace("dweights[l] = A_prev.T @ dZ / m", "dweights[l] = A_prev.T @ dZ"))
    run = runner.run(str(wrong))
    first = run.headline.first
    assert not run.ok and first.tensor == "dW2" and "the 1/m is missing" in first.hint
    assert np.isclose(first.max_rel, 299.0)  # m = 300 times the lecture's dW2: (300 − 1) · max|dW2| off
