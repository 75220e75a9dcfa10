"""The runner: one implementation on every probe.  `crosscheck compare --impl`, crosscheck.check, the pytest plugin
and `crosscheck grade` all call it, and only present the Run it returns.

    runner = Runner(style="dls", spec=Spec(layers=(2, 4, 1)), limits=Limits(timeout=30))
    run = runner.run("homework.py")        # a file or notebook (a worker process), or a function, class, module
    run.status, run.ok, run.results[i].status, run.error, run.as_json()

What happens on each probe is decided here, once, for every front end:

    the problem as asked (the first probe)   the code fails on it: the run's error, nothing could be checked
    a later probe                            it raises, returns junk, times out or dies: that probe failed, with
                                             how (a fresh worker runs the next one); every tensor otherwise
                                             compared, ok or mismatch
    a probe the code cannot be asked         not run, and why: a fixed depth for `deeper` (its signature or its
                                             source says so, or its forward pass refuses the depth: Refused), no L2
                                             argument for `l2`; a grade loses nothing for it, as the self-check
                                             does not fail it
    a convention the code shows              where the options leave it open, the L2 convention its own J and dW
                                             agree on, and the dropout masks it drew itself, are the reference's
                                             (crosscheck.engine.conventions), and the report says so

A runner builds the probes once per network and keeps them (a grader's runner builds them once for the class);
it may run several implementations at once (grade --jobs).
"""
import dataclasses
import os
import re
import threading
import time
from dataclasses import dataclass, field

from crosscheck.engine.check import run_check
from crosscheck.engine.conventions import adapted
from crosscheck.engine.diagnose import shape_error_hint
from crosscheck.engine.probes import PROBES, make_probes
from crosscheck.engine.problem import Spec
from crosscheck.engine.verdict import DIFFERS, PROBE_FAILED, PROBE_MISMATCH, PROBE_OK, of
from crosscheck.errors import GraderError, UsageError, UserCodeError, worded
from crosscheck.student import sandbox
from crosscheck.student.implementation import Local, resolve_style
from crosscheck.student.isolated import AUTOGRAD, Isolated

# failures after which the worker still answers: the next probe can run in it
ALIVE = ("exception", "result", "exit", "interrupt", "call", "refused")
# a run's status for each way the code can fail on the problem as asked (grade's statuses, compare's exit 2)
# (grader: what this machine lacks to check it, crosscheck.errors.GraderError — not the code's failure: ungraded)
STATUS_OF_KIND = {"exit": "exit", "timeout": "timeout", "budget": "timeout", "memory": "memory", "output": "output",
                  "ended": "crashed", "forbidden": "forbidden", "grader": "ungraded"}


@dataclass(frozen=True)
class Limits:
    """What the code may use.  The same defaults for a student's self-check and for a grader: a green self-check
    cannot become a zero for want of a second or a megabyte."""

    timeout: float = 60.0      # seconds per call into the code, its import included
    memory: int = 4096         # MB of address space for its process, and of memory for its processes together
                               # (0: no limit, e.g. for CUDA)
    output: float = 8.0        # MB it may write, printed and in files, all its workers together (None: no limit)
    budget: float = None       # seconds for every probe together (None: only each call's timeout)
    processes: int = 32        # processes (threads included) it may run at once
    sandbox: str = "auto"      # the boundary around its worker: auto, bwrap, user, none (crosscheck.student.sandbox)
    refuse: tuple = ()         # autograd frameworks it may not import (grade: AUTOGRAD but --allow); it may never
                               # import crosscheck's own modules


@dataclass
class Failure:
    """How the code failed: kind (import, exception, result, exit, interrupt, timeout, memory, output, ended,
    budget, entry; grader: this machine lacks what checking it needs, and `fix` says what), one line that says where
    and what, and what it printed."""

    kind: str
    message: str                     # options named as keyword arguments (the Python API's wording)
    where: str = None
    output: dict = None
    flag_message: str = None         # options named as flags (the command line's wording)
    fix: tuple = None                # a grader failure: what to install or change (keyword wording, flag wording)
    module: str = None               # a grader failure: the module this machine lacks, when one is

    @classmethod
    def of(cls, exc, kind=None):
        output = (getattr(exc, "details", None) or {}).get("output")
        fix = (exc.worded_fix("keyword"), exc.worded_fix("flag")) if isinstance(exc, GraderError) and exc.fix else None
        return cls(kind or getattr(exc, "kind", None) or "error", worded(exc, "keyword"), getattr(exc, "where", None),
                   output, worded(exc, "flag"), fix, getattr(exc, "module", None))

    def worded(self, how):
        return self.flag_message or self.message if how == "flag" else self.message

    def worded_fix(self, how):
        return None if self.fix is None else self.fix[1] if how == "flag" else self.fix[0]


@dataclass
class ProbeResult:
    """One probe: every candidate's comparison on it (crosscheck.engine.check.CheckResult), or how the code failed."""

    probe: object                 # crosscheck.engine.probes.Probe (its problem as the code's conventions made it)
    result: object = None         # CheckResult
    failure: Failure = None
    notes: list = field(default_factory=list)   # what was read from the code on this probe (its L2 convention, …)

    @property
    def calls(self):
        """The user's functions the probe called, in order (a course's several: forward, cost, backward)."""
        outcome = self.outcome
        trace = outcome.trace if outcome is not None else None
        return list(trace.meta.get("calls", [])) if trace is not None else []

    @property
    def ok(self):
        return self.failure is None and self.result is not None and self.result.ok

    @property
    def status(self):
        return PROBE_FAILED if self.failure else PROBE_OK if self.ok else PROBE_MISMATCH

    @property
    def outcome(self):
        """The implementation's CheckOutcome on this probe (None when it failed)."""
        return self.result.outcomes.get("impl") if self.result is not None else None

    @property
    def first_divergence(self):
        outcome = self.outcome
        return outcome.first_divergence if outcome is not None else None

    def as_json(self):
        first = self.first_divergence
        return {"name": self.probe.name, "title": self.probe.title, "status": self.status, "ok": self.ok,
                "error": self.failure.message if self.failure else None,
                "kind": self.failure.kind if self.failure else None, "config": self.probe.problem.config,
                "calls": self.calls, "notes": list(self.notes),
                "first_divergence": None if first is None else
                {"framework": first.framework, "tensor": first.tensor, "hint": first.hint},
                "comparisons": [c.as_json() for o in (self.result.outcomes.values() if self.result else [])
                                if o.implementation for c in o.comparisons]}


@dataclass
class Run:
    """One implementation on every probe: each probe's result, or the error that stopped it on the first."""

    style: str
    layout: str
    path: str = None                 # the file, as given (None: code in this process)
    entry: str = None                # the function or class it was called through
    description: dict = None
    results: list = field(default_factory=list)      # [ProbeResult] in PROBES order
    skipped: dict = field(default_factory=dict)      # {probe: why it was not run}
    error: Failure = None            # nothing could be checked: the code failed on the problem as asked
    output: dict = None              # the last lines it printed
    peak_memory_mb: float = None
    seconds: float = 0.0
    exception: BaseException = None  # code in this process: the last exception it raised, with its traceback
    boundary: object = None          # the crosscheck.student.sandbox.Boundary its worker ran in (None: this process)
    imports: list = field(default_factory=list)   # autograd frameworks it imported: a grader refuses it

    @property
    def ok(self):
        return self.error is None and bool(self.results) and all(r.ok for r in self.results)

    @property
    def status(self):
        """ok, mismatch, or how the code failed on the problem as asked (exit, timeout, memory, output, crashed,
        forbidden: it imported what it may not, error), or ungraded: this machine lacks what checking it needs
        (error.worded_fix says what)."""
        if self.error is not None:
            return STATUS_OF_KIND.get(self.error.kind, "error")
        return "ok" if self.ok else "mismatch"

    @property
    def first_failure(self):
        return next((r for r in self.results if not r.ok), None)

    @property
    def notes(self):
        """How the code was read, each line once: its course helpers and notebook (description), what its style
        said on each probe (which naming, which functions), the conventions read from it."""
        found = list((self.description or {}).get("notes") or [])
        for r in self.results:
            outcome = r.outcome
            trace = outcome.trace if outcome is not None else None
            found += list(trace.meta.get("notes", [])) if trace is not None else []
            found += r.notes
        return list(dict.fromkeys(found))

    @property
    def shown(self):
        """The result a report shows in full: the first probe that fails, else the first (None on an error)."""
        return self.first_failure or (self.results[0] if self.results else None)

    def result_of(self, probe):
        return next((r for r in self.results if r.probe.name == probe), None)

    @property
    def headline(self):
        """What the verdict says (a Headline): every front end words it, none works it out for itself."""
        if self.error is not None:
            return Headline("error", failure=self.error)
        shown = self.shown
        outcome = shown.outcome
        if shown.failure is not None:
            return Headline("failed", shown, failure=shown.failure)
        first = shown.first_divergence
        if first is not None:
            also = [c for c in outcome.comparisons if c is not first and of(c) == DIFFERS and c.hint]
            return Headline("diverges", shown, first, also)
        if not shown.ok:  # the implementation agrees; a framework does not
            return Headline("frameworks", shown)
        kind = "agrees" if outcome.provided == len(outcome.comparisons) else "partial"
        return Headline(kind, shown)

    @property
    def refused_by_graders(self):
        """One line when a grader would refuse this code (it imports an autograd framework), else None."""
        if not self.imports:
            return None
        names = ", ".join(self.imports)
        return (f"a grader would refuse it: it imports {names} (crosscheck grade gives a submission that imports an "
                f"autograd framework no points, unless run with --allow {self.imports[0]})")

    def _boundary_json(self):
        return {"sandbox": self.boundary.kind if self.boundary else None,
                "sandbox_note": self.boundary.describe() if self.boundary else None,
                "imports": list(self.imports), "refused_by_graders": self.refused_by_graders}

    def as_json(self):
        if self.error is not None:
            return {"ok": False, "status": self.status, "error": self.error.message, "kind": self.error.kind,
                    "fix": self.error.worded_fix("keyword"), "output": self.error.output or self.output,
                    **self._boundary_json()}
        shown, first_result = self.shown, self.results[0]
        base = (shown.result or first_result.result)
        document = base.as_json()
        first = shown.first_divergence
        document["ok"] = self.ok and document["ok"]
        document["status"] = self.status
        document["first_divergence"] = (None if first is None and shown.failure is None else
                                        {"framework": first.framework if first else None,
                                         "tensor": first.tensor if first else None,
                                         "hint": first.hint if first else shown.failure.message,
                                         "probe": shown.probe.name})
        document["probe"] = shown.probe.name if shown.result else first_result.probe.name
        document["probes"] = [r.as_json() for r in self.results]
        document["probes_skipped"] = dict(self.skipped)
        document["notes"] = self.notes
        document.update(self._boundary_json())
        return document


@dataclass
class Headline:
    """A run's verdict in one record.

    kind     agrees (every tensor on every probe), partial (agrees, some tensors not provided), diverges (a tensor
             differs: `first`, on `probe`, and `also` later ones with mistakes of their own), failed (the code
             failed on a later probe), frameworks (a framework disagrees), error (nothing could be checked)
    """

    kind: str
    probe: ProbeResult = None
    first: object = None             # crosscheck.engine.tensors.Comparison
    also: list = field(default_factory=list)
    failure: Failure = None


class Runner:
    """Runs implementations on the probes of one problem, the same way for every front end.

    style      a course style's name (crosscheck.student.styles)
    spec       the problem as asked (crosscheck.engine.problem.Spec; None fields: the style's own network)
    layout     rows or columns (None: the style's own, else rows); entry: the function or class to call
    probes     only these probe names (None: every probe that applies); partial: a dW or db not returned is no failure
    frameworks also check these frameworks on the problem as asked (compare); limits: Limits
    """

    def __init__(self, style="lecture", spec=None, layout=None, entry=None, probes=None, partial=False,
                 frameworks=(), limits=None):
        self.style_module, self.layout = resolve_style(style, layout)
        self.style, self.entry = self.style_module.NAME, entry
        self.spec = spec or Spec()
        self.names, self.partial, self.frameworks = probes, partial, tuple(frameworks)
        self.limits = limits or Limits()
        unknown = [name for name in self.limits.refuse if name not in AUTOGRAD]
        if unknown:
            raise UsageError(f"not an autograd framework crosscheck knows ({', '.join(AUTOGRAD)})", field="allow",
                             value=unknown[0])
        self._check_spec(self.spec)
        self._probes, self._lock = {}, threading.Lock()
        self._boundary = None

    def _check_spec(self, spec, description=None):
        module = self.style_module
        if module.LOSSES and spec.loss and spec.loss not in module.LOSSES:
            raise UsageError(f"the course's loss is {' or '.join(module.LOSSES)}: loss {spec.loss} does not fit it",
                             field="style", value=self.style)
        wanted = [name for name, on in (("dropout", spec.keep_prob < 1), ("batch_norm", spec.batch_norm)) if on]
        if any(name not in (module.EXTENSIONS or ()) for name in wanted):
            raise UsageError("checks the lecture's plain network: {keep_prob} and {batch_norm} need the lecture's "
                             "style (backprop(X, Y, params, …, keep_prob=, masks=, batch_norm=, bn_eps=, training=))"
                             + (" — the dls style runs {keep_prob} only (the regularization week's dropout)"
                                if "dropout" in (module.EXTENSIONS or ()) else ""),
                             field="style", value=self.style)
        if description is not None and any(name not in description.get("extensions", ()) for name in wanted):
            functions = getattr(module, "EXTENSION_FUNCTIONS", {})
            needed = "; ".join(functions[name] for name in wanted if name in functions)
            raise UsageError(f"needs code for {' and '.join(wanted).replace('_', ' ')}"
                             + (f": {needed}" if needed else "") + f" — {description.get('entry')}'s file has none",
                             field="keep_prob" if "dropout" in wanted else "batch_norm",
                             value=spec.keep_prob if "dropout" in wanted else True)

    # ---- the problem, for one implementation ----

    def spec_for(self, description=None):
        """The problem as asked, for an implementation that offers `description`: the style's own network wherever
        the spec leaves it open (its loss, its L2 convention, its activation — the planar week's tanh — and its
        layers for the depth it is written for)."""
        module, spec, description = self.style_module, self.spec, description or {}
        depth = description.get("depth")
        if depth and spec.layers and len(spec.layers) - 1 != depth:
            raise UsageError(f"is a {len(spec.layers) - 1}-layer network, but {description.get('entry')} is written "
                             f"for {depth} layers: give {depth + 1} sizes", field="layers", value=spec.layers)
        layers = spec.layers
        if layers is None and not spec.fixed:
            layers = module.default_layers(depth)
        return spec.replace(layers=layers, loss=spec.loss or module.LOSS,
                            l2_convention=spec.l2_convention or module.L2_CONVENTION,
                            activation=spec.activation or description.get("activation") or "relu")

    def notes_for(self, description):
        """What the run says of the network it chose from the code (the planar week's tanh)."""
        activation = (description or {}).get("activation")
        if activation and not self.spec.activation:
            return [f"hidden activation {activation}: {description.get('entry')} uses it (this course week's network;"
                    f" --activation overrides it)"]
        return []

    def probes_for(self, spec):
        """(probes, skipped) of the problem a spec describes: built once per spec, then kept."""
        with self._lock:
            if spec not in self._probes:
                self._probes[spec] = make_probes(spec, self.names)
            return self._probes[spec]

    def applicable(self, description, spec):
        """(probes, skipped) for an implementation: the spec's probes, less those it cannot be asked."""
        probes, skipped = self.probes_for(spec)
        chosen, skipped = [], dict(skipped)
        for probe in probes:
            why = self._cannot_ask(probe.name, description, spec)
            if why:
                skipped[probe.name] = why
            else:
                chosen.append(probe)
        if not chosen:
            raise UsageError(f"does not apply here ({'; '.join(f'{k}: {v}' for k, v in skipped.items())})",
                             field="probe", value=self.names)
        if self.names:  # asked for by name: the others were not wanted, not skipped
            skipped = {name: why for name, why in skipped.items() if name in self.names}
        return chosen, skipped

    def _cannot_ask(self, name, description, spec):
        if name == "deeper" and not description.get("any_depth"):
            depth = description.get("depth")
            return f"the implementation is written for {depth or (len(spec.layers) - 1 if spec.layers else 2)} layers"
        if name == "l2" and not (description.get("l2_name") or spec.l2 or self.style_module.ALWAYS_L2):
            return "the implementation takes no L2 strength (l2=, lambd=, reg=, …)"
        if name == "l2" and spec.extensions and not description.get("extension_l2", True):
            return "its dropout functions take no L2 strength (the course does not combine them)"
        return None

    # ---- running ----

    @property
    def boundary(self):
        """The Boundary every worker of this runner runs in (chosen once; UsageError when the one asked for cannot
        run here)."""
        if self._boundary is None:
            self._boundary = sandbox.choose(self.limits.sandbox)
        return self._boundary

    def implementation(self, target, home=None, output_used=0):
        """The Implementation for a target: a path runs in a worker (not started yet), anything else here.  home:
        what the worker's private folder holds a copy of (grade: the student's folder or file)."""
        if isinstance(target, (str, os.PathLike)):
            limits = self.limits
            return Isolated(target, timeout=limits.timeout, memory=limits.memory, style=self.style,
                            layout=self.layout, entry=self.entry, output_limit=limits.output, sandbox=self.boundary,
                            home=home, processes=limits.processes, refuse=limits.refuse, output_used=output_used)
        if target is None:
            raise UsageError("give a function, a class, a module or the path of a file", field="impl", value=None)
        return Local(target, self.style, self.layout, self.entry)

    def run(self, target, progress=None, home=None):
        """Run an implementation on every probe that applies: a Run.  UsageError only for what is the caller's
        (a missing file, options that cannot be); whatever the code does is in the Run."""
        with self.open(target, home) as session:
            return session.run(progress)

    def open(self, target, home=None):
        """A Session: the implementation started and described, its probes chosen, nothing checked yet."""
        return Session(self, target, home)


class Session:
    """One implementation in a runner: open (started, described, probes chosen), then run(), then closed."""

    def __init__(self, runner, target, home=None):
        self.runner, self.target, self.home = runner, target, home
        self.impl = runner.implementation(target, home)
        self.start = time.monotonic()
        self.probes, self.skipped, self.error, self.spec, self.notes = [], {}, None, None, []
        self._peaks, self._written, self._imports, self._closed = [], 0, [], []
        try:
            self._open()
        except UserCodeError as exc:     # the code failed while being imported or described
            self.error = Failure.of(exc, exc.kind or "import")
        except UsageError as exc:
            if exc.field != "impl" or not isinstance(target, (str, os.PathLike)) or not os.path.isfile(target):
                self.close()
                raise                    # the caller's: a missing file, options that cannot be
            # a file without the style's entry point: the file's failure, said of the file
            self.error = Failure("entry", exc.worded("keyword", field=False), None, exc.details.get("output"),
                                 exc.worded("flag", field=False))
        except BaseException:
            self.close()
            raise

    def _open(self):
        if isinstance(self.impl, Isolated):
            self.impl.start()
        description = self.impl.description
        self.spec = self.runner.spec_for(description)
        self.runner._check_spec(self.spec, description)
        self.probes, self.skipped = self.runner.applicable(description, self.spec)
        self.notes = self.runner.notes_for(description)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        impl = self.impl
        if isinstance(impl, Isolated) and not any(impl is done for done in self._closed):
            impl.close()
            self._closed.append(impl)
            self._peaks.append(impl.peak_memory_mb)
            self._written += impl.written
            self._imports = list(dict.fromkeys(self._imports + impl.imports))

    def run(self, progress=None):
        """Every chosen probe, in order: the Run."""
        runner, impl = self.runner, self.impl
        description = dict(impl.description or {})
        description["notes"] = list(description.get("notes") or []) + self.notes
        run = Run(style=runner.style, layout=impl.layout, path=impl.path, entry=description.get("entry"),
                  description=description, error=self.error, skipped=dict(self.skipped))
        if self.error is None:
            for i, probe in enumerate(self.probes):
                if run.error is not None:
                    break
                result = self._one(run, i, probe, progress)
                if result is not None:
                    run.results.append(result)
        self.close()
        run.output = run.output or getattr(self.impl, "output", None)
        run.exception = getattr(self.impl, "exception", None)
        if isinstance(self.impl, Isolated):
            run.boundary, run.imports = self.impl.boundary, list(self._imports)
        known = [p for p in self._peaks if p is not None]
        run.peak_memory_mb = max(known) if known else None
        run.seconds = time.monotonic() - self.start
        return run

    def _one(self, run, i, probe, progress):
        """The implementation on one probe: its ProbeResult, or None for a probe it turned out it cannot be asked
        (its forward pass refused the depth: run.skipped says so)."""
        runner = self.runner
        remaining = None if runner.limits.budget is None else runner.limits.budget - (time.monotonic() - self.start)
        if remaining is not None and remaining <= 0:
            return ProbeResult(probe, failure=Failure("budget", f"not run: the time budget of "
                                                                f"{runner.limits.budget:g} s for every probe ran out"))
        if isinstance(self.impl, Isolated):
            self.impl.timeout = runner.limits.timeout if remaining is None else min(runner.limits.timeout, remaining)
        notes = []
        try:
            if isinstance(self.impl, Isolated) and self.impl.closed:
                self._restart()
            started = time.perf_counter()
            trace = self.impl.run(probe.problem)
            seconds = time.perf_counter() - started
            problem, notes = adapted(probe.problem, trace, convention_open=runner.spec.l2_convention is None)
            if problem is not probe.problem:
                probe = dataclasses.replace(probe, problem=problem, title=_retitled(probe, problem))
            result = run_check(problem, runner.frameworks if i == 0 else (), {"impl": _Ran(self.impl, trace)},
                               progress if i == 0 else None, runner.partial)
            result.outcomes["impl"].seconds = {"check": round(seconds, 4)}
        except UserCodeError as exc:
            if exc.kind == "refused" and probe.name == "deeper" and i > 0:
                run.skipped[probe.name] = (f"{self.impl.description.get('entry')} cannot be asked for "
                                           f"{probe.problem.net.L} layers: {exc.details.get('refused') or exc}")
                return None
            failure = Failure.of(exc, "budget" if exc.kind == "timeout" and remaining is not None
                                 and remaining < runner.limits.timeout else "exception" if exc.kind == "refused"
                                 else None)
            hint = shape_error_hint(failure.message, probe.problem, self.impl.layout) \
                if failure.kind == "exception" else None
            if hint:
                failure.message, failure.flag_message = (
                    _with_shape_hint(text, hint) if text else text for text in (failure.message, failure.flag_message))
            run.output = failure.output or run.output
            if i == 0 or failure.kind in ("forbidden", "grader"):
                # on the problem as asked, what it may not do at all, or what this machine lacks: nothing is checked
                run.error = failure
                return ProbeResult(probe, failure=failure)
            if isinstance(self.impl, Isolated) and exc.kind not in ALIVE:
                self.close()  # its worker has ended: the next probe gets a fresh one
            return ProbeResult(probe, failure=failure)
        return ProbeResult(probe, result, notes=notes)

    def _restart(self):
        """A fresh worker for the next probe, the last one having ended on a probe: what the earlier ones wrote
        counts against its output limit."""
        self.close()
        self.impl = self.runner.implementation(self.target, self.home, self._written)
        try:
            self.impl.start()
        except UserCodeError:
            raise
        except UsageError as exc:
            raise UserCodeError(f"{self.impl.path}: a fresh worker for this probe could not start: {exc}",
                                kind="ended") from None


# the worker's guess that the code expects the other layout (crosscheck.student.isolated), in either wording
LAYOUT_GUESS = re.compile(r" — X is \((?:m, n0|n0, m)\) with m = \d+ in the (?:row|column) layout: [^—]*")


def _with_shape_hint(message, hint):
    """The message with the shapes named; a product of the lecture's tensors in the code's own layout shows the
    layout is right, so the guess that it is the other one goes."""
    if " reads as " in hint:
        message = LAYOUT_GUESS.sub("", message)
    return f"{message} — {hint}"


class _Ran:
    """An implementation whose tensors on this problem are already taken (before the reference, so that its own
    conventions could be read): the check compares them without calling the code again."""

    def __init__(self, impl, trace):
        self._impl, self._trace = impl, trace

    def run(self, problem):
        return self._trace

    def __getattr__(self, name):
        return getattr(self._impl, name)


def _retitled(probe, problem):
    """A probe's title with the L2 convention the code was checked in, when it was read from the code."""
    before, after = probe.problem.net.l2_convention, problem.net.l2_convention
    if before == after:
        return probe.title
    title = probe.title.replace(f"({before})", f"({after}: your code's)")
    return title if title != probe.title else f"{probe.title} · L2 {after}: your code's"


def probe_names(probes):
    """A list of probe names from None, "a,b" or a sequence; UsageError for one that is not a probe."""
    if probes is None:
        return None
    names = [n for n in probes.replace(" ", "").split(",") if n] if isinstance(probes, str) else list(probes)
    unknown = [n for n in names if n not in PROBES]
    if unknown or not names:
        raise UsageError(f"choose from {', '.join(PROBES)}", field="probe", value=probes)
    return names
