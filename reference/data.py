"""Data for the network: the lecture's spiral, seeded Gaussian stand-ins, or X with Y / y from a file.

X (m, n[0]) and Y (m, n[L]) come back in the dtype asked for.  Integer labels y (m,) are turned into
one-hot Y here, after checking them, so that the rest of the code sees only Y.
"""
import numpy as np

from .errors import InputError
from .network import DTYPES
from .trace import load_npz


def spiral(n_per_class=100, n_classes=3, seed=0, dtype="float64"):
    """The lecture's k-arm spiral: X (K·N, 2), y (K·N,) integer labels.

    Class k: radius r = linspace(0, 1, N), angle t = linspace(4k, 4(k+1), N) + 0.2·N(0, 1),
    point (r sin t, r cos t).
    """
    rng = np.random.default_rng(seed)
    X = np.zeros((n_per_class * n_classes, 2))
    y = np.zeros(n_per_class * n_classes, dtype=np.int64)
    for k in range(n_classes):
        rows = slice(n_per_class * k, n_per_class * (k + 1))
        r = np.linspace(0.0, 1, n_per_class)
        t = np.linspace(k * 4, (k + 1) * 4, n_per_class) + rng.standard_normal(n_per_class) * 0.2
        X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[rows] = k
    return X.astype(dtype), y


def one_hot(y, n_classes, dtype="float64"):
    """y (m,) integers in [0, n_classes)  ->  Y (m, n_classes) with a single 1 per row."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"labels y must be 1-D (m,), got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise InputError(f"labels y must be integers, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(y[(y < 0) | (y >= n_classes)][0])
        raise InputError(f"label {bad} is out of range for {n_classes} classes (labels run 0..{n_classes - 1})")
    Y = np.zeros((y.shape[0], n_classes), dtype=dtype)
    Y[np.arange(y.shape[0]), y] = 1
    return Y


def targets(net, y_or_Y, dtype):
    """Y (m, n[L]) from integer labels y (m,) or from a target matrix, checked against the loss."""
    arr = np.asarray(y_or_Y)
    n_out = net.sizes[-1]
    if arr.ndim == 1:
        if net.loss == "mse":
            raise InputError("integer labels y need a classification loss (softmax-ce or sigmoid-bce), not mse")
        if net.loss == "sigmoid-bce" and n_out == 1:
            return one_hot(arr, 2, dtype)[:, 1:]
        return one_hot(arr, n_out, dtype)
    if arr.ndim != 2:
        raise InputError(f"Y must be 2-D (m, {n_out}), got shape {arr.shape}")
    if arr.dtype.kind not in "fiub":
        raise InputError(f"Y has dtype {arr.dtype}; expected numbers")
    return arr.astype(dtype)


def gaussian_data(net, m, seed=0, dtype="float64"):
    """Seeded stand-in data for any sizes: X ~ N(0, 1), Y random one-hot / 0-1 / N(0, 1) per the loss."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, net.sizes[0]))
    n_out = net.sizes[-1]
    if net.loss == "softmax-ce":
        Y = one_hot(rng.integers(0, n_out, m), n_out)
    elif net.loss == "sigmoid-bce":
        Y = rng.integers(0, 2, (m, n_out)).astype(float)
    else:
        Y = rng.standard_normal((m, n_out))
    return X.astype(dtype), Y.astype(dtype)


def spiral_classes(net):
    """How many arms the spiral for this network has, or 0 when the spiral does not fit it.

    It fits 2 inputs and a classification loss: K = n[L] classes for softmax-ce, 2 for sigmoid-bce with one output.
    """
    n_out = net.sizes[-1]
    if net.sizes[0] != 2:
        return 0
    return n_out if net.loss == "softmax-ce" else 2 if (net.loss == "sigmoid-bce" and n_out == 1) else 0


def make_data(net, batch=300, seed=0, dtype="float64"):
    """The data the command line uses by default: the spiral when it fits the network, else Gaussian.

    The spiral fits when there are 2 inputs and a classification loss (spiral_classes).  batch = 300 with
    3 classes is the lecture's exact data; any other batch size takes a seeded sample of a spiral large
    enough to hold it.
    """
    if str(dtype) not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch <= 0:
        raise InputError(f"batch size must be a positive integer, got {batch!r}")
    classes = spiral_classes(net)
    if not classes:
        return gaussian_data(net, batch, seed, dtype)
    n_per_class = -(-batch // classes)
    X, y = spiral(n_per_class, classes, seed, dtype)
    if batch != len(y):
        rows = np.sort(np.random.default_rng(seed).permutation(len(y))[:batch])
        X, y = X[rows], y[rows]
    return X, targets(net, y, dtype)


def load_data(path, net, dtype=None):
    """X and Y from an .npz file holding X with either Y (targets) or y (integer labels).

    dtype None keeps X's own dtype (it must be float32 or float64).
    """
    arrays = load_npz(path)
    if "X" not in arrays:
        raise InputError(f"{path}: no array named X (found: {', '.join(sorted(arrays)) or 'nothing'})")
    if "Y" not in arrays and "y" not in arrays:
        raise InputError(f"{path}: needs targets Y (one-hot) or labels y besides X")
    X = arrays["X"]
    if X.dtype.kind != "f":
        raise InputError(f"{path}: X has dtype {X.dtype}; inputs must be float32 or float64")
    dtype = dtype or X.dtype.name
    if X.ndim != 2:
        raise InputError(f"{path}: X must be 2-D (m, n0), got shape {X.shape}")
    Y = targets(net, arrays["Y"] if "Y" in arrays else arrays["y"], dtype)
    if Y.shape[0] != X.shape[0]:
        raise InputError(f"{path}: X has {X.shape[0]} rows but the targets have {Y.shape[0]}")
    return X.astype(dtype), Y
