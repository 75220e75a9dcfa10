"""CS231n's style: a model class with params W1, b1 (1-D), … and loss(X, y[, reg]) -> (loss, grads).

    model = TwoLayerNet(input_size, hidden_size, output_size)      or  FullyConnectedNet(hidden_dims, …)
    scores = model.loss(X)                                         the scores Z[L], (m, K)
    loss, grads = model.loss(X, y)                                 y: integer labels; grads["W1"] is dW1

Row layout, softmax with cross-entropy, integer labels; the L2 term ½·reg·Σ‖W‖² (assignment 2's) unless said.
"""
import inspect

import numpy as np

from .common import (
    HIDDEN_WIDTHS,
    ResultError,
    accepts_keyword,
    gradient_name,
    lecture_arrays,
    row_bias,
)

NAME = "cs231n"
TITLE = "a CS231n model"
LAYOUT = "rows"
LOSS, L2_CONVENTION = "softmax-ce", "weight-decay"
ALWAYS_L2 = True            # loss takes reg: the l2 probe always runs, so a regularized bias cannot pass unseen
LOSSES = ("softmax-ce",)
EXTENSIONS = False
SOURCE_PATTERN = r"def\s+loss\s*\("
CLASSES = ("FullyConnectedNet", "TwoLayerNet")


def default_layers(depth):
    return None if depth in (None, 2) else (2, *HIDDEN_WIDTHS[:depth - 1], 3)


def gradable(names, L):
    """loss(X) gives the scores Z[L], loss(X, y) the loss and the parameters' gradients."""
    return [n for n in names if n in (f"Z{L}", "J") or n.startswith(("dW", "db"))]


def looks_like(defines):
    return any(kind == "class" and name in CLASSES for name, kind in defines.items())


def needs(entry, others=()):
    if entry:
        found = f" (it has {', '.join(map(str, others))})" if others else ""
        return f"defines no class {entry} with a loss method{found}"
    return "{style} cs231n needs a class with params and loss(X, y) (TwoLayerNet, FullyConnectedNet); the file has none"


def classes(namespace):
    """The classes of the namespace that have a loss method, the course's names first."""
    found = [name for name, value in vars(namespace).items()
             if isinstance(value, type) and callable(getattr(value, "loss", None)) and not name.startswith("_")]
    return sorted(found, key=lambda name: (CLASSES.index(name) if name in CLASSES else len(CLASSES)))


def describe(namespace, entry=None):
    found = classes(namespace)
    chosen = entry if entry in found else (None if entry else (found[0] if found else None))
    if chosen is None:
        return {"entry": None, "others": found}
    cls = getattr(namespace, chosen)
    try:
        init = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        init = {}
    l2_name = "reg" if ("reg" in init or accepts_keyword(cls.loss, "reg")) else None
    any_depth = "hidden_dims" in init or "hidden_sizes" in init
    return {"entry": chosen, "functions": [chosen], "l2_name": l2_name, "any_depth": any_depth,
            "depth": None if any_depth else (2 if ("hidden_size" in init or "hidden_dim" in init) else None),
            "others": [name for name in found if name != chosen]}


def construct(cls, sizes, lam, dtype):
    """An instance of a CS231n model for these layer sizes: its constructor given the sizes (and reg, dtype)
    under the names it uses, or called with nothing when it takes nothing."""
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        parameters = {}
    n0, hidden, nL = sizes[0], list(sizes[1:-1]), sizes[-1]
    known = {"input_size": n0, "input_dim": n0, "n_input": n0, "hidden_dims": hidden, "hidden_sizes": hidden,
             "hidden_size": hidden[0] if hidden else None, "hidden_dim": hidden[0] if hidden else None,
             "output_size": nL, "num_classes": nL, "output_dim": nL, "reg": lam, "dtype": dtype}
    kwargs = {name: known[name] for name in parameters if name in known and known[name] is not None}
    obj = cls(**kwargs)
    if hasattr(obj, "reg"):
        obj.reg = lam
    if hasattr(obj, "dtype"):
        obj.dtype = dtype  # FullyConnectedNet casts X to self.dtype: float32 by default
    return obj


def call(namespace, function, options, arrays):
    """model = Class(sizes…); model.params = W1, b1 (1-D), …; scores = model.loss(X); loss, grads = model.loss(X, y)."""
    cls = getattr(namespace, function)
    L, lam = options["layers"], options.get("l2", 0.0)
    X, Y = arrays["X"], arrays["Y"]
    sizes = [X.shape[1]] + [arrays[f"W{l}"].shape[1] for l in range(1, L + 1)]
    model = construct(cls, sizes, lam, X.dtype)
    params = getattr(model, "params", None)
    if not isinstance(params, dict):
        model.params = params = {}
    for l in range(1, L + 1):
        params[f"W{l}"], params[f"b{l}"] = arrays[f"W{l}"], arrays[f"b{l}"].reshape(-1)
    y = np.argmax(Y, axis=1)
    found = {}
    scores = model.loss(X.copy())
    if isinstance(scores, np.ndarray):
        found[f"Z{L}"] = scores
    kwargs = {"reg": lam} if accepts_keyword(model.loss, "reg") else {}
    returned = model.loss(X, y, **kwargs)
    if not (isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict)):
        raise ResultError(f"loss(X, y) must return (loss, grads), it returned {type(returned).__name__}")
    loss, grads = returned
    found["J"] = loss
    for key, value in grads.items():
        name = gradient_name(key, grads)
        found[name] = row_bias(name, value)
    return lecture_arrays(found, options["names"], X.dtype, what="loss")
