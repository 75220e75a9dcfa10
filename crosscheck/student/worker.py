"""The worker: a user's implementation, imported and called in a process of its own.

crosscheck.user_code starts it as `python -u worker.py REQUESTS_FD REPLIES_FD MEMORY_MB [OUTPUT_BYTES]`, in a
session of its own, stdin at /dev/null, stdout and stderr in capture files, and sends it requests.  Whatever the
user's code does here — sys.exit, os._exit, signals, patching NumPy, editing stack frames, printing — the
verdict and the exit code are decided in the checker's process, from the plain arrays this process sends.

It imports only the standard library and NumPy: never crosscheck, the reference or a framework.  So it runs
as a script from any directory, and the checker can import its conversion helpers with no side effect.

Messages, both ways, are frames on two dedicated pipes (never pickle: a pickle from here is code to run there):

    8-byte length, then a JSON object: names and metadata; "arrays" lists the names of the arrays that follow
    per array: 8-byte length, then the array in NumPy's .npy format, as np.save writes it (never an array
               of Python objects: those need pickle, and the reader refuses them)

Requests and their replies:

    {"op": "load", "loader": "module", "path": ABS}      -> {"ok": true, "defines": {name: "function"|"class"|…}}
    {"op": "load", "loader": "notebook", "path": ABS, "cells": [[number, source], …]}     (the same reply)
    {"op": "describe", "caller": STYLE, "entry": NAME|null} -> {"ok": true, "entry", "functions", "l2_name",
                                                               "any_depth", "depth", "others"}
    {"op": "call", "caller": STYLE, "function": NAME, "options": {…}, "arrays": [X, Y, W1, b1, …]}
                                                          -> {"ok": true, "arrays": [names], "ignored": [keys]}
    any failure                                           -> {"ok": false, "error": {"kind", "message", "where"}}

The first frame is the worker's own {"ok": true, "ready": numpy version}, once NumPy has started under the
memory limit.  A loader turns a file into a namespace (a module, or a notebook's code cells run in order); a
caller calls into that namespace in one style — backprop(X, Y, params) (the lecture's), the Coursera Deep
Learning Specialization's functions (dls) or a CS231n class (cs231n) — and hands back lecture-named arrays in
the layout it was sent (the checker converts layouts): LOADERS and CALLERS below, each a name the request gives.
"""
import errno
import inspect
import io
import json
import linecache
import os
import re
import struct
import sys
import sysconfig
import traceback
import types


def _limit_resources(memory_mb):
    """Before NumPy starts: cap the address space; size NumPy's BLAS thread pool to fit under the cap.

    OpenBLAS reserves about 40 MB of address space per thread (a stack and a buffer), and RLIMIT_AS counts
    reservations, not use: on a 64-core machine NumPy alone would need 2.6 GB before the user's code ran.
    """
    import resource
    limit = memory_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # the hard limit too: only root could lift it
    except (ValueError, OSError):  # where the system has no such limit (not Linux), the worker runs without it
        pass
    if not any(name in os.environ for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        os.environ["OPENBLAS_NUM_THREADS"] = str(max(1, min(cores, (memory_mb - 256) // 64)))


def _limit_output(max_bytes):
    """No file this process writes, its captured stdout and stderr included, grows past max_bytes: a write
    beyond it fails with EFBIG (Python ignores SIGXFSZ), so a flood of output cannot fill the disk."""
    import resource
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    except (ValueError, OSError):
        pass


if __name__ == "__main__" and int(sys.argv[3]) > 0:  # 0: no limit (e.g. for CUDA, which reserves tens of GB)
    _limit_resources(int(sys.argv[3]))
if __name__ == "__main__" and len(sys.argv) > 4 and int(sys.argv[4]) > 0:
    _limit_output(int(sys.argv[4]))

import numpy as np  # noqa: E402  (after the limit: NumPy starts under it)
from numpy.lib import format as npy  # noqa: E402

LENGTH = struct.Struct(">Q")
MAX_HEADER = 2**20  # bytes of JSON in one frame


class ResultError(Exception):
    """What the user's code returned cannot be compared: the message says what to return instead."""


# ---- frames ----------------------------------------------------------------------------------------

def npy_parts(array):
    """(the .npy header np.save would write, the array's bytes): written one after the other, with no copy."""
    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    header = io.BytesIO()
    npy.write_array_header_1_0(header, npy.header_data_from_array_1_0(array))
    return header.getvalue(), array.data


def npy_array(blob):
    """The array of an .npy blob (a bytearray: the array shares it), its header checked against its size
    before anything is allocated; ValueError for anything else, and always for Python objects (pickle)."""
    prefix = io.BytesIO(bytes(blob[:npy.ARRAY_ALIGN + 65536 + 16]))  # magic, header length, header
    try:
        version = npy.read_magic(prefix)
        read_header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}[version]
        shape, fortran, dtype = read_header(prefix)
    except (KeyError, ValueError, TypeError, SyntaxError, EOFError) as exc:
        raise ValueError(f"not an .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError("it holds Python objects")
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(blob) - prefix.tell():
        raise ValueError("its size does not match its shape")
    return np.frombuffer(blob, dtype=dtype, count=count, offset=prefix.tell()).reshape(shape, order="F" if fortran else "C")


def write_frame(stream, meta, arrays=None):
    """One frame: meta (JSON-able, names only) and the arrays, in the order meta["arrays"] lists them."""
    arrays = arrays or {}
    header = json.dumps({**meta, "arrays": list(arrays)}).encode()
    stream.write(LENGTH.pack(len(header)) + header)
    for array in arrays.values():  # one at a time, straight from the array's memory
        npy_header, data = npy_parts(array)
        stream.write(LENGTH.pack(len(npy_header) + data.nbytes) + npy_header)
        stream.write(data)
    stream.flush()


def _read_exactly(stream, n):
    data = bytearray(n)
    if stream.readinto(data) < n:
        raise EOFError
    return data


def read_frame(stream):
    """A request from the checker (trusted, but read without pickle all the same): (meta, {name: array})."""
    size = LENGTH.unpack(_read_exactly(stream, LENGTH.size))[0]
    if size > MAX_HEADER:
        raise EOFError
    meta = json.loads(_read_exactly(stream, size))
    arrays = {}
    for name in meta.get("arrays", []):
        arrays[name] = npy_array(_read_exactly(stream, LENGTH.unpack(_read_exactly(stream, LENGTH.size))[0]))
    return meta, arrays


# ---- loaders: a file -> a namespace ---------------------------------------------------------------

def load_module(path):
    """Import the file as a module.  Its directory is the working directory and first on sys.path for the
    whole session, so that its siblings import inside backprop as well as at the top of the file.  A file
    inside a package (CS231n's cs231n/classifiers/fc_net.py, with its `from ..layers import *`) is imported
    as that package's module, the package's parent directory on sys.path too."""
    directory = os.path.dirname(path)
    os.chdir(directory)
    sys.path.insert(0, directory)
    stem = os.path.splitext(os.path.basename(path))[0]
    package = _package_of(directory)
    if package and stem.isidentifier():
        root, dotted = package
        sys.path.insert(1, root)
        import importlib
        return importlib.import_module(f"{dotted}.{stem}")
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec")  # bytes: the file's own coding declaration applies
    name = stem if stem.isidentifier() and stem not in sys.modules else "user_impl"
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module  # dataclasses and a sibling's `import <stem>` look it up there
    exec(code, module.__dict__)
    return module


def _package_of(directory):
    """(the directory above the outermost package, "pkg.sub") for a directory holding __init__.py, else None."""
    parts, here = [], directory
    while os.path.isfile(os.path.join(here, "__init__.py")) and os.path.basename(here).isidentifier():
        parts.insert(0, os.path.basename(here))
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    return (here, ".".join(parts)) if parts else None


class CellError(Exception):
    """A notebook cell raised: which cell, and the exception it raised (its traceback points into the cell)."""

    def __init__(self, number, exc):
        super().__init__(f"cell {number} raised {one_line(exc)}")
        self.number, self.exc = number, exc


def load_notebook(path, cells):
    """Run a notebook's code cells in order, in one namespace, as Jupyter would (shell and magic lines already
    removed by the checker).  Each cell is compiled under the name PATH#cellN, its source kept in linecache, so
    that a traceback, inspect.getsource and the location of an error all point into the cell."""
    directory = os.path.dirname(path)
    os.chdir(directory)
    sys.path.insert(0, directory)
    module = types.ModuleType("__main__")
    module.__file__ = path
    sys.modules["__notebook__"] = module
    for number, source in cells:
        filename = f"{path}#cell{number}"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            code = compile(source, filename, "exec")
            exec(code, module.__dict__)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: they are the user's
            raise CellError(number, exc) from exc
    return module


LOADERS = {"module": load_module, "notebook": load_notebook}


def defines(namespace, limit=2000):
    """{public name: "function" | "class" | "callable" | "other"} of what the file defines."""
    found = {}
    for name, value in list(vars(namespace).items()):
        if name.startswith("_") or len(found) >= limit:
            continue
        found[name] = ("class" if isinstance(value, type) else "function" if inspect.isroutine(value)
                       else "callable" if callable(value) else "other")
    return found


# ---- callers: one style of calling into a namespace -----------------------------------------------
#
# Every caller gets options {"layers": L, "activation", "loss", "l2": λ, "l2_name": the argument that takes it
# (or None), "names": the lecture's names to send back} and the arrays X, Y, W1, b1, … in the layout the
# implementation expects, and returns ({lecture name: array}, [ignored keys]) in that same layout.

# what an implementation may call its L2 strength (the first one its signature has is passed λ)
L2_NAMES = ("l2", "lambd", "lam", "lmbda", "lambda_", "reg", "l2_reg", "l2_lambda", "reg_lambda",
            "weight_decay", "regularization")


def call_backprop(function, options, arrays):
    """backprop(X, Y, params, activation=…[, loss=…][, l2=λ]) -> a dict of lecture names, or a (loss, grads) pair.

    arrays   X, Y, W1, b1, …, WL, bL
    With dropout or batch norm (options "keep_prob", "batch_norm"): a batch-norm layer's parameters are the tuple
    (W, gamma, beta, rmu, rvar), and the function is given keep_prob=, masks=[D1, …] (dropout in a training pass,
    else None), batch_norm=True/False, bn_eps=ε and training=True/False, each where its signature takes it.
    """
    params = [tuple(arrays[f"{name}{l}"] for name in ("W", "b", "gamma", "beta", "rmu", "rvar") if f"{name}{l}" in arrays)
              for l in range(1, options["layers"] + 1)]
    kwargs = {"activation": options["activation"]}
    if accepts_keyword(function, "loss"):
        kwargs["loss"] = options["loss"]
    if options.get("l2_name"):
        kwargs[options["l2_name"]] = options.get("l2", 0.0)
    if "keep_prob" in options:  # the next lecture's network: dropout and batch norm
        extras = {"keep_prob": options["keep_prob"], "batch_norm": options["batch_norm"], "bn_eps": options["bn_eps"],
                  "training": options["training"],
                  "masks": [arrays[f"D{l}"] for l in range(1, options["layers"]) if f"D{l}" in arrays] or None}
        kwargs.update({key: value for key, value in extras.items() if accepts_keyword(function, key)})
    returned = function(arrays["X"], arrays["Y"], params, **kwargs)
    if isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict):
        loss, grads = returned  # (loss, grads), CS231n-style: grads may be keyed by the parameters' names
        returned = {"J": loss}
        for key, value in grads.items():
            name = gradient_name(key, grads)
            if name != key and name.startswith("db") and np.ndim(value) == 1:
                value = np.reshape(value, (1, -1))  # grads["b1"] 1-D: CS231n's convention, not a missing keepdims
            returned[name] = value
    return lecture_arrays(returned, options["names"], arrays["X"].dtype)


def gradient_name(key, grads):
    """grads["W1"] is dW1 (CS231n names a gradient after its parameter) unless the dict has dW1 itself."""
    if isinstance(key, str) and re.fullmatch(r"[Wb]\d+", key) and f"d{key}" not in grads:
        return f"d{key}"
    return key


# -- the Coursera Deep Learning Specialization's functions (column layout) --

DLS_DEEP = ("L_model_forward", "compute_cost", "L_model_backward")            # "Building your Deep NN: Step by Step"
DLS_FIXED = ("forward_propagation", "compute_cost", "backward_propagation")   # the planar week, the regularization week
DLS_REGULARIZED = {"compute_cost": "compute_cost_with_regularization",
                   "backward_propagation": "backward_propagation_with_regularization"}


def dls_functions(namespace):
    """{role: function name} of the DLS functions the namespace defines, deep (L_model_*) first; {} for none."""
    for family in (DLS_DEEP, DLS_FIXED):
        if all(callable(getattr(namespace, name, None)) for name in family):
            found = {name: name for name in family}
            for plain, regularized in DLS_REGULARIZED.items():
                if plain in found and callable(getattr(namespace, regularized, None)):
                    found[regularized] = regularized
            return found
    return {}


def call_dls(namespace, options, arrays):
    """The course's forward, cost and backward, as its notebook calls them:

        AL, caches = L_model_forward(X, parameters)          or  A, cache = forward_propagation(X, parameters)
        cost = compute_cost(AL, Y)                           (compute_cost_with_regularization(AL, Y, parameters, lambd))
        grads = L_model_backward(AL, Y, caches)              or  backward_propagation(parameters, cache, X, Y), …

    Z and A are read from the caches (copied before the backward pass can change them); grads' dW1, db1, dA1, …
    keep their names (dA0, the gradient of X, is not a lecture tensor)."""
    functions = dls_functions(namespace)
    L, lam = options["layers"], options.get("l2", 0.0)
    X, Y = arrays["X"], arrays["Y"]
    parameters = {}
    for l in range(1, L + 1):
        parameters[f"W{l}"], parameters[f"b{l}"] = arrays[f"W{l}"], arrays[f"b{l}"]
    deep = "L_model_forward" in functions
    forward = getattr(namespace, "L_model_forward" if deep else "forward_propagation")
    AL, caches = _pair(bind(forward, {"X": X, "parameters": parameters}, ("X", "parameters")), "the forward pass")
    found = {f"A{L}": _copy(AL)}
    found.update(forward_from_caches(caches, L, parameters))
    available = {"AL": AL, "Y": Y, "X": X, "parameters": parameters, "caches": caches, "cache": caches, "lambd": lam}
    regularized = lam and "compute_cost_with_regularization" in functions
    cost = getattr(namespace, "compute_cost_with_regularization" if regularized else "compute_cost")
    found["J"] = bind(cost, available, ("AL", "Y", "parameters", "lambd"))
    if deep:
        backward, order = namespace.L_model_backward, ("AL", "Y", "caches", "lambd")
    else:
        regularized = lam and "backward_propagation_with_regularization" in functions
        backward = getattr(namespace, "backward_propagation_with_regularization" if regularized else "backward_propagation")
        order = ("X", "Y", "cache", "lambd")
    grads = bind(backward, available, order)
    if not isinstance(grads, dict):
        raise ResultError(f"{backward.__name__} must return the dict grads, it returned {type(grads).__name__}")
    for key, value in grads.items():
        found.setdefault(_lecture_case(key), value) if isinstance(key, str) else None
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


def bind(function, available, order):
    """function(…) with each parameter given by its name from `available`, the others by position in `order`
    (the course's order of arguments) — so that backward_propagation(parameters, cache, X, Y) and
    backward_propagation(X, Y, cache) are both called right."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return function(*(available[name] for name in order if name != "lambd"))
    args, kwargs, unused = [], {}, [name for name in order]
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        name = p.name if p.name in available else {k.lower(): k for k in available}.get(p.name.lower())
        if name is None and p.name in L2_NAMES:
            name = "lambd"
        if name is None:
            if p.default is not p.empty:
                continue
            name = next((n for n in unused if n != "lambd"), None)
            if name is None:
                continue
        if name in unused:
            unused.remove(name)
        value = available[name]
        if p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = value
        else:
            args.append(value)
    return function(*args, **kwargs)


# -- CS231n: a class with params and loss(X, y[, reg]) (row layout, 1-D biases, integer labels) --

CS231N_CLASSES = ("FullyConnectedNet", "TwoLayerNet")


def cs231n_classes(namespace):
    """The classes of the namespace that have a loss method, the course's names first."""
    found = [name for name, value in vars(namespace).items()
             if isinstance(value, type) and callable(getattr(value, "loss", None)) and not name.startswith("_")]
    return sorted(found, key=lambda name: (CS231N_CLASSES.index(name) if name in CS231N_CLASSES else len(CS231N_CLASSES)))


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


def call_cs231n(cls, options, arrays):
    """model = Class(sizes…); model.params = W1, b1 (1-D), …; scores = model.loss(X); loss, grads = model.loss(X, y)."""
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
        if isinstance(name, str) and re.fullmatch(r"db\d+", name) and np.ndim(value) == 1:
            value = np.reshape(value, (1, -1))  # CS231n's biases are 1-D: its convention, not a missing keepdims
        found[name] = value
    return lecture_arrays(found, options["names"], X.dtype, what="loss")


def _call_backprop(namespace, function, options, arrays):
    return call_backprop(getattr(namespace, function), options, arrays)


def _call_cs231n(namespace, function, options, arrays):
    return call_cs231n(getattr(namespace, function), options, arrays)


def _call_dls(namespace, function, options, arrays):
    return call_dls(namespace, options, arrays)


CALLERS = {"lecture": _call_backprop, "backprop": _call_backprop, "dls": _call_dls, "cs231n": _call_cs231n}


def describe(namespace, style, entry=None):
    """What the namespace offers in a style: the entry point, the functions, the name its L2 strength goes by,
    whether it takes any depth (or the one depth it is written for).  Nothing of the user's is called."""
    if style == "dls":
        functions = dls_functions(namespace)
        if not functions:
            return {"entry": None}
        deep = "L_model_forward" in functions
        l2_name = None
        for name in ("L_model_backward", "backward_propagation_with_regularization", "compute_cost_with_regularization"):
            if name in functions:
                l2_name = l2_parameter(getattr(namespace, name)) or l2_name
        depth = None if deep else weights_read(getattr(namespace, "forward_propagation"))
        return {"entry": "L_model_forward" if deep else "forward_propagation", "functions": sorted(functions),
                "l2_name": l2_name, "any_depth": deep, "depth": depth}
    if style == "cs231n":
        classes = cs231n_classes(namespace)
        chosen = entry if entry in classes else (None if entry else (classes[0] if classes else None))
        if chosen is None:
            return {"entry": None, "others": classes}
        cls = getattr(namespace, chosen)
        try:
            init = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            init = {}
        l2_name = "reg" if ("reg" in init or accepts_keyword(cls.loss, "reg")) else None
        any_depth = "hidden_dims" in init or "hidden_sizes" in init
        return {"entry": chosen, "functions": [chosen], "l2_name": l2_name, "any_depth": any_depth,
                "depth": None if any_depth else (2 if ("hidden_size" in init or "hidden_dim" in init) else None),
                "others": [name for name in classes if name != chosen]}
    function = getattr(namespace, entry or "backprop", None)
    if not callable(function):
        return {"entry": None}
    return {"entry": entry or "backprop", "functions": [entry or "backprop"], "l2_name": l2_parameter(function),
            "any_depth": True, "depth": None}


def l2_parameter(function):
    """The name under which the function takes an L2 strength, or None."""
    try:
        names = [p.name for p in inspect.signature(function).parameters.values()]
    except (TypeError, ValueError):
        return None
    return next((name for name in names if name in L2_NAMES), None)


def weights_read(function):
    """The depth a fixed-depth forward pass is written for: the highest k of the "Wk" it reads, from its source;
    None when it builds the key ("W" + str(l)) or its source cannot be read."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return None
    if re.search(r"""["']W["']\s*\+|f["']W\{|["']W%d|["']W\{""", source):
        return None
    found = [int(k) for k in re.findall(r"""["']W(\d+)["']""", source)]
    return max(found) if found else None


def accepts_keyword(function, name):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name and p.kind is not p.POSITIONAL_ONLY or p.kind is p.VAR_KEYWORD for p in parameters)


def lecture_arrays(returned, names, x_dtype, what="backprop"):
    """The returned dict's lecture-named values as arrays, and the keys that are not lecture names."""
    if not isinstance(returned, dict):
        raise ResultError(f"{what} must return a dict of lecture-named arrays, it returned {type(returned).__name__}")
    arrays, ignored = {}, []
    for key, value in returned.items():
        if isinstance(key, str) and key in names:
            try:
                arrays[key] = as_array(key, value, x_dtype)
            except ResultError as exc:
                raise ResultError(f"{what} {exc}") from None
        elif len(ignored) < 100:
            ignored.append(str(key)[:40])
    return arrays, ignored


# the library a tensor-like value comes from -> how to return it as a NumPy array instead
TO_NUMPY = {"torch": "{name}.detach().cpu().numpy()", "tensorflow": "{name}.numpy()", "jax": "np.asarray({name})",
            "jaxlib": "np.asarray({name})", "cupy": "{name}.get()"}


def as_array(name, value, x_dtype):
    """value as a NumPy array of real numbers; ResultError with how to make one when it is not."""
    module = str(getattr(type(value), "__module__", "") or "")
    library = module.split(".")[0]
    if library == "torch" and getattr(value, "requires_grad", False) is True:
        raise ResultError(f"returned {name} as a torch tensor that requires grad: return {name}.detach().numpy()")
    if "bfloat16" in str(getattr(value, "dtype", "")):
        raise ResultError(precision_problem(name, "bfloat16", x_dtype))
    try:
        array = np.asarray(value)
    except Exception:
        array = None
    if array is None or array.dtype.hasobject:  # not convertible, or ragged / not numbers: an array of objects
        kind = type(value).__name__ if library in ("", "builtins") else f"{module}.{type(value).__name__}"
        how = TO_NUMPY.get(library, "a NumPy array of numbers, e.g. np.asarray({name}, dtype=float)").format(name=name)
        raise ResultError(f"returned {name} as {kind}, not an array of numbers: return {how}")
    problem = dtype_problem(name, array.dtype, x_dtype)
    if problem:
        raise ResultError(problem)
    return array


def dtype_problem(name, dtype, x_dtype):
    """Why an array of this dtype cannot be compared, or None (the checker validates with the same words)."""
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        return f"returned {name} with dtype {dtype}, not real numbers"
    if dtype.kind == "f" and dtype.itemsize < 4:
        return precision_problem(name, dtype.name, x_dtype)
    return None


def precision_problem(name, dtype_name, x_dtype):
    x_dtype = np.dtype(x_dtype).name
    return (f"returned {name} in {dtype_name}: the reference computes in X's dtype ({x_dtype}) and {dtype_name} "
            f"results are not compared — return {name} in {x_dtype}")


# ---- failures: what went wrong, where in the user's files -----------------------------------------

def one_line(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def is_out_of_memory(exc):
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    text = str(exc).lower()
    return "bad_alloc" in text or "can't allocate memory" in text or "cannot allocate memory" in text


def _library_directories():
    paths = sysconfig.get_paths()
    found = {os.path.abspath(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    found.add(os.path.dirname(os.path.abspath(np.__file__)))
    found.add(os.path.dirname(os.path.abspath(__file__)))  # this worker
    return tuple(found)


LIBRARIES = _library_directories()


def where(exc, directory):
    """(file, line) of the deepest frame in the user's own files, or None.  Own: the file's directory and
    whatever else is not Python's or an installed library's (a student's module imported from elsewhere).
    The file is a name relative to the directory when it is in it, else an absolute path."""
    def own(filename):  # not '<string>' and the like, which would resolve into the working directory
        if not filename or filename.startswith("<"):
            return False
        path = os.path.abspath(filename)
        if os.path.dirname(path) == directory:
            return True
        return not any(path.startswith(library + os.sep) for library in LIBRARIES) and os.path.exists(path.split("#cell")[0])

    def name(filename):
        path = os.path.abspath(filename)
        return os.path.basename(path) if os.path.dirname(path) == directory else path

    if isinstance(exc, SyntaxError) and own(exc.filename):
        return [name(exc.filename), exc.lineno]
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if own(frame.filename):
            found = [name(frame.filename), frame.lineno]
    return found


def entered(exc, directory):
    """The name of the first function of the user's own file the call went into (L_model_backward, loss, …)."""
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = frame.filename
        if filename and not filename.startswith("<") and os.path.dirname(os.path.abspath(filename)) == directory:
            return frame.name if frame.name != "<module>" else None
    return None


def failure(exc, doing, directory):
    """The error object of a reply: kind, message (one line, after the location), where."""
    if isinstance(exc, ResultError):
        return {"kind": "result", "message": str(exc), "where": None}
    if isinstance(exc, CellError):  # a notebook's cell: its number, then what it raised, located in the cell
        inner = failure(exc.exc, f"code cell {exc.number}", directory)
        return {**inner, "cell": exc.number}
    located = where(exc, directory) if directory else None
    if isinstance(exc, SystemExit):
        kind, message = "exit", f"{doing} called sys.exit({exc.code!r})"
    elif isinstance(exc, KeyboardInterrupt):
        kind, message = "interrupt", f"{doing} raised KeyboardInterrupt"
    elif is_out_of_memory(exc):
        kind, message = "memory", one_line(exc)
    elif isinstance(exc, SyntaxError) and located and located[1] == exc.lineno:
        kind, message = "syntax", f"syntax error: {exc.msg}"
    else:
        kind, message = "exception", f"{doing} raised {one_line(exc)}"
    return {"kind": kind, "message": message, "where": located, "type": type(exc).__name__}


# ---- the loop -------------------------------------------------------------------------------------

class Session:
    def __init__(self):
        self.namespace, self.directory = None, None

    def handle(self, meta, arrays):
        """(reply, arrays) for one request; anything the user's code raises is an answer, never our end."""
        op = meta.get("op")
        if op == "load":
            self.directory = os.path.dirname(meta["path"])
            try:
                if meta["loader"] == "notebook":
                    self.namespace = load_notebook(meta["path"], meta.get("cells", []))
                else:
                    self.namespace = LOADERS[meta["loader"]](meta["path"])
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: they are the user's
                return {"ok": False, "error": failure(exc, "importing it", self.directory)}, None
            return {"ok": True, "defines": defines(self.namespace)}, None
        if op == "describe":
            try:
                return {"ok": True, **describe(self.namespace, meta["caller"], meta.get("entry"))}, None
            except BaseException as exc:
                return {"ok": False, "error": failure(exc, "describing it", self.directory)}, None
        if op == "call":
            try:
                result, ignored = CALLERS[meta["caller"]](self.namespace, meta["function"], meta["options"], arrays)
            except BaseException as exc:
                doing = f"your {entered(exc, self.directory) or meta['function']}"
                return {"ok": False, "error": failure(exc, doing, self.directory)}, None
            return {"ok": True, "ignored": ignored}, result
        return {"ok": False, "error": {"kind": "protocol", "message": f"unknown request {op!r}", "where": None}}, None


def _flush_user_streams():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def main(argv):
    requests = os.fdopen(int(argv[1]), "rb")
    replies = os.fdopen(int(argv[2]), "wb")
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # crosscheck/ itself must not shadow the user's imports (its errors.py, tensors.py, …)
    write_frame(replies, {"ok": True, "ready": np.__version__})
    session = Session()
    while True:
        try:
            meta, arrays = read_frame(requests)
        except (EOFError, ValueError, OSError):
            break  # the checker has closed the pipe: it is done with us
        reply, result = session.handle(meta, arrays)
        _flush_user_streams()
        try:
            write_frame(replies, reply, result)
        except MemoryError:
            write_frame(replies, {"ok": False, "error": {"kind": "memory", "message": "MemoryError (sending the result)",
                                                         "where": None}})
    os._exit(0)  # no atexit handler and no thread the user's code left behind may run or wait after us


if __name__ == "__main__":
    main(sys.argv)
