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

The same runner as `crosscheck compare --impl` (crosscheck.student.runner): the same probes, tolerances, hints and
verdict.  Two ways in, two guarantees:

- **A path** (.py or .ipynb) runs in a worker process of its own, under `timeout` and `memory`, exactly as the
  command line runs it: nothing the code does can change the verdict.  Use it for code you do not trust.
- **A function, a class or a module object** already lives in the caller's process (it was defined in a notebook
  cell, or imported by a test): it is called right here, on copies of the inputs.  There is no timeout, its prints
  go where yours go, and an exception keeps its traceback (report.exception).  It is trusted code: it could
  change anything in this process, the checker included.

Frameworks are compared only when asked (frameworks=("torch",) or "all"): the reference is itself checked
against them by `crosscheck compare`, and importing them takes seconds.
"""
import numpy as np

from crosscheck import adapters
from crosscheck.engine import layouts, lecture
from crosscheck.engine.problem import Spec
from crosscheck.errors import UsageError
from crosscheck.student.runner import Limits, Runner, probe_names


def check(fn_or_path, *, layers=None, activation=None, loss=None, l2=0.0, l2_convention=None, style=None,
          layout=None, entry=None, frameworks=(), probes=None, partial=False, dtype="float64", batch=300, seed=0,
          init="lecture", timeout=Limits.timeout, memory=Limits.memory, sandbox=Limits.sandbox):
    """Check an implementation of the lecture's backprop on every probe: a Report.

    fn_or_path   a path to a .py file or a notebook (run in a worker process), or a function (the lecture's
                 backprop(X, Y, params, activation=…)), a CS231n class, or a module or object holding the
                 style's functions (called in this process)
    layers …     the network and data, as `crosscheck compare` takes them (layers=[2, 4, 3], loss="sigmoid-bce",
                 l2=0.01, …); each style's own network where they are left out
    style        "lecture" (the default; "cs231n" for a class), "dls" or "cs231n"
    layout       "rows" (the lecture's) or "columns" (X (n0, m), W (n_out, n_in))
    frameworks   also check these frameworks on the problem as asked: names, "all" or "none" (default none)
    probes       the probes to run: None (all that apply), a name, "a,b" or a list (crosscheck.engine.probes.PROBES)
    partial      a half-written implementation: a dW or db it does not return is not a failure
    timeout, memory   per call and for the worker's address space (MB), for a path
    sandbox      the boundary a path runs in: "auto" (bwrap where it runs, the default), "bwrap", "user", "none"

    Bad arguments and a path that is not a file raise UsageError.  Code that cannot be checked — it fails to
    import, defines nothing to call, raises on the problem as asked — gives a Report that is not ok, whose .error
    says where and why.
    """
    if style is None and isinstance(fn_or_path, type):
        style = "cs231n"
    spec = Spec(layers=_layers(layers), activation=activation, loss=loss, l2=l2, l2_convention=l2_convention,
                dtype=dtype, batch=batch, seed=seed, init=init)
    runner = Runner(style or "lecture", spec, layout=layout, entry=entry, probes=probe_names(probes), partial=partial,
                    frameworks=_frameworks(frameworks), limits=Limits(timeout=timeout, memory=memory, sandbox=sandbox))
    return Report(runner.run(fn_or_path))  # a UsageError reads in keyword arguments: str(exc)


class Report:
    """One implementation checked on every probe: the verdict, the tensors, and how to show them.

    ok                 every probe agrees (and every framework asked for)
    probe              the probe shown: the first that fails, else the problem as asked
    first_divergence   the implementation's first diverging Comparison on that probe (None when it agrees)
    comparisons        its Comparison of every tensor on that probe (crosscheck.engine.tensors.Comparison)
    hint               the probable cause of the first divergence, or the error
    lecture_line       the lecture's formula for the tensor that diverges first
    error              the implementation could not be checked: how, in one line (None otherwise)
    exception          for code called in this process, the last exception it raised (on any probe), with its
                       traceback
    output             what a worker process captured of its stdout and stderr ({} for code run here)
    run                the runner's Run (crosscheck.student.runner): every probe's result
    """

    def __init__(self, run):
        self.run = run
        self.error = run.error.message if run.error is not None else None
        self.exception = run.exception
        self.output = (run.error.output if run.error is not None else None) or run.output or {}
        self.layout, self.style, self.entry, self.path = run.layout, run.style, run.entry, run.path

    # ---- the verdict ----

    @property
    def ok(self):
        return self.run.ok

    @property
    def headline(self):
        return self.run.headline

    @property
    def shown(self):
        """The runner's ProbeResult of the probe shown (None when nothing could be checked)."""
        return self.run.shown if self.run.results else None

    @property
    def report(self):
        """The engine's CheckResult of the probe shown (None when nothing could be checked)."""
        shown = self.shown
        return shown.result if shown is not None else None

    @property
    def probe(self):
        shown = self.shown
        return shown.probe.name if shown is not None else "lecture"

    @property
    def probe_title(self):
        shown = self.shown
        return shown.probe.title if shown is not None else ""

    @property
    def failed_probe(self):
        """The ProbeResult of a later probe the implementation failed on (raised, timed out, …), or None."""
        headline = self.headline
        return headline.probe if headline.kind == "failed" else None

    @property
    def outcome(self):
        shown = self.shown
        return shown.outcome if shown is not None else None

    @property
    def comparisons(self):
        return list(self.outcome.comparisons) if self.outcome is not None else []

    @property
    def first_divergence(self):
        return self.headline.first

    @property
    def also(self):
        """Later tensors that fail with a mistake of their own (not inherited from the first): Comparisons."""
        return list(self.headline.also)

    @property
    def hint(self):
        headline = self.headline
        if headline.first is not None:
            return headline.first.hint
        return headline.failure.message if headline.failure is not None else None

    @property
    def lecture_line(self):
        first = self.first_divergence
        return lecture.lecture_line(first.tensor, self.shown.probe.problem.net, self.layout) if first is not None else None

    # ---- the tensors, in the implementation's layout ----

    def expected(self, name, probe=None):
        """The reference's tensor `name` on a probe (default: the one shown), in the implementation's layout."""
        result = self._result_of(probe)
        if name not in result.result.reference:
            raise KeyError(f"{name}: not a tensor of this network ({', '.join(result.result.reference)})")
        return _in_layout(result.result.reference[name], self.layout)

    def actual(self, name, probe=None):
        """The implementation's tensor `name` on a probe (default: the one shown), as it returned it (its layout)."""
        outcome = self._result_of(probe).outcome
        trace = outcome.trace if outcome is not None else None
        if trace is None:
            raise KeyError(f"{name}: the implementation returned nothing on this probe")
        if name not in trace:
            raise KeyError(f"{name}: the implementation did not return it")
        return _in_layout(trace[name], self.layout)

    def _result_of(self, probe):
        if self.error is not None:
            raise KeyError(f"nothing was compared: {self.error}")
        result = self.shown if probe is None else self.run.result_of(probe)
        if result is None:
            raise KeyError(f"probe {probe} was not run (run: {', '.join(r.probe.name for r in self.run.results)})")
        if result.result is None:
            raise KeyError(f"probe {probe or result.probe.name} was not compared: {result.failure.message}")
        return result

    # ---- showing it ----

    def __str__(self):
        from crosscheck.render import check as render
        if self.error:
            printed = render.captured_output("impl", self.output, colour=False)
            return "\n".join(part for part in (printed, f"✗ {self.error}") if part)
        return render.run_report(self.run, colour=False)

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
        headline, entry = self.headline, self.entry or "implementation"
        if headline.kind == "error":
            head = f"crosscheck: {self.error}"
        elif headline.kind == "diverges":
            first = headline.first
            head = (f"crosscheck: {first.tensor} {_shape(first.shape, self.layout)} of your {entry} differs from "
                    f"the reference on probe {self.probe} ({self.probe_title})\n  {render.measured(first, self.layout)}\n"
                    f"  probable cause: {first.hint}")
            line = self.lecture_line
            if line:
                head += f"\n  the lecture's line: {line}"
        elif headline.kind == "failed":
            probe = headline.probe.probe
            head = f"crosscheck: {entry} failed on probe {probe.name} ({probe.title}): {headline.failure.message}"
        else:
            head = "crosscheck: a framework disagrees with the reference"
        return f"{head}\n\n{self}"

    def as_json(self):
        return self.run.as_json()


# ---- arguments ------------------------------------------------------------------------------------

def _frameworks(frameworks):
    known = adapters.having("check")
    if frameworks in (None, "none", ()):
        return ()
    if frameworks == "all":
        return tuple(known)
    names = tuple(n for n in frameworks.replace(" ", "").split(",") if n) if isinstance(frameworks, str) else tuple(frameworks)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown {', '.join(map(str, unknown))}; choose from {', '.join(known)}, 'all' or 'none'",
                         field="frameworks", value=frameworks)
    return names


def _layers(layers):
    if layers is None:
        return None
    try:
        sizes = tuple(int(n) for n in layers)
    except (TypeError, ValueError):
        raise UsageError("give the layer sizes, inputs first, e.g. [2, 4, 3]", field="layers", value=layers) from None
    if len(sizes) < 2 or any(n <= 0 for n in sizes):
        raise UsageError("at least two sizes, each a positive integer", field="layers", value=layers)
    return sizes


def _shape(shape, layout):
    shape = layouts.shape_in(shape, layout)
    return str(shape) if shape else "(scalar)"


def _in_layout(array, layout):
    array = np.asarray(array)
    return array.T.copy() if layout == "columns" and array.ndim == 2 else array.copy()


def _short(text, limit):
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"
