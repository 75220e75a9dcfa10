"""The weight bridge: reference parameters ⇄ torch nn.Sequential state_dict ⇄ Keras weights, round trips
exact, and each framework's model computing the reference's Z[L] from the bridged weights."""
import numpy as np
import pytest

from crosscheck.adapters.keras import bridge as keras_bridge
from crosscheck.adapters.torch import bridge as torch_bridge
from crosscheck.reference import InputError, Network, forward, init_params, make_data

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
    sd = torch_bridge.state_dict(params, tensors=False)
    assert list(sd) == [name for pair in torch_bridge.linear_names(len(sizes) - 1) for name in pair]
    assert sd["0.weight"].shape == (sizes[1], sizes[0]) and sd["0.bias"].shape == (sizes[1],)
    assert_same_params(torch_bridge.params_from_state_dict(sd), params)


@pytest.mark.parametrize("sizes", NETS)
def test_keras_weights_round_trip(sizes):
    params = random_params(sizes, "float32")
    weights = keras_bridge.keras_weights(params)
    assert [w.shape for w in weights[:2]] == [(sizes[0], sizes[1]), (sizes[1],)]
    assert_same_params(keras_bridge.params_from_keras_weights(weights), params)


def test_torch_layout_is_the_one_transpose():
    W = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(torch_bridge.torch_layout(W), W.T)
    np.testing.assert_array_equal(torch_bridge.torch_layout(torch_bridge.torch_layout(W)), W)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", NETS)
def test_torch_sequential_computes_the_reference_logits(sizes, dtype):
    torch = pytest.importorskip("torch")
    from crosscheck.adapters.torch.train import sequential
    net = Network(sizes, activation="tanh")
    params = random_params(sizes, dtype)
    X, _ = make_data(net, 20, dtype=dtype)
    model = sequential(net, params)  # the weights through torch_bridge.state_dict
    assert next(model.parameters()).dtype == getattr(torch, dtype)
    with torch.no_grad():
        Z = model(torch.from_numpy(X)).numpy()
    Zs, _, _ = forward(net, params, X)
    np.testing.assert_allclose(Z, Zs[-1], rtol=1e-12 if dtype == "float64" else 1e-5, atol=1e-6 if dtype == "float32" else 0)
    assert_same_params(torch_bridge.params_from_state_dict(model.state_dict()), params)  # and back, exactly


@pytest.mark.keras
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", NETS)
def test_keras_sequential_computes_the_reference_logits(sizes, dtype):
    pytest.importorskip("keras")
    from crosscheck.adapters.keras.ops import sequential
    net = Network(sizes, activation="tanh")
    params = random_params(sizes, dtype)
    X, _ = make_data(net, 20, dtype=dtype)
    model = sequential(net, dtype=dtype)
    model.set_weights(keras_bridge.keras_weights(params))
    Z = np.asarray(model(X))
    Zs, _, _ = forward(net, params, X)
    np.testing.assert_allclose(Z, Zs[-1], rtol=1e-12 if dtype == "float64" else 1e-5, atol=1e-6 if dtype == "float32" else 0)
    assert_same_params(keras_bridge.params_from_keras_weights(model.get_weights()), params)


@pytest.mark.torch
@pytest.mark.keras
def test_torch_to_keras_through_the_reference():
    """A torch state_dict into a Keras model and back: the reference's parameters are the common ground."""
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    params = init_params(Network((2, 4, 3)), "he", 3)
    from_torch = torch_bridge.params_from_state_dict(torch_bridge.state_dict(params))
    back = keras_bridge.params_from_keras_weights(keras_bridge.keras_weights(from_torch))
    assert_same_params(back, params)


@pytest.mark.parametrize("broken, message", [
    ({"0.weight": np.zeros((4, 2))}, "no 0.bias"),
    ({"0.weight": np.zeros((4, 2)), "0.bias": np.zeros(3)}, "not a Linear layer"),
    ({"fc.weight": np.zeros((4, 2)), "fc.bias": np.zeros(4)}, "not '<index>.weight'"),
    ({}, "no '<i>.weight' entries"),
], ids=["missing-bias", "bias-shape", "named-modules", "empty"])
def test_a_state_dict_that_is_not_linear_layers_is_one_clear_error(broken, message):
    with pytest.raises(InputError, match=message):
        torch_bridge.params_from_state_dict(broken)


def test_keras_weights_must_come_in_pairs():
    with pytest.raises(InputError, match="kernel, bias pairs"):
        keras_bridge.params_from_keras_weights([np.zeros((2, 4))])
    with pytest.raises(InputError, match="not a Dense layer"):
        keras_bridge.params_from_keras_weights([np.zeros((2, 4)), np.zeros(2)])
