"""An implementation: something written in a course's style that computes the lecture's tensors.

    impl.run(problem) -> Trace (in rows)     the tensors it returns on one problem, checked for what can be compared

Two kinds, one interface:
    Isolated (crosscheck.student.isolated)  a file or a notebook, in a worker process of its own: a user's code
    Local (here)                            a function, a class, a module or an object that already lives in this
                                            process (a notebook cell, a test, the bug catalogue): called right here
"""
import os
import re
import traceback
import types

import numpy as np

from crosscheck.engine import layouts
from crosscheck.errors import UsageError, UserCodeError
from crosscheck.reference import Trace
from crosscheck.reference.errors import one_line
from crosscheck.reference.trace import computed_names
from crosscheck.student import styles
from crosscheck.student.styles.common import CallError, Refused, ResultError, dtype_problem


class Implementation:
    """Something that computes the lecture's tensors: run(problem) -> Trace (in rows).

    style        the style's name (crosscheck.student.styles)
    layout       rows or columns: the layout it receives its arrays in and returns them in
    description  what it offers: {"entry", "l2_name" (the argument its L2 strength goes by, or None), "any_depth"
                 (True, False or None: unknown), "depth" (the one depth it is written for, or None), "activation"
                 (the hidden activation its source shows, where the course has its own: the planar week's tanh),
                 "extensions" (the next lecture's layers it can run: ["dropout"]), "extension_l2" (whether it takes
                 an L2 strength with them), "notes" (how the file was read: a course helper of ours, a %run skipped)}
    path         the file, as the user named it; None for code in this process
    output       what it printed: {"stdout": {"text", "bytes", "truncated"}, "stderr": {…}}; None if not captured
    """

    name = "impl"
    path = None
    output = None
    style, layout = "lecture", "rows"
    description = {"entry": "backprop", "l2_name": None, "any_depth": True, "depth": None, "activation": None,
                   "extensions": ["dropout", "batch_norm"], "extension_l2": True, "notes": []}

    def run(self, problem):
        raise NotImplementedError


def resolve_style(style, layout):
    """(the style module, the layout) for a style name and a layout (None: the style's own, else rows)."""
    if style not in styles.STYLES:
        raise UsageError(f"choose one of {', '.join(styles.STYLES)}", field="style", value=style)
    module = styles.get(style)
    if layout not in (None, *layouts.LAYOUTS):
        raise UsageError(f"choose one of {', '.join(layouts.LAYOUTS)}", field="layout", value=layout)
    if module.LAYOUT and layout and layout != module.LAYOUT:
        raise UsageError(f"style {style} is the {module.LAYOUT} layout: drop {{layout}} {layout}", field="style",
                         value=style)
    return module, layout or module.LAYOUT or "rows"


def call_options(net, l2_name=None):
    """What a style's caller is told of the problem: the depth, activation, loss, L2 strength and the name its
    code takes it by, the lecture's names to send back; dropout and batch norm where the network has them."""
    options = {"layers": net.L, "activation": net.activation, "loss": net.loss, "names": computed_names(net),
               "l2": float(net.l2), "l2_name": l2_name}
    if net.keep_prob < 1 or net.batch_norm:  # the next lecture's network (reference.network): say what it has
        options.update({"keep_prob": float(net.keep_prob), "batch_norm": net.batch_norm,
                        "bn_eps": float(net.bn_eps), "training": net.training})
    return options


def call_inputs(problem, layout):
    """X, Y, W1, b1, … (a batch-norm layer's W, gamma, beta, rmu, rvar; the dropout masks D1, …) as the
    implementation receives them: copies, in its layout."""
    net = problem.net
    arrays = {"X": problem.X, "Y": problem.Y}
    for l, layer in enumerate(problem.params, start=1):
        arrays.update({f"{name}{l}": value for name, value in zip(net.layer_names(l), layer)})
    for l, D in enumerate(problem.masks or [], start=1):
        arrays[f"D{l}"] = D
    return layouts.to_layout(arrays, layout)


def to_trace(arrays, ignored, X, name, path, layout="rows", said=None):
    """The implementation's arrays as a Trace in the checker's terms (rows); UserCodeError for what cannot be
    compared.  Integers and booleans become float64; J of shape (1,) or (1, 1) is the scalar it holds;
    meta["shapes"] keeps each array's shape as the implementation returned it (in its layout); meta["notes"] and
    meta["calls"] what its style said of the call (styles.common.said).
    """
    said = said or {}
    trace = Trace(meta={"framework": name, "dtype": X.dtype.name, "path": path, "ignored": list(ignored),
                        "layout": layout, "shapes": {key: tuple(np.shape(a)) for key, a in arrays.items()},
                        "notes": list(said.get("notes", [])), "calls": list(said.get("calls", []))})
    arrays = layouts.from_layout(arrays, layout)
    for key, array in arrays.items():
        problem = dtype_problem(key, np.asarray(array).dtype, X.dtype)
        if problem:
            raise UserCodeError(f"{path or name}: backprop {problem}", kind="result")
        array = np.asarray(array)
        if array.dtype.kind in "biu":
            array = array.astype(np.float64)
        if key == "J" and array.shape in ((1,), (1, 1)):
            array = array.reshape(())
        trace[key] = array
    return trace


def clean(text, limit=400):
    """One line of printable text from the user's side: no control characters (no terminal escapes), bounded."""
    text = "".join(c if c.isprintable() else " " for c in str(text)).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Local(Implementation):
    """Code that lives in this process — a function, a CS231n class, a module or an object holding a course's
    functions — called here on copies of the inputs, through the same style as the worker's.

    It is trusted code: it runs in the caller's process, with no timeout, and could change anything here.  Its
    last exception is kept (with its traceback) in `exception`.
    """

    path = None
    output = None

    def __init__(self, target, style=None, layout=None, entry=None, name="impl"):
        if isinstance(target, type):
            style = style or "cs231n"
        self.style_module, self.layout = resolve_style(style or "lecture", layout)
        self.style, self.name, self.exception = self.style_module.NAME, name, None
        if isinstance(target, types.ModuleType) or (not callable(target) and not isinstance(target, type)):
            self.namespace = target                     # a module, or any object with the functions as attributes
        else:
            key = entry or getattr(target, "__name__", None)
            key = key if isinstance(key, str) and key.isidentifier() else "backprop"
            self.namespace = types.SimpleNamespace(**{key: target})
            entry = key
        description = self.style_module.describe(self.namespace, entry)
        if not description.get("entry"):
            what = type(target).__name__ if not isinstance(target, type) else f"class {target.__name__}"
            raise UsageError(f"{what}: {self.style_module.needs(entry, description.get('others'))}", field="impl")
        self.function = description["entry"]
        self.description = {"entry": self.function, "l2_name": description.get("l2_name"),
                            "any_depth": description.get("any_depth") is True, "depth": description.get("depth"),
                            "activation": description.get("activation"),
                            "extensions": list(description.get("extensions", self.style_module.EXTENSIONS or ())),
                            "extension_l2": description.get("extension_l2", True), "notes": []}

    def run(self, problem):
        options = call_options(problem.net, self.description["l2_name"])
        try:
            returned = self.style_module.call(self.namespace, self.function, options,
                                              call_inputs(problem, self.layout))
        except ResultError as exc:
            raise UserCodeError(f"{self.function}: {exc}", kind="result") from None
        except CallError as exc:
            raise UserCodeError(str(exc), kind="call") from None
        except Exception as exc:  # the code's exception is a verdict; KeyboardInterrupt still stops the cell
            refused = isinstance(exc, Refused)
            cause = exc.__cause__ if refused and exc.__cause__ is not None else exc
            self.exception = cause
            place = where(cause)
            text = (f"{place + ': ' if place else ''}your {self.function} raised {one_line(cause)}" if cause is not exc
                    else f"{place + ': ' if place else ''}{exc}" if refused else
                    f"{place + ': ' if place else ''}your {self.function} raised {one_line(exc)}")
            raise UserCodeError(text, kind="refused" if refused else "exception", where=place,
                                details={"refused": str(exc)} if refused else None) from None
        result, ignored = returned[0], returned[1]
        said = returned[2] if len(returned) > 2 else None
        return to_trace(result, ignored, problem.X, self.name, self.function, self.layout, said)


CELL = re.compile(r"(^<ipython-input-\d+-[0-9a-f]+>$)|(/ipykernel_\d+/\d+\.py$)")
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _libraries():
    import sysconfig
    paths = sysconfig.get_paths()
    found = {os.path.abspath(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    found.add(os.path.dirname(os.path.abspath(np.__file__)))
    return tuple(found)


def where(exc):
    """Where in the user's own code an exception happened: 'file.py:12', 'its cell, line 3', or None.  Own:
    not Python's, not an installed library's, not crosscheck's."""
    libraries = _libraries()
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = frame.filename or ""
        if CELL.search(filename):
            found = f"its cell, line {frame.lineno}"
            continue
        if filename.startswith("<"):
            continue
        path = os.path.abspath(filename)
        if path.startswith(_PACKAGE + os.sep) or any(path.startswith(lib + os.sep) for lib in libraries):
            continue
        found = f"{os.path.basename(path)}:{frame.lineno}"
    return found
