"""The worker: a user's implementation, imported and called in a process of its own.

crosscheck.student.isolated starts it as `python -I -B -u worker.py REQUESTS_FD REPLIES_FD CONFIG`, inside its boundary
(crosscheck.student.sandbox), in a session of its own, stdin at /dev/null, stdout and stderr in capture files, and
sends it requests.  CONFIG, a JSON object, says what it may use before anything runs: "memory" (MB of address space),
"output" (bytes per file), "processes", "user" (the uid to become), "subreaper", "paths" (where NumPy is), and what
it may import: "own", "home", "frameworks", "refuse" (ImportGuard).  Whatever the user's code does here — sys.exit,
os._exit, signals, patching NumPy, editing stack frames, printing — the verdict and the exit code are decided in the
checker's process, from the plain arrays this process sends.

It imports only the standard library, NumPy and the styles package beside it (by path): never crosscheck,
the reference or a framework.  So it runs as a script from any directory, and the checker can import its frame
helpers with no side effect.

Messages, both ways, are frames on two dedicated pipes (never pickle: a pickle from here is code to run there):

    8-byte length, then a JSON object: names and metadata; "arrays" lists the names of the arrays that follow
    per array: 8-byte length, then the array in NumPy's .npy format, as np.save writes it (never an array
               of Python objects: those need pickle, and the reader refuses them)

Requests and their replies:

    {"op": "load", "loader": "module", "path": ABS, "caller": STYLE, "entry": NAME|null}
                                                          -> {"ok": true, "defines": {name: "function"|"class"|…},
                                                              "notes": [how it was read]}
    {"op": "load", "loader": "notebook", "path": ABS, "cells": [[number, source], …], …}     (the same reply)
    {"op": "describe", "caller": STYLE, "entry": NAME|null[, "style_path": FILE]}
                                                          -> {"ok": true, "entry", "functions", "l2_name",
                                                              "any_depth", "depth", "others", "activation",
                                                              "extensions", "extension_l2"}
    {"op": "call", "caller": STYLE, "function": NAME, "options": {…}[, "style_path": FILE],
     "arrays": [X, Y, W1, b1, …]}
                                                          -> {"ok": true, "arrays": [names], "ignored": [keys],
                                                              "notes": [lines], "calls": [its functions called]}
    any failure                                           -> {"ok": false, "error": {"kind", "message", "where"[,
                                                              "via": [helper file, line, function]][, "refused"]
                                                              [, "module": a module not installed here]}}
    every reply, once the code has imported one          + "imports": {"own": [names], "frameworks": [names]}

Loading is a notebook's as the course's notebooks run: %run lines and an nbconvert export's get_ipython() calls
run the file beside it (Shell), an export runs cell by cell, a cell that raises and defines nothing the style
calls is skipped with a note, and a course helper module the submission imports but lacks (dnn_utils,
reg_utils, …) is our own equivalent (CourseHelpers, crosscheck/student/course_helpers), with a note.

The first frame is the worker's own {"ok": true, "ready": numpy version}, once NumPy has started under the
memory limit.  A loader turns a file into a namespace (a module, or a notebook's code cells run in order); a
style (crosscheck/student/styles, loaded here by path under a name of our own) describes that namespace and calls
into it the way its course does, and hands back lecture-named arrays in the layout it was sent (the checker
converts layouts).
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


def _setup(config):
    """Before NumPy starts and before any user code: become the worker's own user (bwrap as root starts us as root,
    with only the capabilities to do so), keep every process it starts below us, cap its processes, its address
    space and what it writes; find NumPy where the checker found it."""
    import resource
    uid = config.get("user")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # and with it every capability is gone
    if config.get("subreaper"):  # an orphan of the user's code (a daemon, a new session) stays our descendant
        import ctypes
        try:
            ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass
    limits = [(resource.RLIMIT_NPROC, config.get("processes") or 0),
              (resource.RLIMIT_AS, (config.get("memory") or 0) * 2**20),
              # no file it writes, its captured stdout and stderr included, grows past it: a write beyond fails
              # with EFBIG (Python ignores SIGXFSZ), so a flood of output cannot fill the disk
              (resource.RLIMIT_FSIZE, config.get("output") or 0)]
    for which, limit in limits:
        if limit <= 0:  # 0: no limit (e.g. --memory 0 for CUDA, which reserves tens of GB)
            continue
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        try:
            resource.setrlimit(which, (limit, limit))  # the hard limit too: only root could lift it
        except (ValueError, OSError):  # where the system has no such limit (not Linux), the worker runs without it
            pass
    memory = config.get("memory") or 0
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # OpenBLAS reserves ~40 MB of address space per
        if memory and os.environ.get(name, "").isdigit():     # thread, which RLIMIT_AS counts as if used
            os.environ[name] = str(max(1, min(int(os.environ[name]), (memory - 256) // 64)))
    for path in config.get("paths", []):
        if path not in sys.path:
            sys.path.append(path)


CONFIG = json.loads(sys.argv[3]) if __name__ == "__main__" else {}
if __name__ == "__main__":
    _setup(CONFIG)

import numpy as np  # noqa: E402  (after the limit: NumPy starts under it)
from numpy.lib import format as npy  # noqa: E402

LENGTH = struct.Struct(">Q")
MAX_HEADER = 2**20  # bytes of JSON in one frame


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

def load_module(path, owns=None, notes=None):
    """Import the file as a module.  Its directory is the working directory and first on sys.path for the
    whole session, so that its siblings import inside backprop as well as at the top of the file.  A file
    inside a package (CS231n's cs231n/classifiers/fc_net.py, with its `from ..layers import *`) is imported
    as that package's module, the package's parent directory on sys.path too.  A notebook exported by nbconvert
    (its `# In[3]:` markers) runs cell by cell, as the notebook would (load_cells)."""
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
    name = stem if stem.isidentifier() and stem not in sys.modules else "user_impl"
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module  # dataclasses and a sibling's `import <stem>` look it up there
    shell = Shell(module, directory, notes if notes is not None else [])
    if b"get_ipython" in source:  # an nbconvert export: its magics are get_ipython() calls
        module.__dict__.setdefault("get_ipython", lambda: shell)
    cells = exported_cells(source)
    if cells:
        linecache.cache[path] = (len(source), None, source.decode("utf-8", "replace").splitlines(True), path)
        return load_cells(module, [(number, path, first, text) for number, first, text in cells], owns, shell)
    code = compile(source, path, "exec")  # bytes: the file's own coding declaration applies
    exec(code, module.__dict__)
    return module


EXPORT_MARKER = re.compile(r"^# In\[[ \d]*\]:\s*$", re.MULTILINE)


def exported_cells(source):
    """[(number, first line, text)] of a notebook exported as a script (nbconvert's `# In[3]:` before each code
    cell); None for a plain file."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        return None
    markers = list(EXPORT_MARKER.finditer(text))
    if len(markers) < 2:
        return None
    cells = []
    for number, (marker, after) in enumerate(zip(markers, markers[1:] + [None]), start=1):
        body = text[marker.end():after.start() if after else len(text)]
        cells.append((number, text.count("\n", 0, marker.end()) + 1, body))
    return cells


def _package_of(directory):
    """(the directory above the outermost package, "pkg.sub") for a directory holding __init__.py, else None.  None
    too inside a package named crosscheck (a file of the checker's own, such as its catalogue's steps.py, run as a
    submission): that name is refused to submissions, so the file is a plain module of its folder."""
    parts, here = [], directory
    while os.path.isfile(os.path.join(here, "__init__.py")) and os.path.basename(here).isidentifier():
        if os.path.basename(here) == "crosscheck":
            return None
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


def load_notebook(path, cells, owns=None, notes=None):
    """Run a notebook's code cells in order, in one namespace, as Jupyter would (shell and magic lines already
    removed by the checker, %run lines made get_ipython().run_line_magic('run', …) calls).  Each cell is compiled
    under the name PATH#cellN, its source kept in linecache, so that a traceback, inspect.getsource and the
    location of an error all point into the cell."""
    directory = os.path.dirname(path)
    os.chdir(directory)
    sys.path.insert(0, directory)
    module = types.ModuleType("__main__")
    module.__file__ = path
    sys.modules["__notebook__"] = module
    shell = Shell(module, directory, notes if notes is not None else [])
    module.__dict__["get_ipython"] = lambda: shell
    found = []
    for number, source in cells:
        filename = f"{path}#cell{number}"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        found.append((number, filename, 1, source))
    return load_cells(module, found, owns, shell)


def load_cells(module, cells, owns, shell):
    """Run (number, filename, first line, source) cells in the module's namespace, in order.  A cell that raises
    and defines none of the functions the style calls (owns) is skipped with a note — old notebooks stop at an
    ungraded cell: a plot, a baseline, the course's own test — and the run goes on; one that defines them raises
    CellError, and so does any cell when the style's functions are not known (owns None)."""
    skipped = []
    for number, filename, first, source in cells:
        try:
            code = compile("\n" * (first - 1) + source, filename, "exec")
            exec(code, module.__dict__)
        except Exception as exc:
            if owns is None or owns(_defined(source)):
                raise CellError(number, exc) from exc
            skipped.append((number, exc))
        except BaseException as exc:  # SystemExit and KeyboardInterrupt: the user's, and they end the run
            raise CellError(number, exc) from exc
    if skipped:
        listed = ", ".join(str(number) for number, _ in skipped)
        several = len(skipped) > 1
        shell.notes.append(f"code cell{'s' if several else ''} {listed} raised and define{'' if several else 's'} "
                           f"none of the functions the check calls: skipped (cell {skipped[0][0]}: "
                           f"{one_line(skipped[0][1])[:120]})")
    return module


DEFINITION = re.compile(r"^[ \t]*(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def _defined(source):
    """{name: "function" | "class"} of what a cell's source defines (read from its text: it may not parse)."""
    return {name: "class" if kind == "class" else "function" for kind, name in DEFINITION.findall(source)}


class Shell:
    """What get_ipython() returns in a notebook or an nbconvert export: %run runs the file from the submission's
    folder (in a namespace of its own, then copied in, as IPython does; -i: in the notebook's), or says it was
    skipped when the file is missing; a cell magic that runs Python (%%time, %%capture) runs its cell; every other
    magic and shell command does nothing.  notes: what a report should say about it."""

    CELL_MAGICS = ("time", "timeit", "capture", "prun")

    def __init__(self, module, directory, notes):
        self.module, self.directory, self.notes = module, directory, notes
        self.user_ns = module.__dict__

    def run_line_magic(self, name, line, _stack_depth=1):
        if name != "run":
            return None
        import shlex
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        flags = [w for w in words if w.startswith("-")]
        files = [w for w in words if not w.startswith("-")]
        if not files or "-m" in flags:
            self.notes.append(f"%run {line} skipped: only a file is run")
            return None
        path = os.path.join(self.directory, files[0])
        if not os.path.isfile(path) and os.path.isfile(path + ".py"):
            path += ".py"
        if not os.path.isfile(path):
            self.notes.append(f"%run {line} skipped: {files[0]} is not in the submission's folder")
            return None
        if path.endswith(".ipynb"):
            sources = _notebook_sources(path)
        else:
            with open(path, "rb") as f:
                sources = [f.read()]
        namespace = self.user_ns if "-i" in flags else {"__name__": "__main__", "__file__": path,
                                                         "get_ipython": lambda: self}
        for source in sources:
            exec(compile(source, path, "exec"), namespace)
        if namespace is not self.user_ns:
            self.user_ns.update({k: v for k, v in namespace.items() if not k.startswith("__")})
        return None

    def magic(self, line):
        name, _, rest = line.lstrip("%").partition(" ")
        return self.run_line_magic(name, rest)

    def run_cell_magic(self, name, line, cell):
        if name in self.CELL_MAGICS:
            exec(compile(cell, "<cell>", "exec"), self.user_ns)
        return None

    def system(self, command):
        return None

    def getoutput(self, command):
        return []

    def __getattr__(self, name):  # anything else IPython's shell offers: nothing to do here
        return lambda *args, **kwargs: None


def _notebook_sources(path):
    """The code cells of a notebook %run names, read with json (the worker imports no nbformat), magics left out."""
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    sources = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            text = cell.get("source", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            sources.append("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines()))
    return sources


# ---- the course's helper modules, where the submission lacks them ------------------------------------

HELPERS_DIRECTORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "course_helpers")
# a module of the course (any version: dnn_utils_v2, testCases_v4a) -> the file of ours that stands in for it
HELPER_MODULES = ((re.compile(r"dnn_utils(_v\d+a?)?"), "dnn_utils"), (re.compile(r"reg_utils"), "reg_utils"),
                  (re.compile(r"planar_utils"), "planar_utils"),
                  (re.compile(r"testCases(_v\d+a?)?|public_tests|test_utils"), "test_cases"),
                  (re.compile(r"past"), "past"))  # python-future's, which CS231n's code of 2017-2020 imports


def helper_file(module):
    """The stem of our stand-in for a course helper module's name, or None."""
    return next((ours for pattern, ours in HELPER_MODULES if pattern.fullmatch(module)), None)


class CourseHelpers:
    """A finder, last on sys.meta_path: a course helper module the submission imports and nothing else provides
    (not beside it, not installed) is our own equivalent, and a note says so."""

    def __init__(self, notes):
        self.notes = notes

    def find_spec(self, fullname, path=None, target=None):
        import importlib.util
        ours = helper_file(fullname) if path is None else None
        if ours is None:
            return None
        file, package = os.path.join(HELPERS_DIRECTORY, ours + ".py"), os.path.join(HELPERS_DIRECTORY, ours)
        if os.path.isdir(package):  # a package of ours (past, with past.builtins)
            file = os.path.join(package, "__init__.py")
            spec = importlib.util.spec_from_file_location(fullname, file, submodule_search_locations=[package])
            provides = ", ".join(f"{os.path.splitext(name)[0]}.{found}" for name in sorted(os.listdir(package))
                                 if name.endswith(".py") and name != "__init__.py"
                                 for found in _assigned(os.path.join(package, name)))
        elif os.path.isfile(file):
            spec = importlib.util.spec_from_file_location(fullname, file)
            provides = _provides(file)
        else:
            return None
        self.notes.append(f"{fullname} is not in the submission's folder or installed: crosscheck's own equivalent was imported"
                          + (f" ({provides}, written from their documented behaviour)" if provides else
                             " (the course's tests: not needed by the check)"))
        return spec

    def invalidate_caches(self):
        pass


def _provides(file):
    """The functions a helper of ours defines, for the note that says it stands in for the course's."""
    with open(file, encoding="utf-8") as f:
        return ", ".join(re.findall(r"^def ([a-zA-Z]\w*)", f.read(), re.MULTILINE))


def _assigned(file):
    with open(file, encoding="utf-8") as f:
        return re.findall(r"^([a-zA-Z]\w*) = ", f.read(), re.MULTILINE)


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
    whatever else is not Python's or an installed library's (a student's module imported from elsewhere), but not
    a course helper (dnn_utils.py beside it, or our equivalent): the student's own frame is the one to show.
    The file is a name relative to the directory when it is in it, else an absolute path."""
    return _frames(exc, directory)[0]


def helper_frame(exc, directory):
    """[file, line, function] of the deepest frame in a course helper file (the course's dnn_utils.py beside the
    submission, or our equivalent), when it is deeper than the student's own: the error shows in both."""
    return _frames(exc, directory)[1]


def _is_helper(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    return helper_file(stem) is not None or os.path.dirname(path) == HELPERS_DIRECTORY


def _frames(exc, directory):
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
        return [name(exc.filename), exc.lineno], None
    found = helper = None
    for frame in traceback.extract_tb(exc.__traceback__):
        helper_file = frame.filename and not frame.filename.startswith("<") and _is_helper(os.path.abspath(frame.filename))
        if helper_file:
            helper = [name(frame.filename), frame.lineno, frame.name]
        elif own(frame.filename):
            found, helper = [name(frame.filename), frame.lineno], None
    if not found:
        return (helper[:2] if helper else None), None
    if helper and os.path.dirname(helper[0]) == HELPERS_DIRECTORY:  # ours: named, not our install's path
        helper[0] = f"crosscheck's {os.path.basename(helper[0])}"
    return found, helper


def entered(exc, directory):
    """The name of the first function of the user's own file the call went into (L_model_backward, loss, …)."""
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = frame.filename
        if filename and not filename.startswith("<") and os.path.dirname(os.path.abspath(filename)) == directory:
            return frame.name if frame.name != "<module>" else None
    return None


def failure(exc, doing, directory):
    """The error object of a reply: kind, message (one line, after the location), where (and via: the deepest
    frame in a course helper, when the error was raised there)."""
    kind_of = type(exc).__name__ if type(exc).__module__.endswith(".common") else None  # the styles' own
    if kind_of == "ResultError":
        return {"kind": "result", "message": str(exc), "where": None}
    if kind_of == "CallError":  # our call did not fit the code: ours to say, not the student's
        return {"kind": "call", "message": str(exc), "where": None}
    if kind_of == "Refused":  # the code cannot be asked this problem: how, from what it raised if it raised
        inner = failure(exc.__cause__, doing, directory) if exc.__cause__ is not None else \
            {"message": str(exc), "where": None}
        return {**inner, "kind": "refused", "refused": str(exc)}
    if isinstance(exc, CellError):  # a notebook's cell: its number, then what it raised, located in the cell
        inner = failure(exc.exc, f"code cell {exc.number}", directory)
        return {**inner, "cell": exc.number}
    located, via = _frames(exc, directory) if directory else (None, None)
    if isinstance(exc, SystemExit):
        kind, message = "exit", f"{doing} called sys.exit({exc.code!r})"
    elif isinstance(exc, KeyboardInterrupt):
        kind, message = "interrupt", f"{doing} raised KeyboardInterrupt"
    elif is_out_of_memory(exc):
        kind, message = "memory", one_line(exc)
    elif not_installed(exc):  # the environment's lack, not the code's mistake: the checker says whose it is
        kind, message = "module", f"{doing} raised {one_line(exc)}"
    elif isinstance(exc, SyntaxError) and located and located[1] == exc.lineno:
        kind, message = "syntax", f"syntax error: {exc.msg}"
    else:
        kind, message = "exception", f"{doing} raised {one_line(exc)}"
    return {"kind": kind, "message": message, "where": located, "type": type(exc).__name__,
            **({"via": via} if via else {}), **({"module": not_installed(exc)} if kind == "module" else {})}


def not_installed(exc):
    """The top-level module a ModuleNotFoundError names when nothing by that name can be imported here (not
    installed, and no file of the submission's): what this Python lacks.  None for anything else — a missing
    submodule of an installed package, or an import the guard refused, is the code's own."""
    if not isinstance(exc, ModuleNotFoundError) or not isinstance(exc.name, str) or not exc.name:
        return None
    import importlib.util
    top = exc.name.partition(".")[0]
    try:
        found = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = True
    return None if found else top[:80]


# ---- the loop -------------------------------------------------------------------------------------

def load_styles(directory=None):
    """The styles package (crosscheck/student/styles), loaded by path under a name of our own: the worker imports
    nothing of crosscheck's, and the user's code cannot import it by its name."""
    import importlib.util
    directory = directory or os.path.join(os.path.dirname(os.path.abspath(__file__)), "styles")
    spec = importlib.util.spec_from_file_location(STYLES_PACKAGE, os.path.join(directory, "__init__.py"),
                                                  submodule_search_locations=[directory])
    package = importlib.util.module_from_spec(spec)
    sys.modules[STYLES_PACKAGE] = package
    spec.loader.exec_module(package)
    return package


STYLES_PACKAGE = "_crosscheck_styles"


class Session:
    def __init__(self, styles):
        self.namespace, self.directory = None, None
        self.styles = styles
        self.notes, self._told = [], 0  # what the report should say of how the file was read (load, calls)
        sys.meta_path.append(CourseHelpers(self.notes))

    def style(self, meta):
        """The style a request names; one from a file of its own (styles.register) is loaded on first use."""
        name = meta["caller"]
        if name not in self.styles.STYLES and meta.get("style_path"):
            self.styles.register(meta["style_path"])
        return self.styles.STYLES[name]

    def _news(self):
        """The notes added since the last reply."""
        news, self._told = self.notes[self._told:], len(self.notes)
        return news

    def handle(self, meta, arrays):
        """(reply, arrays) for one request; anything the user's code raises is an answer, never our end."""
        op = meta.get("op")
        if op == "load":
            self.directory = os.path.dirname(meta["path"])
            owns = None
            if meta.get("caller"):  # a cell that raises is skipped when it defines none of what the style calls
                style, entry = self.style(meta), meta.get("entry")
                owns = lambda defined: style.owns(defined, entry)  # noqa: E731
            try:
                if meta["loader"] == "notebook":
                    self.namespace = load_notebook(meta["path"], meta.get("cells", []), owns, self.notes)
                else:
                    self.namespace = LOADERS[meta["loader"]](meta["path"], owns, self.notes)
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: they are the user's
                return {"ok": False, "error": failure(exc, "importing it", self.directory), "notes": self._news()}, None
            return {"ok": True, "defines": defines(self.namespace), "notes": self._news()}, None
        if op == "describe":
            try:
                return {"ok": True, **self.style(meta).describe(self.namespace, meta.get("entry"))}, None
            except BaseException as exc:
                return {"ok": False, "error": failure(exc, "describing it", self.directory)}, None
        if op == "call":
            try:
                returned = self.style(meta).call(self.namespace, meta["function"], meta["options"], arrays)
            except BaseException as exc:
                doing = f"your {entered(exc, self.directory) or meta['function']}"
                return {"ok": False, "error": failure(exc, doing, self.directory)}, None
            result, ignored = returned[0], returned[1]
            said = returned[2] if len(returned) > 2 and isinstance(returned[2], dict) else {}
            return {"ok": True, "ignored": ignored, "notes": list(said.get("notes", [])) + self._news(),
                    "calls": list(said.get("calls", []))}, result
        return {"ok": False, "error": {"kind": "protocol", "message": f"unknown request {op!r}", "where": None}}, None


def _flush_user_streams():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


class ImportGuard:
    """First on sys.meta_path, before any user code: what the code may import.

    own         the checker's own folders (crosscheck, its reference, engine, adapters): nothing found there, and
                nothing named crosscheck, is imported unless it lies in the submission's own folder (`home`: a
                student's own reference.py is theirs) — the answer key stays out of reach
    frameworks  autograd frameworks (torch, jax, …), but a module of the student's own by that name: each one imported
                is noted, for the report; those in `refuse` (grade's) are not imported at all
    Every reply carries what was noted (report()); the checker decides what it means.
    """

    def __init__(self, config):
        self.own = tuple(os.path.realpath(p) for p in config.get("own", []))
        self.home = os.path.realpath(config["home"]) if config.get("home") else None
        self.frameworks = frozenset(config.get("frameworks", []))
        self.refuse = frozenset(config.get("refuse", []))
        self.noted = {"own": [], "frameworks": []}

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top == STYLES_PACKAGE:  # the worker's own styles, loaded by path: ours, and no answer key
            return None
        spec = None
        for finder in sys.meta_path:  # where the import would come from, found as it would be found
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        if spec is not None and isinstance(finder, CourseHelpers):  # our stand-in for a course's helper: no answer key
            return spec
        places = [spec.origin] if spec is not None and spec.origin and os.path.isabs(spec.origin) else []
        places += list(spec.submodule_search_locations or []) if spec is not None else []
        places = [os.path.realpath(p) for p in places]
        theirs = bool(places) and self.home is not None and all(_inside(p, self.home) for p in places)
        if theirs:  # the student's own module, whatever its name (their reference.py, their autograd.py)
            return spec
        if top in self.frameworks:
            self._note("frameworks", top)
            if top in self.refuse:
                raise ImportError(f"{top} is not allowed in this assignment: compute the gradients yourself",
                                  name=name)
            return spec
        # crosscheck by its name (a sandbox hides it: refused all the same), anything found in its folders
        if top == "crosscheck" or any(_inside(p, folder) for p in places for folder in self.own):
            self._note("own", name)
            raise ImportError(f"{name} is crosscheck's own module, the checker's: a submission cannot import it",
                              name=name)
        return spec

    def _note(self, kind, name):
        if name not in self.noted[kind] and len(self.noted[kind]) < 20:
            self.noted[kind].append(name[:80])

    def report(self):
        """What was noted so far (the frameworks found in sys.modules too, imported by any means, but the student's
        own)."""
        for name, module in list(sys.modules.items()):
            top = name.partition(".")[0]
            where = getattr(module, "__file__", None)
            if top in self.frameworks and not (where and self.home and _inside(os.path.realpath(where), self.home)):
                self._note("frameworks", top)
        return {kind: list(names) for kind, names in self.noted.items() if names}


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def main(argv):
    guard = ImportGuard(CONFIG)
    sys.meta_path.insert(0, guard)  # before the styles and any user code
    requests = os.fdopen(int(argv[1]), "rb")
    replies = os.fdopen(int(argv[2]), "wb")
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # crosscheck/ itself must not shadow the user's imports (its errors.py, tensors.py, …)
    session = Session(load_styles())
    write_frame(replies, {"ok": True, "ready": np.__version__})
    while True:
        try:
            meta, arrays = read_frame(requests)
        except (EOFError, ValueError, OSError):
            break  # the checker has closed the pipe: it is done with us
        reply, result = session.handle(meta, arrays)
        _flush_user_streams()
        noted = guard.report()
        if noted:
            reply["imports"] = noted
        try:
            write_frame(replies, reply, result)
        except MemoryError:
            write_frame(replies, {"ok": False, "error": {"kind": "memory", "message": "MemoryError (sending the result)",
                                                         "where": None}, **({"imports": noted} if noted else {})})
    os._exit(0)  # no atexit handler and no thread the user's code left behind may run or wait after us


if __name__ == "__main__":
    main(sys.argv)
