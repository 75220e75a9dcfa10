"""A green self-check is full marks in `crosscheck grade` with the same options, and full marks is a green
self-check: one runner decides for both.  A set of files in every style — correct ones, ones with a mistake on one
probe only, ones a probe cannot be asked of — each through `compare --impl` and `grade`."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LECTURE = (EXAMPLES / "my_backprop.py").read_text()
DEEP = (EXAMPLES / "dls_deep_nn.py").read_text()

WRITTEN = {  # a file of this test's, in a course's conventions: (source, what the probes should make of it)
    "two_layers_only.py": LECTURE.replace("    m, L = X.shape[0], len(params)\n",
                                          "    (W1, b1), (W2, b2) = params\n    m, L = X.shape[0], len(params)\n"),
    "wrong_l2.py": LECTURE.replace('def backprop(X, Y, params, activation="relu"):',
                                   'def backprop(X, Y, params, activation="relu", lambd=0.0):').replace(
        '    out["J"] = -np.sum(Y * np.log(A)) / m\n',
        '    out["J"] = -np.sum(Y * np.log(A)) / m + lambd * sum(np.sum(W * W) for W, _ in params)\n').replace(
        '        out[f"dW{l}"] = A_prev.T @ dZ / m\n', '        out[f"dW{l}"] = A_prev.T @ dZ / m + lambd * W\n'),
    "breaks_at_three.py": DEEP.replace(
        'linear_activation_backward(grads["dA" + str(l + 1)], caches[l], "relu", lambd)',
        'linear_activation_backward(grads["dA" + str(L - 1)], caches[l], "relu", lambd)'),
}

# (file, options, green?): what the self-check says, worked out from the file (a correct one passes everything it
# can be asked; wrong_l2 fails only l2, breaks_at_three only deeper, cs231n_fc_net_wrong only l2)
CASES = [
    ("my_backprop.py", [], True),
    ("wrong_backprop.py", [], False),
    ("two_layers_only.py", [], True),
    ("wrong_l2.py", [], False),
    ("columns_backprop.py", ["--layout", "columns"], True),
    ("columns_backprop_wrong.py", ["--layout", "columns"], False),
    ("homework.ipynb", [], True),
    ("homework_wrong.ipynb", [], False),
    ("dls_deep_nn.py", ["--style", "dls"], True),
    ("dls_deep_nn_2017.py", ["--style", "dls"], True),
    ("dls_deep_nn_wrong.py", ["--style", "dls"], False),
    ("breaks_at_three.py", ["--style", "dls"], False),
    ("dls_planar.py", ["--style", "dls"], True),
    ("dls_regularization.py", ["--style", "dls"], True),
    ("dls_regularization.py", ["--style", "dls", "--keep-prob", "0.86"], True),
    ("cs231n_fc_net.py", ["--style", "cs231n"], True),
    ("cs231n_fc_net.py", ["--style", "cs231n", "--entry", "TwoLayerNet"], True),
    ("cs231n_fc_net_wrong.py", ["--style", "cs231n"], False),
    ("cs231n_two_layer_net.py", ["--style", "cs231n"], True),
    ("cs231n_two_layer_net.py", ["--style", "cs231n", "--l2-convention", "weight-decay"], False),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    for name, source in WRITTEN.items():
        (folder / name).write_text(source)
    return folder


@pytest.mark.parametrize("name, flags, green", CASES,
                         ids=[f"{name}{''.join(flags).replace('--', ' ')}" for name, flags, _ in CASES])
def test_a_green_self_check_is_full_marks_and_full_marks_a_green_self_check(name, flags, green, folder, cli):
    pytest.importorskip("nbformat") if name.endswith(".ipynb") else None
    path = folder / name if name in WRITTEN else EXAMPLES / name
    code, out, err = cli("compare", "--frameworks", "none", "--impl", str(path), *flags)
    assert code in (0, 1), err
    code_grade, graded, err = cli("grade", str(path), *flags, "--json")
    row = json.loads(graded)["submissions"][0]
    assert (code == 0) is green, out                                   # the self-check, as worked out above
    assert (row["score"] == row["max_score"]) is green, row            # the grade agrees with it, both ways
    assert (code_grade == 0) is green
