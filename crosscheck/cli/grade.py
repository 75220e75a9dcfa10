"""crosscheck grade — a whole class's submissions, each in a worker process of its own, scored by a points scheme.

SUBMISSION is a .py file, a notebook or a .zip, a folder of them (one per student), or a folder of folders (one per
student; the file in each: --file NAME, else the one there, else the one that defines the style's functions and
does not look like an old copy).  The layouts courses hand in are read as they are: nbgrader's
submitted/STUDENT/ASSIGNMENT/ (--assignment picks one), a Canvas or Moodle bulk download (the student named from
it), Gradescope's submission_metadata.json (names, emails, ids).  Each submission runs under --timeout (per call),
--budget (in all), --memory and --output-limit — the self-check's defaults — inside --sandbox (bwrap where it runs:
docs/untrusted-code.md), --jobs at a time; one that hangs, crashes, exits, floods its output or imports what it may
not (crosscheck's reference; an autograd framework, unless --allow) gets its row with the reason, and the batch
always finishes.  One the grader cannot grade through no fault of the student's (its Python lacks a module the code
imports, nbformat for a notebook; a worker that cannot start) is `ungraded`: no score, and the fix in the summary.
Only the reference is compared: no framework is imported (the reference is checked against them by `compare`).

Points: --scheme FILE.toml (`crosscheck grade --show-scheme` prints the default to start from).  Written:
--out DIR (grades.csv, grades.json, summary.txt, histogram.png, feedback/NAME.txt, results/NAME.json in
Gradescope's format; --format canvas,moodle adds the CSV each gradebook imports) and --gradescope FILE (one
submission: Gradescope's results.json).  --update regrades the submissions given and keeps every other row of --out;
--resume grades only what --out has no row for yet (a class run that was interrupted).  The summary table is printed.
Exit code 0 when every submission gets full marks, 1 when one does not (its row says why), 2 on bad input.
"""
import argparse
import json
import os
import threading

from crosscheck import __version__, output
from crosscheck.classroom import grading
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.engine.layouts import LAYOUTS
from crosscheck.errors import UsageError
from crosscheck.student.styles import STYLES

EXAMPLES = """\
examples:
  crosscheck grade submissions/ --out graded/                     a folder of files, folders or .zip files
  crosscheck grade submitted/ --assignment hw3 --out graded/      nbgrader's submitted/STUDENT/hw3/
  crosscheck grade canvas/ --out graded/ --format canvas          a Canvas bulk download; graded/canvas.csv
  crosscheck grade submissions/bob --out graded/ --update         regrade bob, keep every other row
  crosscheck grade submissions/ --out graded/ --resume            finish a class run that was interrupted
  crosscheck grade /autograder/submission --gradescope /autograder/results/results.json
  crosscheck grade --show-scheme > scheme.toml                    the default points scheme, to edit
"""
GRADES = "grades.json"   # every row and the options they were graded with: what --update and --resume read
# each row as it is graded, one JSON line each (the first: the version and options), until grades.json is written:
# what --resume reads after an interruption (appended, not rewritten: a class of a thousand costs no more per row)
JOURNAL = "grades.partial.jsonl"


def add_arguments(parser):
    parser.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                        help="a .py file, notebook or .zip, a folder of them, or a folder of folders (one per student)")
    parser.add_argument("--style", choices=list(STYLES), default="lecture",
                        help="how the submissions are written: lecture (backprop(X, Y, params)), dls, cs231n")
    parser.add_argument("--layout", choices=LAYOUTS, default=None, help="rows (the lecture's) or columns")
    parser.add_argument("--entry", metavar="NAME", help="the function or class to call (default: the style's)")
    parser.add_argument("--file", metavar="NAME",
                        help="the file to grade in each student's folder (e.g. backprop.py or homework.ipynb)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="the assignment's name: its folder in nbgrader's submitted/STUDENT/NAME/, the file "
                             "named like it where a student has several, its column in --format canvas")
    parser.add_argument("--scheme", metavar="FILE.toml", help="the points scheme (default: --show-scheme)")
    parser.add_argument("--show-scheme", action="store_true", help="print the default points scheme and exit")
    parser.add_argument("--layers", type=options.parse_layers, default=None, metavar="N0,N1,…",
                        help="the network asked for (default: the style's own; the lecture's is 2,4,3)")
    options.add_network_arguments(parser, layers=False)
    parser.set_defaults(activation=None, loss=None, l2_convention=None)  # each style has its own (student.styles)
    options.add_layer_arguments(parser, inference=True)  # the self-check's --keep-prob …: the same options, the same verdict
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="precision (default float64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the problem and the probes (default 0)")
    parser.add_argument("--seed-per-student", action="store_true",
                        help="draw each student's probes from a seed of their own (from --seed and their id or name; "
                             "recorded in their row, so that a regrade is identical): a classmate's expected tensors "
                             "are no use")
    parser.add_argument("--jobs", type=options.positive_int, default=_cores(), metavar="N",
                        help=f"submissions graded at once (default {_cores()}: one per core)")
    options.add_limit_arguments(parser, who="a submission", grader=True)
    parser.add_argument("--out", metavar="DIR", help="write grades.csv, grades.json, summary.txt, histogram.png, "
                                                      "feedback/ and results/ (Gradescope's results.json per "
                                                      "submission) here")
    parser.add_argument("--format", type=_formats, action="extend", default=[], metavar="LMS",
                        help="also write the CSV a gradebook imports, in --out: canvas (canvas.csv), moodle "
                             "(moodle.csv: the grading worksheet); comma-separated or repeated")
    changes = parser.add_mutually_exclusive_group()
    changes.add_argument("--update", action="store_true",
                         help="regrade the SUBMISSIONs given and keep every other row of --out (its grades.json): "
                              "their seeds and the options must be the same")
    changes.add_argument("--resume", action="store_true",
                         help="grade only the SUBMISSIONs --out has no row for yet (a class run that was interrupted)")
    parser.add_argument("--gradescope", metavar="FILE", help="one submission: write Gradescope's results.json here "
                                                              "(its folder is one student's)")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def _cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _formats(text):
    names = [name for name in text.replace(" ", "").split(",") if name]
    unknown = [name for name in names if name not in grading.GRADEBOOKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"no gradebook format {', '.join(unknown) or text!r}; choose from "
                                         f"{', '.join(grading.GRADEBOOKS)}")
    return names


def run(args):
    if args.show_scheme:
        print(grading.DEFAULT_SCHEME, end="")
        return 0
    if not args.submissions:
        raise UsageError("grade: give at least one SUBMISSION (a file, a folder of files, or a folder of folders)")
    if args.gradescope and len(args.submissions) != 1:
        raise UsageError("--gradescope FILE writes one submission's results: give one SUBMISSION")
    for flag, given in (("--update", args.update), ("--resume", args.resume), ("--format", args.format)):
        if given and not args.out:
            raise UsageError(f"{flag} works on an --out DIR: give one")
    scheme = grading.Scheme.load(args.scheme) if args.scheme else grading.Scheme()
    assignment = grading.Assignment(scheme, style=args.style, layout=args.layout, entry=args.entry,
                                    spec=options.spec(args), limits=options.limits(args),
                                    seed_per_student=args.seed_per_student)
    assignment.runner.boundary  # noqa: B018 — a --sandbox that cannot run here is exit 2, before anything runs
    meta = grading.record(assignment, __version__, file=args.file, name=args.assignment)
    previous = _previous(args, meta)
    notes = []
    submissions = grading.discover(args.submissions, args.style, args.file, args.entry, single=bool(args.gradescope),
                                   assignment=args.assignment, students=_names(previous), notes=notes)
    order = [s.name for s in submissions]
    if args.update:  # a student regraded is graded on the seed they were graded on
        for s in submissions:
            match = _matching(previous, s)
            if match is not None and match.get("seed") is not None and args.seed_per_student:
                s.seed = match["seed"]
    if args.resume:
        graded = [s for s in submissions if _matching(previous, s) is not None]
        submissions = [s for s in submissions if s not in graded]
        notes.append(f"--resume: {len(graded)} already graded in {args.out}, {len(submissions)} to grade")
    files = planned_files(args, submissions)
    check_files(files, args.force or args.update or args.resume)

    writer = _Writer(args, files, assignment, meta, previous, notes)
    try:
        with Progress(len(submissions), "grading", enabled=False if args.json else None) as bar:
            def done(result):
                writer.one(result)
                bar.advance(result.name)
            results = grading.grade(submissions, assignment, jobs=args.jobs, progress=done)
        rows = writer.rows(order=None if args.update else order)
        text = grading.summary(rows, assignment, notes, meta)
        written = writer.finish(rows, text, results)
    finally:
        writer.close()
    if args.out and not _have_matplotlib():
        notes.append("histogram.png not drawn: matplotlib is not installed (pip install 'backprop-crosscheck[plot]')")
    if args.json:
        output.emit_json({**grading.as_json(rows, assignment, meta, notes), "files": written})
    else:
        print(text)
        for what in written:
            print(f"wrote {what}")
        if args.out and not _have_matplotlib():
            print(notes[-1])
    return 0 if all(r["status"] == "ok" for r in rows) else 1


# ---- an earlier run in --out: what --update and --resume keep --------------------------------------------

def _previous(args, meta):
    """The rows of --out's grades.json (and, for --resume, of an interrupted run's journal) for --update and --resume
    ([] for a fresh run); UsageError when they were graded with other options (a regrade must be graded as the class
    was)."""
    if not (args.update or args.resume):
        return []
    grades, journal = os.path.join(args.out, GRADES), os.path.join(args.out, JOURNAL)
    if args.update and not _regular(grades):
        raise UsageError(f"--update {args.out}: no {GRADES} there to update (grade the class with --out first)")
    recorded = []   # (options, rows), of grades.json and of the journal
    try:
        if _regular(grades):
            with open(grades, encoding="utf-8") as f:
                document = json.load(f)
            recorded.append((document["crosscheck"]["options"], list(document["submissions"])))
        if args.resume and _regular(journal):
            with open(journal, encoding="utf-8") as f:
                lines = [json.loads(line) for line in f if line.strip()]
            recorded.append((lines[0]["crosscheck"]["options"], lines[1:]))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise UsageError(f"--out {args.out}: what an earlier run wrote there cannot be read ({type(exc).__name__})") \
            from None
    rows = []
    for options_then, graded in recorded:
        for row in _recorded(args, meta, options_then, graded):
            rows = [r for r in rows if r["submission"] != row["submission"]] + [row]
    return rows


def _recorded(args, meta, recorded, rows):
    """rows, when they were graded with the options given now; else UsageError naming those that differ."""
    changed = sorted(key for key in set(recorded) | set(meta["options"])
                     if _comparable(recorded.get(key), key) != _comparable(meta["options"].get(key), key))
    if changed:
        raise UsageError(f"--out {args.out} was graded with other options ({', '.join(changed)} differ): give the "
                         f"same options to {'--update' if args.update else '--resume'}, or grade the class again")
    return rows


def _regular(path):
    return os.path.isfile(path) and not os.path.islink(path)


def _comparable(value, key):
    """An option as a regrade must repeat it: which file and which assignment folder are chosen (--file, --assignment:
    what a regrade of one student is for) and the sandbox (the machine's) may differ, nothing else."""
    if key in ("file", "name"):
        return None
    if key == "limits" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "sandbox"}
    return value


def _names(rows):
    return {name for r in rows for name in (r["submission"], r.get("student_id")) if name}


def _matching(rows, submission):
    """The row of an earlier run that is this submission's: the same LMS id, else the same name."""
    for r in rows:
        if submission.student_id and r.get("student_id"):
            if str(r["student_id"]) == str(submission.student_id):
                return r
        elif r["submission"] == submission.name:
            return r
    return None


class _Writer:
    """Each submission's files as soon as it is graded (its worker has ended by then), and its row in the journal,
    so that an interrupted run keeps what it graded; the class's files at the end, and the journal goes."""

    def __init__(self, args, files, assignment, meta, previous, notes):
        self.args, self.files, self.assignment, self.meta, self.notes = args, files, assignment, meta, notes
        self.previous, self.graded, self.lock, self.written = list(previous), [], threading.Lock(), set()
        self.force = args.force or args.update or args.resume
        self.journal = None
        if args.out:
            path = os.path.join(args.out, JOURNAL)
            os.makedirs(args.out, exist_ok=True)
            fresh = not (args.resume and _regular(path))
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_TRUNC if fresh else 0)
            self.journal = os.fdopen(os.open(path, flags, 0o644), "a", encoding="utf-8")
            if fresh:
                self._log({"crosscheck": meta})

    def close(self):
        if self.journal is not None and not self.journal.closed:
            self.journal.close()

    def _log(self, record):
        self.journal.write(json.dumps(output.finite(record), ensure_ascii=False) + "\n")
        self.journal.flush()

    def one(self, result):
        with self.lock:
            self.graded.append(result)
            for path, (kind, submission) in self.files.items():
                if submission is result.submission and kind in ("feedback", "results"):
                    self._write(path, kind, result)
            if self.journal is not None:
                self._log(result.as_json())

    def rows(self, order=None):
        """Every row: the earlier run's, each replaced by its regrade, then the new ones (in `order` of names)."""
        rows = list(self.previous)
        for result in self.graded:
            new = result.as_json()
            at = next((i for i, r in enumerate(rows) if _matching([r], result.submission) is not None), None)
            if at is None:
                rows.append(new)
            else:
                rows[at] = new
        if order:
            place = {name: i for i, name in enumerate(order)}
            rows.sort(key=lambda r: place.get(r["submission"], -1))
        return rows

    def finish(self, rows, summary_text, results):
        """The class's files from every row; then the journal goes (grades.json holds it all)."""
        written = []
        for path, (kind, submission) in self.files.items():
            if kind in ("feedback", "results", "journal"):
                continue
            result = next((r for r in results if r.submission is submission), None)
            self._write(path, kind, result, rows=rows, summary_text=summary_text)
            written.append(path)
        if any(kind == "feedback" for kind, _ in self.files.values()):
            written.append(os.path.join(self.args.out, "feedback", ""))
            written.append(os.path.join(self.args.out, "results", ""))
        if self.journal is not None:
            self.close()
            os.unlink(os.path.join(self.args.out, JOURNAL))
        return written

    def _write(self, path, kind, result, rows=None, summary_text=None):
        assignment, meta = self.assignment, self.meta
        if kind in ("gradescope", "results"):
            data = grading.dumps(grading.gradescope(result, assignment, meta))
        elif kind == "feedback":
            data = grading.feedback(result, assignment, meta)
        elif kind == "grades":
            data = grading.dumps(grading.as_json(rows, assignment, meta, self.notes))
        elif kind == "csv":
            data = grading.csv_text(rows)
        elif kind in grading.GRADEBOOKS:
            data = grading.gradebook(rows, assignment, kind, self.args.assignment or "crosscheck")
        elif kind == "summary":
            data = summary_text + "\n"
        else:
            data = grading.histogram_png(rows, assignment)
        payload = data if isinstance(data, bytes) else data.encode("utf-8")
        # replacing: what --force, --update or --resume allow, and what this run wrote itself (grades.json)
        force = self.force or path in self.written
        output.write(path, lambda f, payload=payload: f.write(payload), force, flag=_flag(kind))
        self.written.add(path)


# ---- the files: all checked before any submission runs, under the one output policy ------------------

def planned_files(args, submissions):
    """{path: (kind, submission or None)} of everything this run writes."""
    files = {}
    if args.gradescope:
        files[args.gradescope] = ("gradescope", submissions[0])
    if args.out:
        files[os.path.join(args.out, "grades.csv")] = ("csv", None)
        files[os.path.join(args.out, GRADES)] = ("grades", None)
        files[os.path.join(args.out, JOURNAL)] = ("journal", None)   # checked only: it is appended to, then goes
        for lms in dict.fromkeys(args.format):
            files[os.path.join(args.out, f"{lms}.csv")] = (lms, None)
        files[os.path.join(args.out, "summary.txt")] = ("summary", None)
        if _have_matplotlib():
            files[os.path.join(args.out, "histogram.png")] = ("histogram", None)
        for s in submissions:
            name = grading.file_name(s.name)
            files[os.path.join(args.out, "feedback", f"{name}.txt")] = ("feedback", s)
            files[os.path.join(args.out, "results", f"{name}.json")] = ("results", s)
    return files


def _have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def check_files(files, force):
    """Every file this run writes, checked before any submission runs (crosscheck.output.check_outputs)."""
    output.check_outputs({path: _flag(kind) for path, (kind, _) in files.items()}, force)


def _flag(kind):
    return "--gradescope" if kind == "gradescope" else "--out"
