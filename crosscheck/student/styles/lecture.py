"""The lecture's own style: one function, backprop(X, Y, params, activation="relu"[, loss=…][, l2=λ]).

    params   [(W1, b1), …, (WL, bL)]; W (n_in, n_out), b (1, n_out) in the row layout (X (m, n0)), or their
             transposes in the column layout (X (n0, m), W (n_out, n_in), b (n_out, 1)).  Code that reads its
             parameters by name (params["W1"], params["W" + str(l)]: many tutorials) gets a dict {"W1": …, "b1": …}
             instead, and the list answers params["W1"] too, for code whose source cannot be read
    returns  a dict of lecture names ({"Z1": …, "A1": …, "dW2": …}), or CS231n's (loss, grads) pair
    activation=, loss=, the L2 strength and the next lecture's options are passed only where the signature takes them
             (a fourth argument without a default, backprop(X, Y, params, act), is given the activation)
"""
import inspect

import numpy as np

from .common import (
    HIDDEN_WIDTHS,
    Pairs,
    accepts_keyword,
    call_user,
    fixed_depth,
    gradient_name,
    l2_parameter,
    lecture_arrays,
    reads_by_name,
    row_bias,
    said,
)

NAME = "lecture"
TITLE = "the lecture's backprop(X, Y, params)"
LAYOUT = None               # either: rows (the lecture's) unless the caller says columns
LOSS, L2_CONVENTION = "softmax-ce", "keras"
ALWAYS_L2 = False
LOSSES = None
EXTENSIONS = ("dropout", "batch_norm")   # keep_prob=, masks=, batch_norm=, bn_eps=, training=
SOURCE_PATTERN = r"def\s+{entry}\s*\("
ENTRY = "backprop"


def default_layers(depth):
    return None if depth in (None, 2) else (2, *HIDDEN_WIDTHS[:depth - 1], 3)


def gradable(names, L):
    return list(names)


def looks_like(defines):
    return ENTRY in defines


def owns(defined, entry=None):
    """Whether a notebook cell that defines these names defines the function this style calls."""
    return (entry or ENTRY) in defined


def needs(entry, others=()):
    return f"defines no function {entry or ENTRY}(X, Y, params, activation='relu')"


def describe(namespace, entry=None):
    function = getattr(namespace, entry or ENTRY, None)
    if not callable(function):
        return {"entry": None}
    depth = fixed_depth(function, _third_argument(function))
    return {"entry": entry or ENTRY, "functions": [entry or ENTRY], "l2_name": l2_parameter(function),
            "any_depth": depth is None, "depth": depth}


def _third_argument(function):
    """The name backprop(X, Y, params) takes its parameters by."""
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return "params"
    return names[2] if len(names) > 2 else "params"


def _fourth_required(function):
    """Whether backprop takes a fourth argument that has no default (and is not one we pass by name)."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    return (len(parameters) > 3 and parameters[3].default is parameters[3].empty
            and parameters[3].kind in (parameters[3].POSITIONAL_ONLY, parameters[3].POSITIONAL_OR_KEYWORD))


def call(namespace, function, options, arrays):
    """backprop(X, Y, params, activation=…[, loss=…][, l2=λ]) -> a dict of lecture names, or a (loss, grads) pair.

    arrays   X, Y, W1, b1, …, WL, bL
    With dropout or batch norm (options "keep_prob", "batch_norm"): a batch-norm layer's parameters are the tuple
    (W, gamma, beta, rmu, rvar), and the function is given keep_prob=, masks=[D1, …] (dropout in a training pass,
    else None), batch_norm=True/False, bn_eps=ε and training=True/False, each where its signature takes it.
    """
    function = getattr(namespace, function)
    names = ("W", "b", "gamma", "beta", "rmu", "rvar")
    pairs = [tuple(arrays[f"{name}{l}"] for name in names if f"{name}{l}" in arrays)
             for l in range(1, options["layers"] + 1)]
    named = {f"{name}{l}": arrays[f"{name}{l}"] for l in range(1, options["layers"] + 1) for name in names
             if f"{name}{l}" in arrays}
    params = named if reads_by_name(function, _third_argument(function)) else Pairs(pairs, named)
    kwargs, args = {}, []
    if accepts_keyword(function, "activation"):
        kwargs["activation"] = options["activation"]
    elif _fourth_required(function):  # backprop(X, Y, params, act): the activation, under a name of its own
        args.append(options["activation"])
    if accepts_keyword(function, "loss"):
        kwargs["loss"] = options["loss"]
    if options.get("l2_name"):
        kwargs[options["l2_name"]] = options.get("l2", 0.0)
    if "keep_prob" in options:  # the next lecture's network: dropout and batch norm
        extras = {"keep_prob": options["keep_prob"], "batch_norm": options["batch_norm"], "bn_eps": options["bn_eps"],
                  "training": options["training"],
                  "masks": [arrays[f"D{l}"] for l in range(1, options["layers"]) if f"D{l}" in arrays] or None}
        kwargs.update({key: value for key, value in extras.items() if accepts_keyword(function, key)})
    returned = call_user(function, arrays["X"], arrays["Y"], params, *args, **kwargs)
    if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict):
        loss, grads = returned  # (loss, grads), CS231n-style: grads may be keyed by the parameters' names
        returned = {"J": loss}
        for key, value in grads.items():
            name = gradient_name(key, grads)
            returned[name] = row_bias(name, value) if name != key else value
    name = getattr(function, '__name__', 'backprop')
    notes = [f"{name} reads its parameters by name: it was given a dict (params[\"W1\"], …)"] \
        if isinstance(params, dict) else []
    return (*lecture_arrays(returned, options["names"], np.dtype(arrays["X"].dtype)), said(notes))
