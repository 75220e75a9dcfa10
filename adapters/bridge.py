"""The weight bridge: the reference's parameters ⇄ a torch nn.Sequential state_dict ⇄ a Keras model's weights.

    reference   [(W1, b1), …]   W[l] (n[l-1], n[l])   b[l] (1, n[l])     one example per row: Z = A W + b
    torch       {"0.weight": (n1, n0), "0.bias": (n1,), "2.weight": …}   nn.Linear computes A Wᵀ + b
    Keras       [kernel1 (n0, n1), bias1 (n1,), kernel2, bias2, …]      Dense computes A kernel + bias

torch stores each weight transposed; Keras stores it as the lecture does and only drops the bias's row
axis.  The transpose lives in torch_layout() and nowhere else.  Nothing here imports a framework except
state_dict(), and only when asked for torch tensors.
"""
import numpy as np

from reference.errors import InputError


def torch_layout(W):
    """The one transpose: the lecture's W (n_in, n_out) ⇄ torch's Linear.weight (n_out, n_in)."""
    return np.asarray(W).T


def linear_names(L, stride=2):
    """The state_dict names of the L Linear layers of Sequential(Linear, g, Linear, g, …, Linear)."""
    return [(f"{stride * l}.weight", f"{stride * l}.bias") for l in range(L)]


def state_dict(params, tensors=True, stride=2):
    """A state_dict for Sequential(Linear, g, …, Linear): torch tensors, or NumPy arrays if tensors=False."""
    out = {}
    for (W, b), (w_name, b_name) in zip(params, linear_names(len(params), stride)):
        out[w_name] = np.ascontiguousarray(torch_layout(W))
        out[b_name] = np.asarray(b).reshape(-1).copy()
    if tensors:
        import torch
        out = {name: torch.from_numpy(value) for name, value in out.items()}
    return out


def params_from_state_dict(sd):
    """[(W1, b1), …] from a state_dict of Linear layers (torch tensors or arrays), in module order."""
    weights = sorted((name for name in sd if name.endswith(".weight")), key=_module_index)
    if not weights:
        raise InputError("state_dict has no '<i>.weight' entries: not a Sequential of Linear layers")
    params = []
    for w_name in weights:
        b_name = w_name[:-len("weight")] + "bias"
        if b_name not in sd:
            raise InputError(f"state_dict has {w_name} but no {b_name}")
        W, b = _numpy(sd[w_name]), _numpy(sd[b_name])
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise InputError(f"{w_name} {W.shape} and {b_name} {b.shape} are not a Linear layer's (n_out, n_in), (n_out,)")
        params.append((torch_layout(W).copy(), b[np.newaxis, :].copy()))
    return params


def keras_weights(params):
    """[kernel1, bias1, …] for model.set_weights: the kernel is W as it is, the bias loses its row axis."""
    out = []
    for W, b in params:
        out += [np.array(W), np.asarray(b).reshape(-1).copy()]
    return out


def params_from_keras_weights(weights):
    """[(W1, b1), …] from model.get_weights() of a model whose weights are Dense kernels and biases only."""
    weights = [_numpy(w) for w in weights]
    if len(weights) % 2:
        raise InputError(f"{len(weights)} Keras weight arrays: expected kernel, bias pairs")
    params = []
    for kernel, bias in zip(weights[::2], weights[1::2]):
        if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
            raise InputError(f"kernel {kernel.shape} and bias {bias.shape} are not a Dense layer's (n_in, n_out), (n_out,)")
        params.append((kernel.copy(), bias[np.newaxis, :].copy()))
    return params


def _module_index(name):
    head = name.split(".")[0]
    if not head.isdigit():
        raise InputError(f"state_dict entry {name!r} is not '<index>.weight' of an nn.Sequential")
    return int(head)


def _numpy(value):
    """An array from a NumPy array, a torch tensor (detached, on the CPU) or a TF/Keras variable."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


# ---- Keras layers that compute exactly what the reference does, in float64 too -----------------------

def keras_activation(net):
    """g by Keras's name; leaky ReLU written out, since Keras's LeakyReLU keeps its slope in float32
    (tf.nn.leaky_relu's attribute), 1e-10 off in a float64 run."""
    from keras import ops
    if net.activation == "leaky_relu":
        return lambda Z: ops.where(Z > 0, Z, net.leaky_slope * Z)
    return {"identity": "linear"}.get(net.activation, net.activation)


def exact_l2(lam):
    """keras.regularizers.L2(λ), λ Σ‖W‖², without its detour through float32: L2 casts λ from a float32
    tensor to W's dtype, which moves a float64 run by λ's float32 rounding (1e-9 of λ = 0.01)."""
    import keras

    class ExactL2(keras.regularizers.L2):
        def __call__(self, W):
            return keras.ops.sum(keras.ops.square(W)) * np.asarray(self.l2, dtype=W.dtype)

    return ExactL2(lam)
