"""Grading a class: each submission in a worker process of its own, scored by a points scheme, and written up
for the instructor (a CSV, a summary, a histogram) and for each student (feedback, a Gradescope results.json).

    scheme = Scheme.load("scheme.toml")                  # or Scheme(): the default (DEFAULT_SCHEME below)
    assignment = Assignment(scheme, style="lecture", options={"layers": (2, 4, 3)})
    submissions = discover(["submissions/"])             # a file, a folder of files, a folder of folders
    results = grade(submissions, assignment, jobs=2, timeout=30, memory=512, output_limit=8)
    results[0].score, .max_score, .status, .first_divergence, .hint, .seconds, .peak_memory_mb, .tests

Only the reference is compared (no framework is imported, here or in a worker): the reference is itself checked
against PyTorch, TensorFlow, JAX and Keras by `crosscheck compare`.  A worker imports NumPy and the submission.

**Scoring.**  On each probe the scheme weighs (crosscheck.probes), each tensor group — forward (Z, A), J, dZ/dA,
dW/db — is worth weight × the group's points, shared equally among its tensors.  A tensor earns its share when it
agrees with the reference, or when it fails only because an earlier one failed (↳: the lecture's formula gives
it from the student's own upstream tensors, so the code that makes it is right).  The first divergence, a tensor
with a mistake of its own, a required dW or db that is missing, and a tensor not returned earn nothing.  A probe
the submission fails on (an exception, a hang), or cannot be run on (written for fewer layers), earns nothing.

The maximum is the assignment's, the same for every student: the probes that apply to the network asked for
(the l2 probe when the assignment has an L2 term, and always for CS231n, whose loss takes reg), and, per style, the tensors the course's API can return
(CS231n's loss gives Z[L], J, dW and db; DLS's caches and grads give everything but dZ).

**Deterministic.**  Probes are seeded; the same submissions get the same scores, in the same order, run after
run — except a submission whose run time sits at the --timeout itself.
"""
import concurrent.futures
import csv
import io
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field

from crosscheck.engine.check import ProbeResult, ProbeRun, run_check
from crosscheck.engine.lecture import lecture_line
from crosscheck.engine.probes import PROBES, make_probes, style_options
from crosscheck.errors import UsageError, UserCodeError
from crosscheck.reference.trace import computed_names
from crosscheck.render.check import measured
from crosscheck.student.user_code import STYLES, Isolated

GROUPS = ("forward", "J", "dZ/dA", "dW/db")
GROUP_TITLES = {"forward": "forward pass (Z, A)", "J": "the loss J", "dZ/dA": "dZ and dA", "dW/db": "dW and db"}
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
STATUSES = ("ok", "mismatch", "error", "exit", "timeout", "memory", "output", "crashed", "missing")

DEFAULT_SCHEME = """\
# crosscheck grade's points scheme (the default; pass your own with --scheme FILE.toml)

[points]          # per tensor group on each probe, shared equally among the group's tensors
forward = 1       # Z1, A1, …, ZL, AL
J = 1             # the loss
"dZ/dA" = 1       # dZ[l] and dA[l]
"dW/db" = 2       # dW[l] and db[l]

[probes]          # each probe's weight (it multiplies the points above); 0 leaves the probe out
lecture = 2       # the problem as asked
biases = 1
he = 1
non-square = 1
odd-m = 1
m1 = 1
seed = 1
deeper = 1        # one more layer: the lecture's backprop takes any depth (0 for code written for one depth)
l2 = 1            # graded when the assignment has an L2 term (--l2), and for --style cs231n (its loss takes reg)

[visibility]
visible = ["lecture"]         # probes whose tests a student sees at once
hidden = "after_published"    # when the others show on Gradescope: hidden, after_due_date, after_published
"""


# ---- the scheme -------------------------------------------------------------------------------------

@dataclass
class Scheme:
    """Points per tensor group, a weight per probe, which probes are visible (a TOML file: DEFAULT_SCHEME)."""

    points: dict = field(default_factory=lambda: {"forward": 1.0, "J": 1.0, "dZ/dA": 1.0, "dW/db": 2.0})
    probes: dict = field(default_factory=lambda: {name: (2.0 if name == "lecture" else 1.0) for name in PROBES})
    visible: tuple = ("lecture",)
    hidden: str = "after_published"
    source: str = "the default scheme"

    @classmethod
    def load(cls, path):
        """The scheme in a TOML file; UsageError naming what is wrong with it."""
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib
            except ImportError:
                raise UsageError("--scheme: reading TOML needs Python 3.11 or the tomli package") from None
        try:
            with open(path, "rb") as f:
                document = tomllib.load(f)
        except OSError as exc:
            raise UsageError(f"--scheme {path}: cannot read it ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"--scheme {path}: not valid TOML ({exc})") from None
        return cls.from_dict(document, f"--scheme {path}")

    @classmethod
    def from_dict(cls, document, source="the scheme"):
        scheme = cls(source=source)
        unknown = set(document) - {"points", "probes", "visibility"}
        if unknown:
            raise UsageError(f"{source}: unknown table {', '.join(sorted(unknown))}; the tables are [points], "
                             f"[probes] and [visibility]")
        scheme.points.update(_weights(document.get("points", {}), GROUPS, f"{source} [points]"))
        scheme.probes.update(_weights(document.get("probes", {}), PROBES, f"{source} [probes]"))
        visibility = document.get("visibility", {})
        unknown = set(visibility) - {"visible", "hidden"}
        if unknown:
            raise UsageError(f"{source} [visibility]: unknown key {', '.join(sorted(unknown))}; the keys are "
                             f"visible (a list of probes) and hidden (how the others show)")
        visible = visibility.get("visible", list(scheme.visible))
        if not (isinstance(visible, list) and all(name in PROBES for name in visible)):
            raise UsageError(f"{source} [visibility] visible: a list of probe names ({', '.join(PROBES)})")
        hidden = visibility.get("hidden", scheme.hidden)
        if hidden not in VISIBILITIES:
            raise UsageError(f"{source} [visibility] hidden = {hidden!r}: choose one of {', '.join(VISIBILITIES)}")
        scheme.visible, scheme.hidden = tuple(visible), hidden
        if not any(scheme.points.values()) or not any(scheme.probes.values()):
            raise UsageError(f"{source}: every points or every probe weight is 0: nothing would be graded")
        return scheme

    def visibility(self, probe):
        return "visible" if probe in self.visible else self.hidden


def _weights(table, known, where):
    if not isinstance(table, dict):
        raise UsageError(f"{where}: a table of name = number")
    unknown = [key for key in table if key not in known]
    if unknown:
        raise UsageError(f"{where}: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
            raise UsageError(f"{where} {key} = {value!r}: a number ≥ 0")
    return {key: float(value) for key, value in table.items()}


# ---- which tensors a style can return, and their groups --------------------------------------------

def group_of(name):
    if name == "J":
        return "J"
    if name.startswith(("dZ", "dA")):
        return "dZ/dA"
    if name.startswith(("dW", "db")):
        return "dW/db"
    return "forward"


def gradable(style, L):
    """The tensors a course's API can return, in computation order: CS231n's loss gives the scores Z[L], J, dW
    and db; the DLS functions everything but dZ (their grads hold dA, dW, db); the lecture's backprop all."""
    names = computed_names(L)
    if style == "cs231n":
        return [n for n in names if n in (f"Z{L}", "J") or n.startswith(("dW", "db"))]
    if style == "dls":
        return [n for n in names if not n.startswith("dZ")]
    return names


# ---- the assignment: what is graded, out of how much -------------------------------------------------

@dataclass
class Assignment:
    """The network and probes every submission is graded on, and the points each (probe, group) is worth.

    options  build_problem's keyword arguments as the command line gives them (layers, activation, loss, l2, …);
             each style's own network where they are left out (crosscheck.probes.style_options)
    """

    scheme: Scheme
    style: str = "lecture"
    layout: str = None
    options: dict = field(default_factory=dict)
    entry: str = None

    def __post_init__(self):
        if self.style not in STYLES:
            raise UsageError(f"--style {self.style}: choose one of {', '.join(STYLES)}")
        settings = style_options(self.style, None, **self.options)
        weighted = [name for name in PROBES if self.scheme.probes.get(name, 0) > 0]
        # what the network asked for allows: any depth; the l2 probe when the assignment has an L2 term, or when
        # the course's API always takes a strength (CS231n's reg), so that a regularized bias cannot pass unseen
        l2_name = "reg" if self.style == "cs231n" else None
        probes, self.not_graded = make_probes(settings, {"any_depth": True, "l2_name": l2_name}, weighted)
        self.probes = {probe.name: probe for probe in probes}
        self.tests = []  # (probe, group, max points), in order
        for probe in probes:
            groups = {group_of(n) for n in gradable(self.style, probe.problem.net.L)}
            for group in GROUPS:
                points = self.scheme.probes[probe.name] * self.scheme.points.get(group, 0)
                if group in groups and points > 0:
                    self.tests.append((probe.name, group, points))
        if not self.tests:
            raise UsageError("the scheme grades nothing on this assignment: every probe it weighs is left out "
                             f"({'; '.join(f'{k}: {v}' for k, v in self.not_graded.items()) or 'weights 0'})")

    @property
    def max_score(self):
        return _round(sum(points for _, _, points in self.tests))

    def settings_for(self, description):
        """build_problem's keyword arguments for one submission (its depth may set the network's, for dls)."""
        return style_options(self.style, description, **self.options)


# ---- submissions ------------------------------------------------------------------------------------

@dataclass
class Submission:
    name: str               # a student's name as the files give it: the file's name, or the folder's
    path: str = None        # the file that is checked (None: none could be chosen — `problem` says why)
    problem: str = None


SOURCE = (".py", ".ipynb")
ENTRY_PATTERNS = {"lecture": r"def\s+{entry}\s*\(", "dls": r"def\s+(L_model_forward|forward_propagation)\s*\(",
                  "cs231n": r"def\s+loss\s*\("}


def discover(paths, style="lecture", file=None, entry=None, single=False):
    """[Submission], in a stable order: a file is one; a folder holding `file` (or, with single=True, any folder)
    is one student's; otherwise each .py or .ipynb file in a folder is one, and each folder in it is one student's
    (its file: `file`, or the one candidate, or the one that defines the style's entry point).  UsageError for a
    path that does not exist or holds nothing to grade."""
    found = []
    for path in paths:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
        if os.path.isfile(path):
            if not path.endswith(SOURCE):
                raise UsageError(f"{path}: not a .py file or a .ipynb notebook")
            found.append(Submission(os.path.basename(path), path))
            continue
        if single or (file and os.path.isfile(os.path.join(path, file))):
            found.append(_student_folder(path, style, file, entry))
            continue
        inside = []
        for e in sorted(e for e in os.listdir(path) if not e.startswith((".", "_"))):  # by name, as ls shows them
            full = os.path.join(path, e)
            if os.path.isdir(full):
                inside.append(_student_folder(full, style, file, entry))
            elif e.endswith(SOURCE) and os.path.isfile(full):
                inside.append(Submission(e, full))
        if not inside:
            raise UsageError(f"{path}: no .py file, notebook or folder in it to grade")
        found += inside
    names = [s.name for s in found]
    for s in found:  # the same name from two places: both keep their path in their name
        if names.count(s.name) > 1:
            s.name = os.path.normpath(s.path or s.name)
    return found


def _student_folder(folder, style, file, entry):
    name = os.path.basename(os.path.normpath(folder))
    if file:
        path = os.path.join(folder, file)
        return Submission(name, path) if os.path.isfile(path) else Submission(name, problem=f"no {file} in {folder}")
    candidates = sorted(e for e in os.listdir(folder) if e.endswith(SOURCE) and not e.startswith((".", "_", "test_"))
                        and os.path.isfile(os.path.join(folder, e)))
    if len(candidates) > 1:
        pattern = re.compile(ENTRY_PATTERNS[style].format(entry=re.escape(entry or "backprop")))
        defining = [e for e in candidates if pattern.search(_read(os.path.join(folder, e)))]
        candidates = defining if defining else candidates
    if len(candidates) == 1:
        return Submission(name, os.path.join(folder, candidates[0]))
    if not candidates:
        return Submission(name, problem=f"no .py file or notebook in {folder}")
    return Submission(name, problem=f"several files could be the submission ({', '.join(candidates)}): "
                                    f"name it with --file")


def _read(path, limit=2**20):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return ""


# ---- one submission's result ------------------------------------------------------------------------

@dataclass
class Test:
    """One (probe, group) of one submission: a Gradescope test."""

    probe: str
    group: str
    title: str             # the probe's, e.g. "m = 7"
    max_score: float
    score: float = 0.0
    lines: list = field(default_factory=list)   # what to tell the student, one line each (Markdown)
    visibility: str = "visible"

    @property
    def name(self):
        return f"{self.probe} · {self.group} ({self.title})"

    @property
    def passed(self):
        return self.score >= self.max_score

    def as_gradescope(self):
        return {"name": self.name, "score": self.score, "max_score": self.max_score,
                "status": "passed" if self.passed else "failed", "output": "\n\n".join(self.lines),
                "output_format": "md", "visibility": self.visibility}


@dataclass
class Result:
    submission: Submission
    max_score: float
    status: str = "ok"                 # STATUSES
    tests: list = field(default_factory=list)
    error: str = None                  # how the submission failed, when it did (one line)
    first_divergence: str = None       # "dW2 on probe lecture"
    hint: str = None                   # its probable cause, or the error
    lecture_line: str = None
    seconds: float = 0.0
    peak_memory_mb: float = None       # the worker's peak resident memory
    output: dict = None                # the last lines it printed
    report: str = None                 # the full text report of the probe shown (as crosscheck compare prints it)

    @property
    def name(self):
        return self.submission.name

    @property
    def score(self):
        return _round(sum(t.score for t in self.tests))

    def as_json(self):
        return {"submission": self.name, "path": self.submission.path, "score": self.score,
                "max_score": self.max_score, "status": self.status, "first_divergence": self.first_divergence,
                "hint": self.hint, "lecture_line": self.lecture_line, "error": self.error,
                "seconds": round(self.seconds, 3),
                "peak_memory_mb": None if self.peak_memory_mb is None else round(self.peak_memory_mb, 1),
                "tests": [t.as_gradescope() for t in self.tests]}


def _round(x):
    return round(x + 0.0, 4)


# ---- grading ----------------------------------------------------------------------------------------

def grade(submissions, assignment, jobs=1, timeout=30.0, memory=512, output_limit=8.0, progress=None):
    """[Result] in the order of `submissions`: each checked in a worker process of its own, `jobs` at a time.
    Nothing a submission does stops the batch: its row says what happened.  progress(result) after each one."""
    live, lock = set(), threading.Lock()

    def one(submission):
        try:
            result = grade_one(submission, assignment, timeout, memory, output_limit, live, lock)
        except Exception as exc:  # our own bug: its row says so, and the batch goes on
            result = Result(submission, assignment.max_score, status="error",
                            error=f"crosscheck failed while grading it ({type(exc).__name__}: {exc}); please report it")
            _finish(result, assignment, time.perf_counter(), {})
        if progress:
            progress(result)
        return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, s) for s in submissions]
        try:
            return [f.result() for f in futures]
        except BaseException:  # ^C: stop what is queued, end every worker so that the running ones return now
            for f in futures:
                f.cancel()
            with lock:
                for impl in list(live):
                    impl.close()
            raise


ALIVE = ("exception", "result", "exit", "interrupt")   # a UserCodeError after which the worker still answers
KIND_STATUS = {"exit": "exit", "interrupt": "error", "timeout": "timeout", "memory": "memory", "output": "output",
               "ended": "crashed"}


def grade_one(submission, assignment, timeout=30.0, memory=512, output_limit=8.0, live=None, lock=None):
    """One submission's Result: every graded probe run in its worker (a new worker when one ended on a probe)."""
    start = time.perf_counter()
    result = Result(submission, assignment.max_score)
    if submission.path is None:
        result.status, result.error = "missing", submission.problem
        return _finish(result, assignment, start, {})
    worker = None
    results = {}       # probe name -> ProbeResult
    skipped = {}       # probe name -> why it was not run on this submission
    mine = None        # this submission's probes (its depth may set the network's), by name
    peak = []

    def launch():
        impl = Isolated(submission.path, timeout=timeout, memory=memory, style=assignment.style,
                        layout=assignment.layout, entry=assignment.entry, output_limit=output_limit)
        _track(live, lock, impl, True)
        try:
            impl.start()
        except BaseException:
            stop(impl)
            raise
        return impl

    def stop(impl):
        impl.close()
        peak.append(impl.peak_memory_mb)
        _track(live, lock, impl, False)

    try:
        worker = launch()
        mine, skipped = make_probes(assignment.settings_for(worker.description), worker.description,
                                    list(assignment.probes))
        mine = {p.name: p for p in mine}
        for i, name in enumerate(assignment.probes):
            if name not in mine:
                skipped.setdefault(name, "does not apply")
                continue
            probe = mine[name]
            try:
                if worker is None:  # the last one ended on a probe: a fresh one for the next
                    worker = launch()
                results[name] = ProbeResult(probe, run_check(probe.problem, impls={"impl": worker}))
            except UserCodeError as exc:
                if i == 0:
                    raise  # on the problem as asked: the submission fails, with how
                results[name] = ProbeResult(probe, error=str(exc))
                result.output = (exc.details or {}).get("output") or result.output
                if worker is not None and exc.kind not in ALIVE:  # its worker has ended
                    stop(worker)
                    worker = None
        if worker is not None:
            result.output = worker.output
    except UserCodeError as exc:
        result.status, result.error = KIND_STATUS.get(exc.kind, "error"), str(exc)
        result.output = (exc.details or {}).get("output")
    except UsageError as exc:  # no backprop in it, not a notebook, a network it cannot be: nothing to grade
        result.status, result.error = "error", str(exc)
        result.output = (exc.details or {}).get("output")
    finally:
        if worker is not None:
            stop(worker)
    for probe_result in results.values():
        if probe_result.error:
            probe_result.error = _relative(probe_result.error, submission.path)
    if result.error:
        result.error = _relative(result.error, submission.path)
    known = [p for p in peak if p is not None]
    result.peak_memory_mb = max(known) if known else None
    return _finish(result, assignment, start, results, skipped)


def _relative(message, path):
    """A message with the submission's path as its file's name: the grader's folders mean nothing to a student."""
    message = message.replace(path, os.path.basename(path))
    folder = os.path.dirname(path)
    return message.replace(folder + os.sep, "") if folder else message


def _track(live, lock, worker, add):
    if live is None:
        return
    with lock:
        (live.add if add else live.discard)(worker)


def _finish(result, assignment, start, results, skipped=None):
    """Score the probes' results test by test; the row's status, first divergence and hint."""
    skipped = skipped or {}
    scheme = assignment.scheme
    for probe_name, group, points in assignment.tests:
        probe = assignment.probes[probe_name]
        test = Test(probe_name, group, probe.title, points, visibility=scheme.visibility(probe_name))
        result.tests.append(test)
        if result.error:
            test.lines.append(f"not graded: {_md(result.error)}")
            continue
        outcome = results.get(probe_name)
        if outcome is None:
            test.lines.append(f"not run on this probe: {_md(skipped.get(probe_name, 'it did not apply'))}")
            continue
        if outcome.error:
            test.lines.append(f"your code failed on this probe: {_md(outcome.error)}")
            continue
        _score(test, outcome, assignment)
    for test in result.tests:
        test.score = _round(test.score)
    if not result.error:
        first = next((r for r in results.values() if not r.ok), None)
        if first is not None:
            result.status = "mismatch"
            comparison = first.report.outcomes["impl"].first_divergence if first.report else None
            if comparison is not None:
                result.first_divergence = f"{comparison.tensor} on probe {first.probe.name}"
                result.hint = comparison.hint
                result.lecture_line = lecture_line(comparison.tensor, first.probe.problem.net,
                                                   assignment.layout or _layout(assignment.style))
            else:
                result.first_divergence = f"probe {first.probe.name}"
                result.hint = first.error
        elif result.score < result.max_score:  # a probe it could not be run on
            result.status = "mismatch"
            name = next(t.probe for t in result.tests if not t.passed)
            result.first_divergence = f"probe {name}"
            result.hint = f"not run: {skipped.get(name, 'it did not apply')}"
        shown = first or next(iter(results.values()), None)
        if shown is not None and shown.report is not None:
            from crosscheck.render.check import check_report
            run = ProbeRun([r for r in results.values()], {})
            result.report = check_report(shown.report, colour=False, probes=run)
    else:
        result.hint = result.error
    result.seconds = time.perf_counter() - start
    return result


def _layout(style):
    return "columns" if style == "dls" else "rows"


def _score(test, probe_result, assignment):
    """A test's points: its group's gradable tensors that agree, or fail only because an earlier one did."""
    outcome = probe_result.report.outcomes["impl"]
    net = probe_result.probe.problem.net
    names = [n for n in gradable(assignment.style, net.L) if group_of(n) == test.group]
    by_name = {c.tensor: c for c in outcome.comparisons}
    first = outcome.first_divergence
    layout = assignment.layout or _layout(assignment.style)
    credited, lines, inherited, absent = 0, [], [], []
    for name in names:
        c = by_name[name]
        if c.ok:
            credited += 1
        elif c.ok is None:
            absent.append(name)
        elif c.downstream:
            credited += 1
            inherited.append(name)
        else:
            cause = c.hint or (f"it differs ({measured(c, layout)})" if not c.missing else "not returned")
            line = lecture_line(name, net, layout)
            lines.append(f"✗ **{name}**{' — the first divergence' if c is first else ''}: {_md(cause)}"
                         + (f" (the lecture's line: `{line}`)" if line else ""))
    test.score = test.max_score * credited / len(names)
    if inherited:
        lines.append(f"↳ {', '.join(inherited)}: wrong only because of {first.tensor if first else 'an earlier tensor'}"
                     f" — no points lost for {'them' if len(inherited) > 1 else 'it'}")
    if absent:
        lines.append(f"– {', '.join(absent)}: not returned, so not checked — return "
                     f"{'them' if len(absent) > 1 else 'it'} for these points")
    agreed = [n for n in names if by_name[n].ok]
    if agreed:
        lines.insert(0, f"✓ {', '.join(agreed)} {'agree' if len(agreed) > 1 else 'agrees'} with the reference")
    test.lines = lines


def _md(text):
    """A line of the student's own text (a hint quotes their names) safe in Markdown: no markup of theirs acts."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", str(text or ""))


# ---- what is written --------------------------------------------------------------------------------

CSV_COLUMNS = ("submission", "score", "max_score", "percent", "status", "first_divergence", "hint", "seconds",
               "peak_memory_mb", "path")


def csv_text(results):
    """One row per submission."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in results:
        writer.writerow([r.name, _number(r.score), _number(r.max_score),
                         _number(round(100 * r.score / r.max_score, 1)) if r.max_score else "", r.status,
                         r.first_divergence or "", r.hint or "", f"{r.seconds:.2f}",
                         "" if r.peak_memory_mb is None else f"{r.peak_memory_mb:.0f}", r.submission.path or ""])
    return buffer.getvalue()


def _number(x):
    return f"{round(x, 2):g}"


def gradescope(result, assignment):
    """The Gradescope results.json of one submission (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
    return {"score": result.score, "execution_time": round(result.seconds, 3),
            "output": student_summary(result, assignment), "output_format": "md",
            "tests": [t.as_gradescope() for t in result.tests],
            "extra_data": {"status": result.status, "first_divergence": result.first_divergence,
                           "max_score": result.max_score}}


SHOWN = {"hidden": "to the instructor only", "after_due_date": "after the due date",
         "after_published": "after grades are published", "visible": "now"}


def student_summary(result, assignment):
    """What a student sees at once (Markdown): the score, the first divergence on a visible probe and its cause,
    and, plainly, what is hidden and what it is worth — never "all passed" while hidden tests fail."""
    scheme = assignment.scheme
    visible = [t for t in result.tests if t.visibility == "visible"]
    hidden = [t for t in result.tests if t.visibility != "visible"]
    lines = [f"**{_number(result.score)} / {_number(result.max_score)} points** — backprop checked tensor by tensor "
             f"against the lecture's reference on {len(assignment.probes)} probes"]
    if result.error:
        lines.append(f"✗ {_md(result.error)}")
    elif visible:
        failed = [t for t in visible if not t.passed]
        earned = sum(t.score for t in visible)
        worth = sum(t.max_score for t in visible)
        lines.append(f"visible tests ({', '.join(sorted({t.probe for t in visible}))}): {_number(_round(earned))} / "
                     f"{_number(_round(worth))} points" + (" — all passed" if not failed else ""))
        for t in failed:
            lines.append(f"✗ {t.name}:\n" + "\n".join(f"- {line}" for line in t.lines))
    if hidden:
        lines.append(f"hidden tests: {len(hidden)}, worth {_number(_round(sum(t.max_score for t in hidden)))} points, "
                     f"on the probes {', '.join(sorted({t.probe for t in hidden}, key=list(PROBES).index))}; they "
                     f"count in the score above, and their details are shown {SHOWN[scheme.hidden]}")
    return "\n\n".join(lines)


def feedback(result, assignment):
    """A student's feedback as plain text: the score, the first divergence and its cause, the points probe by probe
    and group by group, why each point was lost (each reason once), what the code printed, the full report."""
    lines = [f"{result.name}: {_number(result.score)} / {_number(result.max_score)} points ({result.status})", ""]
    if result.error:
        lines += [f"✗ {result.error}", ""]
    elif result.first_divergence:
        lines.append(f"✗ first divergence: {result.first_divergence}")
        lines.append(f"  probable cause: {result.hint}")
        if result.lecture_line:
            lines.append(f"  the lecture's line: {result.lecture_line}")
        lines.append("")
    else:
        lines += ["✓ every tensor agrees with the reference on every probe", ""]
    groups = [g for g in GROUPS if any(t.group == g for t in result.tests)]
    rows, reasons = [], {}
    for probe in dict.fromkeys(t.probe for t in result.tests):
        tests = {t.group: t for t in result.tests if t.probe == probe}
        title = next(iter(tests.values())).title
        cells = [f"{_number(tests[g].score)}/{_number(tests[g].max_score)}" if g in tests else "" for g in groups]
        earned, worth = sum(t.score for t in tests.values()), sum(t.max_score for t in tests.values())
        mark = "✓" if earned >= worth else "✗"
        rows.append([f"{mark} {probe}", title, *cells, f"{_number(_round(earned))} / {_number(_round(worth))}"])
        for t in tests.values():
            if t.passed:
                continue
            for line in t.lines:
                if not line.startswith("✓"):
                    reasons.setdefault(_plain(line), []).append(probe)
    from crosscheck.console import table
    lines += ["points, probe by probe:", table(["probe", "", *groups, "points"], rows,
                                               align=["l", "l"] + ["r"] * (len(groups) + 1))]
    if reasons:
        lines += ["", "where the points were lost:"]
        for reason, probes in reasons.items():
            probes = list(dict.fromkeys(probes))
            on = "every probe" if len(probes) == len(rows) and len(rows) > 1 else f"probe{'s' if len(probes) > 1 else ''} {', '.join(probes)}"
            lines.append(f"  {reason}   [{on}]")
    printed = [(stream, c) for stream, c in (result.output or {}).items() if (c or {}).get("text")]
    for stream, captured in printed:
        lines += ["", f"your code printed on {stream} (the last lines):"] + [f"  │ {l}" for l in captured["text"].splitlines()]
    if result.report:
        lines += ["", "the report of the probe shown (crosscheck compare --impl prints the same):", "", result.report]
    return "\n".join(lines) + "\n"


def _plain(markdown):
    return re.sub(r"\\(.)", r"\1", markdown).replace("**", "").replace("`", "")


def summary(results, assignment):
    """The instructor's table and figures: every row, then the scores, the statuses, the commonest mistakes."""
    from crosscheck.console import table
    rows = [[r.name, f"{_number(r.score)}/{_number(r.max_score)}", r.status, r.first_divergence or "",
             _short(r.hint or "", 70), f"{r.seconds:.1f}s"] for r in results]
    lines = [table(["submission", "score", "status", "first divergence", "probable cause", "time"], rows,
                   align=["l", "r", "l", "l", "l", "r"]), ""]
    scores = sorted(r.score for r in results)
    if scores:
        n = len(scores)
        median = scores[n // 2] if n % 2 else (scores[n // 2 - 1] + scores[n // 2]) / 2
        lines.append(f"{n} submissions · max {_number(assignment.max_score)} points · mean {sum(scores) / n:.2f} · "
                     f"median {_number(_round(median))} · min {_number(scores[0])} · max {_number(scores[-1])} · "
                     f"full marks {sum(1 for r in results if r.score >= r.max_score)}")
        counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
        lines.append("status: " + ", ".join(f"{s} {c}" for s, c in counts.items() if c))
        mistakes = {}
        for r in results:
            if r.first_divergence and r.status == "mismatch":
                key = r.first_divergence.split(" on probe ")[0]
                mistakes.setdefault(key, []).append(r)
        if mistakes:
            common = sorted(mistakes.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:5]
            lines.append("commonest first divergence: " + ", ".join(f"{k} ({len(v)})" for k, v in common))
    return "\n".join(lines)


def _short(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def histogram_png(results, assignment):
    """The scores' histogram as PNG bytes (matplotlib, Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    top = assignment.max_score
    scores = [r.score for r in results]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    ax.hist(scores, bins=20, range=(0, top), color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"score (out of {_number(top)})")
    ax.set_ylabel("submissions")
    ax.set_xlim(0, top)
    full = sum(1 for s in scores if s >= top)
    ax.set_title(f"crosscheck grade · {len(scores)} submissions · mean {sum(scores) / max(1, len(scores)):.1f} · "
                 f"full marks {full}", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})  # no version stamp: the same scores, the same file
    plt.close(fig)
    return buffer.getvalue()


def as_json(results, assignment):
    return {"ok": all(r.status == "ok" for r in results), "max_score": assignment.max_score,
            "style": assignment.style, "probes": list(assignment.probes),
            "not_graded": dict(assignment.not_graded),
            "submissions": [r.as_json() for r in results]}


def file_name(name):
    """A submission's name as a file name: no directories, nothing but letters, digits, '.', '-' and '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def dumps(document):
    from crosscheck.output import finite
    return json.dumps(finite(document), indent=2, ensure_ascii=False) + "\n"
