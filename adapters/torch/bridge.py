"""The weight bridge to PyTorch: the reference's parameters ⇄ an nn.Sequential's state_dict.

    reference   [(W1, b1), …]   W[l] (n[l-1], n[l])   b[l] (1, n[l])     one example per row: Z = A W + b
    torch       {"0.weight": (n1, n0), "0.bias": (n1,), "2.weight": …}   nn.Linear computes A Wᵀ + b

torch stores each weight transposed.  The transpose lives in torch_layout() and nowhere else.  Nothing
here imports torch except state_dict(), and only when asked for torch tensors.
"""
import numpy as np

from crosscheck.reference.errors import InputError


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


def _module_index(name):
    head = name.split(".")[0]
    if not head.isdigit():
        raise InputError(f"state_dict entry {name!r} is not '<index>.weight' of an nn.Sequential")
    return int(head)


def _numpy(value):
    """An array from a NumPy array or a torch tensor (detached, on the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


# ---- a network with batch norm: Linear (no bias) and BatchNorm1d, module by module ----------------------
#
#     reference   (W, gamma, beta, rmu, rvar)     W (n_in, n_out), the rest (1, n_out)
#     torch       Linear(bias=False).weight (n_out, n_in);  BatchNorm1d .weight γ, .bias β, .running_mean,
#                 .running_var (n_out,) each

MODULE_FIELDS = {"W": ("linear", "weight"), "b": ("linear", "bias"), "gamma": ("norm", "weight"),
                 "beta": ("norm", "bias"), "rmu": ("norm", "running_mean"), "rvar": ("norm", "running_var")}


def module_values(net, params):
    """[{(module, field): array}] per layer: what each layer's Linear (and BatchNorm1d) holds, in torch's layout."""
    out = []
    for l, layer in enumerate(params, start=1):
        values = {}
        for name, value in zip(net.layer_names(l), layer):
            values[MODULE_FIELDS[name]] = np.ascontiguousarray(torch_layout(value) if name == "W"
                                                              else np.asarray(value).reshape(-1))
        out.append(values)
    return out


def params_from_modules(net, layers):
    """[(W1, b1), …] ((W, γ, β, μ_run, σ²_run) for a batch-norm layer) from [{"linear": Linear, "norm": BatchNorm1d}]."""
    params = []
    for l, modules in enumerate(layers, start=1):
        layer = []
        for name in net.layer_names(l):
            module, field = MODULE_FIELDS[name]
            value = _numpy(getattr(modules[module], field))
            layer.append(torch_layout(value).copy() if name == "W" else value[np.newaxis, :].copy())
        params.append(tuple(layer))
    return params
