"""Your own implementation, plugged in: load a file that defines backprop(), run it, report its crashes.

The file defines

    def backprop(X, Y, params, activation="relu"):
        # X (m, n0), Y one-hot (m, nL), params [(W1, b1), …] with W (n_in, n_out) and b (1, n_out)
        return {"Z1": …, "A1": …, "dZ2": …, "dW2": …, …}     # any subset of the lecture's names

and may also take loss= (softmax-ce, sigmoid-bce, mse); it is passed when the signature accepts it.
"""
import inspect
import os
import sys
import traceback
import types

import numpy as np

from reference import Trace
from reference.errors import one_line

from .errors import UsageError


def load_impl(path):
    """The backprop function of a user's file; UsageError with file:line for any problem."""
    if not os.path.exists(path):
        raise UsageError(f"--impl {path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"--impl {path}: is a directory, not a Python file")
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--impl {path}: cannot read it ({exc})") from None
    try:
        code = compile(source, path, "exec")
    except SyntaxError as exc:
        raise UsageError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    module = types.ModuleType("user_impl")
    module.__file__ = os.path.abspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)  # so the file can import its own helpers beside it
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        raise UsageError(f"{_where(exc, path)}: importing it raised {one_line(exc)}") from None
    finally:
        sys.path.remove(directory)
    function = getattr(module, "backprop", None)
    if function is None:
        raise UsageError(f"--impl {path}: defines no function backprop(X, Y, params, activation='relu')")
    if not callable(function):
        raise UsageError(f"--impl {path}: backprop is not a function")
    function.__crosscheck_path__ = os.path.abspath(path)
    return function


def run_impl(function, net, params, X, Y, name="impl"):
    """Call the user's backprop on copies of the inputs and return its tensors as a Trace."""
    path = getattr(function, "__crosscheck_path__", None)
    kwargs = {"activation": net.activation}
    try:
        signature = inspect.signature(function)
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        if "loss" in signature.parameters or accepts_any:
            kwargs["loss"] = net.loss
    except (TypeError, ValueError):
        pass
    own_params = [(W.copy(), b.copy()) for W, b in params]
    try:
        returned = function(X.copy(), Y.copy(), own_params, **kwargs)
    except Exception as exc:
        raise UsageError(f"{_where(exc, path)}: your backprop raised {one_line(exc)}") from None
    if not isinstance(returned, dict):
        raise UsageError(f"{path or name}: backprop must return a dict of lecture-named arrays, "
                         f"it returned {type(returned).__name__}")
    trace = Trace(meta={"framework": name, "dtype": X.dtype.name, "path": path})
    for key, value in returned.items():
        try:
            trace[str(key)] = np.asarray(value, dtype=np.float64 if np.asarray(value).dtype.kind in "biu" else None)
        except Exception:
            raise UsageError(f"{path or name}: backprop returned {key!r} = {type(value).__name__}, not an array") from None
        if trace[str(key)].dtype.kind not in "fiub":
            raise UsageError(f"{path or name}: backprop returned {key!r} with dtype {trace[str(key)].dtype}, not numbers")
    return trace


def _where(exc, path):
    """'file.py:LINE' of the deepest frame inside the user's file, else the file alone."""
    line = None
    target = os.path.abspath(path) if path else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if target and os.path.abspath(frame.filename) == target:
            line = frame.lineno
    return f"{path}:{line}" if line else f"{path}"
