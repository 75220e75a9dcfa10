"""crosscheck.check — the Python API: check an implementation from a notebook, a test or a script.

    import crosscheck
    report = crosscheck.check(backprop)                    # a function defined in this process (a notebook cell)
    report = crosscheck.check("homework.ipynb")            # a file or a notebook: run in a worker process of its own
    report = crosscheck.check(TwoLayerNet)                 # a CS231n class (style cs231n); a module with style="dls"

    report.ok, report.first_divergence, report.comparisons, report.probe
    report.expected("dW2"), report.actual("dW2")           # the reference's tensor and yours, in your layout
    print(report)                                          # the terminal's table and verdict
    report.raise_for_mismatch()                            # AssertionError with the table and the probable cause
    report                                                 # in Jupyter: the ✓/✗ table, the cause, the lecture's line

The same engine as `crosscheck compare --impl`: the same probes, tolerances, hints.  Two ways in, two guarantees:

- **A path** (.py or .ipynb) runs in a worker process of its own, under `timeout` and `memory`, exactly as the
  command line runs it: nothing the code does can change the verdict.  Use it for code you do not trust.
- **A function, a class or a module object** already lives in the caller's process (it was defined in a notebook
  cell, or imported by a test): it is called right here, on copies of the inputs.  There is no timeout, its prints
  go where yours go, and an exception keeps its traceback (report.exception).  It is trusted code: it could
  change anything in this process, the checker included.

Frameworks are compared only when asked (frameworks=("torch",) or "all"): the reference is itself checked
against them by `crosscheck compare`, and importing them takes seconds.
"""
import contextlib
import os
import re
import traceback
import types

import numpy as np

from crosscheck import adapters
from crosscheck.engine import layouts, lecture
from crosscheck.engine.check import run_probes
from crosscheck.engine.probes import PROBES, make_probes, style_options
from crosscheck.errors import UsageError, UserCodeError
from crosscheck.reference.errors import one_line
from crosscheck.student import worker
from crosscheck.student.user_code import (
    STYLE_LAYOUTS,
    STYLES,
    Implementation,
    Isolated,
    _inputs,
    _options,
    to_trace,
)


def check(fn_or_path, *, layers=None, activation="relu", loss=None, l2=0.0, l2_convention=None, style=None,
          layout=None, entry=None, frameworks=(), probes=None, partial=False, dtype="float64", batch=300, seed=0,
          init="lecture", timeout=60.0, memory=4096):
    """Check an implementation of the lecture's backprop on every probe: a Report.

    fn_or_path   a path to a .py file or a notebook (run in a worker process), or a function (the lecture's
                 backprop(X, Y, params, activation=…)), a CS231n class, or a module or object holding the
                 style's functions (called in this process)
    layers …     the network and data, as `crosscheck compare` takes them (layers=[2, 4, 3], loss="sigmoid-bce",
                 l2=0.01, …); each style's own network where they are left out
    style        "lecture" (the default; "cs231n" for a class), "dls" or "cs231n"
    layout       "rows" (the lecture's) or "columns" (X (n0, m), W (n_out, n_in))
    frameworks   also check these frameworks on the problem as asked: names, "all" or "none" (default none)
    probes       the probes to run: None (all that apply), a name, "a,b" or a list (crosscheck.probes.PROBES)
    partial      a half-written implementation: a dW or db it does not return is not a failure
    timeout, memory   per call and for the worker's address space (MB), for a path

    Bad arguments, and a file that cannot be checked at all (missing, no backprop in it), raise UsageError.
    Code that raises on the problem as asked gives a Report that is not ok, whose .error says where and why.
    """
    names = _probe_names(probes)
    frameworks = _frameworks(frameworks)
    impl = _implementation(fn_or_path, style, layout, entry, timeout, memory)
    with contextlib.ExitStack() as stack:
        if isinstance(impl, Isolated):
            stack.enter_context(impl)
        settings = style_options(impl.style, impl.description, layers=_layers(layers), activation=activation,
                                 loss=loss, l2=l2, l2_convention=l2_convention, dtype=dtype, batch=batch, seed=seed,
                                 init=init)
        chosen, skipped = make_probes(settings, impl.description, names)
        if not chosen:
            raise UsageError(f"probes={names}: none applies here ({'; '.join(f'{k}: {v}' for k, v in skipped.items())})")
        recorder = _Recorder(impl)
        try:
            run = run_probes(chosen, frameworks, {"impl": recorder}, partial=partial,
                             skipped={} if names else skipped)
        except UserCodeError as exc:
            return Report(None, impl, chosen[0], error=str(exc), output=(exc.details or {}).get("output"),
                          exception=getattr(impl, "exception", None))
    return Report(run, impl, chosen[0], traces=recorder.traces, exception=getattr(impl, "exception", None))


class Report:
    """One implementation checked on every probe: the verdict, the tensors, and how to show them.

    ok                 every probe agrees (and every framework asked for)
    probe              the probe shown: the first that fails, else the problem as asked
    first_divergence   the implementation's first diverging Comparison on that probe (None when it agrees)
    comparisons        its Comparison of every tensor on that probe (crosscheck.tensors.Comparison)
    hint               the probable cause of the first divergence, or the error
    lecture_line       the lecture's formula for the tensor that diverges first
    error              the implementation failed on the problem as asked: how, in one line (None otherwise)
    exception          for code called in this process, the last exception it raised (on any probe), with its
                       traceback
    output             what a worker process captured of its stdout and stderr ({} for code run here)
    run                the engine's crosscheck.check.ProbeRun (None on an error)
    """

    def __init__(self, run, impl, first_probe, traces=None, error=None, output=None, exception=None):
        self.run, self.error, self.exception = run, error, exception
        self.output = output if output is not None else (getattr(impl, "output", None) or {})
        self.layout, self.style = impl.layout, impl.style
        self.entry = (impl.description or {}).get("entry") if impl.description else getattr(impl, "function", None)
        self.path = impl.path
        self._first_probe = first_probe
        self._traces = traces or {}

    # ---- the verdict ----

    @property
    def ok(self):
        return self.error is None and self.run.ok

    @property
    def report(self):
        """The engine's crosscheck.check.Report of the probe shown (None on an error)."""
        if self.run is None:
            return None
        return self.run.shown.report or self.run.results[0].report

    @property
    def probe(self):
        if self.run is None:
            return self._first_probe.name
        return self.run.shown.probe.name if self.run.shown.report else self.run.results[0].probe.name

    @property
    def probe_title(self):
        return next((r.probe.title for r in self.run.results if r.probe.name == self.probe), "") if self.run else ""

    @property
    def failed_probe(self):
        """The crosscheck.check.ProbeResult of a later probe the implementation raised on, or None."""
        first = self.run.first_failure if self.run else None
        return first if first is not None and first.error else None

    @property
    def outcome(self):
        report = self.report
        return report.outcomes.get("impl") if report is not None else None

    @property
    def comparisons(self):
        return list(self.outcome.comparisons) if self.outcome is not None else []

    @property
    def first_divergence(self):
        return self.outcome.first_divergence if self.outcome is not None else None

    @property
    def also(self):
        """Later tensors that fail with a mistake of their own (not inherited from the first): Comparisons."""
        first = self.first_divergence
        return [c for c in self.comparisons if c is not first and c.ok is False and not c.downstream and c.hint]

    @property
    def hint(self):
        if self.error:
            return self.error
        first = self.first_divergence
        if first is not None:
            return first.hint
        failed = self.failed_probe
        return failed.error if failed is not None else None

    def _net(self):
        """The network of the probe shown."""
        report = self.report
        probe = next((r.probe for r in self.run.results if r.report is report), None) if report is not None else None
        return (probe or self._first_probe).problem.net

    @property
    def lecture_line(self):
        first = self.first_divergence
        return lecture.lecture_line(first.tensor, self._net(), self.layout) if first is not None else None

    # ---- the tensors, in the implementation's layout ----

    def expected(self, name, probe=None):
        """The reference's tensor `name` on a probe (default: the one shown), in the implementation's layout."""
        report = self._report_of(probe)
        if name not in report.reference:
            raise KeyError(f"{name}: not a tensor of this network ({', '.join(report.reference)})")
        return _in_layout(report.reference[name], self.layout)

    def actual(self, name, probe=None):
        """The implementation's tensor `name` on a probe (default: the one shown), as it returned it (its layout)."""
        report = self._report_of(probe)
        trace = self._traces.get(id(report.reference["X"])) if report is not None else None
        if trace is None:
            raise KeyError(f"{name}: the implementation returned nothing on this probe")
        if name not in trace:
            raise KeyError(f"{name}: the implementation did not return it")
        return _in_layout(trace[name], self.layout)

    def _report_of(self, probe):
        if self.run is None:
            raise KeyError(f"nothing was compared: {self.error}")
        if probe is None:
            return self.report
        for result in self.run.results:
            if result.probe.name == probe:
                if result.report is None:
                    raise KeyError(f"probe {probe} was not compared: {result.error or result.skipped}")
                return result.report
        raise KeyError(f"probe {probe} was not run (run: {', '.join(r.probe.name for r in self.run.results)})")

    # ---- showing it ----

    def __str__(self):
        from crosscheck.render import check as render
        if self.error:
            printed = render.captured_output("impl", self.output, colour=False)
            return "\n".join(part for part in (printed, f"✗ {self.error}") if part)
        return render.check_report(self.report, colour=False, probes=self.run)

    def __repr__(self):
        if self.ok:
            return f"<crosscheck Report ✓ {self.entry}: all agree on {len(self.run.results)} probes>"
        first = self.first_divergence
        where = f"{first.tensor} on probe {self.probe}" if first is not None else "error"
        return f"<crosscheck Report ✗ {self.entry}: {where} — {_short(self.hint, 120)}>"

    def _repr_html_(self):
        from crosscheck.render.html import report_html
        return report_html(self)

    def raise_for_mismatch(self):
        """AssertionError with the report (the table, the first divergence and its probable cause) unless ok."""
        __tracebackhide__ = True  # pytest shows the message, not this frame
        if not self.ok:
            raise AssertionError(self.failure_message())
        return self

    def failure_message(self):
        """What a failing test says: the verdict first (the cause), then the whole report."""
        from crosscheck.render import check as render
        first = self.first_divergence
        if self.error:
            head = f"crosscheck: {self.entry} failed: {self.error}"
        elif first is not None:
            head = (f"crosscheck: {first.tensor} {_shape(first.shape, self.layout)} of your {self.entry} differs from "
                    f"the reference on probe {self.probe} ({self.probe_title})\n  {render.measured(first, self.layout)}\n"
                    f"  probable cause: {first.hint}")
            line = self.lecture_line
            if line:
                head += f"\n  the lecture's line: {line}"
        else:
            failed = self.failed_probe
            head = (f"crosscheck: {self.entry} failed on probe {failed.probe.name} ({failed.probe.title}): "
                    f"{failed.error}" if failed else "crosscheck: a framework disagrees with the reference")
        return f"{head}\n\n{self}"

    def as_json(self):
        if self.run is None:
            return {"ok": False, "error": self.error, "output": self.output}
        return self.run.as_json()


# ---- code called in this process ------------------------------------------------------------------

class Local(Implementation):
    """Code that lives in this process — a function, a CS231n class, a module or object holding a course's
    functions — called here on copies of the inputs, through the same callers as the worker's."""

    path = None
    output = None

    def __init__(self, target, style=None, layout=None, entry=None, name="impl"):
        if isinstance(target, type):
            style = style or "cs231n"
        style = style or "lecture"
        _check_style(style, layout)
        self.name, self.style = name, style
        self.layout = layout or STYLE_LAYOUTS[style] or "rows"
        self.exception = None
        if isinstance(target, types.ModuleType) or (not callable(target) and not isinstance(target, type)):
            self.namespace = target                     # a module, or any object with the functions as attributes
        else:
            key = entry or getattr(target, "__name__", None)
            key = key if isinstance(key, str) and key.isidentifier() else "backprop"
            self.namespace = types.SimpleNamespace(**{key: target})
            entry = key
        description = worker.describe(self.namespace, style, entry)
        if not description.get("entry"):
            what = type(target).__name__ if not isinstance(target, type) else f"class {target.__name__}"
            raise UsageError(f"check({what}): {_nothing_to_call(style, entry)}")
        self.function = description["entry"]
        self.description = {"entry": self.function, "l2_name": description.get("l2_name"),
                            "any_depth": description.get("any_depth") is True, "depth": description.get("depth")}

    def run(self, net, params, X, Y):
        if self.style == "cs231n" and net.loss != "softmax-ce":
            raise UsageError(f"style cs231n: the course's loss is softmax with cross-entropy; loss={net.loss!r} "
                             f"does not fit it")
        options = {**_options(net), "l2_name": self.description["l2_name"]}
        try:
            result, ignored = worker.CALLERS[self.style](self.namespace, self.function, options,
                                                         _inputs(params, X, Y, self.layout))
        except worker.ResultError as exc:
            raise UserCodeError(f"{self.function}: {exc}", kind="result") from None
        except Exception as exc:  # the student's exception is a verdict; KeyboardInterrupt still stops the cell
            self.exception = exc
            place = _where(exc)
            raise UserCodeError(f"{place + ': ' if place else ''}your {self.function} raised {one_line(exc)}",
                                kind="exception", where=place) from None
        return to_trace(result, ignored, X, self.name, self.function, self.layout)


class _Recorder(Implementation):
    """The implementation, its Trace on each problem kept (by the identity of the problem's X): report.actual."""

    def __init__(self, inner):
        self.inner, self.traces = inner, {}

    name = property(lambda self: self.inner.name)
    path = property(lambda self: self.inner.path)
    output = property(lambda self: self.inner.output)
    style = property(lambda self: self.inner.style)
    layout = property(lambda self: self.inner.layout)
    description = property(lambda self: self.inner.description)

    def run(self, net, params, X, Y):
        trace = self.inner.run(net, params, X, Y)
        self.traces[id(X)] = trace
        return trace


# ---- arguments ------------------------------------------------------------------------------------

def _implementation(target, style, layout, entry, timeout, memory):
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        _check_style(style or "lecture", layout)
        return Isolated(path, timeout=timeout, memory=memory, style=style or "lecture", layout=layout, entry=entry)
    if target is None:
        raise UsageError("check(None): give a function, a class, a module or the path of a file")
    return Local(target, style, layout, entry)


def _check_style(style, layout):
    if style not in STYLES:
        raise UsageError(f"style={style!r}: choose one of {', '.join(STYLES)}")
    if layout not in (None, *layouts.LAYOUTS):
        raise UsageError(f"layout={layout!r}: choose one of {', '.join(layouts.LAYOUTS)}")
    fixed = STYLE_LAYOUTS[style]
    if fixed and layout and layout != fixed:
        raise UsageError(f"style {style} is the {fixed} layout: drop layout={layout!r}")


def _nothing_to_call(style, entry):
    if style == "dls":
        return ("style dls needs an object (a module) with the course's L_model_forward, compute_cost and "
                "L_model_backward (or forward_propagation, compute_cost and backward_propagation)")
    if style == "cs231n":
        return "style cs231n needs a class with params and loss(X, y) (TwoLayerNet, FullyConnectedNet)"
    return f"no function {entry or 'backprop'} to call"


def _frameworks(frameworks):
    known = adapters.having("check")
    if frameworks in (None, "none", ()):
        return ()
    if frameworks == "all":
        return tuple(known)
    names = tuple(n for n in frameworks.replace(" ", "").split(",") if n) if isinstance(frameworks, str) else tuple(frameworks)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"frameworks={frameworks!r}: unknown {', '.join(map(str, unknown))}; choose from "
                         f"{', '.join(known)}, 'all' or 'none'")
    return names


def _probe_names(probes):
    if probes is None:
        return None
    names = [n for n in probes.replace(" ", "").split(",") if n] if isinstance(probes, str) else list(probes)
    unknown = [n for n in names if n not in PROBES]
    if unknown or not names:
        raise UsageError(f"probes={probes!r}: choose from {', '.join(PROBES)}")
    return names


def _layers(layers):
    if layers is None:
        return None
    try:
        sizes = tuple(int(n) for n in layers)
    except (TypeError, ValueError):
        raise UsageError(f"layers={layers!r}: give the layer sizes, inputs first, e.g. [2, 4, 3]") from None
    if len(sizes) < 2 or any(n <= 0 for n in sizes):
        raise UsageError(f"layers={layers!r}: at least two sizes, each a positive integer")
    return sizes


# ---- helpers ----------------------------------------------------------------------------------------

CELL = re.compile(r"(^<ipython-input-\d+-[0-9a-f]+>$)|(/ipykernel_\d+/\d+\.py$)")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _where(exc):
    """Where in the user's own code an exception happened: 'file.py:12', 'its cell, line 3', or None.  Own:
    not Python's, not an installed library's, not crosscheck's."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = frame.filename or ""
        if CELL.search(filename):
            found = f"its cell, line {frame.lineno}"
            continue
        if filename.startswith("<"):
            continue
        path = os.path.abspath(filename)
        if path.startswith(_HERE + os.sep) or any(path.startswith(lib + os.sep) for lib in worker.LIBRARIES):
            continue
        found = f"{os.path.basename(path)}:{frame.lineno}"
    return found


def _shape(shape, layout):
    shape = layouts.shape_in(shape, layout)
    return str(shape) if shape else "(scalar)"


def _in_layout(array, layout):
    array = np.asarray(array)
    return array.T.copy() if layout == "columns" and array.ndim == 2 else array.copy()


def _short(text, limit):
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"
