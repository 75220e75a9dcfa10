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
    CallError,
    ResultError,
    accepts_keyword,
    call_user,
    gradient_name,
    lecture_arrays,
    row_bias,
    said,
)

NAME = "cs231n"
TITLE = "a CS231n model"
LAYOUT = "rows"
LOSS, L2_CONVENTION = "softmax-ce", "weight-decay"
ALWAYS_L2 = True            # loss takes reg: the l2 probe always runs, so a regularized bias cannot pass unseen
LOSSES = ("softmax-ce",)
EXTENSIONS = ()
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


def owns(defined, entry=None):
    """Whether a notebook cell that defines these names defines a class this style may call."""
    return any(kind == "class" for kind in defined.values())


def describe(namespace, entry=None):
    found = classes(namespace)
    chosen = entry if entry in found else (None if entry else (found[0] if found else None))
    if chosen is None:
        return {"entry": None, "others": found}
    cls = getattr(namespace, chosen)
    roles = {_role(name) for name in _init_parameters(cls)}
    l2_name = "reg" if ("reg" in roles or accepts_keyword(cls.loss, "reg")) else None
    any_depth = "hiddens" in roles
    return {"entry": chosen, "functions": [chosen], "l2_name": l2_name, "any_depth": any_depth,
            "depth": None if any_depth else (2 if "hidden" in roles else None),
            "others": [name for name in found if name != chosen]}


def _init_parameters(cls):
    try:
        return {name: p for name, p in inspect.signature(cls).parameters.items()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    except (TypeError, ValueError):
        return {}


def _role(name):
    """What a constructor's parameter stands for, from its name (input_dim, inputsize, hidden_dims, numclasses, …):
    input, hidden (one width), hiddens (a list), output, reg or dtype; None when the name does not say."""
    n = name.lower().replace("_", "")
    if n in ("reg", "regularization", "regstrength", "lambd", "lam", "l2", "l2reg", "weightdecay"):
        return "reg"
    if n == "dtype":
        return "dtype"
    if "hidden" in n:
        return "hiddens" if n.endswith(("dims", "sizes", "layers", "units", "widths")) else "hidden"
    if "class" in n or "output" in n or n in ("outdim", "outfeatures", "nout", "ny", "c", "k"):
        return "output"
    if "input" in n or n in ("indim", "infeatures", "nin", "nx", "d", "dim", "numfeatures", "nfeatures"):
        return "input"
    return None


def construct(cls, sizes, lam, dtype):
    """An instance of a CS231n model for these layer sizes, its reg and dtype set (FullyConnectedNet casts X to
    self.dtype: float32 by default)."""
    obj = _new(cls, sizes, lam, dtype)
    if hasattr(obj, "reg"):
        obj.reg = lam
    if hasattr(obj, "dtype"):
        obj.dtype = dtype
    return obj


def _new(cls, sizes, lam, dtype):
    """An instance of a CS231n model for these layer sizes: its constructor given the sizes (and reg, dtype) under
    the names it uses (input_size, inputsize, hidden_dims, num_classes, …); where it names a required size otherwise,
    the sizes positionally, inputs first.  A call that does not fit is a CallError: ours, not the student's."""
    n0, hidden, nL = sizes[0], list(sizes[1:-1]), sizes[-1]
    values = {"input": n0, "hidden": hidden[0] if len(hidden) == 1 else None, "hiddens": hidden, "output": nL,
              "reg": lam, "dtype": dtype}
    kwargs, unnamed = {}, []
    for name, p in _init_parameters(cls).items():
        role = _role(name)
        if role and values[role] is not None and p.kind is not p.POSITIONAL_ONLY:
            kwargs[name] = values[role]
        elif p.default is p.empty:
            unnamed.append(name)
    if not unnamed:
        try:
            return call_user(cls, **kwargs)
        except CallError:
            pass  # a signature inspect misread: the sizes positionally, as a last try
    if len(unnamed) == 1:
        positional = [list(sizes)]            # Net(layer_sizes)
    elif len(unnamed) == 3 and len(hidden) != 1:
        positional = [n0, hidden, nL]         # Net(inputs, hidden_list, classes)
    else:
        positional = list(sizes)              # Net(inputs, hidden, classes)
    extra = {name: value for name, value in kwargs.items() if _role(name) in ("reg", "dtype")}
    return call_user(cls, *positional, **extra)


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
    scores = call_user(model.loss, X.copy())
    if isinstance(scores, np.ndarray):
        found[f"Z{L}"] = scores
    kwargs = {"reg": lam} if accepts_keyword(model.loss, "reg") else {}
    returned = call_user(model.loss, X, y, **kwargs)
    if not (isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict)):
        raise ResultError(f"loss(X, y) must return (loss, grads), it returned {type(returned).__name__}")
    loss, grads = returned
    found["J"] = loss
    for key, value in grads.items():
        name = gradient_name(key, grads)
        found[name] = row_bias(name, value)
    return (*lecture_arrays(found, options["names"], X.dtype, what="loss"), said(calls=[f"{function}.loss"]))
