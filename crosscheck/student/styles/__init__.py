"""Course styles: how a course writes backprop.  One module per course holds everything the style means.

    lecture   def backprop(X, Y, params, activation="relu"[, loss=…][, l2=λ]) -> {"Z1": …, "dW2": …, …}
    dls       Coursera's Deep Learning Specialization: L_model_forward, compute_cost, L_model_backward (or the
              two-layer week's forward_propagation / backward_propagation), column layout, Z and A from the caches
    cs231n    a class with params W1, b1 (1-D), … and loss(X, y[, reg]) -> (loss, grads), integer labels y

A style module defines (tests/test_styles.py checks each against this list, REQUIRED):

    NAME, TITLE          its name (--style NAME) and what it is, in a few words
    LAYOUT               "rows", "columns", or None: either, the caller says which (rows by default)
    LOSS, L2_CONVENTION  its network where the options say nothing
    default_layers(depth)   its network's sizes where the options give none (None: the lecture's 2-4-3), for code
                         written for `depth` layers (None: any depth)
    ALWAYS_L2            whether its API always takes an L2 strength (then the l2 probe always runs)
    LOSSES               the losses its API can express (None: any)
    EXTENSIONS           which of the next lecture's layers it can run: ("dropout", "batch_norm"), ("dropout",) or ()
    gradable(names)      which of a network's tensor names its API can return
    SOURCE_PATTERN       a regex that finds its entry point in a file's source (grading picks a student's file by it)
    looks_like(defines)  whether a file that defines these names ({name: kind}) is written in this style
    owns(defined, entry) whether a notebook cell that defines these names defines something the style calls (a
                         cell that raises and owns nothing is skipped with a note: a plot, the course's own test)
    needs(entry, others) one line: what a file in this style must define, when it does not
    describe(namespace, entry)  (in the worker) the entry point it offers, the name its L2 strength goes by, the
                         depth it takes: {"entry", "functions", "l2_name", "any_depth", "depth", "others"}, and
                         where it knows them "activation" (the course week's own), "extensions", "extension_l2"
    call(namespace, function, options, arrays)  (in the worker) the user's code on one problem, in its own way:
                         ({lecture name: array}, [ignored keys], common.said(notes, calls)), in the style's layout;
                         common.Refused when the code cannot be asked that problem (a fixed depth), a
                         common.CallError when our call does not fit it

This package imports only the standard library and NumPy: the worker process loads it by path, under a name of
its own, before any user code runs (crosscheck.student.worker).  A fourth course is one new module here, listed
in STYLES below; register(path) adds one from elsewhere (a test's, a course's own).
"""
import importlib.util
import os

from . import cs231n, dls, lecture

STYLES = {module.NAME: module for module in (lecture, dls, cs231n)}
REQUIRED = ("NAME", "TITLE", "LAYOUT", "LOSS", "L2_CONVENTION", "default_layers", "ALWAYS_L2", "LOSSES", "EXTENSIONS",
            "gradable", "SOURCE_PATTERN", "looks_like", "owns", "needs", "describe", "call")


def get(name):
    """The style module of that name; KeyError for an unknown one."""
    return STYLES[name]


def register(path):
    """Load a style module from a file (as a module of this package: `from . import common` works in it) and add
    it to STYLES; the style module.  The worker loads it from the same path."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(f"{__name__}.{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
    if missing:
        raise ValueError(f"{path}: a style must define {', '.join(missing)}")
    STYLES[module.NAME] = module
    return module


def which(defines):
    """The style a file that defines these names ({name: kind}) looks written in, or None."""
    return next((name for name, style in STYLES.items() if name != "lecture" and style.looks_like(defines)), None)
