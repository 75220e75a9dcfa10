"""docs/lecture-bridge.md's "The traps, measured": every figure in bold is measured here — with the frameworks' own
classes, or in float64 from the definitions — and read from the table, so that the page cannot drift."""
import re
from pathlib import Path

import numpy as np
import pytest

from crosscheck.reference import Network, init_params, make_data
from crosscheck.reference.optim import Optimizer
from crosscheck.reference.train import batch_schedule, gradients, train

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "lecture-bridge.md").read_text()


def trap_rows():
    """{test id: the row's text} of the traps table."""
    start = DOC.index("### The traps, measured")
    rows = [line for line in DOC[start:DOC.index("\n\n###", start)].splitlines() if line.startswith("| ")][1:]
    return {re.findall(r"`([\w-]+)` \|$", row)[0]: row for row in rows}


TRAPS = trap_rows()


def stated(trap):
    """The figures in bold of a trap's row, in order."""
    return [float(number) for number in re.findall(r"\*\*([-+0-9.e]+)[×%]?\*\*", TRAPS[trap])]


def significant(x, digits):
    return float(f"{x:.{digits - 1}e}")


def test_every_trap_has_a_test_here():
    assert set(TRAPS) == {"rmsprop-rho", "momentum-course", "bn-momentum", "bn-eps", "bn-variance", "l2-default",
                          "l2-minibatch", "weight-decay-biases", "keras-float32", "early-stopping-l2"}
    assert all(stated(trap) for trap in TRAPS)


@pytest.mark.torch
@pytest.mark.keras
def test_rmsprop_rho():
    """One step from zero state on g = (1, 2): torch divides by √(0.01 g²), Keras by √(0.1 g²)."""
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    g = np.array([1.0, 2.0])
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.RMSprop([p], lr=0.01)
    p.grad = torch.from_numpy(g)
    opt.step()
    v = keras.Variable(np.zeros(2), dtype="float64")
    keras.optimizers.RMSprop(learning_rate=0.01).apply_gradients([(keras.ops.convert_to_tensor(g), v)])
    ratio = p.detach().numpy() / np.asarray(v.numpy())
    assert np.allclose(ratio, ratio[0], rtol=1e-4)
    assert round(float(ratio[0]), 2) == stated("rmsprop-rho")[0] == round(np.sqrt(10), 2)


@pytest.mark.keras
def test_momentum_course():
    """The course's v ← βv + (1 − β)g, W ← W − αv (written here) is Keras's SGD(momentum=β) at α(1 − β)."""
    keras = pytest.importorskip("keras")
    from crosscheck.adapters.keras.optimizers import floatx
    alpha, beta = 0.5, 0.9
    w0 = np.array([1.0, -2.0, 0.5])
    w, v = w0.copy(), np.zeros(3)
    for _ in range(30):  # the gradient of ½‖w‖²
        v = beta * v + (1 - beta) * w
        w = w - alpha * v
    with floatx("float64"):
        variable = keras.Variable(w0.copy(), dtype="float64")
        opt = keras.optimizers.SGD(learning_rate=np.float64(alpha * stated("momentum-course")[0]),
                                   momentum=np.float64(beta))
        for _ in range(30):
            opt.apply_gradients([(keras.ops.convert_to_tensor(np.asarray(variable.numpy())), variable)])
    np.testing.assert_allclose(np.asarray(variable.numpy()), w, rtol=1e-12)
    assert stated("momentum-course")[0] == pytest.approx(1 - beta)


@pytest.mark.torch
@pytest.mark.keras
def test_bn_momentum():
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    Z = np.random.default_rng(0).standard_normal((20, 3)) + 2
    keras_momentum = 0.99
    norm = torch.nn.BatchNorm1d(3, momentum=stated("bn-momentum")[0] - keras_momentum, dtype=torch.float64).train()
    norm(torch.from_numpy(Z))
    layer = keras.layers.BatchNormalization(momentum=keras_momentum, dtype="float64")
    layer(Z, training=True)
    np.testing.assert_allclose(norm.running_mean.numpy(), np.asarray(layer.moving_mean), rtol=1e-12)
    np.testing.assert_allclose(norm.running_mean.numpy(), (1 - keras_momentum) * Z.mean(axis=0), rtol=1e-12)


@pytest.mark.torch
@pytest.mark.keras
def test_bn_eps():
    """Each layer with its default ε on a batch whose σ² is 0.01: Ẑ = (Z − μ)/√(σ² + ε) differs by the ratio."""
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    Z = np.tile([[0.1], [-0.1]], (10, 1))  # μ = 0, σ² = 0.01 (biased)
    ours = torch.nn.BatchNorm1d(1, dtype=torch.float64).train()(torch.from_numpy(Z)).detach().numpy()
    theirs = np.asarray(keras.layers.BatchNormalization(dtype="float64")(Z, training=True))
    eps_keras, eps_torch = keras.layers.BatchNormalization().epsilon, torch.nn.BatchNorm1d(1).eps
    times, percent = stated("bn-eps")
    assert eps_keras / eps_torch == pytest.approx(times)
    assert round(100 * (ours[0, 0] / theirs[0, 0] - 1), 1) == percent


@pytest.mark.torch
@pytest.mark.keras
def test_bn_variance():
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    Z = np.random.default_rng(1).standard_normal((64, 4))
    norm = torch.nn.BatchNorm1d(4, momentum=1.0, dtype=torch.float64).train()
    norm(torch.from_numpy(Z))
    layer = keras.layers.BatchNormalization(momentum=0.0, dtype="float64")
    layer(Z, training=True)
    ratio = norm.running_var.numpy() / np.asarray(layer.moving_variance)
    np.testing.assert_allclose(ratio, 64 / 63, rtol=1e-12)
    assert round(float(ratio[0]), 3) == stated("bn-variance")[0]


@pytest.mark.tensorflow
def test_l2_default():
    """Keras's L2(λ) puts 2λW into dW (its own gradient, by the tape); the course's λ/(2m) puts λW/m (written here)."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    lam, m = 0.7, 300
    W = tf.Variable(np.random.default_rng(2).standard_normal((2, 4)))
    with tf.GradientTape() as tape:
        penalty = keras.regularizers.L2(lam)(W)
    keras_term = tape.gradient(penalty, W).numpy()
    course_term = lam / m * W.numpy()
    np.testing.assert_allclose(keras_term / course_term, 2 * m, rtol=1e-6)  # L2(λ) holds λ in float32
    assert stated("l2-default")[0] == 2 * m


def test_l2_minibatch():
    """The reference's L2 part of dW under the course's λ/(2m): a batch of 64 against all 1,079 training rows of the
    digits (60 % of 1,797, stratified) — λW/m with each one's m."""
    rows = 1079
    net = Network((64, 32, 10), l2=5.0, l2_convention="course")
    X, Y = make_data(net, rows, seed=3)
    params = init_params(net, "he", 0)
    plain = Network((64, 32, 10))
    part = {}
    for m in (64, rows):
        with_l2 = gradients(net, params, X[:m], Y[:m])[1][0][0]
        without = gradients(plain, params, X[:m], Y[:m])[1][0][0]
        part[m] = (with_l2 - without) / params[0][0]
    ratio = float(np.median(part[64] / part[rows]))
    assert ratio == pytest.approx(rows / 64, rel=1e-9)
    assert round(ratio, 1) == stated("l2-minibatch")[0]


@pytest.mark.torch
def test_weight_decay_biases():
    """torch.optim.SGD(weight_decay=λ) on every parameter, and with parameter groups (weights only), against the
    reference's weight-decay convention (λ/2 Σ‖W‖², weights only): 50 full-batch steps of the 2-16-3 spiral."""
    torch = pytest.importorskip("torch")
    net = Network((2, 16, 3), l2=0.1, l2_convention="weight-decay")
    X, Y = make_data(net)
    params = [(W, b + 0.1 * np.random.default_rng(3).standard_normal(b.shape)) for W, b in init_params(net, "he", 0)]
    reference = train(net, params, X, Y, Optimizer("sgd", 0.5), batch_schedule(300, None, 50)).final_params

    def torch_run(groups):
        linears = [torch.nn.Linear(*W.shape, dtype=torch.float64) for W, _ in params]
        with torch.no_grad():
            for linear, (W, b) in zip(linears, params):
                linear.weight.copy_(torch.from_numpy(W.T))
                linear.bias.copy_(torch.from_numpy(b.ravel()))
        model = torch.nn.Sequential(linears[0], torch.nn.ReLU(), linears[1])
        weights, biases = [lin.weight for lin in linears], [lin.bias for lin in linears]
        opt = torch.optim.SGD([{"params": weights, "weight_decay": 0.1}, {"params": biases, "weight_decay": 0}]
                              if groups else model.parameters(), lr=0.5, weight_decay=0.1)
        for _ in range(50):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(Y)).backward()
            opt.step()
        return [lin.bias.detach().numpy() for lin in linears]

    gap = lambda biases: max(np.max(np.abs(b - b_ref.ravel())) for b, (_, b_ref) in zip(biases, reference))  # noqa: E731
    size = max(np.max(np.abs(b)) for _, b in reference)
    assert gap(torch_run(groups=True)) < 1e-12
    assert round(gap(torch_run(groups=False)), 2) == stated("weight-decay-biases")[0]
    assert f"{100 * gap(torch_run(groups=False)) / size:.0f} %" in TRAPS["weight-decay-biases"]


@pytest.mark.slow
@pytest.mark.keras
def test_keras_float32():
    """A plain float64 Keras model (floatx as Keras ships it, Python floats for α and β) against the reference in
    Keras's convention in float64: 50 full-batch steps of the 2-16-3 spiral."""
    keras = pytest.importorskip("keras")
    assert keras.config.floatx() == "float32"
    net = Network((2, 16, 3))
    X, Y = make_data(net)
    params = init_params(net, "he", 0)
    drifts = []
    for optimizer, make in ((Optimizer("adam", 0.01, "keras"), lambda: keras.optimizers.Adam(learning_rate=0.01)),
                            (Optimizer("sgd", 0.01, "keras"), lambda: keras.optimizers.SGD(learning_rate=0.01))):
        model = keras.Sequential([keras.Input((2,), dtype="float64"),
                                  keras.layers.Dense(16, activation="relu", dtype="float64"),
                                  keras.layers.Dense(3, dtype="float64")])
        model.set_weights([P.ravel() if P.shape[0] == 1 else P for layer in params for P in layer])
        model.compile(optimizer=make(), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        # 50 full-batch steps in one epoch over 50 copies of the batch: the steps of epochs=50, without 50 epochs' set-up
        model.fit(np.tile(X, (50, 1)), np.tile(Y, (50, 1)), batch_size=300, epochs=1, shuffle=False, verbose=0)
        ours = [P for layer in train(net, params, X, Y, optimizer, batch_schedule(300, None, 50)).final_params
                for P in layer]
        drift = max(np.max(np.abs(np.reshape(P, Q.shape) - Q)) for P, Q in zip(model.get_weights(), ours))
        drifts.append(drift / max(np.max(np.abs(Q)) for Q in ours))
    assert [significant(d, 2) for d in drifts] == stated("keras-float32")


@pytest.mark.keras
def test_early_stopping_l2(cli):
    """The issue's run, stopped by a float64 loop written here from the definitions — full-batch SGD, the course's
    L2 in the gradient, J_dev with λ/(2·m_train) (Keras's val_loss) and with λ/(2·m_dev) — and by crosscheck train,
    whose Keras (the keras convention) and reference (the torch convention) must stop there."""
    pytest.importorskip("sklearn")
    from crosscheck.reference.data import load_dataset
    net = Network((64, 32, 10))
    data = load_dataset("digits", net, seed=0)
    (X, Y), (X_dev, Y_dev) = data.split("train"), data.split("dev")
    (W1, b1), (W2, b2) = init_params(net, "he", 0)
    lam, alpha, m = 100.0, 2.0, X.shape[0]

    def data_loss(X, Y):
        Z = np.maximum(X @ W1 + b1, 0) @ W2 + b2
        Z = Z - Z.max(axis=1, keepdims=True)
        return -np.mean(np.sum(Y * (Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))), axis=1))

    stops, best, wait = {}, {"train": np.inf, "dev": np.inf}, {"train": 0, "dev": 0}
    for epoch in range(1, 31):
        A1 = np.maximum(X @ W1 + b1, 0)
        Z2 = A1 @ W2 + b2
        E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        dZ2 = E / E.sum(axis=1, keepdims=True) - Y
        dW2, db2 = A1.T @ dZ2 / m + lam / m * W2, dZ2.sum(axis=0, keepdims=True) / m
        dZ1 = dZ2 @ W2.T * (A1 > 0)
        dW1, db1 = X.T @ dZ1 / m + lam / m * W1, dZ1.sum(axis=0, keepdims=True) / m
        W1, b1, W2, b2 = W1 - alpha * dW1, b1 - alpha * db1, W2 - alpha * dW2, b2 - alpha * db2
        for which, rows in (("train", m), ("dev", X_dev.shape[0])):
            J = data_loss(X_dev, Y_dev) + lam / (2 * rows) * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
            if J < best[which]:
                best[which], wait[which] = J, 0
            else:
                wait[which] += 1
                if wait[which] >= 1 and which not in stops:
                    stops[which] = epoch
    assert [stops["train"], stops["dev"]] == stated("early-stopping-l2")
    code, out, err = cli("train", "--data", "digits", "--init", "he", "--l2", "100", "--l2-convention", "course",
                         "--patience", "1", "--epochs", "16", "--lr", "2", "--frameworks", "numpy-reference,keras",
                         "--json")
    import json
    frameworks = json.loads(out)["frameworks"]
    assert code == 0, err
    assert frameworks["numpy-reference"]["stopped_epoch"] == stops["dev"]
    if frameworks["keras"]["status"] != "unavailable":
        assert frameworks["keras"]["status"] == "ok" and frameworks["keras"]["stopped_epoch"] == stops["train"]
