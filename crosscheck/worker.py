"""The worker: a user's implementation, imported and called in a process of its own.

crosscheck.user_code starts it as `python -u worker.py REQUESTS_FD REPLIES_FD MEMORY_MB`, in a session of
its own, stdin at /dev/null, stdout and stderr in capture files, and sends it requests.  Whatever the
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
    {"op": "call", "caller": "backprop", "function": "backprop", "options": {…}, "arrays": [X, Y, W1, b1, …]}
                                                          -> {"ok": true, "arrays": [names], "ignored": [keys]}
    any failure                                           -> {"ok": false, "error": {"kind", "message", "where"}}

The first frame is the worker's own {"ok": true, "ready": numpy version}, once NumPy has started under the
memory limit.  A loader turns a file into a namespace (a module today; a notebook later); a caller calls
into that namespace in one style (backprop(X, Y, params) today; a set of Coursera-style functions or a
CS231n class later): LOADERS and CALLERS below, each a name the request gives.
"""
import errno
import inspect
import io
import json
import os
import struct
import sys
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


if __name__ == "__main__" and int(sys.argv[3]) > 0:  # 0: no limit (e.g. for CUDA, which reserves tens of GB)
    _limit_resources(int(sys.argv[3]))

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
    whole session, so that its siblings import inside backprop as well as at the top of the file."""
    directory = os.path.dirname(path)
    os.chdir(directory)
    sys.path.insert(0, directory)
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec")  # bytes: the file's own coding declaration applies
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules else "user_impl"
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module  # dataclasses and a sibling's `import <stem>` look it up there
    exec(code, module.__dict__)
    return module


LOADERS = {"module": load_module}


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

def call_backprop(function, options, arrays):
    """backprop(X, Y, params, activation=…[, loss=…]) -> ({lecture name: array}, [ignored keys]).

    options  {"layers": L, "activation", "loss", "names": the lecture's names to send back}
    arrays   X, Y, W1, b1, …, WL, bL
    """
    params = [(arrays[f"W{l}"], arrays[f"b{l}"]) for l in range(1, options["layers"] + 1)]
    kwargs = {"activation": options["activation"]}
    if accepts_keyword(function, "loss"):
        kwargs["loss"] = options["loss"]
    returned = function(arrays["X"], arrays["Y"], params, **kwargs)
    return lecture_arrays(returned, options["names"], arrays["X"].dtype)


CALLERS = {"backprop": call_backprop}


def accepts_keyword(function, name):
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name and p.kind is not p.POSITIONAL_ONLY or p.kind is p.VAR_KEYWORD for p in parameters)


def lecture_arrays(returned, names, x_dtype):
    """The returned dict's lecture-named values as arrays, and the keys that are not lecture names."""
    if not isinstance(returned, dict):
        raise ResultError(f"backprop must return a dict of lecture-named arrays, it returned {type(returned).__name__}")
    arrays, ignored = {}, []
    for key, value in returned.items():
        if isinstance(key, str) and key in names:
            try:
                arrays[key] = as_array(key, value, x_dtype)
            except ResultError as exc:
                raise ResultError(f"backprop {exc}") from None
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


def where(exc, directory):
    """(file name, line) of the deepest frame in the user's own files (the file and its siblings), or None."""
    def own(filename):  # not '<string>' and the like, which would resolve into the working directory
        return bool(filename) and not filename.startswith("<") and os.path.dirname(os.path.abspath(filename)) == directory

    if isinstance(exc, SyntaxError) and own(exc.filename):
        return [os.path.basename(exc.filename), exc.lineno]
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if own(frame.filename):
            found = [os.path.basename(frame.filename), frame.lineno]
    return found


def failure(exc, doing, directory):
    """The error object of a reply: kind, message (one line, after the location), where."""
    if isinstance(exc, ResultError):
        return {"kind": "result", "message": str(exc), "where": None}
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
    return {"kind": kind, "message": message, "where": located}


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
                self.namespace = LOADERS[meta["loader"]](meta["path"])
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: they are the user's
                return {"ok": False, "error": failure(exc, "importing it", self.directory)}, None
            return {"ok": True, "defines": defines(self.namespace)}, None
        if op == "call":
            try:
                function = getattr(self.namespace, meta["function"])
                result, ignored = CALLERS[meta["caller"]](function, meta["options"], arrays)
            except BaseException as exc:
                return {"ok": False, "error": failure(exc, f"your {meta['function']}", self.directory)}, None
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
