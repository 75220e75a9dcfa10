"""The adapters against the reference: every lecture tensor, per framework × dtype × activation × loss × shape.

Each framework's Trace is computed once per case (lru_cache) and then compared tensor by tensor, so one
test id names one tensor, e.g.  torch-float32-relu-softmax-ce-lecture-dW1,  and -k can select any slice.
Tolerances are crosscheck.tolerance's, as crosscheck.check.reference_traces computes them for the command.
`framework` is parametrized by conftest.py over every framework with a check role; `adapter` is its check module.
"""
import functools
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest

import adapters
from crosscheck.check import reference_traces
from reference import (ACTIVATIONS, L2_CONVENTIONS, LOSSES, InputError, Network, computed_names,
                       init_params, make_data)

DTYPES = ("float64", "float32")
# Every architecture runs on 300 examples with 2 inputs, like the lecture's, except batch-1: JAX compiles each op
# anew for every new shape and dtype, and shared shapes (300, 2), (2, 4), (300, 4), … keep that cost, this file's
# runtime, down.  For the same reason the edge shapes run in float64 only: float32 adds nothing shape-specific.
ARCHITECTURES = {  # name -> (layer sizes, batch m, dtypes)
    "lecture": ((2, 4, 3), 300, DTYPES),  # the lecture's spiral and 0.01·N(0, 1) weights, zero biases
    "deep": ((2, 4, 5, 3), 300, DTYPES),  # one more hidden layer, every width different
    "unit-hidden": ((2, 1, 3), 300, ("float64",)),  # a hidden layer of a single unit
    "one-output": ((2, 4, 1), 300, ("float64",)),  # sigmoid-bce (or mse) with a single output; softmax needs two
    "batch-1": ((2, 4, 3), 1, ("float64",)),
}
SHAPES = {**ARCHITECTURES,
          "one-layer": ((2, 3), 300, ("float64",)),  # no hidden layer: softmax regression
          "five-layers": ((2, 4, 5, 4, 5, 3), 300, ("float64",)),
          "db-cancels": ((3, 1, 2), 32, ("float32",))}  # on its Gaussian data float32 db1 cancels, see below


class Case(NamedTuple):
    """One network and its data, framework aside."""
    arch: str
    activation: str = "relu"
    loss: str = "softmax-ce"
    dtype: str = "float64"
    l2: float = 0.0
    convention: str = "keras"
    logits: float = 0.0  # if not 0: output biases ±logits, so that Z[L] is about ±logits
    slope: float = 0.01  # leaky_relu's slope for Z <= 0


@functools.lru_cache(maxsize=None)
def problem(case):
    """(net, params, X, Y) in the case's dtype; float32 inputs are the float64 ones rounded once."""
    sizes, m, _ = SHAPES[case.arch]
    net = Network(sizes, case.activation, case.loss, l2=case.l2, l2_convention=case.convention, leaky_slope=case.slope)
    X, Y = make_data(net, batch=m, seed=0)
    if case.arch == "lecture":  # zero biases: the spiral's three points at the origin sit exactly on the ReLU kink
        params = init_params(net, "lecture", seed=0)
    else:
        rng = np.random.default_rng(1)
        params = [(W, rng.normal(0, 0.5, b.shape)) for W, b in init_params(net, "he", seed=1)]
    if case.logits:
        W, b = params[-1]
        params[-1] = (W, case.logits * np.where(np.arange(b.shape[1]) % 2, -1.0, 1.0)[np.newaxis, :])
    dtype = case.dtype
    return net, [(W.astype(dtype), b.astype(dtype)) for W, b in params], X.astype(dtype), Y.astype(dtype)


@functools.lru_cache(maxsize=None)
def expected(case):
    """The reference's Trace, tolerances and summand scales for a case, as `crosscheck compare` computes them."""
    return reference_traces(*problem(case))


@functools.lru_cache(maxsize=None)
def computed(adapter, case):
    """The framework adapter's Trace for a case."""
    return adapter.backprop(*problem(case))


def framework_of(adapter):
    return adapter.__name__.split(".")[1]


def mismatch(adapter, case, name):
    """None if the adapter's tensor agrees with the reference's, else one line that says how it does not."""
    reference, tol, _ = expected(case)
    trace = computed(adapter, case)
    where = f"{framework_of(adapter)} {case.dtype} {name}"
    if name not in trace:
        return f"{where}: missing from the trace"
    got, want = trace[name], reference[name]
    if not isinstance(got, np.ndarray) or got.shape != want.shape or got.dtype != want.dtype:
        return f"{where}: {type(got).__module__}.{type(got).__name__} {getattr(got, 'dtype', '')} {np.shape(got)}, " \
               f"expected numpy.ndarray {want.dtype} {want.shape}"
    error = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
    if not error <= tol[name]:  # NaN fails too
        return f"{where}: max|Δ| {error:.1e} > tol {tol[name]:.1e} (shape {want.shape})"
    return None


def assert_agrees(adapter, case, names):
    """Every named tensor within tolerance of the reference; all failures in one message."""
    __tracebackhide__ = True
    failures = [line for line in (mismatch(adapter, case, name) for name in names) if line]
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


# ---- every tensor, framework × dtype × activation × loss × architecture ------------------------------

def layers(arch):
    return len(ARCHITECTURES[arch][0]) - 1


def nets():
    """(dtype, activation, loss, arch) for every network in the grid."""
    for dtype in DTYPES:
        for activation in ACTIVATIONS:
            for loss in LOSSES:
                for arch, (sizes, _, dtypes) in ARCHITECTURES.items():
                    if dtype in dtypes and not (loss == "softmax-ce" and sizes[-1] < 2):
                        yield dtype, activation, loss, arch


@pytest.mark.parametrize("dtype, activation, loss, arch, name", [
    pytest.param(*net, name, id="-".join(net + (name,))) for net in nets() for name in computed_names(layers(net[3]))])
def test_tensor_agrees_with_reference(adapter, dtype, activation, loss, arch, name):
    assert_agrees(adapter, Case(arch, activation, loss, dtype), [name])


@pytest.mark.parametrize("dtype, loss, arch", [pytest.param(dtype, loss, arch, id=f"{dtype}-{loss}-{arch}")
                                               for dtype, activation, loss, arch in nets() if activation == "relu"])
def test_trace_has_the_references_names_shapes_and_dtypes(framework, adapter, dtype, loss, arch):
    case = Case(arch, "relu", loss, dtype)
    reference = expected(case).reference
    trace = computed(adapter, case)
    assert set(trace.keys()) == set(reference.keys())
    for name, want in reference.items():
        got = trace[name]
        assert isinstance(got, np.ndarray), f"{framework} {name}: {type(got).__name__}, not a NumPy array"
        assert (got.shape, got.dtype) == (want.shape, want.dtype), f"{framework} {name}"
    assert trace["J"].shape == ()
    _, info = adapters.load(framework)
    assert trace.meta == {"framework": framework, "version": info["version"], "dtype": dtype, "device": "cpu"}


# ---- L2 in J under each convention; logits of ±1e4 ----------------------------------------------

@pytest.mark.parametrize("name", computed_names(3))
@pytest.mark.parametrize("convention", L2_CONVENTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_regularization(adapter, dtype, convention, name):
    assert_agrees(adapter, Case("deep", "tanh", "softmax-ce", dtype, l2=0.3, convention=convention), [name])


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_logits_of_1e4_give_finite_J_and_gradients(framework, adapter, dtype, loss, activation):
    case = Case("lecture", activation, loss, dtype, logits=1e4)
    trace = computed(adapter, case)
    assert np.max(np.abs(trace["Z2"])) > 0.99e4  # the case is what it says
    not_finite = [name for name in computed_names(2) if not np.all(np.isfinite(trace[name]))]
    assert not not_finite, f"{framework} {dtype}: not finite: {', '.join(not_finite)}"
    assert_agrees(adapter, case, computed_names(2))


@pytest.mark.parametrize("arch", ["one-layer", "five-layers"])
def test_any_depth(adapter, arch):
    assert_agrees(adapter, Case(arch, "tanh", "softmax-ce"), computed_names(len(SHAPES[arch][0]) - 1))


def test_leaky_relu_slope_is_the_networks(adapter):
    assert_agrees(adapter, Case("deep", "leaky_relu", "mse", slope=0.3), computed_names(3))


def test_the_lecture_case_sits_on_the_kink():
    """So that every framework's g'(0) is compared: the spiral's three points at the origin give Z1 = 0 exactly."""
    reference = expected(Case("lecture", "leaky_relu")).reference
    assert np.sum(np.all(reference["Z1"] == 0, axis=1)) == 3


def test_float32_tolerance_when_db_cancels(adapter):
    """db1 = Σ_rows dZ1 / m cancels to 1e-3 from terms of 1: one float32 run's error can be luckily small, so the
    policy takes the larger error of two correct float32 runs (rows as given and reversed)."""
    assert_agrees(adapter, Case("db-cancels", "identity", "sigmoid-bce", "float32"), ["db1"])


# ---- set-up, input checks, lazy imports -----------------------------------------------------------

def test_setup_reports_version_device_threads_precision(framework, adapter):
    _, info = adapters.load(framework)
    assert {"version", "device", "threads", "precision"} <= set(info)
    assert info["device"] in ("cpu", "cuda")
    assert isinstance(info["threads"], int) and info["threads"] > 0


def test_device_is_the_cpu_unless_cuda_is_asked_for_and_seen(framework, adapter, monkeypatch):
    monkeypatch.setattr(adapters, "_loaded", {})
    monkeypatch.setenv("CROSSCHECK_DEVICE", "cpu")
    assert adapters.load(framework)[1]["device"] == "cpu"
    monkeypatch.setattr(adapters, "_loaded", {})
    monkeypatch.setenv("CROSSCHECK_DEVICE", "cuda")
    assert adapters.load(framework)[1]["device"] in ("cpu", "cuda")  # cuda only where the framework sees a GPU
    monkeypatch.undo()
    adapters.setup(framework)  # back to this session's own settings


def test_mixed_dtypes_are_refused_not_cast(adapter):
    net, params, X, Y = problem(Case("lecture", dtype="float64"))
    with pytest.raises(InputError, match="dtype"):
        adapter.backprop(net, params, X.astype(np.float32), Y)


def test_importing_the_packages_imports_no_framework():
    """Frameworks are imported by setup() and the role modules only: the registry, every framework's package,
    the bridges, the engine and the command line import none."""
    packages = ", ".join(f"adapters.{name}" for name in adapters.FRAMEWORKS)
    code = (f"import sys, adapters, {packages}, adapters.torch.bridge, adapters.keras.bridge, crosscheck.cli, "
            "crosscheck.check, crosscheck.training, crosscheck.plots, crosscheck.benchmarks.workers, "
            "crosscheck.benchmarks.machine; "
            "print(' '.join(f for f in ('torch', 'tensorflow', 'jax', 'keras', 'optax', 'cupy', 'matplotlib') "
            "if f in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""



def test_a_sum_that_cancels_passes_in_every_framework(framework, adapter):
    """30 000 rows of the spiral (seed 2): db2 cancels to 9e-7 from terms of ~0.4, and torch's db2 is 3e-14 away
    from ours — 3e-8 of the result, so a tolerance relative to the result failed a correct framework.  The policy
    measures rounding against what was summed (crosscheck.tolerance)."""
    net = Network((2, 4, 3))
    params = init_params(net, "lecture", seed=2)
    X, Y = make_data(net, batch=30000, seed=2)
    reference, tol, _ = reference_traces(net, params, X, Y)
    trace = adapter.backprop(net, params, X, Y)
    errors = {name: float(np.max(np.abs(trace[name] - reference[name]))) for name in computed_names(2)}
    assert all(errors[name] <= tol[name] for name in errors), {n: (e, tol[n]) for n, e in errors.items() if e > tol[n]}
