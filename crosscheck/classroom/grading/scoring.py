"""Scoring: each submission through the assignment's runner (crosscheck.student.runner), its Run turned into points.

    grades = grade(submissions, assignment, jobs=2, progress=print)
    grades[0].score, .max_score, .status, .first_divergence, .hint, .seconds, .peak_memory_mb, .tests

On each probe the scheme weighs, each tensor group — forward (Z, A), J, dZ/dA, dW/db — is worth weight × the
group's points, shared equally among its tensors.  A tensor earns its share when it agrees with the reference; an
inherited one (↳: crosscheck.engine.verdict) earns what the scheme's `inherited` says (all of it by default, half,
or none).  The first divergence, a tensor with a mistake of its own and a required dW or db that is missing earn
nothing; so does a probe the submission fails on (an exception, a hang), and every probe of a submission that
imports what it may not (forbidden).  What the grader's own machine lacks — a module the code imports that is not
installed there, nbformat for a notebook, a worker that cannot start — and a bug of crosscheck's are no failure of
the student's: the submission is `ungraded`, with no score at all (not 0), and the fix for the instructor.  What
the self-check does not fail costs nothing, and is scored like what was checked: a tensor the code does not return
(a course's API may not: the planar week's grads have no dA), and a probe the runner cannot ask of it (code written
for one depth, code that takes no L2 strength).
"""
import concurrent.futures
import os
import re
import threading
import time
from dataclasses import dataclass, field

from crosscheck.classroom.grading.scheme import INHERITED, gradable, group_of, round_score
from crosscheck.engine import verdict
from crosscheck.engine.lecture import lecture_line
from crosscheck.render.check import measured, run_report

STATUSES = ("ok", "mismatch", "error", "exit", "timeout", "memory", "output", "crashed", "forbidden", "missing",
            "ungraded")
UNGRADED = "ungraded"   # the grader could not grade it (its machine, its bug): no score, and Grade.fix says why


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
class Grade:
    """One submission's grade: its tests, the status of its run, and what to tell the student."""

    submission: object                 # crosscheck.classroom.grading.submissions.Submission
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
    sandbox: str = None                # the boundary its code ran in: bwrap, user, none (crosscheck.student.sandbox)
    fix: str = None                    # ungraded: what the instructor installs or changes to grade it
    seed: int = None                   # the probes' seed it was graded on

    @property
    def name(self):
        return self.submission.name

    @property
    def score(self):
        """Its points; None when it is ungraded (the grader could not grade it: no score counts against it)."""
        return None if self.status == UNGRADED else round_score(sum(t.score for t in self.tests))

    @property
    def note(self):
        """For the instructor: what to install to grade it, or how its file was chosen (or would be)."""
        return self.fix or self.submission.note

    def as_json(self):
        s = self.submission
        return {"submission": self.name, "student_id": s.student_id, "student_name": s.student_name,
                "email": s.email, "lms": s.lms, "origin": s.origin, "path": s.path, "score": self.score,
                "max_score": self.max_score, "status": self.status, "first_divergence": self.first_divergence,
                "hint": self.hint, "lecture_line": self.lecture_line, "error": self.error, "note": self.note,
                "seed": self.seed, "seconds": round(self.seconds, 3), "sandbox": self.sandbox,
                "peak_memory_mb": None if self.peak_memory_mb is None else round(self.peak_memory_mb, 1),
                "tests": [t.as_gradescope() for t in self.tests]}


def grade(submissions, assignment, jobs=1, progress=None):
    """[Grade] in the order of `submissions`: each run through the assignment's runner, `jobs` at a time.
    Nothing a submission does stops the batch: its row says what happened.  progress(grade) after each one — and
    after an interruption (^C) for none: a submission whose worker was stopped half-way is not a grade, and an
    interrupted run, resumed, grades it again."""
    live, lock, stopped = set(), threading.Lock(), threading.Event()

    def one(submission):
        if stopped.is_set():  # interrupted: nothing more is graded, and nothing half-graded is recorded
            return None
        try:
            result = grade_one(submission, assignment, live, lock)
        except Exception as exc:  # our own bug, not the student's: its row says so, and the batch goes on
            failed = "the autograder failed while grading it"
            result = Grade(submission, assignment.max_score, status=UNGRADED, error=failed, hint=failed,
                           fix=f"crosscheck failed while grading it ({type(exc).__name__}: {exc}); please report it")
        except BaseException:  # ^C where it ran: the batch ends here
            stopped.set()
            raise
        if progress and not stopped.is_set():
            progress(result)
        return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, s) for s in submissions]
        try:
            return [f.result() for f in futures]
        except BaseException:  # ^C: stop what is queued, end every worker so that the running ones return now
            stopped.set()
            for f in futures:
                f.cancel()
            with lock:
                for session in list(live):
                    session.close()
            raise


def grade_one(submission, assignment, live=None, lock=None):
    """One submission's Grade: its Run on every graded probe, scored."""
    start = time.perf_counter()
    seed = assignment.seed_of(submission)
    runner = assignment.runner_for(seed)
    result = Grade(submission, assignment.max_score, sandbox=runner.boundary.kind, seed=seed)
    if submission.path is None:
        result.status, result.error = submission.status, submission.problem
        result.hint = result.error
        _score_tests(result, assignment, None)
        return result
    session = runner.open(submission.path, submission.home)
    _track(live, lock, session, True)
    try:
        run = session.run()
    finally:
        session.close()
        _track(live, lock, session, False)
    result.status, result.output, result.peak_memory_mb = run.status, run.output, run.peak_memory_mb
    if run.error is not None:
        result.error = _relative(run.error.worded("flag"), submission.path)
        result.output = run.error.output or run.output
    if result.status == UNGRADED and _handed_in(submission, run.error.module):
        result.status = "error"   # their own file by that name, unusable (a link out of their folder): theirs
    if result.status == UNGRADED:  # what the grader's machine lacks: no tests, no score, the fix
        result.hint, result.fix = result.error, run.error.worded_fix("flag")
        result.seconds = time.perf_counter() - start
        return result
    for probe_result in run.results:
        if probe_result.failure is not None:
            probe_result.failure.message = _relative(probe_result.failure.worded("flag"), submission.path)
    _score_tests(result, assignment, run)
    _explain(result, assignment, run)
    result.seconds = time.perf_counter() - start
    return result


def _handed_in(submission, module):
    """Whether the student's folder has a file or folder by the missing module's name (one that was not copied for
    its worker: a link out of the folder) — then the import failed on what they handed in, not on this machine."""
    home = submission.home
    if not module or not home or not os.path.isdir(home):
        return False
    return any(os.path.lexists(os.path.join(home, module + suffix)) for suffix in ("", ".py", ".ipynb"))


def _relative(message, path):
    """A message with the submission's path as its file's name: the grader's folders mean nothing to a student."""
    message = message.replace(path, os.path.basename(path))
    folder = os.path.dirname(path)
    return message.replace(folder + os.sep, "") if folder else message


def _track(live, lock, session, add):
    if live is None:
        return
    with lock:
        (live.add if add else live.discard)(session)


def _score_tests(result, assignment, run):
    """Every test of the assignment, scored from the run (None: the submission was not run).

    A probe the code cannot be asked (written for one depth, it takes no L2 strength) is not failed by the
    self-check, so it costs nothing either — it is scored like the probes the code was asked: the share of their
    points it earned.  A green self-check is full marks; code that earns nothing on the probes run earns nothing on
    the ones it could not be asked.
    """
    scheme = assignment.scheme
    unasked = []
    probes = assignment.probes_for(result.seed)  # its own seed's titles: the seed probe's says which seed
    for probe_name, group, points in assignment.tests:
        probe = probes[probe_name]
        test = Test(probe_name, group, probe.title, points, visibility=scheme.visibility(probe_name))
        result.tests.append(test)
        if result.error:
            test.lines.append(f"not graded: {md(result.error)}")
            continue
        outcome = run.result_of(probe_name) if run is not None else None
        if outcome is None and run is not None and probe_name in run.skipped:
            unasked.append(test)  # scored below, like the probes it was asked
            continue
        if outcome is None:
            test.lines.append("not run on this probe: it did not apply")
            continue
        if outcome.failure:
            test.lines.append(f"your code failed on this probe: {md(outcome.failure.message)}")
            continue
        _score(test, outcome, assignment)
    asked = [t for t in result.tests if t not in unasked]
    share = sum(t.score for t in asked) / sum(t.max_score for t in asked) if asked else 0.0
    for test in unasked:
        test.score = test.max_score * share
        test.lines.append(f"not run on this probe: {md(run.skipped[test.probe])} — scored like the probes run: "
                          f"{100 * share:.0f} % of their points")
    for test in result.tests:
        test.score = round_score(test.score)


def _explain(result, assignment, run):
    """The row's first divergence, hint and lecture line, and the full report: the Run's Headline."""
    if result.error:
        result.hint = result.error
        return
    headline = run.headline
    if headline.kind == "diverges":
        first, probe = headline.first, headline.probe.probe
        result.first_divergence = f"{first.tensor} on probe {probe.name}"
        result.hint = first.hint
        result.lecture_line = lecture_line(first.tensor, probe.problem.net, assignment.layout)
    elif headline.kind == "failed":
        result.first_divergence = f"probe {headline.probe.probe.name}"
        result.hint = headline.failure.message
    elif result.score < result.max_score:  # a probe it could not be run on
        result.status = "mismatch"
        name = next(t.probe for t in result.tests if not t.passed)
        result.first_divergence = f"probe {name}"
        result.hint = f"not run: {run.skipped.get(name, 'it did not apply')}"
    if run.results and run.shown.result is not None:
        result.report = run_report(run, colour=False)


def _score(test, probe_result, assignment):
    """A test's points: its group's gradable tensors that agree, or are only inherited."""
    outcome = probe_result.outcome
    net = probe_result.probe.problem.net
    names = [n for n in gradable(assignment.style, net) if group_of(n) == test.group]
    by_name = {c.tensor: c for c in outcome.comparisons}
    first = outcome.first_divergence
    layout = assignment.layout
    credited, lines, inherited, absent = 0.0, [], [], []
    share = INHERITED[assignment.scheme.inherited]
    for name in names:
        c = by_name[name]
        kind = verdict.of(c)
        if kind == verdict.AGREES:
            credited += 1
        elif kind == verdict.NOT_PROVIDED:
            absent.append(name)
        elif kind == verdict.INHERITED:
            credited += share
            inherited.append(name)
        else:
            cause = c.hint or (f"it differs ({measured(c, layout)})" if not c.missing else "not returned")
            line = lecture_line(name, net, layout)
            lines.append(f"{verdict.MARKS[kind]} **{name}**{' — the first divergence' if c is first else ''}: "
                         f"{md(cause)}" + (f" (the lecture's line: `{line}`)" if line else ""))
    # a tensor not returned is not checked, and is scored like those that were: within its group, the group's
    # returned tensors share the points; a group with none returned earns the share the probe's returned tensors
    # earned — green is full marks, and only wrong gradients returned earn nothing for the rest
    checked = len(names) - len(absent)
    test.score = test.max_score * (credited / checked if checked else _returned_share(probe_result, assignment))
    if inherited:
        them = "them" if len(inherited) > 1 else "it"
        cost = {1.0: f"no points lost for {them}", 0.5: f"half the points lost for {them}",
                0.0: f"this scheme gives no points for {them} all the same"}[share]
        lines.append(f"{verdict.MARKS[verdict.INHERITED]} {', '.join(inherited)}: wrong only because of "
                     f"{first.tensor if first else 'an earlier tensor'} — {cost}")
    if absent:
        lines.append(f"{verdict.MARKS[verdict.NOT_PROVIDED]} {', '.join(absent)}: not returned, so not checked — "
                     f"scored like the tensors returned")
    agreed = [n for n in names if verdict.of(by_name[n]) == verdict.AGREES]
    if agreed:
        lines.insert(0, f"{verdict.MARKS[verdict.AGREES]} {', '.join(agreed)} "
                        f"{'agree' if len(agreed) > 1 else 'agrees'} with the reference")
    test.lines = lines


def _returned_share(probe_result, assignment):
    """The share of their points a probe's returned gradable tensors earn (agreeing, or inherited at the scheme's
    share)."""
    names = gradable(assignment.style, probe_result.probe.problem.net)
    kinds = [verdict.of(c) for c in probe_result.outcome.comparisons if c.tensor in names]
    returned = [k for k in kinds if k != verdict.NOT_PROVIDED]
    earned = {verdict.AGREES: 1.0, verdict.INHERITED: INHERITED[assignment.scheme.inherited]}
    return sum(earned.get(k, 0.0) for k in returned) / len(returned) if returned else 0.0


def md(text):
    """A line of the student's own text (a hint quotes their names) safe in Markdown: no markup of theirs acts, and
    no line break or control character of theirs starts a line of its own."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", printable(text or ""))


def printable(text):
    """Text of the student's (a name, a message, a line it printed) with its control characters shown, not acting:
    no terminal escape, no carriage return, no line break to forge a row of a table or a line of a file."""
    return "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in str(text))
