"""The weight bridge: reference parameters ⇄ torch nn.Sequential state_dict ⇄ Keras weights, round trips
exact, and each framework's model computing the reference's Z[L] from the bridged weights."""
import subprocess
import sys

import numpy as np
import pytest

from adapters import bridge
from reference import InputError, Network, forward, init_params, make_data

NETS = [pytest.param((2, 4, 3), id="lecture-2-4-3"), pytest.param((5, 7, 6, 2), id="deep-5-7-6-2")]


def random_params(sizes, dtype="float64", seed=0):
    """Parameters with no symmetry (non-zero biases too), so that any swapped axis shows."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n_in, n_out)).astype(dtype), rng.standard_normal((1, n_out)).astype(dtype))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def assert_same_params(got, expected):
    __tracebackhide__ = True
    assert len(got) == len(expected), f"{len(got)} layers, expected {len(expected)}"
    for l, ((W, b), (W_ref, b_ref)) in enumerate(zip(got, expected), start=1):
        for name, value, ref in ((f"W{l}", W, W_ref), (f"b{l}", b, b_ref)):
            assert value.shape == ref.shape and value.dtype == ref.dtype, f"{name}: {value.shape} {value.dtype}"
            np.testing.assert_array_equal(value, ref, err_msg=name)


@pytest.mark.parametrize("sizes", NETS)
def test_state_dict_round_trip_as_arrays(sizes):
    params = random_params(sizes)
    sd = bridge.state_dict(params, tensors=False)
    assert list(sd) == [name for pair in bridge.linear_names(len(sizes) - 1) for name in pair]
    assert sd["0.weight"].shape == (sizes[1], sizes[0]) and sd["0.bias"].shape == (sizes[1],)
    assert_same_params(bridge.params_from_state_dict(sd), params)


@pytest.mark.parametrize("sizes", NETS)
def test_keras_weights_round_trip(sizes):
    params = random_params(sizes, "float32")
    weights = bridge.keras_weights(params)
    assert [w.shape for w in weights[:2]] == [(sizes[0], sizes[1]), (sizes[1],)]
    assert_same_params(bridge.params_from_keras_weights(weights), params)


def test_torch_layout_is_the_one_transpose():
    W = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(bridge.torch_layout(W), W.T)
    np.testing.assert_array_equal(bridge.torch_layout(bridge.torch_layout(W)), W)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", NETS)
def test_torch_sequential_computes_the_reference_logits(sizes, dtype):
    torch = pytest.importorskip("torch")
    from adapters import torch_train
    net = Network(sizes, activation="tanh")
    params = random_params(sizes, dtype)
    X, _ = make_data(net, 20, dtype=dtype)
    model = torch_train.sequential(net).to(getattr(torch, dtype))
    model.load_state_dict(bridge.state_dict(params))
    with torch.no_grad():
        Z = model(torch.from_numpy(X)).numpy()
    Zs, _, _ = forward(net, params, X)
    np.testing.assert_allclose(Z, Zs[-1], rtol=1e-12 if dtype == "float64" else 1e-5, atol=1e-6 if dtype == "float32" else 0)
    assert_same_params(bridge.params_from_state_dict(model.state_dict()), params)  # and back, exactly


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", NETS)
def test_keras_sequential_computes_the_reference_logits(sizes, dtype):
    pytest.importorskip("keras")
    from adapters import keras_fit
    net = Network(sizes, activation="tanh")
    params = random_params(sizes, dtype)
    X, _ = make_data(net, 20, dtype=dtype)
    model = keras_fit.sequential(net, dtype=dtype)
    model.set_weights(bridge.keras_weights(params))
    Z = np.asarray(model(X))
    Zs, _, _ = forward(net, params, X)
    np.testing.assert_allclose(Z, Zs[-1], rtol=1e-12 if dtype == "float64" else 1e-5, atol=1e-6 if dtype == "float32" else 0)
    assert_same_params(bridge.params_from_keras_weights(model.get_weights()), params)


@pytest.mark.torch
@pytest.mark.keras
def test_torch_to_keras_through_the_reference():
    """A torch state_dict into a Keras model and back: the reference's parameters are the common ground."""
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    params = init_params(Network((2, 4, 3)), "he", 3)
    from_torch = bridge.params_from_state_dict(bridge.state_dict(params))
    back = bridge.params_from_keras_weights(bridge.keras_weights(from_torch))
    assert_same_params(back, params)


@pytest.mark.parametrize("broken, message", [
    ({"0.weight": np.zeros((4, 2))}, "no 0.bias"),
    ({"0.weight": np.zeros((4, 2)), "0.bias": np.zeros(3)}, "not a Linear layer"),
    ({"fc.weight": np.zeros((4, 2)), "fc.bias": np.zeros(4)}, "not '<index>.weight'"),
    ({}, "no '<i>.weight' entries"),
], ids=["missing-bias", "bias-shape", "named-modules", "empty"])
def test_a_state_dict_that_is_not_linear_layers_is_one_clear_error(broken, message):
    with pytest.raises(InputError, match=message):
        bridge.params_from_state_dict(broken)


def test_keras_weights_must_come_in_pairs():
    with pytest.raises(InputError, match="kernel, bias pairs"):
        bridge.params_from_keras_weights([np.zeros((2, 4))])
    with pytest.raises(InputError, match="not a Dense layer"):
        bridge.params_from_keras_weights([np.zeros((2, 4)), np.zeros(2)])


def test_importing_the_training_modules_imports_no_framework():
    code = ("import sys; import adapters.bridge, adapters.torch_train, adapters.tf_train, adapters.keras_fit, "
            "adapters.jax_train, crosscheck.cmd_train, crosscheck.plotting, reference.train, reference.optim; "
            "print(sorted({'torch', 'tensorflow', 'keras', 'jax', 'optax', 'matplotlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
