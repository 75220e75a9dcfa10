"""crosscheck grade — a whole class's submissions, each in a worker process of its own, scored by a points scheme.

SUBMISSION is a .py file or a notebook, a folder of them (one per student), or a folder of folders (one per
student; the file in each: --file NAME, else the one there, else the one that defines the style's functions).
Each submission runs under --timeout (per call), --budget (in all), --memory and --output-limit, inside --sandbox
(bwrap where it runs: docs/untrusted-code.md), --jobs at a time; one that hangs, crashes, exits, floods its output
or imports what it may not (crosscheck's reference; an autograd framework, unless --allow) gets its row with the
reason, and the batch always finishes.  Only the reference is
compared: no framework is imported (the reference is checked against them by `crosscheck compare`).

Points: --scheme FILE.toml (`crosscheck grade --show-scheme` prints the default to start from).  Written:
--out DIR (grades.csv, summary.txt, histogram.png, feedback/NAME.txt, results/NAME.json in Gradescope's
format) and --gradescope FILE (one submission: Gradescope's results.json).  The summary table is printed.
Exit code 0 when every submission gets full marks, 1 when one does not (its row says why), 2 on bad input.
"""
import os

from crosscheck import output
from crosscheck.classroom import grading
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.engine.layouts import LAYOUTS
from crosscheck.errors import UsageError
from crosscheck.student.styles import STYLES


def add_arguments(parser):
    parser.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                        help="a .py file or notebook, a folder of them, or a folder of folders (one per student)")
    parser.add_argument("--style", choices=list(STYLES), default="lecture",
                        help="how the submissions are written: lecture (backprop(X, Y, params)), dls, cs231n")
    parser.add_argument("--layout", choices=LAYOUTS, default=None, help="rows (the lecture's) or columns")
    parser.add_argument("--entry", metavar="NAME", help="the function or class to call (default: the style's)")
    parser.add_argument("--file", metavar="NAME",
                        help="the file to grade in each student's folder (e.g. backprop.py or homework.ipynb)")
    parser.add_argument("--scheme", metavar="FILE.toml", help="the points scheme (default: --show-scheme)")
    parser.add_argument("--show-scheme", action="store_true", help="print the default points scheme and exit")
    parser.add_argument("--layers", type=options.parse_layers, default=None, metavar="N0,N1,…",
                        help="the network asked for (default: the style's own; the lecture's is 2,4,3)")
    options.add_network_arguments(parser, layers=False)
    parser.set_defaults(activation=None, loss=None, l2_convention=None)  # each style has its own (student.styles)
    options.add_layer_arguments(parser, inference=True)  # the self-check's --keep-prob …: the same options, the same verdict
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="precision (default float64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the problem and the probes (default 0)")
    parser.add_argument("--jobs", type=options.positive_int, default=_cores(), metavar="N",
                        help=f"submissions graded at once (default {_cores()}: one per core)")
    options.add_limit_arguments(parser, who="a submission", grader=True)
    parser.add_argument("--out", metavar="DIR", help="write grades.csv, summary.txt, histogram.png, feedback/ and "
                                                      "results/ (Gradescope's results.json per submission) here")
    parser.add_argument("--gradescope", metavar="FILE", help="one submission: write Gradescope's results.json here "
                                                              "(its folder is one student's)")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def _cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run(args):
    if args.show_scheme:
        print(grading.DEFAULT_SCHEME, end="")
        return 0
    if not args.submissions:
        raise UsageError("grade: give at least one SUBMISSION (a file, a folder of files, or a folder of folders)")
    if args.gradescope and len(args.submissions) != 1:
        raise UsageError("--gradescope FILE writes one submission's results: give one SUBMISSION")
    scheme = grading.Scheme.load(args.scheme) if args.scheme else grading.Scheme()
    assignment = grading.Assignment(scheme, style=args.style, layout=args.layout, entry=args.entry,
                                    spec=options.spec(args), limits=options.limits(args))
    submissions = grading.discover(args.submissions, args.style, args.file, args.entry, single=bool(args.gradescope))
    files = planned_files(args, submissions)
    check_files(files, args.force)

    with Progress(len(submissions), "grading", enabled=False if args.json else None) as bar:
        results = grading.grade(submissions, assignment, jobs=args.jobs, progress=lambda r: bar.advance(r.name))
    text = grading.summary(results, assignment)
    written = write_files(files, results, assignment, args.force, text)
    notes = []
    if args.out and not _have_matplotlib():
        notes.append("histogram.png not drawn: matplotlib is not installed (pip install 'backprop-crosscheck[plot]')")
    if args.json:
        output.emit_json({**grading.as_json(results, assignment), "files": written, "notes": notes})
    else:
        print(text)
        for what in written:
            print(f"wrote {what}")
        for note in notes:
            print(note)
    return 0 if all(r.status == "ok" for r in results) else 1


# ---- the files: all checked before any submission runs, under the one output policy ------------------

def planned_files(args, submissions):
    """{path: (kind, submission or None)} of everything this run writes."""
    files = {}
    if args.gradescope:
        files[args.gradescope] = ("gradescope", submissions[0])
    if args.out:
        files[os.path.join(args.out, "grades.csv")] = ("csv", None)
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


def write_files(files, results, assignment, force, summary_text):
    by_submission = {id(r.submission): r for r in results}
    written = []
    for path, (kind, submission) in files.items():
        result = by_submission.get(id(submission))
        if kind in ("gradescope", "results"):
            data = grading.dumps(grading.gradescope(result, assignment))
        elif kind == "feedback":
            data = grading.feedback(result, assignment)
        elif kind == "csv":
            data = grading.csv_text(results)
        elif kind == "summary":
            data = summary_text + "\n"
        else:
            data = grading.histogram_png(results, assignment)
        payload = data if isinstance(data, bytes) else data.encode("utf-8")
        output.write(path, lambda f, payload=payload: f.write(payload), force, flag=_flag(kind))
        if kind not in ("feedback", "results"):
            written.append(path)
    if any(kind == "feedback" for kind, _ in files.values()):
        written.append(os.path.join(os.path.dirname(next(p for p, (k, _) in files.items() if k == "feedback")), ""))
        written.append(os.path.join(os.path.dirname(next(p for p, (k, _) in files.items() if k == "results")), ""))
    return written
