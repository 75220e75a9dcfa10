"""Data for the network: the lecture's spiral, seeded Gaussian stand-ins, X with Y / y from a file, or a real
data set (digits, breast-cancer) split three ways.

X (m, n[0]) and Y (m, n[L]) come back in the dtype asked for.  Integer labels y (m,) are turned into
one-hot Y here, after checking them, so that the rest of the code sees only Y.
"""
from dataclasses import dataclass

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


# ---- real data, offline ---------------------------------------------------------------------------
#
# Two small data sets that scikit-learn ships inside its wheel (read from those files, never downloaded),
# a stratified train / dev / test split with a seed, and inputs standardized on the training rows only.
#
# Legend:  m  examples of the whole set    m_s  examples of one split s (train, dev or test)
#          n0 inputs per example           K    classes

@dataclass(frozen=True)
class DatasetInfo:
    """What a named data set is, known without reading it."""

    name: str
    features: int        # n0
    classes: int         # K
    loader: str          # the sklearn.datasets function that reads its bundled file
    image: tuple = None  # how a row is drawn: (8, 8) for the digits; None when it is no picture
    about: str = ""


DATASETS = {info.name: info for info in (
    DatasetInfo("digits", 64, 10, "load_digits", (8, 8), "8×8 handwritten digits, 1,797 × 64, 10 classes"),
    DatasetInfo("breast-cancer", 30, 2, "load_breast_cancer", None, "Wisconsin breast cancer, 569 × 30, 2 classes"),
)}
SPLITS = ("train", "dev", "test")
FRACTIONS = (0.6, 0.2, 0.2)  # the course's split for a small data set
HIDDEN = 32                  # the hidden width of a named data set's default network: 64-32-10, 30-32-2


def dataset_info(name):
    """The DatasetInfo of a named data set; InputError naming the choices for any other name."""
    if name not in DATASETS:
        raise InputError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)} (or give an .npz file)")
    return DATASETS[name]


def dataset_layers(name, loss="softmax-ce", hidden=HIDDEN):
    """The default network for a named data set: n0 inputs, one hidden layer, K outputs (1 for sigmoid-bce)."""
    info = dataset_info(name)
    return (info.features, hidden, 1 if loss == "sigmoid-bce" else info.classes)


def file_layers(path, loss="softmax-ce", hidden=HIDDEN):
    """The default network for an .npz of X with Y or y: n0 inputs, one hidden layer, as many outputs as Y has
    columns (from labels y: K classes, or 1 for sigmoid-bce on two)."""
    arrays = load_npz(path)
    if "X" not in arrays or np.ndim(arrays["X"]) != 2:
        return None  # load_data says what is wrong with the file
    n_in = arrays["X"].shape[1]
    if "Y" in arrays and np.ndim(arrays["Y"]) == 2:
        return (n_in, hidden, arrays["Y"].shape[1])
    if "y" in arrays and np.ndim(arrays["y"]) == 1 and arrays["y"].size and np.all(np.isfinite(arrays["y"])):
        K = max(2, int(np.max(arrays["y"])) + 1)
        return (n_in, hidden, 1 if loss == "sigmoid-bce" and K == 2 else K)
    return None


def check_fits(name, net):
    """InputError unless the network takes the data set's inputs and its loss fits the K classes.

    softmax-ce fits any K with K outputs; sigmoid-bce fits two classes with one output; mse fits no labels.
    """
    info = dataset_info(name)
    if net.sizes[0] != info.features:
        raise InputError(f"{name} has {info.features} inputs per example; the network takes {net.sizes[0]} "
                         f"(layers {','.join(map(str, dataset_layers(name, net.loss)))} fit it)")
    n_out = net.sizes[-1]
    if net.loss == "softmax-ce" and n_out == info.classes:
        return
    if net.loss == "sigmoid-bce" and n_out == 1 and info.classes == 2:
        return
    fits = "softmax-ce with 2 outputs or sigmoid-bce with 1" if info.classes == 2 else f"softmax-ce with {info.classes} outputs"
    raise InputError(f"{name} has {info.classes} classes: it needs {fits}, not {net.loss} with {n_out} output"
                     f"{'s' if n_out != 1 else ''}")


def read_dataset(name):
    """X (m, n0) float64 as stored and y (m,) int64 labels, with the class names, from scikit-learn's files."""
    info = dataset_info(name)
    try:
        import sklearn.datasets
    except ImportError:
        raise InputError(f"the {name} data set is read from scikit-learn's bundled files: "
                         "pip install 'backprop-crosscheck[data]'") from None
    bunch = getattr(sklearn.datasets, info.loader)()  # reads the file in sklearn/datasets/data/: no download
    return (np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64),
            tuple(str(name) for name in bunch.target_names))


def stratified_split(y, fractions=FRACTIONS, seed=0):
    """{"train": rows, "dev": rows, "test": rows}: index arrays, sorted, disjoint, together every row once.

    Each class is split on its own, so every split holds the classes in the proportions of the whole:
    class k's n_k rows are shuffled (one generator, seeded once, classes in order), the first
    ⌊f_test · n_k + ½⌋ go to test, the next ⌊f_dev · n_k + ½⌋ to dev, the rest to train.
    """
    y = np.asarray(y)
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-9:
        raise InputError(f"split fractions {fractions}: need three numbers > 0 (train, dev, test) that add up to 1")
    rng = np.random.default_rng(seed)
    rows = {split: [] for split in SPLITS}
    for k in np.unique(y):
        shuffled = rng.permutation(np.flatnonzero(y == k))
        n_test = int(fractions[2] * len(shuffled) + 0.5)
        n_dev = int(fractions[1] * len(shuffled) + 0.5)
        rows["test"].append(shuffled[:n_test])
        rows["dev"].append(shuffled[n_test:n_test + n_dev])
        rows["train"].append(shuffled[n_test + n_dev:])
    return {split: np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64) for split, parts in rows.items()}


def standardize(X_train, *others):
    """μ, σ (1, n0) of the training rows, and every X (rows, n0) as (X − μ) / σ.

    μ and σ come from X_train alone: the dev and test rows are what the network has not seen, and
    statistics taken from them would leak what they hold into training.  A column that is constant
    on the training rows (σ = 0: the digits' corner pixels) is only centred.
    """
    mean = X_train.mean(axis=0, keepdims=True)
    std = X_train.std(axis=0, keepdims=True)
    std[std == 0] = 1.0
    return mean, std, [(X - mean) / std for X in (X_train, *others)]


@dataclass(frozen=True)
class Dataset:
    """A data set split three ways, standardized on its training rows, targets made for one network.

    X[s]  (m_s, n0) standardized, in the dtype asked for      rows[s]  (m_s,) its rows in the whole set
    Y[s]  (m_s, nL) one-hot (a 0/1 column for sigmoid-bce)     y[s]     (m_s,) integer labels
    mean, std  (1, n0) float64, of the training rows: raw = X · std + mean
    """

    name: str
    X: dict
    Y: dict
    y: dict
    rows: dict
    mean: np.ndarray
    std: np.ndarray
    classes: tuple
    seed: int
    fractions: tuple = FRACTIONS
    image: tuple = None

    def split(self, which):
        """(X, Y) of one split."""
        return self.X[which], self.Y[which]

    def sizes(self):
        return {split: int(self.X[split].shape[0]) for split in SPLITS}

    def raw(self, which):
        """The split's inputs as stored, (m_s, n0) float64: the digits' pixels, to draw."""
        return np.asarray(self.X[which], np.float64) * self.std + self.mean


def make_dataset(net, X, y, name, seed=0, dtype="float64", fractions=FRACTIONS, classes=None, image=None):
    """A Dataset from the whole X (m, n0) and labels y (m,): split stratified by y, standardized on train."""
    if str(dtype) not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    X = np.asarray(X, dtype=np.float64)  # μ and σ in float64 whatever the dtype asked for
    if X.ndim != 2 or X.shape[1] != net.sizes[0]:
        raise InputError(f"{name}: X has shape {X.shape}, {X.shape[-1]} inputs per example; the network takes {net.sizes[0]}")
    rows = stratified_split(y, fractions, seed)
    mean, std, parts = standardize(*(X[rows[split]] for split in SPLITS))
    Xs = {split: part.astype(dtype) for split, part in zip(SPLITS, parts)}
    ys = {split: np.asarray(y)[rows[split]] for split in SPLITS}
    Ys = {split: targets(net, ys[split], dtype) for split in SPLITS}
    classes = tuple(classes) if classes is not None else tuple(str(k) for k in range(max(2, net.sizes[-1])))
    return Dataset(name, Xs, Ys, ys, rows, mean, std, classes, seed, tuple(fractions), image)


def load_dataset(name, net, seed=0, dtype="float64", fractions=FRACTIONS):
    """The named data set (digits, breast-cancer) for this network: read, checked, split and standardized."""
    info = dataset_info(name)
    check_fits(name, net)
    X, y, classes = read_dataset(name)
    return make_dataset(net, X, y, name, seed, dtype, fractions, classes, info.image)


def labels_of(net, Y):
    """y (m,) integer labels from targets Y (m, nL): argmax of one-hot rows, Y > 1/2 for one sigmoid output."""
    Y = np.asarray(Y)
    return (Y[:, 0] > 0.5).astype(np.int64) if Y.shape[1] == 1 else np.argmax(Y, axis=1)


def split_file(path, net, seed=0, dtype=None, fractions=FRACTIONS):
    """A Dataset from an .npz file of X with Y or y (load_data), split and standardized like a named set.

    Only for classification: the split is stratified by the class of each row.
    """
    if net.loss == "mse":
        raise InputError(f"{path}: a train/dev/test split by class needs a classification loss, not mse")
    X, Y = load_data(path, net)
    return make_dataset(net, X, labels_of(net, Y), path, seed, dtype or X.dtype.name, fractions)
