"""docs/lecture-bridge.md cannot drift: its code is the real code, its example runs, its defaults are the
frameworks' real defaults."""
import contextlib
import inspect
import io
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "lecture-bridge.md").read_text()
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
# the files each column of the line-by-line table may quote
COLUMN_FILES = {
    1: sorted((ROOT / "reference").glob("*.py")),
    2: sorted((ROOT / "adapters" / "torch").glob("*.py")),
    3: sorted((ROOT / "adapters" / "keras").glob("*.py")) + [ROOT / "adapters" / "tensorflow" / "train.py"],
}
COLUMN_NAMES = {1: "reference", 2: "PyTorch", 3: "Keras"}


def blocks(language=None):
    return [(lang, body) for lang, body in BLOCK.findall(DOC) if language in (None, lang)]


def section(title):
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end > 0 else None]


def table_rows(text):
    """The body rows of the first Markdown table in text, as lists of cells (the bar inside `…` kept)."""
    rows = [line for line in text.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|(?=(?:[^`]*`[^`]*`)*[^`]*$)", row)[1:-1]] for row in rows]


# ---- code pulled from the real code ------------------------------------------------------------------

LINE_BY_LINE = table_rows(section("The lecture, line by line"))


@pytest.mark.parametrize("row", LINE_BY_LINE, ids=[re.sub(r"[^A-Za-z0-9_\[\]=+/-]", "", row[0]) for row in LINE_BY_LINE])
def test_every_code_span_of_the_line_by_line_table_is_in_the_real_code(row):
    for column, files in COLUMN_FILES.items():
        source = "\n".join(path.read_text() for path in files)
        for span in re.findall(r"`([^`]+)`", row[column]):
            assert span in source, f"{COLUMN_NAMES[column]} column of {row[0]}: `{span}` is not in {[p.name for p in files]}"


def test_the_table_covers_every_formula_of_the_lecture():
    formulas = " ".join(row[0] for row in LINE_BY_LINE)
    for formula in ("Z[l] = A[l-1] W[l] + b[l]", "softmax", "dZ[L] = A[L] − Y", "dW[l]", "db[l]", "dA[l-1]",
                    "1[Z[l] > 0]", "W ← W − α dW",
                    # the next lecture: dropout, batch norm, schedules, clipping, early stopping
                    "Adrop[l] = A[l] ⊙ D[l] / keep_prob", "dA[l] = dAdrop[l] ⊙ D[l] / keep_prob", "Zhat[l] =",
                    "Ztilde[l] = γ[l] Zhat[l] + β[l]", "μ_run ← β μ_run", "dγ[l]", "dβ[l]", "α_e", "clipping",
                    "early stopping"):
        assert formula in formulas, formula


FROM_BLOCKS = [(body.split("\n", 1)[0][len("# from "):], body.split("\n", 1)[1]) for _, body in blocks("python")
               if body.startswith("# from ")]


@pytest.mark.parametrize("path, code", FROM_BLOCKS, ids=[f"{path}#{i}" for i, (path, _) in enumerate(FROM_BLOCKS)])
def test_every_from_block_is_verbatim_in_its_file(path, code):
    assert code.rstrip("\n") in (ROOT / path).read_text(), f"the block marked '# from {path}' is no longer in {path}"


RUNNABLE = [body for _, body in blocks("python") if body.startswith("# run\n")]
SHOWN = [body for _, body in blocks("text")]


def test_every_example_is_followed_by_what_it_prints():
    assert len(RUNNABLE) == 2 and len(SHOWN) >= len(RUNNABLE)
    for code, shown in zip(RUNNABLE, SHOWN):
        assert DOC.index(code) < DOC.index(shown)


@pytest.mark.parametrize("index", range(len(RUNNABLE)), ids=["spiral-torch", "digits-keras"][:len(RUNNABLE)])
def test_the_example_runs_and_prints_what_the_page_shows(index):
    code = RUNNABLE[index]
    for framework in re.findall(r"from crosscheck\.adapters\.(\w+)", code):  # the frameworks it trains in, and the data's reader
        pytest.importorskip(framework)
    if "load_dataset" in code:
        pytest.importorskip("sklearn")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/lecture-bridge.md", "exec"), {})
    assert out.getvalue() == SHOWN[index]


# ---- the convention table against the frameworks themselves -----------------------------------------

CONVENTIONS = section("The conventions, and where the frameworks part ways")


def defaults(callable_):
    return {name: p.default for name, p in inspect.signature(callable_).parameters.items()}


def assert_stated(*texts):
    __tracebackhide__ = True
    for text in texts:
        assert text in CONVENTIONS, f"the convention table should say {text} (the framework's real default)"


def assert_reference_defaults(convention, **expected):
    """reference.optim's defaults for a framework's convention are that framework's own defaults."""
    __tracebackhide__ = True
    from crosscheck.reference.optim import RULES
    for optimizer, values in expected.items():
        ours = RULES[optimizer, convention][1]
        for name, value in values.items():
            assert ours[name] == value, (f"reference.optim {optimizer} ({convention}) {name} = {ours[name]}, the "
                                         f"framework's is {value}")


@pytest.mark.torch
def test_torch_defaults_are_the_ones_stated():
    torch = pytest.importorskip("torch")
    sgd, adam, rms, adamw = (defaults(c) for c in (torch.optim.SGD, torch.optim.Adam, torch.optim.RMSprop,
                                                    torch.optim.AdamW))
    assert_stated(f"`SGD(lr={sgd['lr']!r})`", f"`momentum={sgd['momentum']!r}`", f"`eps={adam['eps']!r}`",
                  f"`betas={adam['betas']!r}`", f"`alpha={rms['alpha']!r}`", f"`weight_decay={adamw['weight_decay']!r}`")
    assert rms["eps"] == adam["eps"]
    assert_reference_defaults("torch", adam=dict(beta1=adam["betas"][0], beta2=adam["betas"][1], eps=adam["eps"]),
                              adamw=dict(weight_decay=adamw["weight_decay"], eps=adamw["eps"]),
                              rmsprop=dict(rho=rms["alpha"], eps=rms["eps"]))
    with torch.random.fork_rng():  # U(−1/√n_in, 1/√n_in) for weight and bias; seeded, and 400 biases: no luck
        torch.manual_seed(0)
        layer = torch.nn.Linear(50, 400)
    for value in (layer.weight, layer.bias):
        assert value.abs().max().item() <= 1 / np.sqrt(50) and value.abs().max().item() > 0.5 / np.sqrt(50)


@pytest.mark.keras
def test_keras_defaults_are_the_ones_stated():
    keras = pytest.importorskip("keras")
    sgd, adam, rms, adamw = (defaults(c) for c in (keras.optimizers.SGD, keras.optimizers.Adam,
                                                    keras.optimizers.RMSprop, keras.optimizers.AdamW))
    dense, cce = defaults(keras.layers.Dense), defaults(keras.losses.CategoricalCrossentropy)
    assert_stated(f"`SGD(learning_rate={sgd['learning_rate']!r})`", f"`momentum={sgd['momentum']!r}`",
                  f"`epsilon={adam['epsilon']!r}`", f"`beta_1={adam['beta_1']!r}`", f"`beta_2={adam['beta_2']!r}`",
                  f"`rho={rms['rho']!r}`", f"`AdamW(weight_decay={adamw['weight_decay']!r})`",
                  f"`from_logits={cce['from_logits']!r}`", f"`epsilon()={keras.config.epsilon()!r}`",
                  f"`{dense['kernel_initializer']}`", f"`{dense['bias_initializer']}`")
    assert rms["epsilon"] == adam["epsilon"]
    assert_reference_defaults("keras", adam=dict(beta1=adam["beta_1"], beta2=adam["beta_2"], eps=adam["epsilon"]),
                              adamw=dict(weight_decay=adamw["weight_decay"], eps=adamw["epsilon"]),
                              rmsprop=dict(rho=rms["rho"], eps=rms["epsilon"]))


@pytest.mark.keras
def test_keras_cross_entropy_on_probabilities_clips_and_on_logits_does_not():
    keras = pytest.importorskip("keras")
    Y = np.array([[1.0, 0.0]])
    P = np.array([[1e-12, 1 - 1e-12]])
    on_probabilities = float(keras.losses.CategoricalCrossentropy()(Y, P))
    assert on_probabilities == pytest.approx(-np.log(keras.config.epsilon()), rel=1e-5)  # not −log(1e-12) = 27.6
    Z = np.array([[0.0, 30.0]])
    on_logits = float(keras.losses.CategoricalCrossentropy(from_logits=True)(Y, Z))
    assert on_logits == pytest.approx(30.0, rel=1e-6)                                     # −log softmax(Z)[0]


@pytest.mark.jax
def test_optax_defaults_are_the_ones_stated():
    optax = pytest.importorskip("optax")
    adam, rms, adamw = defaults(optax.adam), defaults(optax.rmsprop), defaults(optax.adamw)
    assert_reference_defaults("optax", adam=dict(beta1=adam["b1"], beta2=adam["b2"], eps=adam["eps"]),
                              adamw=dict(weight_decay=adamw["weight_decay"], eps=adamw["eps"]),
                              rmsprop=dict(rho=rms["decay"], eps=rms["eps"]))
    assert_stated(f"`optax.adamw`, `weight_decay={adamw['weight_decay']!r}` by default",
                  f"`eps={adam['eps']!r}` outside √v̂, `eps_root={adam['eps_root']!r}` inside",
                  f"`decay={rms['decay']!r}`, `eps={rms['eps']!r}`, `eps_in_sqrt={rms['eps_in_sqrt']!r}`")


def test_the_references_conventions_are_the_ones_stated():
    from crosscheck.reference.optim import RULES
    assert RULES["adam", "torch"][1]["eps"] == 1e-8 and RULES["adam", "keras"][1]["eps"] == 1e-7
    assert RULES["rmsprop", "torch"][1]["rho"] == 0.99 and RULES["rmsprop", "keras"][1]["rho"] == 0.9
    assert RULES["rmsprop", "optax"][1] == {"rho": 0.9, "eps": 1e-8}
    assert [RULES["adamw", c][1]["weight_decay"] for c in ("torch", "keras", "optax")] == [0.01, 0.004, 1e-4]
    assert_stated("keras `c = 2λ`, course `c = λ/m`, weight-decay `c = λ`")


@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_relu_derivative_at_zero_is_zero_everywhere(framework):
    Z = np.array([-1.0, 0.0, 2.0])
    if framework == "torch":
        torch = pytest.importorskip("torch")
        z = torch.tensor(Z, requires_grad=True)
        torch.relu(z).sum().backward()
        slope = z.grad.numpy()
    elif framework == "tensorflow":
        tf = pytest.importorskip("tensorflow")
        z = tf.Variable(Z)
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(tf.nn.relu(z))
        slope = tape.gradient(total, z).numpy()
    else:
        jax = pytest.importorskip("jax")
        slope = np.asarray(jax.grad(lambda z: jax.nn.relu(z).sum())(jax.numpy.asarray(Z)))
    np.testing.assert_array_equal(slope, [0.0, 0.0, 1.0])
    assert_stated("| **ReLU'(0)** | 0 (`Z > 0`) | 0 | 0 | 0 |")


@pytest.mark.tensorflow
def test_tensorflows_leaky_relu_keeps_its_slope_in_float32_as_stated():
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    Z = tf.constant([-1.0], dtype=tf.float64)
    for leaky in (tf.nn.leaky_relu(Z, alpha=0.1), keras.layers.LeakyReLU(negative_slope=0.1, dtype="float64")(Z)):
        assert float(leaky[0]) == -float(np.float32(0.1)) != -0.1
    assert_stated("`tf.nn.leaky_relu` and `keras.layers.LeakyReLU` keep their slope as a float32 attribute")


# ---- the next lecture's layers: the frameworks' own dropout and batch norm, as the page states them -------------

@pytest.mark.torch
def test_torch_dropout_and_batch_norm_defaults_and_conventions_are_the_ones_stated():
    torch = pytest.importorskip("torch")
    dropout, norm = defaults(torch.nn.Dropout), defaults(torch.nn.BatchNorm1d)
    assert_stated(f"`nn.Dropout(p={dropout['p']!r})`", f"`momentum={norm['momentum']!r}`", f"`eps={norm['eps']!r}`")
    A = torch.rand(400, 50, dtype=torch.float64) + 0.5
    layer = torch.nn.Dropout(p=0.25)
    dropped = layer.train()(A)
    kept = dropped != 0
    assert torch.allclose(dropped[kept], A[kept] / 0.75) and 0.6 < kept.double().mean() < 0.9  # inverted: ÷ keep_prob
    assert torch.equal(layer.eval()(A), A)                                                     # identity at inference
    Z = torch.randn(10, 3, dtype=torch.float64)
    bn = torch.nn.BatchNorm1d(3, momentum=1.0, dtype=torch.float64).train()
    out = bn(Z)
    assert torch.allclose(bn.running_var, Z.var(dim=0, unbiased=True))             # the running average: unbiased …
    assert torch.allclose(out, (Z - Z.mean(0)) / torch.sqrt(Z.var(0, unbiased=False) + 1e-5))  # … the normalizing: biased


@pytest.mark.keras
def test_keras_dropout_batch_norm_and_early_stopping_are_the_ones_stated():
    keras = pytest.importorskip("keras")
    norm, stopping = defaults(keras.layers.BatchNormalization), defaults(keras.callbacks.EarlyStopping)
    assert_stated(f"`momentum={norm['momentum']!r}`", f"`epsilon={norm['epsilon']!r}`",
                  f"`min_delta={stopping['min_delta']!r}`", f"`restore_best_weights={stopping['restore_best_weights']!r}`",
                  "`keras.layers.Dropout(rate)` (no default)")
    assert defaults(keras.layers.Dropout)["rate"] is inspect.Parameter.empty
    A = np.random.default_rng(0).random((400, 50)) + 0.5
    layer = keras.layers.Dropout(0.25, seed=0, dtype="float64")
    dropped = np.asarray(layer(A, training=True))
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], A[kept] / 0.75, rtol=1e-6)       # the same scaling as torch's
    np.testing.assert_array_equal(np.asarray(layer(A, training=False)), A)      # identity at inference
    Z = np.random.default_rng(1).standard_normal((10, 3))
    bn = keras.layers.BatchNormalization(momentum=0.0, dtype="float64")
    bn(Z, training=True)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), Z.var(axis=0), rtol=1e-12)   # the biased variance


@pytest.mark.keras
def test_keras_global_clipnorm_is_the_global_norm_and_clipnorm_each_tensor():
    keras = pytest.importorskip("keras")
    grads = [np.array([6.0]), np.array([8.0])]
    variables = [keras.Variable(np.zeros(1)), keras.Variable(np.zeros(1))]
    for option, expected in (("global_clipnorm", [0.6, 0.8]), ("clipnorm", [1.0, 1.0])):
        opt = keras.optimizers.SGD(learning_rate=1.0, **{option: 1.0})
        for v in variables:
            v.assign(np.zeros(1))
        opt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in grads], variables))
        np.testing.assert_allclose([-float(v.numpy()[0]) for v in variables], expected, rtol=1e-6)
    assert_stated("`global_clipnorm=c`", "(`clipnorm=c` clips each tensor alone)")
