"""Initial parameters, seeded: the lecture's small random weights, He, Glorot — or your own.

Biases start at zero in every scheme.  W[l] (n[l-1], n[l]), b[l] (1, n[l]).
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
        params.append((W.astype(dtype), np.zeros((1, n_out), dtype=dtype)))
    return params


def params_from_arrays(arrays, dtype=None):
    """[(W1, b1), …] from a mapping with keys W1, b1, W2, b2, … (an .npz file's contents).

    b[l] may be given as (n,) or (1, n); it is returned as (1, n).  dtype None keeps the file's.
    """
    layers = sorted(int(k[1:]) for k in arrays if k[:1] == "W" and k[1:].isdigit())
    if not layers:
        raise InputError("no weights found: expected arrays named W1, b1, W2, b2, …")
    if layers != list(range(1, len(layers) + 1)):
        raise InputError(f"weights must be numbered W1…WL without gaps, found {', '.join(f'W{l}' for l in layers)}")
    params = []
    for l in layers:
        if f"b{l}" not in arrays:
            raise InputError(f"W{l} has no bias b{l}")
        W, b = np.asarray(arrays[f"W{l}"]), np.asarray(arrays[f"b{l}"])
        if W.ndim != 2:
            raise InputError(f"W{l} must be 2-D (n_in, n_out), got shape {W.shape}")
        if b.ndim == 1:
            b = b[np.newaxis, :]
        if b.shape != (1, W.shape[1]):
            raise InputError(f"b{l} has shape {b.shape}, expected (1, {W.shape[1]}) to match W{l} {W.shape}")
        if l > 1 and W.shape[0] != params[-1][0].shape[1]:
            raise InputError(f"W{l} {W.shape} does not chain with W{l - 1} {params[-1][0].shape}: "
                             f"{W.shape[0]} inputs but the layer before has {params[-1][0].shape[1]} units")
        for name, value in ((f"W{l}", W), (f"b{l}", b)):
            if value.dtype.kind not in "f":
                raise InputError(f"{name} has dtype {value.dtype}; weights must be float32 or float64")
            if not np.all(np.isfinite(value)):
                raise InputError(f"{name} contains NaN or inf")
        if dtype is not None:
            W, b = W.astype(dtype), b.astype(dtype)
        params.append((W, b))
    return params
