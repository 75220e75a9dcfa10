"""Coursera's Deep Learning Specialization: the course's functions, called as its notebooks call them.

    AL, caches = L_model_forward(X, parameters)          or  A, cache = forward_propagation(X, parameters)
    cost = compute_cost(AL, Y)                           (compute_cost_with_regularization(AL, Y, parameters, lambd))
    grads = L_model_backward(AL, Y, caches)              or  backward_propagation(parameters, cache, X, Y), …

Column layout (X (n0, m), W (n_out, n_in), b (n_out, 1)), ReLU hidden layers and a sigmoid output, the course's
L2 term (λ/2m)·Σ‖W‖².  Z and A are read from the caches; grads' dW1, db1, dA1, … keep their names (dA0, the
gradient of X, is not a lecture tensor), and the lower-case dz1, dw1 of the regularization week are read too.
"""
import re

import numpy as np

from .common import (
    HIDDEN_WIDTHS,
    ResultError,
    bind,
    l2_parameter,
    lecture_arrays,
    weights_read,
)

NAME = "dls"
TITLE = "Coursera's Deep Learning Specialization"
LAYOUT = "columns"
LOSS, L2_CONVENTION = "sigmoid-bce", "course"
ALWAYS_L2 = False
LOSSES = None
EXTENSIONS = False
SOURCE_PATTERN = r"def\s+(L_model_forward|forward_propagation)\s*\("

DEEP = ("L_model_forward", "compute_cost", "L_model_backward")            # "Building your Deep NN: Step by Step"
FIXED = ("forward_propagation", "compute_cost", "backward_propagation")   # the planar week, the regularization week
REGULARIZED = {"compute_cost": "compute_cost_with_regularization",
               "backward_propagation": "backward_propagation_with_regularization"}


def default_layers(depth):
    """Its own network whatever the depth: ReLU hidden layers and one sigmoid output unit."""
    return (2, *HIDDEN_WIDTHS[:(depth or 2) - 1], 1)


def gradable(names, L):
    """Everything but dZ: the caches hold Z and A, the grads dA, dW and db."""
    return [n for n in names if not n.startswith("dZ")]


def looks_like(defines):
    names = set(defines)
    return {"L_model_forward", "L_model_backward"} <= names or {"forward_propagation", "backward_propagation"} <= names


def needs(entry, others=()):
    return ("{style} dls needs the course's L_model_forward, compute_cost and L_model_backward (or forward_propagation, "
            "compute_cost and backward_propagation); the file does not define them all")


def functions(namespace):
    """{role: function name} of the DLS functions the namespace defines, deep (L_model_*) first; {} for none."""
    for family in (DEEP, FIXED):
        if all(callable(getattr(namespace, name, None)) for name in family):
            found = {name: name for name in family}
            for plain, regularized in REGULARIZED.items():
                if plain in found and callable(getattr(namespace, regularized, None)):
                    found[regularized] = regularized
            return found
    return {}


def describe(namespace, entry=None):
    found = functions(namespace)
    if not found:
        return {"entry": None}
    deep = "L_model_forward" in found
    l2_name = None
    for name in ("L_model_backward", "backward_propagation_with_regularization", "compute_cost_with_regularization"):
        if name in found:
            l2_name = l2_parameter(getattr(namespace, name)) or l2_name
    depth = None if deep else weights_read(getattr(namespace, "forward_propagation"))
    return {"entry": "L_model_forward" if deep else "forward_propagation", "functions": sorted(found),
            "l2_name": l2_name, "any_depth": deep, "depth": depth}


def call(namespace, function, options, arrays):
    """The forward pass, the cost and the backward pass, each called as the course's notebook calls it."""
    found_functions = functions(namespace)
    L, lam = options["layers"], options.get("l2", 0.0)
    X, Y = arrays["X"], arrays["Y"]
    parameters = {}
    for l in range(1, L + 1):
        parameters[f"W{l}"], parameters[f"b{l}"] = arrays[f"W{l}"], arrays[f"b{l}"]
    deep = "L_model_forward" in found_functions
    forward = getattr(namespace, "L_model_forward" if deep else "forward_propagation")
    AL, caches = _pair(bind(forward, {"X": X, "parameters": parameters}, ("X", "parameters")), "the forward pass")
    found = {f"A{L}": _copy(AL)}
    found.update(forward_from_caches(caches, L, parameters))
    available = {"AL": AL, "Y": Y, "X": X, "parameters": parameters, "caches": caches, "cache": caches, "lambd": lam}
    regularized = lam and "compute_cost_with_regularization" in found_functions
    cost = getattr(namespace, "compute_cost_with_regularization" if regularized else "compute_cost")
    found["J"] = bind(cost, available, ("AL", "Y", "parameters", "lambd"))
    if deep:
        backward, order = namespace.L_model_backward, ("AL", "Y", "caches", "lambd")
    else:
        regularized = lam and "backward_propagation_with_regularization" in found_functions
        backward = getattr(namespace, "backward_propagation_with_regularization" if regularized else "backward_propagation")
        order = ("X", "Y", "cache", "lambd")
    grads = bind(backward, available, order)
    if not isinstance(grads, dict):
        raise ResultError(f"{backward.__name__} must return the dict grads, it returned {type(grads).__name__}")
    for key, value in grads.items():
        if isinstance(key, str):
            found.setdefault(_lecture_case(key), value)
    return lecture_arrays(found, options["names"], X.dtype, what=backward.__name__)


def _lecture_case(key):
    """dz1 -> dZ1, da2 -> dA2, dw3 -> dW3: the regularization week writes some gradients in lower case."""
    match = re.fullmatch(r"d([zawbZAWb])(\d+)", key)
    return f"d{match.group(1).upper() if match.group(1) != 'b' else 'b'}{match.group(2)}" if match else key


def _pair(returned, what):
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise ResultError(f"{what} must return (AL, caches), it returned {type(returned).__name__}")
    return returned


def _copy(value):
    try:
        return np.array(value, copy=True)
    except Exception:
        return value


def forward_from_caches(caches, L, parameters):
    """{Z1, A1, …} from what the forward pass kept: a dict (Z1, A1, …), a flat tuple (Z1, A1, W1, b1, Z2, …), or
    the step-by-step list of ((A_prev, W, b), Z) per layer.  Copies, taken before the backward pass runs."""
    found = {}
    if isinstance(caches, dict):
        for key, value in caches.items():
            if isinstance(key, str) and re.fullmatch(r"[ZzAa]\d+", key):
                found[key[0].upper() + key[1:]] = _copy(value)
        return found
    if not isinstance(caches, (list, tuple)):
        return found
    if len(caches) == 4 * L and all(caches[4 * l + 2] is parameters[f"W{l + 1}"] for l in range(L)):
        for l in range(L):  # (Z1, A1, W1, b1, Z2, A2, W2, b2, …)
            found[f"Z{l + 1}"], found[f"A{l + 1}"] = _copy(caches[4 * l]), _copy(caches[4 * l + 1])
        return found
    if len(caches) == L:
        for l, cache in enumerate(caches, start=1):
            arrays = [value for value in _flatten(cache) if isinstance(value, np.ndarray)]
            weights = parameters[f"W{l}"]
            rest = [a for a in arrays if a is not weights and a is not parameters[f"b{l}"]]
            if len(rest) >= 2:  # A_prev first, Z last
                if l > 1:
                    found[f"A{l - 1}"] = _copy(rest[0])
                found[f"Z{l}"] = _copy(rest[-1])
    return found


def _flatten(value, depth=0):
    if isinstance(value, dict) and depth < 4:
        for item in value.values():
            yield from _flatten(item, depth + 1)
    elif isinstance(value, (list, tuple)) and depth < 4:
        for item in value:
            yield from _flatten(item, depth + 1)
    else:
        yield value
