"""A fourth course style, in one file: a test that a course is one module (crosscheck.student.styles.register).

"From scratch" tutorials keep the layers in two lists and write two functions:

    zs, activations = forward(X, weights, biases)           each list one entry per layer
    loss, dweights, dbiases = backward(X, Y, weights, biases)

Row layout (X (m, n0), W (n_in, n_out)), 1-D biases (n_out,), a softmax output with the mean cross-entropy.
"""

from . import common

NAME = "lists"
TITLE = "weights and biases in two lists (forward, backward)"
LAYOUT = "rows"
LOSS, L2_CONVENTION = "softmax-ce", "keras"
ALWAYS_L2 = False
LOSSES = ("softmax-ce",)
EXTENSIONS = ()
SOURCE_PATTERN = r"def\s+backward\s*\("


def default_layers(depth):
    return None if depth in (None, 2) else (2, *common.HIDDEN_WIDTHS[:depth - 1], 3)


def gradable(names, L):
    return [n for n in names if not n.startswith(("dZ", "dA"))]


def looks_like(defines):
    return {"forward", "backward"} <= set(defines)


def owns(defined, entry=None):
    return bool({"forward", "backward"} & set(defined))


def needs(entry, others=()):
    return "{style} lists needs forward(X, weights, biases) and backward(X, Y, weights, biases)"


def describe(namespace, entry=None):
    if not all(callable(getattr(namespace, name, None)) for name in ("forward", "backward")):
        return {"entry": None}
    return {"entry": "backward", "functions": ["forward", "backward"], "l2_name": None, "any_depth": True,
            "depth": None}


def call(namespace, function, options, arrays):
    L = options["layers"]
    weights = [arrays[f"W{l}"] for l in range(1, L + 1)]
    biases = [arrays[f"b{l}"].reshape(-1) for l in range(1, L + 1)]
    found = {}
    zs, activations = namespace.forward(arrays["X"].copy(), [W.copy() for W in weights], [b.copy() for b in biases])
    for l, (Z, A) in enumerate(zip(zs, activations), start=1):
        found[f"Z{l}"], found[f"A{l}"] = Z, A
    loss, dweights, dbiases = namespace.backward(arrays["X"], arrays["Y"], weights, biases)
    found["J"] = loss
    for l, (dW, db) in enumerate(zip(dweights, dbiases), start=1):
        found[f"dW{l}"], found[f"db{l}"] = dW, common.row_bias(f"db{l}", db)
    return common.lecture_arrays(found, options["names"], arrays["X"].dtype, what="backward")
