"""The reference against the lecture: shapes, formulas, and an independent per-example computation.

The independent computation works one example at a time with column vectors and explicit Jacobians
(dz = diag(g'(z)) · da), nothing like the reference's batched row-major code, so agreement means the
formulas, not a shared bug.
"""
import itertools
import re

import numpy as np
import pytest

from crosscheck.reference import (
    ACTIVATIONS,
    LOSSES,
    InputError,
    Network,
    backprop,
    computed_names,
    init_params,
    make_data,
    one_hot,
    spiral,
)
from crosscheck.reference.gradcheck import THRESHOLD, gradcheck

LECTURE_SHAPES = {  # ../shared/LECTURE.md, the shape table and the backward pass
    "X": (300, 2), "W1": (2, 4), "b1": (1, 4), "Z1": (300, 4), "A1": (300, 4), "W2": (4, 3), "b2": (1, 3),
    "Z2": (300, 3), "A2": (300, 3), "Y": (300, 3), "J": (),
    "dZ2": (300, 3), "dW2": (4, 3), "db2": (1, 3), "dA1": (300, 4), "dZ1": (300, 4), "dW1": (2, 4), "db1": (1, 4),
}

ARCHITECTURES = {"lecture": (2, 4, 3), "deep": (5, 8, 6, 4), "unit-hidden": (3, 1, 2), "one-layer": (4, 3),
                 "deeper": (3, 5, 5, 5, 2)}
DTYPES = ("float64", "float32")


def lecture_trace(dtype="float64"):
    net = Network((2, 4, 3))
    X, Y = make_data(net, dtype=dtype)
    return backprop(net, init_params(net, "he", seed=3, dtype=dtype), X, Y)


# ---- the lecture's network, literally -----------------------------------------------------------

@pytest.mark.parametrize("name", LECTURE_SHAPES)
def test_lecture_shapes(name):
    assert np.shape(lecture_trace()[name]) == LECTURE_SHAPES[name]


@pytest.mark.parametrize("dtype", DTYPES)
def test_lecture_backward_pass_line_by_line(dtype):
    t = lecture_trace(dtype)
    X, Y, W1, W2, Z1, A1, A2 = (t[k] for k in ("X", "Y", "W1", "W2", "Z1", "A1", "A2"))
    m = 300
    tol = dict(rtol=1e-12, atol=1e-15) if dtype == "float64" else dict(rtol=1e-5, atol=1e-7)
    dZ2 = A2 - Y
    np.testing.assert_allclose(t["dZ2"], dZ2, **tol)
    np.testing.assert_allclose(t["dW2"], A1.T.dot(dZ2) / m, **tol)
    np.testing.assert_allclose(t["db2"], np.sum(dZ2, axis=0, keepdims=True) / m, **tol)
    dA1 = dZ2.dot(W2.T)
    np.testing.assert_allclose(t["dA1"], dA1, **tol)
    dZ1 = np.array(dA1, copy=True)
    dZ1[Z1 <= 0] = 0
    np.testing.assert_allclose(t["dZ1"], dZ1, **tol)
    np.testing.assert_allclose(t["dW1"], X.T.dot(dZ1) / m, **tol)
    np.testing.assert_allclose(t["db1"], np.sum(dZ1, axis=0, keepdims=True) / m, **tol)
    J = -np.sum(Y * np.log(A2)) / m
    np.testing.assert_allclose(t["J"], J, rtol=1e-12 if dtype == "float64" else 1e-5)


# ---- an independent, per-example computation for any depth -------------------------------------

def _g(name, z, slope=0.01):
    return {"relu": lambda: np.maximum(z, 0), "leaky_relu": lambda: np.where(z > 0, z, slope * z),
            "sigmoid": lambda: 1 / (1 + np.exp(-z)), "tanh": lambda: np.tanh(z), "identity": lambda: z}[name]()


def _g_prime(name, z, slope=0.01):
    return {"relu": lambda: (z > 0).astype(float), "leaky_relu": lambda: np.where(z > 0, 1.0, slope),
            "sigmoid": lambda: np.exp(-z) / (1 + np.exp(-z)) ** 2, "tanh": lambda: 1 / np.cosh(z) ** 2,
            "identity": lambda: np.ones_like(z)}[name]()


def per_example(net, params, X, Y):
    """Every lecture tensor, computed one example at a time in float64 with column vectors."""
    m, L = X.shape[0], net.L
    Ws = [W.astype(float).T for W, _ in params]            # (n_out, n_in): column-vector convention
    bs = [b.astype(float).ravel() for _, b in params]
    out = {k: [] for k in computed_names(L) if k != "J" and not k.startswith(("dW", "db"))}
    dWs = [np.zeros_like(W) for W in Ws]
    dbs = [np.zeros_like(b) for b in bs]
    J = 0.0
    for x, y in zip(X.astype(float), Y.astype(float)):
        a, zs, activations = x, [], [x]
        for l in range(L):
            z = Ws[l] @ a + bs[l]
            zs.append(z)
            if l < L - 1:
                a = _g(net.activation, z, net.leaky_slope)
            elif net.loss == "softmax-ce":
                a = np.exp(z) / np.sum(np.exp(z))
            elif net.loss == "sigmoid-bce":
                a = 1 / (1 + np.exp(-z))
            else:
                a = z
            activations.append(a)
            out[f"Z{l + 1}"].append(z)
            out[f"A{l + 1}"].append(a)
        if net.loss == "softmax-ce":
            J -= y @ np.log(a)
        elif net.loss == "sigmoid-bce":
            J -= y @ np.log(a) + (1 - y) @ np.log(1 - a)
        else:
            J += 0.5 * np.sum((a - y) ** 2)
        dz = a - y
        for l in range(L - 1, -1, -1):
            out[f"dZ{l + 1}"].append(dz)
            dWs[l] += np.outer(dz, activations[l])
            dbs[l] += dz
            if l > 0:
                da = Ws[l].T @ dz
                out[f"dA{l}"].append(da)
                dz = np.diag(_g_prime(net.activation, zs[l - 1], net.leaky_slope)) @ da
    result = {k: np.array(v) for k, v in out.items()}
    for l in range(L):
        result[f"dW{l + 1}"] = dWs[l].T / m
        result[f"db{l + 1}"] = dbs[l][np.newaxis, :] / m
    result["J"] = np.array(J / m)
    return result


def _cases():
    for arch, activation, loss, dtype in itertools.product(ARCHITECTURES, ACTIVATIONS, LOSSES, DTYPES):
        sizes = ARCHITECTURES[arch]
        if loss == "softmax-ce" and sizes[-1] < 2:
            continue
        yield pytest.param(arch, activation, loss, dtype, id=f"{arch}-{activation}-{loss}-{dtype}")


@pytest.mark.parametrize("arch, activation, loss, dtype", list(_cases()))
def test_every_tensor_matches_a_per_example_computation(arch, activation, loss, dtype):
    net = Network(ARCHITECTURES[arch], activation=activation, loss=loss)
    params = init_params(net, "he", seed=7, dtype=dtype)
    X, Y = make_data(net, batch=37, seed=7, dtype=dtype)
    trace = backprop(net, params, X, Y)
    independent = per_example(net, params, X, Y)
    rtol = 1e-10 if dtype == "float64" else 2e-4
    for name in computed_names(net.L):
        got, want = np.asarray(trace[name]), independent[name]
        assert got.dtype == np.dtype(dtype), f"{name} came back {got.dtype}, not {dtype}"
        assert got.shape == want.shape, f"{name}: shape {got.shape}, expected {want.shape}"
        scale = max(np.max(np.abs(want)), 1e-30)
        assert np.max(np.abs(got - want)) <= rtol * scale + 1e-30, \
            f"{arch} {activation} {loss} {dtype} {name}: max|Δ| {np.max(np.abs(got - want)):.2e} > {rtol * scale:.1e}"


# ---- the gradient check --------------------------------------------------------------------------

@pytest.mark.parametrize("activation, loss", list(itertools.product(ACTIVATIONS, LOSSES)),
                         ids=lambda v: str(v))
@pytest.mark.parametrize("l2_convention", ["none", "keras", "course", "weight-decay"])
def test_gradcheck_every_pair(activation, loss, l2_convention):
    net = Network((2, 5, 3), activation=activation, loss=loss, l2=0 if l2_convention == "none" else 0.05,
                  l2_convention="keras" if l2_convention == "none" else l2_convention)
    params = [(W, 0.1 * np.ones_like(b)) for W, b in init_params(net, "he", seed=1)]
    X, Y = make_data(net, batch=60, seed=2)
    for row in gradcheck(net, params, X, Y):
        assert row["rel_error"] <= THRESHOLD, row


def test_gradcheck_catches_a_wrong_gradient(monkeypatch):
    """The check can fail: a backward pass with a wrong dW is flagged."""
    import crosscheck.reference.layers as layers
    original = layers.affine_backward

    def halved(dZ, cache, want_dA_prev=True):
        dA_prev, dW, db = original(dZ, cache, want_dA_prev)
        return dA_prev, dW / 2, db

    monkeypatch.setattr(layers, "affine_backward", halved)
    net = Network((2, 4, 3))
    X, Y = make_data(net, batch=30)
    errors = [r["rel_error"] for r in gradcheck(net, init_params(net, "he"), X, Y)]
    assert min(e for e in errors[::2]) > 0.1  # every dW


# ---- L2, stability, dtype -------------------------------------------------------------------------

@pytest.mark.parametrize("convention, c", [("keras", lambda lam, m: 2 * lam), ("course", lambda lam, m: lam / m),
                                           ("weight-decay", lambda lam, m: lam)])
def test_l2_term_and_gradient(convention, c):
    lam, m = 0.3, 50
    plain, regular = Network((3, 4, 2)), Network((3, 4, 2), l2=lam, l2_convention=convention)
    params = init_params(plain, "he", seed=5)
    X, Y = make_data(plain, batch=m, seed=5)
    a, b = backprop(plain, params, X, Y), backprop(regular, params, X, Y)
    coefficient = c(lam, m)
    expected_term = coefficient / 2 * sum(np.sum(W ** 2) for W, _ in params)
    np.testing.assert_allclose(b["J"] - a["J"], expected_term, rtol=1e-12)
    for l, (W, _) in enumerate(params, start=1):
        np.testing.assert_allclose(b[f"dW{l}"] - a[f"dW{l}"], coefficient * W, rtol=1e-10, atol=1e-15)
        np.testing.assert_array_equal(b[f"db{l}"], a[f"db{l}"])
        np.testing.assert_array_equal(b[f"dZ{l}"], a[f"dZ{l}"])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("sign", [1, -1], ids=["plus", "minus"])
def test_huge_logits_stay_finite(loss, sign):
    net = Network((2, 3), loss=loss)
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    W = sign * 1e4 * np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.2]])
    Y = np.array([[0, 1.0, 0], [1.0, 0, 0]])
    trace = backprop(net, [(W, np.zeros((1, 3)))], X, Y)
    for name in computed_names(1):
        assert np.all(np.isfinite(trace[name])), name
    if loss == "softmax-ce":  # the true J: the target class is 2e4 (or 1.5e4 / 0.8e4…) below the winner
        Z = X @ W
        expected = np.mean(Z.max(axis=1) - Z[np.arange(2), Y.argmax(axis=1)])
        np.testing.assert_allclose(trace["J"], expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_silent_cast(dtype):
    trace = lecture_trace(dtype)
    for name, value in trace.items():
        assert np.asarray(value).dtype == np.dtype(dtype), name


# ---- data and initialization ----------------------------------------------------------------------

def test_spiral_is_the_lectures():
    X, y = spiral()
    assert X.shape == (300, 2) and np.bincount(y).tolist() == [100, 100, 100]
    for k in range(3):
        rows = X[y == k]
        np.testing.assert_allclose(np.hypot(rows[:, 0], rows[:, 1]), np.linspace(0, 1, 100), atol=1e-12)
        angles = np.arctan2(rows[1:, 0], rows[1:, 1])  # t, up to 2π, for r > 0
        t = np.linspace(4 * k, 4 * k + 4, 100)[1:]
        noise = np.angle(np.exp(1j * (angles - t)))
        assert 0.1 < np.std(noise) < 0.3  # 0.2·N(0, 1)
    np.testing.assert_array_equal(spiral(seed=1)[0], spiral(seed=1)[0])
    assert not np.array_equal(spiral(seed=1)[0], spiral(seed=2)[0])


def test_make_data_fits_the_network():
    X, Y = make_data(Network((2, 4, 3)))
    np.testing.assert_array_equal(X, spiral()[0])
    np.testing.assert_array_equal(Y.argmax(axis=1), spiral()[1])
    X, Y = make_data(Network((2, 4, 3)), batch=7)
    assert X.shape == (7, 2) and Y.shape == (7, 3)
    X, Y = make_data(Network((2, 4, 1), loss="sigmoid-bce"), batch=10)
    assert set(np.unique(Y)) <= {0.0, 1.0} and Y.shape == (10, 1)
    X, Y = make_data(Network((5, 4, 2), loss="mse"), batch=9, dtype="float32")
    assert X.shape == (9, 5) and Y.shape == (9, 2) and X.dtype == Y.dtype == np.float32


@pytest.mark.parametrize("scheme, std", [("lecture", lambda n_in, n_out: 0.01),
                                         ("he", lambda n_in, n_out: np.sqrt(2 / n_in)),
                                         ("glorot", lambda n_in, n_out: np.sqrt(2 / (n_in + n_out)))])
def test_init_schemes(scheme, std):
    net = Network((400, 300, 10))
    params = init_params(net, scheme, seed=0)
    for (W, b), n_in, n_out in zip(params, net.sizes[:-1], net.sizes[1:]):
        assert W.shape == (n_in, n_out) and b.shape == (1, n_out) and not b.any()
        assert abs(W.std() / std(n_in, n_out) - 1) < 0.05
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(params, init_params(net, scheme, seed=0)))


def test_one_hot():
    np.testing.assert_array_equal(one_hot([2, 0, 1], 3), np.eye(3)[[2, 0, 1]])


# ---- bad input: one ValueError that names the problem ---------------------------------------------

def _lecture():
    net = Network((2, 4, 3))
    X, Y = make_data(net, batch=6)
    return net, init_params(net), X, Y


def _bad(**change):
    net, params, X, Y = _lecture()
    values = {"net": net, "params": params, "X": X, "Y": Y}
    for key, fn in change.items():
        values[key] = fn(values[key])
    return values


BAD_INPUTS = {
    "X wrong features": (dict(X=lambda X: X[:, :1]), "features"),
    "X not 2-D": (dict(X=lambda X: X.ravel()), "2-D"),
    "X NaN": (dict(X=lambda X: np.where(np.eye(6, 2) > 0, np.nan, X)), "NaN"),
    "X inf": (dict(X=lambda X: X + np.inf), "inf"),
    "X integer": (dict(X=lambda X: X.astype(np.int64)), "dtype"),
    "empty batch": (dict(X=lambda X: X[:0], Y=lambda Y: Y[:0]), "empty"),
    "Y not one-hot": (dict(Y=lambda Y: Y * 0.5), "one-hot"),
    "Y two ones": (dict(Y=lambda Y: np.ones_like(Y)), "one-hot"),
    "Y wrong rows": (dict(Y=lambda Y: Y[:3]), "Y has shape"),
    "Y NaN": (dict(Y=lambda Y: Y * np.nan), "NaN"),
    "W shape": (dict(params=lambda p: [(p[0][0].T, p[0][1]), p[1]]), "W1 has shape"),
    "b shape": (dict(params=lambda p: [(p[0][0], p[0][1].ravel()), p[1]]), "b1 has shape"),
    "W dtype": (dict(params=lambda p: [(p[0][0].astype(np.float32), p[0][1]), p[1]]), "dtype"),
    "W NaN": (dict(params=lambda p: [p[0], (p[1][0] * np.nan, p[1][1])]), "W2 contains NaN"),
    "too few pairs": (dict(params=lambda p: p[:1]), "pairs"),
}


@pytest.mark.parametrize("change, message", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_is_named(change, message):
    v = _bad(**change)
    with pytest.raises(ValueError, match=message):
        backprop(v["net"], v["params"], v["X"], v["Y"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=(3,)), "at least two"), (dict(sizes=(2, 0, 3)), "positive"), (dict(sizes=(2, -1)), "positive"),
    (dict(sizes=(2, 4.5, 3)), "positive integer"), (dict(sizes=(2, 3), activation="relu6"), "unknown activation"),
    (dict(sizes=(2, 3), loss="hinge"), "unknown loss"), (dict(sizes=(2, 1)), "softmax-ce needs"),
    (dict(sizes=(2, 3), l2=-1), "L2"), (dict(sizes=(2, 3), l2_convention="l1"), "L2 convention"),
])
def test_bad_network_is_named(kwargs, message):
    with pytest.raises(InputError, match=message):
        Network(**kwargs)


@pytest.mark.parametrize("labels, message", [([0, 3, 1], "out of range"), ([0, -1, 1], "out of range"),
                                             ([0.5, 1, 2], "integers"), ([[0, 1]], "1-D")])
def test_bad_labels_are_named(labels, message):
    with pytest.raises(InputError, match=message):
        one_hot(np.array(labels), 3)


# ---- the next lecture's layers: inverted dropout and batch norm ------------------------------------------------

def next_lecture_problem(**options):
    """A 3-5-4-2 tanh net with L2, non-trivial γ, β, running averages, and 7 examples."""
    from crosscheck.reference import dropout_masks
    net = Network((3, 5, 4, 2), activation="tanh", l2=0.1, **options)
    rng = np.random.default_rng(4)
    params = []
    for layer in init_params(net, "he", 1):
        W, *rest = layer
        if len(rest) == 1:
            params.append((W, rng.normal(0, 0.3, rest[0].shape)))
        else:
            params.append((W, rng.normal(1, 0.3, W[:1].shape), rng.normal(0, 0.3, W[:1].shape),
                           rng.normal(0, 0.3, W[:1].shape), rng.uniform(0.5, 2, W[:1].shape)))
    X, Y = make_data(net, 7, seed=2)
    return net, params, X, Y, dropout_masks(net, 7, seed=3)


@pytest.mark.parametrize("options", [dict(keep_prob=0.6), dict(batch_norm=True), dict(batch_norm=True, keep_prob=0.6),
                                     dict(batch_norm=True, training=False)],
                         ids=["dropout", "batch-norm", "both", "batch-norm-inference"])
def test_dropout_and_batch_norm_gradients_are_the_cost_functions(options):
    """dW, db, dγ, dβ against central differences of J itself (the forward pass with the same masks)."""
    from crosscheck.reference import cost, forward
    net, params, X, Y, masks = next_lecture_problem(**options)
    trace = backprop(net, params, X, Y, masks)

    def J(ps):
        Zs, _, _ = forward(net, ps, X, masks)
        return cost(net, ps, Zs[-1], Y)

    for l, layer in enumerate(params, start=1):
        for i, name in enumerate(net.layer_names(l)[:net.learnt(l)]):
            numeric = np.zeros_like(layer[i])
            for index in np.ndindex(layer[i].shape):
                for sign in (1, -1):
                    moved = [list(p) for p in params]
                    moved[l - 1][i] = layer[i].copy()
                    moved[l - 1][i][index] += sign * 1e-6
                    numeric[index] += sign * J([tuple(p) for p in moved]) / 2e-6
            error = np.max(np.abs(numeric - trace[f"d{name}{l}"])) / np.max(np.abs(numeric))
            assert error < 1e-7, f"d{name}{l}: relative error {error:.1e}"


def test_inverted_dropout_written_out():
    net, params, X, Y, masks = next_lecture_problem(keep_prob=0.6)
    trace = backprop(net, params, X, Y, masks)
    np.testing.assert_array_equal(trace["Adrop1"], trace["A1"] * masks[0] / 0.6)
    np.testing.assert_array_equal(trace["dA1"], trace["dAdrop1"] * masks[0] / 0.6)
    np.testing.assert_allclose(trace["Z2"], trace["Adrop1"] @ params[1][0] + params[1][1], rtol=1e-14)
    inference = backprop(net.inference(), params, X, Y)  # no masks: every unit, unscaled
    assert "Adrop1" not in inference and "D1" not in inference
    np.testing.assert_allclose(inference["Z2"], inference["A1"] @ params[1][0] + params[1][1], rtol=1e-14)


def test_batch_norm_written_out():
    net, params, X, Y, _ = next_lecture_problem(batch_norm=True)
    W, gamma, beta, rmu, rvar = params[0]
    trace = backprop(net, params, X, Y)
    Z = X @ W
    mu, var = Z.mean(axis=0), Z.var(axis=0)  # numpy's var: biased
    np.testing.assert_allclose(trace["var1"][0], var, rtol=1e-13)
    np.testing.assert_allclose(trace["Zhat1"], (Z - mu) / np.sqrt(var + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(trace["Zhat1"].mean(axis=0), 0, atol=1e-14)
    np.testing.assert_allclose(trace["Ztilde1"], gamma * trace["Zhat1"] + beta, rtol=1e-14)
    assert "b1" not in trace and "db1" not in trace
    inference = backprop(net.inference(), params, X, Y)
    np.testing.assert_allclose(inference["Zhat1"], (Z - rmu) / np.sqrt(rvar + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(inference["dZ1"], inference["dZhat1"] / np.sqrt(rvar + 1e-5), rtol=1e-13)


@pytest.mark.parametrize("change, message", [
    (lambda net, masks: None, "needs its masks D1…D2"),
    (lambda net, masks: [masks[0][:3], masks[1]], "D1 has shape (3, 5), expected (7, 5)"),
    (lambda net, masks: [masks[0] * 0.5, masks[1]], "only 0s and 1s"),
    (lambda net, masks: [masks[0].astype(np.float32), masks[1]], "D1 has dtype float32"),
], ids=["missing", "shape", "not-0-1", "dtype"])
def test_bad_masks_are_named(change, message):
    net, params, X, Y, masks = next_lecture_problem(keep_prob=0.6)
    with pytest.raises(InputError, match=re.escape(message)):
        backprop(net, params, X, Y, change(net, masks))


@pytest.mark.parametrize("kwargs, message", [
    (dict(keep_prob=0.0), "keep_prob must be in (0, 1]"), (dict(keep_prob=1.5), "keep_prob must be in (0, 1]"),
    (dict(bn_momentum=1.0), "momentum β must be in [0, 1)"), (dict(bn_eps=0.0), "ε must be a number > 0"),
    (dict(sizes=(2, 3), batch_norm=True), "act on hidden layers"),
], ids=["keep-prob-0", "keep-prob-above-1", "momentum", "eps", "no-hidden-layer"])
def test_bad_next_lecture_network_is_named(kwargs, message):
    with pytest.raises(InputError, match=re.escape(message)):
        Network(**{"sizes": (2, 4, 3), **kwargs})


def test_a_batch_norm_layer_has_its_own_parameters_and_a_file_of_them_reads_back():
    from crosscheck.reference import params_from_arrays
    net, params, X, Y, _ = next_lecture_problem(batch_norm=True)
    with pytest.raises(InputError, match="a batch-norm layer has no b"):
        backprop(net, [(params[0][0], params[0][1])] + params[1:], X, Y)
    arrays = {f"{name}{l}": value for l, layer in enumerate(params, start=1) for name, value in zip(net.layer_names(l), layer)}
    back = params_from_arrays(arrays)
    assert all(np.array_equal(P, Q) for layer, layer2 in zip(back, params) for P, Q in zip(layer, layer2))
    del arrays["rmu1"], arrays["rvar1"]  # a file without running averages: they start at 0 and 1
    assert np.all(params_from_arrays(arrays)[0][3] == 0) and np.all(params_from_arrays(arrays)[0][4] == 1)
