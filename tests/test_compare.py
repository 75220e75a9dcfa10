"""The compare engine and its diagnoses, on candidates with known mistakes built from the reference."""
import numpy as np
import pytest

from crosscheck.engine import tolerance
from crosscheck.engine.check import reference_traces, run_check
from crosscheck.engine.problem import Problem
from crosscheck.engine.tensors import compare, first_divergence, measure
from crosscheck.reference import Network, Trace, backprop, computed_names, init_params, make_data
from crosscheck.student.implementation import Local


def problem(sizes=(2, 4, 3), activation="relu", dtype="float64", batch=30, seed=0, loss="softmax-ce"):
    net = Network(sizes, activation=activation, loss=loss)
    X, Y = make_data(net, batch=batch, seed=seed, dtype=dtype)
    return net, init_params(net, "he", seed=seed, dtype=dtype), X, Y


def mutated(reference, **changes):
    """A copy of the reference's trace with some tensors replaced by functions of the trace."""
    candidate = Trace(dict(reference.items()), meta=dict(reference.meta))
    for name, fn in changes.items():
        candidate[name] = fn(reference)
    return candidate


def first(reference, candidate, tolerances=None):
    comparisons = compare("cand", candidate, reference, tolerances or tolerance.tolerances(reference))
    return first_divergence(comparisons), comparisons


def test_measure():
    assert measure(np.array([1.0, 2.0]), np.array([1.0, 4.0])) == (2.0, 0.5)
    assert measure(np.array([np.nan]), np.array([1.0])) == (float("inf"), float("inf"))
    assert measure(np.array([np.inf]), np.array([np.inf]))[0] == float("inf")  # inf never passes


def test_identical_traces_agree():
    net, params, X, Y = problem()
    ref = backprop(net, params, X, Y)
    divergence, comparisons = first(ref, mutated(ref))
    assert divergence is None
    assert [c.tensor for c in comparisons] == computed_names(2)
    assert all(c.max_abs == 0 and c.ok for c in comparisons)


def test_nan_never_passes_even_with_infinite_tolerance():
    net, params, X, Y = problem()
    ref = backprop(net, params, X, Y)
    tols = {name: float("inf") for name in ref.keys()}
    divergence, _ = first(ref, mutated(ref, dW1=lambda t: t["dW1"] * np.nan), tols)
    assert divergence.tensor == "dW1"
    assert "NaN" in divergence.hint


def test_first_divergence_and_downstream():
    net, params, X, Y = problem()
    ref = backprop(net, params, X, Y)
    candidate = mutated(ref, dA1=lambda t: t["dA1"] * 2, dZ1=lambda t: t["dZ1"] * 2, dW1=lambda t: t["dW1"] * 2)
    divergence, comparisons = first(ref, candidate)
    assert divergence.tensor == "dA1"
    downstream = [c.tensor for c in comparisons if c.downstream]
    assert downstream == ["dZ1", "dW1"]
    assert [c.tensor for c in comparisons if c.ok is False] == ["dA1", "dZ1", "dW1"]


def test_a_missing_tensor_fails_an_adapter_but_not_an_implementation():
    net, params, X, Y = problem()
    ref = backprop(net, params, X, Y)
    candidate = mutated(ref)
    del candidate.tensors["db1"]
    tols = tolerance.tolerances(ref)
    assert first_divergence(compare("torch", candidate, ref, tols)).tensor == "db1"
    impl = compare("impl", candidate, ref, tols, required=False)
    assert first_divergence(impl) is None and [c.status for c in impl if c.ok is None] == ["not provided"]


def test_tolerance_is_tight_in_float64():
    net, params, X, Y = problem()
    ref = backprop(net, params, X, Y)
    scale = np.max(np.abs(ref["dW2"]))
    divergence, _ = first(ref, mutated(ref, dW2=lambda t: t["dW2"] + 1e-9 * scale))
    assert divergence.tensor == "dW2"
    divergence, _ = first(ref, mutated(ref, dW2=lambda t: t["dW2"] + 1e-12 * scale))
    assert divergence is None


def test_float32_tolerance_follows_the_references_own_error():
    net, params, X, Y = problem(dtype="float32", sizes=(2, 16, 3), batch=200)
    ref32, tols, scales = reference_traces(net, params, X, Y)
    up = [(W.astype(np.float64), b.astype(np.float64)) for W, b in params]
    ref64 = backprop(net, up, X.astype(np.float64), Y.astype(np.float64))
    twin = backprop(net, params, X[::-1], Y[::-1])  # the same examples in reverse order
    for name in computed_names(2):
        flip = name[:1] in "ZA" or name[:2] in ("dZ", "dA")
        twin_error = np.max(np.abs((twin[name][::-1] if flip else twin[name]).astype(np.float64) - ref64[name]))
        own = max(np.max(np.abs(ref32[name].astype(np.float64) - ref64[name])), twin_error)
        floor = 8 * np.finfo(np.float32).eps * max(np.max(np.abs(ref64[name])), np.max(scales[name][0]))
        assert tols[name] == pytest.approx(max(10 * own, floor), rel=1e-6, abs=1e-30)
    # the float64 reference itself passes as a float32 candidate; a 1e-3 relative error does not
    assert first_divergence(compare("f64", ref64, ref32, tols)) is None
    divergence = first_divergence(compare("x", mutated(ref32, dW1=lambda t: t["dW1"] * np.float32(1.001)), ref32, tols))
    assert divergence.tensor == "dW1"


# ---- diagnoses ---------------------------------------------------------------------------------------

def _hint(changes, sizes=(2, 4, 3), activation="relu", dtype="float64"):
    net, params, X, Y = problem(sizes, activation, dtype)
    ref = backprop(net, params, X, Y)
    expected = reference_traces(net, params, X, Y)
    divergence = first_divergence(compare("cand", mutated(ref, **changes), ref, expected.tolerances, expected.scales))
    return divergence.tensor, divergence.hint


DIAGNOSES = {
    "missing 1/m": (dict(dW2=lambda t: t["dW2"] * 30), {}, "dW2", "1/m is missing"),
    "extra 1/m": (dict(dZ2=lambda t: t["dZ2"] / 30), {}, "dZ2", "extra 1/m"),
    "sign": (dict(dZ2=lambda t: -t["dZ2"]), {}, "dZ2", "opposite sign"),
    "half": (dict(dW1=lambda t: 0.5 * t["dW1"]), {}, "dW1", "0.5 ×"),
    "dW transposed": (dict(dW2=lambda t: t["dW2"].T), {}, "dW2", "transposed"),
    "db no sum": (dict(db2=lambda t: t["dZ2"] / 30), {}, "db2", "sum dZ over the batch"),
    "db no keepdims": (dict(db2=lambda t: t["db2"].ravel()), {}, "db2", "keepdims"),
    "dA without transpose": (dict(dA1=lambda t: t["dZ2"] @ t["W2"]), dict(sizes=(2, 4, 4, 3)), "dA1",
                             "transpose is missing"),
    "no activation derivative": (dict(dZ1=lambda t: t["dA1"]), {}, "dZ1", "never applied"),
    "relu mask inverted": (dict(dZ1=lambda t: t["dA1"] * (t["Z1"] <= 0)), {}, "dZ1", "wrong tensor or inverted"),
    "relu mask from dA": (dict(dZ1=lambda t: t["dA1"] * (t["dA1"] > 0)), {}, "dZ1", "wrong tensor or inverted"),
    "relu mask only negative side": (dict(dZ1=lambda t: t["dA1"] * (t["Z1"] >= -0.1)), {}, "dZ1",
                                     "wrong only where Z1 <= 0"),
    "sigmoid on Z": (dict(dZ1=lambda t: t["dA1"] * t["Z1"] * (1 - t["Z1"])), dict(activation="sigmoid"), "dZ1",
                     "evaluated on A1"),
    "tanh on Z": (dict(dZ1=lambda t: t["dA1"] * (1 - t["Z1"] ** 2)), dict(activation="tanh"), "dZ1", "not on Z1"),
    "layer off by one": (dict(dW2=lambda t: t["dW3"]), dict(sizes=(2, 4, 4, 4)), "dW2", "off by one"),
    "float32 somewhere": (dict(dW1=lambda t: t["dW1"].astype(np.float32)), {}, "dW1", "float32"),
    "loss": (dict(J=lambda t: t["J"] + 0.1), {}, "J", "loss formula"),
    "overflow": (dict(A2=lambda t: t["A2"] * np.nan), {}, "A2", "overflow"),
}


@pytest.mark.parametrize("changes, setup, tensor, phrase", list(DIAGNOSES.values()), ids=list(DIAGNOSES))
def test_diagnosis_names_the_cause(changes, setup, tensor, phrase):
    got_tensor, hint = _hint(changes, **setup)
    assert got_tensor == tensor
    assert phrase in hint, hint


# ---- run_check: the reference against itself through the --impl path --------------------------------

def reference_as_impl(X, Y, params, activation="relu", loss="softmax-ce"):
    net = Network([params[0][0].shape[0]] + [W.shape[1] for W, _ in params], activation=activation, loss=loss)
    return dict(backprop(net, params, X, Y).items())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_run_check_with_a_correct_implementation(dtype):
    report = run_check(Problem(*problem(dtype=dtype, loss="mse", activation="tanh")), impls={"impl": Local(reference_as_impl)})
    assert report.ok and report.first_divergence is None
    document = report.as_json()
    assert document["ok"] is True and document["first_divergence"] is None
    assert len(document["comparisons"]) == len(computed_names(2))


# ---- sums that cancel: the tolerance knows what was summed ----------------------------------------------

def test_summand_scales_are_the_terms_that_were_summed():
    """S(T) for every summed tensor, against explicit loops over the terms (one example, one unit at a time)."""
    net = Network((3, 4, 2), activation="tanh", l2=0.1, l2_convention="course")
    params = init_params(net, "he", seed=5)
    params = [(W, b + 0.3) for W, b in params]
    X, Y = make_data(net, batch=6, seed=5)
    ref = backprop(net, params, X, Y)
    scales = tolerance.summand_scales(net, ref)
    m, c = 6, 0.1 / 6
    A = {0: X, 1: ref["A1"]}
    for l in (1, 2):
        W, b, dZ = params[l - 1][0], params[l - 1][1], ref[f"dZ{l}"]
        for j in range(W.shape[1]):
            for i in range(m):
                terms = [A[l - 1][i, k] * W[k, j] for k in range(W.shape[0])] + [b[0, j]]
                assert scales[f"Z{l}"][0][i, j] == pytest.approx(sum(abs(t) for t in terms), rel=1e-13)
            assert scales[f"db{l}"][0][0, j] == pytest.approx(sum(abs(dZ[i, j]) for i in range(m)) / m, rel=1e-13)
            for k in range(W.shape[0]):
                terms = [A[l - 1][i, k] * dZ[i, j] / m for i in range(m)] + [c * W[k, j]]
                assert scales[f"dW{l}"][0][k, j] == pytest.approx(sum(abs(t) for t in terms), rel=1e-13)
        assert scales[f"Z{l}"][1] == W.shape[0] + 1 and scales[f"db{l}"][1] == m
    W2, dZ2 = params[1][0], ref["dZ2"]
    for i in range(m):
        for k in range(4):
            assert scales["dA1"][0][i, k] == pytest.approx(sum(abs(dZ2[i, j] * W2[k, j]) for j in range(2)), rel=1e-13)
    log_terms = sum(abs(Y[i, j]) * (abs(ref["Z2"][i, j] - ref["Z2"][i].max())
                                    + np.log(np.exp(ref["Z2"][i] - ref["Z2"][i].max()).sum()))
                    for i in range(m) for j in range(2)) / m
    assert scales["J"][0] == pytest.approx(log_terms + c / 2 * sum(np.sum(W * W) for W, _ in params), rel=1e-13)
    assert np.array_equal(scales["A1"][0], np.abs(ref["A1"])) and scales["A1"][1] == 1  # element-wise


def test_a_db_that_cancels_is_judged_by_its_terms_not_by_its_result():
    """30 000 rows of the spiral (seed 2): db2 is 9e-7 from terms of ~0.4.  Judged against the result, correct
    float64 arithmetic in another order would fail it; judged against the terms, it passes, while a mistake of
    1e-4 of the result still fails."""
    net, params = Network((2, 4, 3)), init_params(Network((2, 4, 3)), "lecture", seed=2)
    X, Y = make_data(net, batch=30000, seed=2)
    ref, tols, scales = reference_traces(net, params, X, Y)
    db2, terms = np.max(np.abs(ref["db2"])), np.max(scales["db2"][0])
    assert terms > 1e5 * db2  # the sum cancels
    assert tols["db2"] >= 1e-10 * terms and tols["db2"] > 1e3 * (1e-10 * db2 + 1e-14)  # the old, result-relative
    reordered = np.sum(ref["dZ2"][::-1], axis=0, keepdims=True) / 30000  # the same sum, the other way round
    comparisons = compare("reordered", mutated(ref, db2=lambda t: reordered), ref, tols, scales)
    assert first_divergence(comparisons) is None
    off = first_divergence(compare("off", mutated(ref, db2=lambda t: t["db2"] * (1 + 1e-4)), ref, tols, scales))
    assert off.tensor == "db2"


def test_the_float32_hint_needs_evidence_of_float32():
    """A float64 sum that cancels errs by 1e-14 of its terms — not float32; numbers that are float32 numbers are."""
    from crosscheck.engine.diagnose import diagnose
    from crosscheck.engine.tensors import Comparison
    net, params = Network((2, 4, 3)), init_params(Network((2, 4, 3)), "lecture", seed=2)
    X, Y = make_data(net, batch=30000, seed=2)
    ref, _, scales = reference_traces(net, params, X, Y)
    same_order = mutated(ref, db2=lambda t: t["db2"] * (1 + 1e-9))  # 1e-9 of the result, 1e-15 of the terms
    hint = diagnose("db2", same_order, ref, Comparison("x", "db2", (1, 3)), scales)
    assert "float32" not in hint
    in_float32 = mutated(ref, dW1=lambda t: t["dW1"].astype(np.float32).astype(np.float64))
    assert "float32" in diagnose("dW1", in_float32, ref, Comparison("x", "dW1", (2, 4)), scales)
