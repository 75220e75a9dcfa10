"""Property test: for any architecture, batch, seed and parameter scale, every framework agrees with the
reference on every tensor (float64), and the engine's verdict is symmetric in what it measures."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosscheck.engine import tolerance
from crosscheck.engine.tensors import compare, first_divergence
from crosscheck.reference import ACTIVATIONS, LOSSES, Network, backprop, init_params, make_data

problems = st.fixed_dictionaries({
    "sizes": st.lists(st.integers(1, 7), min_size=2, max_size=5),
    "activation": st.sampled_from(list(ACTIVATIONS)),
    "loss": st.sampled_from(list(LOSSES)),
    "batch": st.integers(1, 40),
    "seed": st.integers(0, 2**16),
    "scale": st.sampled_from([0.01, 0.3, 1.0, 3.0]),
    "l2": st.sampled_from([0.0, 0.1]),
})


def build(p):
    sizes = list(p["sizes"])
    if p["loss"] == "softmax-ce" and sizes[-1] < 2:
        sizes[-1] = 2
    net = Network(tuple(sizes), activation=p["activation"], loss=p["loss"], l2=p["l2"])
    rng = np.random.default_rng(p["seed"])
    params = [(p["scale"] * W / max(np.std(W), 1e-12) if W.size > 1 else p["scale"] * W,
               p["scale"] * rng.standard_normal(b.shape)) for W, b in init_params(net, "he", p["seed"])]
    X, Y = make_data(net, p["batch"], p["seed"])
    return net, params, X, Y


# the adapter fixture is the framework's check module: stateless, so sharing it across examples is safe
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(p=problems)
def test_every_framework_agrees_everywhere(framework, adapter, p):
    net, params, X, Y = build(p)
    reference = backprop(net, params, X, Y)
    first = first_divergence(compare(framework, adapter.backprop(net, params, X, Y), reference,
                                     tolerance.tolerances(reference)))
    assert first is None, f"{framework} {net.describe()} m={p['batch']}: {first.tensor} max|Δ| {first.max_abs} " \
                          f"> {first.tolerance} ({first.hint})"
