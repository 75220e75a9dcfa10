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
                                             source says so), no L2 argument for `l2`

A runner builds the probes once per network and keeps them (a grader's runner builds them once for the class);
it may run several implementations at once (grade --jobs).
"""
import os
import threading
import time
from dataclasses import dataclass, field

from crosscheck.engine.check import run_check
from crosscheck.engine.probes import PROBES, make_probes
from crosscheck.engine.problem import Spec
from crosscheck.engine.verdict import (
    DIFFERS,
    PROBE_FAILED,
    PROBE_MISMATCH,
    PROBE_OK,
    of,
)
from crosscheck.errors import UsageError, UserCodeError, worded
from crosscheck.student import sandbox
from crosscheck.student.implementation import Local, resolve_style
from crosscheck.student.isolated import AUTOGRAD, Isolated

# failures after which the worker still answers: the next probe can run in it
ALIVE = ("exception", "result", "exit", "interrupt")
# a run's status for each way the code can fail on the problem as asked (grade's statuses, compare's exit 2)
STATUS_OF_KIND = {"exit": "exit", "timeout": "timeout", "budget": "timeout", "memory": "memory", "output": "output",
                  "ended": "crashed", "forbidden": "forbidden"}


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
    budget, entry), one line that says where and what, and what it printed."""

    kind: str
    message: str                     # options named as keyword arguments (the Python API's wording)
    where: str = None
    output: dict = None
    flag_message: str = None         # options named as flags (the command line's wording)

    @classmethod
    def of(cls, exc, kind=None):
        output = (getattr(exc, "details", None) or {}).get("output")
        return cls(kind or getattr(exc, "kind", None) or "error", worded(exc, "keyword"), getattr(exc, "where", None),
                   output, worded(exc, "flag"))

    def worded(self, how):
        return self.flag_message or self.message if how == "flag" else self.message


@dataclass
class ProbeResult:
    """One probe: every candidate's comparison on it (crosscheck.engine.check.CheckResult), or how the code failed."""

    probe: object                 # crosscheck.engine.probes.Probe
    result: object = None         # CheckResult
    failure: Failure = None

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
        forbidden: it imported what it may not, error)."""
        if self.error is not None:
            return STATUS_OF_KIND.get(self.error.kind, "error")
        return "ok" if self.ok else "mismatch"

    @property
    def first_failure(self):
        return next((r for r in self.results if not r.ok), None)

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
                    "output": self.error.output or self.output, **self._boundary_json()}
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

    def _check_spec(self, spec):
        module = self.style_module
        if module.LOSSES and spec.loss and spec.loss not in module.LOSSES:
            raise UsageError(f"the course's loss is {' or '.join(module.LOSSES)}: loss {spec.loss} does not fit it",
                             field="style", value=self.style)
        if spec.extensions and not module.EXTENSIONS:
            raise UsageError("checks the lecture's plain network: {keep_prob} and {batch_norm} need the lecture's "
                             "style (backprop(X, Y, params, …, keep_prob=, masks=, batch_norm=, bn_eps=, training=))",
                             field="style", value=self.style)

    # ---- the problem, for one implementation ----

    def spec_for(self, description=None):
        """The problem as asked, for an implementation that offers `description`: the style's own network wherever
        the spec leaves it open (its loss, its L2 convention, its layers for the depth it is written for)."""
        module, spec, description = self.style_module, self.spec, description or {}
        depth = description.get("depth")
        if depth and spec.layers and len(spec.layers) - 1 != depth:
            raise UsageError(f"is a {len(spec.layers) - 1}-layer network, but {description.get('entry')} is written "
                             f"for {depth} layers: give {depth + 1} sizes", field="layers", value=spec.layers)
        layers = spec.layers
        if layers is None and not spec.fixed:
            layers = module.default_layers(depth)
        return spec.replace(layers=layers, loss=spec.loss or module.LOSS,
                            l2_convention=spec.l2_convention or module.L2_CONVENTION)

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
        if self.names:
            skipped = {}  # asked for by name: the others were not wanted, not skipped
        return chosen, skipped

    def _cannot_ask(self, name, description, spec):
        if name == "deeper" and not description.get("any_depth"):
            depth = description.get("depth")
            return f"the implementation is written for {depth or len(spec.layers) - 1} layers"
        if name == "l2" and not (description.get("l2_name") or spec.l2 or self.style_module.ALWAYS_L2):
            return "the implementation takes no L2 strength (l2=, lambd=, reg=, …)"
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
        self.probes, self.skipped, self.error, self.spec = [], {}, None, None
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
        self.runner._check_spec(self.spec)
        self.probes, self.skipped = self.runner.applicable(description, self.spec)

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
        run = Run(style=runner.style, layout=impl.layout, path=impl.path,
                  entry=(impl.description or {}).get("entry"), description=impl.description, error=self.error,
                  skipped=dict(self.skipped))
        if self.error is None:
            for i, probe in enumerate(self.probes):
                if run.error is not None:
                    break
                run.results.append(self._one(run, i, probe, progress))
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
        runner = self.runner
        remaining = None if runner.limits.budget is None else runner.limits.budget - (time.monotonic() - self.start)
        if remaining is not None and remaining <= 0:
            return ProbeResult(probe, failure=Failure("budget", f"not run: the time budget of "
                                                                f"{runner.limits.budget:g} s for every probe ran out"))
        if isinstance(self.impl, Isolated):
            self.impl.timeout = runner.limits.timeout if remaining is None else min(runner.limits.timeout, remaining)
        try:
            if isinstance(self.impl, Isolated) and self.impl.closed:
                self._restart()
            result = run_check(probe.problem, runner.frameworks if i == 0 else (), {"impl": self.impl},
                               progress if i == 0 else None, runner.partial)
        except UserCodeError as exc:
            failure = Failure.of(exc, "budget" if exc.kind == "timeout" and remaining is not None
                                 and remaining < runner.limits.timeout else None)
            run.output = failure.output or run.output
            if i == 0 or failure.kind == "forbidden":
                run.error = failure  # on the problem as asked, or what it may not do at all: nothing is checked
                return ProbeResult(probe, failure=failure)
            if isinstance(self.impl, Isolated) and exc.kind not in ALIVE:
                self.close()  # its worker has ended: the next probe gets a fresh one
            return ProbeResult(probe, failure=failure)
        return ProbeResult(probe, result)

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


def probe_names(probes):
    """A list of probe names from None, "a,b" or a sequence; UsageError for one that is not a probe."""
    if probes is None:
        return None
    names = [n for n in probes.replace(" ", "").split(",") if n] if isinstance(probes, str) else list(probes)
    unknown = [n for n in names if n not in PROBES]
    if unknown or not names:
        raise UsageError(f"choose from {', '.join(PROBES)}", field="probe", value=probes)
    return names
