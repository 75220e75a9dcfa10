"""The adapters against the reference: every lecture tensor, per framework × dtype × activation × loss × shape.

Each framework's Trace is computed once per case (lru_cache); one test compares every tensor of one network and
names each that diverges in its message (e.g. `torch float32 dW1: max|Δ| 3.1e-04 > tol 2.0e-06`); a test id names
the network, e.g.  torch-float32-relu-softmax-ce-lecture,  and -k selects any slice.
Tolerances are crosscheck.tolerance's, as crosscheck.check.reference_traces computes them for the command.
`framework` is parametrized by conftest.py over every framework with a check role; `adapter` is its check module.
"""
import functools
import subprocess
import sys
from typing import NamedTuple

import numpy as np
import pytest

from crosscheck import adapters
from crosscheck.engine.check import reference_traces
from crosscheck.reference import (
    ACTIVATIONS,
    L2_CONVENTIONS,
    LOSSES,
    InputError,
    Network,
    computed_names,
    dropout_masks,
    init_params,
    make_data,
)

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
    keep_prob: float = 1.0   # dropout, the masks drawn from seed 0
    batch_norm: bool = False # batch norm: γ, β, the running averages drawn (not 1, 0, 0, 1)
    inference: bool = False  # an inference pass


def network(case):
    sizes, _, _ = SHAPES[case.arch]
    return Network(sizes, case.activation, case.loss, l2=case.l2, l2_convention=case.convention, leaky_slope=case.slope,
                   keep_prob=case.keep_prob, batch_norm=case.batch_norm, training=not case.inference)


@functools.lru_cache(maxsize=None)
def problem(case):
    """(net, params, X, Y) in the case's dtype; float32 inputs are the float64 ones rounded once."""
    _, m, _ = SHAPES[case.arch]
    net = network(case)
    X, Y = make_data(net, batch=m, seed=0)
    if case.arch == "lecture":  # zero biases: the spiral's three points at the origin sit exactly on the ReLU kink
        params = init_params(net, "lecture", seed=0)
    else:  # non-zero biases; a batch-norm layer's γ ≈ 1, β, μ_run ≈ 0 and σ²_run > 0 drawn too
        rng = np.random.default_rng(1)
        shifts = {"gamma": 1.0, "rvar": 1.0}
        params = [(W, *(np.abs(rng.normal(shifts.get(name, 0), 0.5, P.shape)) if name == "rvar"
                        else rng.normal(shifts.get(name, 0), 0.5, P.shape) for name, P in zip(net.layer_names(l)[1:], rest)))
                  for l, (W, *rest) in enumerate(init_params(net, "he", seed=1), start=1)]
    if case.logits:
        W, b = params[-1]
        params[-1] = (W, case.logits * np.where(np.arange(b.shape[1]) % 2, -1.0, 1.0)[np.newaxis, :])
    dtype = case.dtype
    return net, [tuple(P.astype(dtype) for P in layer) for layer in params], X.astype(dtype), Y.astype(dtype)


@functools.lru_cache(maxsize=None)
def masks(case):
    """The dropout masks of a case (None without dropout), drawn once, in its dtype: every framework gets these."""
    net, _, X, _ = problem(case)
    return dropout_masks(net, X.shape[0], seed=0, dtype=case.dtype)


def keyword_masks(case):
    return {"masks": masks(case)} if masks(case) is not None else {}


@functools.lru_cache(maxsize=None)
def expected(case):
    """The reference's Trace, tolerances and summand scales for a case, as `crosscheck compare` computes them."""
    return reference_traces(*problem(case), masks(case))


@functools.lru_cache(maxsize=None)
def computed(adapter, case):
    """The framework adapter's Trace for a case."""
    return adapter.backprop(*problem(case), **keyword_masks(case))


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
    """(dtype, activation, loss, arch) for every network in the grid: on the lecture's 2-4-3 every activation with
    every loss; on the deep 2-4-5-3 every activation with softmax-ce and every loss with relu; on the edge shapes (a
    unit hidden layer, one output, one row) every loss with relu.
    What mixes them elsewhere — any architecture, activation, loss, batch, seed and scale at once — is the property
    test's (tests/test_properties.py), over random draws."""
    for dtype in DTYPES:
        for activation in ACTIVATIONS:
            for loss in LOSSES:
                for arch, (sizes, _, dtypes) in ARCHITECTURES.items():
                    natural = "sigmoid-bce" if sizes[-1] < 2 else "softmax-ce"
                    crossed = arch == "lecture" or activation == "relu" or (arch == "deep" and loss == natural)
                    if crossed and dtype in dtypes and not (loss == "softmax-ce" and sizes[-1] < 2):
                        yield dtype, activation, loss, arch


@pytest.mark.parametrize("dtype, activation, loss, arch", [pytest.param(*net, id="-".join(net)) for net in nets()])
def test_every_tensor_agrees_with_reference(framework, adapter, dtype, activation, loss, arch):
    """Every tensor of the reference's trace, and nothing else, each a NumPy array of its shape and dtype (mismatch
    says which is not) and within tolerance; the trace says what computed it."""
    case = Case(arch, activation, loss, dtype)
    reference, trace = expected(case).reference, computed(adapter, case)
    assert set(trace.keys()) == set(reference.keys())
    assert_agrees(adapter, case, computed_names(layers(arch)))
    assert trace["J"].shape == ()
    _, info = adapters.load(framework)
    assert trace.meta == {"framework": framework, "version": info["version"], "dtype": dtype, "device": "cpu"}


# ---- the next lecture's layers: dropout and batch norm, every one of their tensors ------------------------

LAYERS = {  # name -> what the case has (on the deep 2-4-5-3 architecture, ReLU, softmax-ce)
    "dropout": dict(keep_prob=0.7),
    "batch-norm-dropout": dict(keep_prob=0.8, batch_norm=True),
    "batch-norm-inference": dict(batch_norm=True, inference=True),
    "dropout-inference": dict(keep_prob=0.7, inference=True),
}


def layer_case(name, dtype):
    return Case("deep", "relu", "softmax-ce", dtype, **LAYERS[name])


@pytest.mark.parametrize("layers", LAYERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_and_batch_norm_tensors_agree_with_reference(adapter, dtype, layers):
    case = layer_case(layers, dtype)
    assert_agrees(adapter, case, computed_names(network(case)))


@pytest.mark.parametrize("layers", LAYERS)
def test_dropout_and_batch_norm_traces_have_the_references_names(framework, adapter, layers):
    case = layer_case(layers, "float64")
    reference, trace = expected(case).reference, computed(adapter, case)
    assert list(trace.keys()) == list(reference.keys())  # inputs (D, γ, β, rmu, rvar) and every tensor, in order
    net = network(case)
    if net.batch_norm:
        assert "b1" not in trace and trace["gamma1"].shape == (1, 4)  # a batch-norm layer has no b
        assert ("rmu1" in trace) == (not net.training) and ("mu1" in trace) == net.training


def test_the_grid_draws_what_makes_each_layer_show():
    """γ ≠ 1, β ≠ 0, running averages that are not the batch's, and masks that drop some units of every layer."""
    net, params, X, _ = problem(layer_case("batch-norm-dropout", "float64"))
    W, gamma, beta, rmu, rvar = params[0]
    assert np.all(gamma != 1) and np.all(beta != 0) and np.all(rvar > 0)
    D = masks(layer_case("batch-norm-dropout", "float64"))
    assert all(0 < D_l.mean() < 1 for D_l in D)
    batch_mean = (X @ W).mean(axis=0, keepdims=True)
    assert np.max(np.abs(batch_mean - rmu)) > 0.1  # inference and training normalize differently here


def test_dropout_needs_its_masks(adapter):
    net, params, X, Y = problem(layer_case("dropout", "float64"))
    with pytest.raises(InputError, match="needs its masks"):
        adapter.backprop(net, params, X, Y)


# ---- L2 in J under each convention; logits of ±1e4 ----------------------------------------------

@pytest.mark.parametrize("convention", L2_CONVENTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_regularization(adapter, dtype, convention):
    assert_agrees(adapter, Case("deep", "tanh", "softmax-ce", dtype, l2=0.3, convention=convention), computed_names(3))


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
    packages = ", ".join(f"crosscheck.adapters.{name}" for name in adapters.FRAMEWORKS)
    code = (f"import sys, crosscheck.adapters, {packages}, crosscheck.adapters.torch.bridge, "
            "crosscheck.adapters.keras.bridge, crosscheck.cli, crosscheck.engine.check, crosscheck.course.training, "
            "crosscheck.render.plots, crosscheck.benchmarks.workers, "
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


@pytest.mark.parametrize("wrong, first", [(dict(bn_eps=1e-3), "Zhat1"), (dict(keep_prob=0.5), "Adrop1")],
                         ids=["keras-default-epsilon", "another-keep-prob"])
def test_a_framework_told_another_epsilon_or_keep_prob_fails_where_it_shows(adapter, wrong, first):
    """The grid can fail: ε = 1e-3 (Keras's default) for the reference's 1e-5, or another keep_prob, is far outside."""
    import dataclasses

    from crosscheck.engine.tensors import compare, first_divergence
    case = layer_case("batch-norm-dropout", "float64")
    net, params, X, Y = problem(case)
    trace = adapter.backprop(dataclasses.replace(net, **wrong), params, X, Y, masks=masks(case))
    assert first_divergence(compare("wrong", trace, *expected(case), net=net)).tensor == first


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers", LAYERS)
def test_the_tolerances_of_dropout_and_batch_norm_are_rounding_sized(layers, dtype):
    """Their summand scales propagate each upstream tensor's rounding to first order (crosscheck.tolerance): the
    tolerance stays a rounding-sized fraction of each tensor — measured at most 1e-7 (float64) and 1e-3 (float32,
    dW1 behind a dZ1 that sums to zero over the rows) — never of the order of the tensor, where a mistake would pass."""
    case = layer_case(layers, dtype)
    reference, tol, _ = expected(case)
    bound = 1e-6 if dtype == "float64" else 1e-2
    loose = {name: tol[name] / np.max(np.abs(reference[name])) for name in computed_names(network(case))
             if np.max(np.abs(reference[name])) > 0 and tol[name] > bound * np.max(np.abs(reference[name]))}
    assert not loose, loose
