"""Coursera's Deep Learning Specialization: the course's functions, called as its notebooks call them.

    AL, caches = L_model_forward(X, parameters)          or  A, cache = forward_propagation(X, parameters)
    cost = compute_cost(AL, Y)                           (compute_cost_with_regularization(AL, Y, parameters, lambd))
    grads = L_model_backward(AL, Y, caches)              or  backward_propagation(parameters, cache, X, Y), …

    the regularization week's dropout (--keep-prob):   A3, cache = forward_propagation_with_dropout(X, parameters,
                                                       keep_prob); backward_propagation_with_dropout(X, Y, cache,
                                                       keep_prob) — the masks D1, D2 are the code's own, read from
                                                       the cache, and the reference uses them

Column layout (X (n0, m), W (n_out, n_in), b (n_out, 1)), ReLU hidden layers (tanh in the planar week, whose
forward_propagation uses np.tanh) and a sigmoid output, the course's L2 term (λ/2m)·Σ‖W‖².  Z and A are read from
the caches; grads' dW1, db1, dA1, … keep their names, in either template's naming: the 2019+ template stores
layer l's dA_prev as grads["dA" + str(l - 1)] (dA0 is the gradient of X), the 2017-18 one as
grads["dA" + str(l)] (dA1 is the gradient of X, dA2 the lecture's dA1) — the keys say which, and the report
says which was read.  The lower-case dz1, dw1 of the regularization week are read too.
"""
import re

import numpy as np

from .common import (
    HIDDEN_WIDTHS,
    CallError,
    Refused,
    ResultError,
    as_array,
    bind,
    l2_parameter,
    lecture_arrays,
    said,
    weights_read,
)

NAME = "dls"
TITLE = "Coursera's Deep Learning Specialization"
LAYOUT = "columns"
LOSS, L2_CONVENTION = "sigmoid-bce", "course"
ALWAYS_L2 = False
LOSSES = None
EXTENSIONS = ("dropout",)   # the regularization week's; batch norm is not written this way in the course
EXTENSION_FUNCTIONS = {"dropout": "forward_propagation_with_dropout(X, parameters, keep_prob) and "
                                  "backward_propagation_with_dropout(X, Y, cache, keep_prob)"}
SOURCE_PATTERN = r"def\s+(L_model_forward|forward_propagation(_with_dropout)?)\s*\("

DEEP = ("L_model_forward", "compute_cost", "L_model_backward")            # "Building your Deep NN: Step by Step"
FIXED = ("forward_propagation", "compute_cost", "backward_propagation")   # the planar week, the regularization week
REGULARIZED = {"compute_cost": "compute_cost_with_regularization",
               "backward_propagation": "backward_propagation_with_regularization"}
DROPOUT = {"forward_propagation": "forward_propagation_with_dropout",
           "backward_propagation": "backward_propagation_with_dropout"}
NAMES = (*DEEP, *FIXED, *REGULARIZED.values(), *DROPOUT.values())


def default_layers(depth):
    """Its own network whatever the depth: ReLU hidden layers and one sigmoid output unit."""
    return (2, *HIDDEN_WIDTHS[:(depth or 2) - 1], 1)


def gradable(names, L):
    """Everything but dZ: the caches hold Z and A, the grads dA, dW and db."""
    return [n for n in names if not n.startswith("dZ")]


def looks_like(defines):
    names = set(defines)
    return ({"L_model_forward", "L_model_backward"} <= names or {"forward_propagation", "backward_propagation"} <= names
            or set(DROPOUT.values()) <= names)


def owns(defined, entry=None):
    """Whether a notebook cell that defines these names defines one of the functions this style calls."""
    return bool(set(defined) & set(NAMES))


def needs(entry, others=()):
    return ("{style} dls needs the course's L_model_forward, compute_cost and L_model_backward (or forward_propagation, "
            "compute_cost and backward_propagation); the file does not define them all")


def functions(namespace):
    """{role: function name} of the DLS functions the namespace defines — forward, cost, backward (deep L_model_*
    first), and where it has them cost_l2, backward_l2, forward_dropout, backward_dropout; {} for none."""
    def has(name):
        return callable(getattr(namespace, name, None))

    for family in (DEEP, FIXED):
        forward, cost, backward = family
        dropout = family is FIXED and all(has(DROPOUT[n]) for n in (forward, backward))
        if not has(cost) or not (has(forward) and has(backward) or dropout):
            continue
        found = {"cost": cost}
        if has(forward) and has(backward):
            found.update(forward=forward, backward=backward)
        if dropout:
            found.update(forward_dropout=DROPOUT[forward], backward_dropout=DROPOUT[backward])
        for role, plain in (("cost_l2", cost), ("backward_l2", backward)):
            if plain in REGULARIZED and has(REGULARIZED[plain]):
                found[role] = REGULARIZED[plain]
        return found
    return {}


def describe(namespace, entry=None):
    found = functions(namespace)
    if not found:
        return {"entry": None}
    deep = found.get("forward") == "L_model_forward"
    l2_name = None
    for role in ("backward", "backward_l2", "cost_l2"):
        if role in found and (deep or role != "backward"):
            l2_name = l2_parameter(getattr(namespace, found[role])) or l2_name
    forward = getattr(namespace, found.get("forward") or found["forward_dropout"])
    # a fixed-depth week's depth, from the weights its functions read (the course's forward_propagation, or the
    # student's cost with regularization, forward with dropout); None: unknown, so the deeper probe is asked and
    # the forward pass may refuse it (Refused)
    read = [weights_read(getattr(namespace, name)) for name in found.values()]
    depth = None if deep else max((d for d in read if d), default=None)
    dropout_l2 = l2_parameter(getattr(namespace, found["backward_dropout"])) if "backward_dropout" in found else None
    return {"entry": found.get("forward") or found["forward_dropout"], "functions": sorted(set(found.values())),
            "l2_name": l2_name, "any_depth": deep or depth is None, "depth": depth,
            "activation": "tanh" if _uses_tanh(forward) else None,
            "extensions": ["dropout"] if "forward_dropout" in found else [],
            "extension_l2": dropout_l2 is not None}


def _uses_tanh(function):
    """The planar week's forward pass: np.tanh for its hidden layer (and no ReLU)."""
    import inspect
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    return "tanh" in source and "relu" not in source.lower()


def call(namespace, function, options, arrays):
    """The forward pass, the cost and the backward pass, each called as the course's notebook calls it."""
    found = functions(namespace)
    L, lam, keep_prob = options["layers"], options.get("l2", 0.0), options.get("keep_prob", 1.0)
    X, Y = arrays["X"], arrays["Y"]
    parameters = {}
    for l in range(1, L + 1):
        parameters[f"W{l}"], parameters[f"b{l}"] = arrays[f"W{l}"], arrays[f"b{l}"]
    deep = found.get("forward") == "L_model_forward"
    dropout = keep_prob < 1
    if dropout and "forward_dropout" not in found:
        raise ResultError("--keep-prob needs forward_propagation_with_dropout and backward_propagation_with_dropout")
    if not dropout and "forward" not in found:
        raise ResultError("the file has the dropout functions but no forward_propagation and backward_propagation (the "
                          "course's reg_utils provides them): check the dropout functions with --keep-prob")
    calls = []

    def get(role):
        function = getattr(namespace, found[role])
        module, own = getattr(function, "__module__", None), getattr(namespace, "__name__", None)
        calls.append(found[role] + (f" ({module}'s)" if own and module and module != own else ""))
        return function

    available = {"X": X, "Y": Y, "parameters": parameters, "keep_prob": keep_prob, "lambd": lam}
    forward = get("forward_dropout" if dropout else "forward")
    try:
        returned = bind(forward, available, ("X", "parameters", "keep_prob") if dropout else ("X", "parameters"))
    except Exception as exc:
        if deep or isinstance(exc, CallError):
            raise
        raise Refused(f"{forward.__name__} is written for a fixed depth") from exc  # not asked this depth
    AL, caches = _pair(returned, f"{forward.__name__}")
    if not deep and np.shape(AL) != np.shape(Y):
        raise Refused(f"{forward.__name__} returned AL of shape {np.shape(AL)} for {L} layers' parameters, where the "
                      f"output is {np.shape(Y)}: it is written for another depth")
    found_arrays = {f"A{L}": _copy(AL)}
    found_arrays.update(forward_from_caches(caches, L, parameters))
    masks = {name: found_arrays.pop(name) for name in [n for n in found_arrays if n.startswith("D")]}
    for name in masks:  # with dropout the cache's A[l] is the dropped-out one: the lecture's Adrop[l]
        layer = name[1:]
        if f"A{layer}" in found_arrays:
            found_arrays[f"Adrop{layer}"] = found_arrays.pop(f"A{layer}")
    available.update({"AL": AL, "caches": caches, "cache": caches})
    regularized = lam and "cost_l2" in found and not dropout
    found_arrays["J"] = bind(get("cost_l2" if regularized else "cost"), available, ("AL", "Y", "parameters", "lambd"))
    if deep:
        backward, order = get("backward"), ("AL", "Y", "caches", "lambd")
    elif dropout:
        backward, order = get("backward_dropout"), ("X", "Y", "cache", "keep_prob")
    else:
        backward = get("backward_l2" if lam and "backward_l2" in found else "backward")
        order = ("X", "Y", "cache", "lambd")
    grads = bind(backward, available, order)
    if not isinstance(grads, dict):
        raise ResultError(f"{backward.__name__} must return the dict grads, it returned {type(grads).__name__}")
    keyed = {_lecture_case(key): value for key, value in grads.items() if isinstance(key, str)}
    older, notes = older_naming(keyed, L, X), []
    if deep:
        notes.append('grads in the 2017-18 template\'s naming: grads["dA2"] read as dA1 (grads["dA" + str(l + 1)] is '
                     'dA[l]; grads["dA1"] is the gradient of X)' if older else
                     'grads in the 2019+ template\'s naming: grads["dA1"] read as dA1 (dA0 is the gradient of X)')
    for key, value in keyed.items():
        match = re.fullmatch(r"dA(\d+)", key)
        if older and match:
            if match.group(1) == "1":
                continue  # the gradient of X: not a lecture tensor (the note says so)
            key = f"dA{int(match.group(1)) - 1}"  # grads["dA2"] is dA1
        found_arrays.setdefault(key, value)
    result, ignored = lecture_arrays(found_arrays, options["names"], X.dtype, what=backward.__name__)
    for name, D in masks.items():
        result[name] = as_array(name, D, X.dtype)
    return result, ignored, said(notes, calls)


def older_naming(grads, L, X):
    """Whether grads stores layer l's dA_prev under "dA" + str(l), as the 2017-18 template did: a dA[L] key (an
    L-layer network's backward pass computes dA0 … dA[L-1]), or a dA1 of X's shape that is not layer 1's."""
    if f"dA{L}" in grads and L > 0:
        return True
    if "dA0" in grads or "dA1" not in grads:
        return False
    return np.shape(grads["dA1"]) == np.shape(X) and L > 1 and np.shape(grads["dA1"])[0] != _units(grads, 1)


def _units(grads, l):
    """Layer l's width, from its dW (n_l, n_{l-1}) when grads has it."""
    W = grads.get(f"dW{l}")
    return np.shape(W)[0] if np.ndim(W) == 2 else None


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
    """{Z1, A1, …} (and the dropout masks D1, …) from what the forward pass kept: a dict (Z1, A1, …), a flat tuple
    (Z1, A1, W1, b1, Z2, … — with dropout Z1, D1, A1, W1, b1, …), or the step-by-step list of ((A_prev, W, b), Z) per
    layer.  Copies, taken before the backward pass runs."""
    found = {}
    if isinstance(caches, dict):
        for key, value in caches.items():
            if isinstance(key, str) and re.fullmatch(r"[ZzAaDd]\d+", key):
                found[key[0].upper() + key[1:]] = _copy(value)
        return found
    if not isinstance(caches, (list, tuple)):
        return found
    flat = _flat(caches, L, parameters)
    if flat is not None:
        return flat
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


def _flat(caches, L, parameters):
    """The regularization week's tuple: each layer's Z, [D,] A before its own W and b; None when it is not one."""
    positions = []
    for l in range(1, L + 1):
        at = next((i for i, value in enumerate(caches) if value is parameters[f"W{l}"]), None)
        if at is None or (positions and at <= positions[-1]) or not (at + 1 < len(caches)
                                                                    and caches[at + 1] is parameters[f"b{l}"]):
            return None
        positions.append(at)
    found, start = {}, 0
    for l, at in enumerate(positions, start=1):
        segment = [value for value in caches[start:at] if isinstance(value, np.ndarray)]
        if len(segment) == 2:
            (Z, A), D = segment, None
        elif len(segment) == 3:
            Z, D, A = segment
        else:
            return None
        found[f"Z{l}"], found[f"A{l}"] = _copy(Z), _copy(A)
        if D is not None:
            found[f"D{l}"] = _copy(D)
        start = at + 2
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
