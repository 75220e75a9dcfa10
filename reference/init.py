"""Initial parameters, seeded: the lecture's small random weights, He, Glorot — or your own.

Biases start at zero in every scheme.  W[l] (n[l-1], n[l]), b[l] (1, n[l]).  A batch-norm layer starts as every
framework starts it: γ = 1, β = 0, the running averages μ_run = 0, σ²_run = 1 (each (1, n[l])).
"""
import numpy as np

from .errors import InputError
from .network import DTYPES

INIT_SCHEMES = {
    "lecture": "W = 0.01 · N(0, 1)                          (the course's small random weights)",
    "he": "W = N(0, 1) · sqrt(2 / n_in)                 (ReLU layers; torch kaiming_normal_)",
    "glorot": "W = U(−a, a), a = sqrt(6 / (n_in + n_out))   (Keras's default, glorot_uniform)",
}


def init_params(net, scheme="lecture", seed=0, dtype="float64"):
    """[(W1, b1), …, (WL, bL)] for the network, drawn from one seeded generator, in the given dtype."""
    if scheme not in INIT_SCHEMES:
        raise InputError(f"unknown init scheme {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    if str(dtype) not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:]):
        if scheme == "lecture":
            W = 0.01 * rng.standard_normal((n_in, n_out))
        elif scheme == "he":
            W = rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in)
        else:
            a = np.sqrt(6 / (n_in + n_out))
            W = rng.uniform(-a, a, (n_in, n_out))
        zeros, ones = np.zeros((1, n_out), dtype=dtype), np.ones((1, n_out), dtype=dtype)
        if net.normalized(len(params) + 1):
            params.append((W.astype(dtype), ones, zeros, zeros.copy(), ones.copy()))
        else:
            params.append((W.astype(dtype), zeros))
    return params


def params_from_arrays(arrays, dtype=None):
    """[(W1, b1), …] from a mapping with keys W1, b1, W2, b2, … (an .npz file's contents).

    A layer with gamma{l} instead of b{l} is a batch-norm layer: (W, gamma, beta, rmu, rvar), the running
    averages 0 and 1 where the file has none.  b[l] (and γ, β, …) may be given as (n,) or (1, n); they are
    returned as (1, n).  dtype None keeps the file's.
    """
    layers = sorted(int(k[1:]) for k in arrays if k[:1] == "W" and k[1:].isdigit())
    if not layers:
        raise InputError("no weights found: expected arrays named W1, b1, W2, b2, …")
    if layers != list(range(1, len(layers) + 1)):
        raise InputError(f"weights must be numbered W1…WL without gaps, found {', '.join(f'W{l}' for l in layers)}")
    params = []
    for l in layers:
        W = np.asarray(arrays[f"W{l}"])
        if W.ndim != 2:
            raise InputError(f"W{l} must be 2-D (n_in, n_out), got shape {W.shape}")
        if f"b{l}" in arrays:
            names = ("b",)
        elif f"gamma{l}" in arrays:
            names = ("gamma", "beta", "rmu", "rvar")
        else:
            raise InputError(f"W{l} has no bias b{l} (nor a batch-norm layer's gamma{l}, beta{l})")
        defaults = {"rmu": np.zeros, "rvar": np.ones}
        vectors = []
        for name in names:
            if f"{name}{l}" not in arrays and name not in defaults:
                raise InputError(f"gamma{l} has no {name}{l}: a batch-norm layer has W, gamma, beta")
            value = np.asarray(arrays[f"{name}{l}"]) if f"{name}{l}" in arrays else defaults[name]((1, W.shape[1]), W.dtype)
            if value.ndim == 1:
                value = value[np.newaxis, :]
            if value.shape != (1, W.shape[1]):
                raise InputError(f"{name}{l} has shape {value.shape}, expected (1, {W.shape[1]}) to match W{l} {W.shape}")
            vectors.append(value)
        if l > 1 and W.shape[0] != params[-1][0].shape[1]:
            raise InputError(f"W{l} {W.shape} does not chain with W{l - 1} {params[-1][0].shape}: "
                             f"{W.shape[0]} inputs but the layer before has {params[-1][0].shape[1]} units")
        for name, value in zip(("W",) + names, [W] + vectors):
            if value.dtype.kind not in "f":
                raise InputError(f"{name}{l} has dtype {value.dtype}; weights must be float32 or float64")
            if not np.all(np.isfinite(value)):
                raise InputError(f"{name}{l} contains NaN or inf")
        layer = (W, *vectors)
        if dtype is not None:
            layer = tuple(value.astype(dtype) for value in layer)
        params.append(layer)
    return params
