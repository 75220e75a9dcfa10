"""The grading benchmark: a generated class — correct submissions, every catalogued bug, a few that hang, crash,
exit or flood their output — graded by `crosscheck grade`'s engine with isolation (a worker per submission),
twice: inside the sandbox `grade` uses by default (bwrap where it runs) and with none, the figures side by side.
It prints figures (submissions per second, peak memory per worker and of the grader); it asserts nothing.

    python -m bench.grading                                 # 100 submissions, --jobs 2, --timeout 5
    python -m bench.grading --submissions 200 --jobs 4 --keep /tmp/class
    python -m bench.grading --sandbox bwrap                 # one boundary only

Each bug is a file of its own: the correct implementation of crosscheck/bugs/steps.py with the catalogue's
mutation written into it, so a worker imports NumPy and that file, nothing else.  The class is graded on the
lecture's 2-4-3 ReLU network: a bug whose scenario is another network (tanh, sigmoid, a deeper net) may not
show there, and its submission keeps full marks — as in a real class.
"""
import argparse
import inspect
import os
import resource
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crosscheck.bugs import catalogue, steps  # noqa: E402
from crosscheck.classroom import grading  # noqa: E402
from crosscheck.student.runner import Limits  # noqa: E402

MISBEHAVING = {
    "hangs": 'def backprop(X, Y, params, activation="relu"):\n    while True:\n        pass\n',
    "segfaults": ('import os, signal\n\ndef backprop(X, Y, params, activation="relu"):\n'
                  '    os.kill(os.getpid(), signal.SIGSEGV)\n'),
    "exits": "import sys\nsys.exit(0)\n",
    "os-exits": 'import os\n\ndef backprop(X, Y, params, activation="relu"):\n    os._exit(0)\n',
    "floods": 'def backprop(X, Y, params, activation="relu"):\n    while True:\n        print("x" * 10000)\n',
    "raises": 'import numpy as np\n\ndef backprop(X, Y, params, activation="relu"):\n    return np.zeros(3) @ X\n',
}
# how many of each in a class of 100 (a few, as in a real class); the rest are correct
COUNTS = {"hangs": 3, "segfaults": 2, "exits": 1, "os-exits": 1, "floods": 1, "raises": 1}


def bug_source(bug):
    """A standalone file: the correct steps, the bug's replacement steps, and backprop built from them."""
    source = inspect.getsource(steps)
    mutation = "".join(textwrap.dedent(inspect.getsource(f)) + "\n\n" for f in bug.mutation.values())
    table = ", ".join(f"{step!r}: {f.__name__}" for step, f in bug.mutation.items())
    return f"{source}\n\n# ---- the mistake: {bug.title}\n\n{mutation}backprop = make_backprop({{{table}}})\n"


def make_class(folder, n=100, bugs=None):
    """n submissions in folder (at least every bug, one of each misbehaving kind and two correct ones):
    {name: what it is}.  bugs: how many of the catalogue's (default all of the row layout's)."""
    folder = Path(folder)
    kinds = {}
    bugs = [bug for bug in catalogue.BUGS if bug.scenario.layout == "rows"][:bugs]  # one class, one layout
    for i, bug in enumerate(bugs):
        name = f"bug{i:02d}-{bug.name}.py"
        (folder / name).write_text(bug_source(bug))
        kinds[name] = f"bug: {bug.name}"
    for kind, count in COUNTS.items():
        for i in range(count if n >= 100 else 1):
            name = f"z-{kind}-{i}.py"
            (folder / name).write_text(MISBEHAVING[kind])
            kinds[name] = kind
    correct = inspect.getsource(steps)
    for i in range(max(2, n - len(kinds))):
        name = f"correct-{i:03d}.py"
        (folder / name).write_text(correct)
        kinds[name] = "correct"
    return kinds


def run(n=100, jobs=2, timeout=5.0, keep=None, out=print, bugs=None, sandbox="auto"):
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="crosscheck-grading-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        kinds = make_class(folder, n, bugs)
        assignment = grading.Assignment(grading.Scheme(), limits=Limits(timeout=timeout, sandbox=sandbox))
        submissions = grading.discover([folder])
        start = time.perf_counter()
        results = grading.grade(submissions, assignment, jobs=jobs)
        wall = time.perf_counter() - start
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    figures = summarize(results, kinds, wall, jobs, timeout, assignment.runner.boundary.kind)
    out(report(figures, results, assignment))
    return figures, results


def summarize(results, kinds, wall, jobs, timeout, sandbox):
    peaks = [r.peak_memory_mb for r in results if r.peak_memory_mb is not None]
    seconds = [r.seconds for r in results]
    statuses = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    bugs = [r for r in results if kinds[r.name].startswith("bug")]
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "submissions": len(results), "jobs": jobs, "timeout": timeout, "wall_seconds": wall, "sandbox": sandbox,
        "per_second": len(results) / wall,
        "median_seconds": statistics.median(seconds), "max_seconds": max(seconds),
        "worker_peak_mb_median": statistics.median(peaks) if peaks else None,
        "worker_peak_mb_max": max(peaks) if peaks else None,
        "grader_peak_mb": self_kb / (2**20 if sys.platform == "darwin" else 2**10),
        "statuses": statuses,
        "bugs": len(bugs), "bugs_losing_points": sum(1 for r in bugs if r.score < r.max_score),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }


def report(f, results, assignment):
    lines = [
        f"crosscheck grade · {f['submissions']} generated submissions · --jobs {f['jobs']} · --timeout {f['timeout']:g} s"
        f" · {f['cores']} cores · --sandbox {f['sandbox']}",
        f"  wall time          {f['wall_seconds']:.1f} s  ({f['per_second']:.1f} submissions/s)",
        f"  per submission     median {f['median_seconds']:.2f} s, max {f['max_seconds']:.2f} s (a hang: the timeout)",
        f"  worker peak RSS    median {f['worker_peak_mb_median']:.0f} MB, max {f['worker_peak_mb_max']:.0f} MB "
        f"(Gradescope's default: 768 MB)",
        f"  grader peak RSS    {f['grader_peak_mb']:.0f} MB (this process: the engine, NumPy, every report)",
        "  statuses           " + ", ".join(f"{k} {v}" for k, v in sorted(f["statuses"].items())),
        f"  catalogued bugs    {f['bugs']}, of which {f['bugs_losing_points']} lose points on the lecture's 2-4-3 "
        f"ReLU network (the others show on their own scenario's network)",
        "",
        next(line for line in grading.summary(results, assignment).splitlines() if line.endswith(
            f"full marks {sum(1 for r in results if r.score >= r.max_score)}")),
    ]
    return "\n".join(lines)


def compared(figures):
    """The throughput in each boundary, side by side, in one line."""
    return "throughput: " + " · ".join(f"--sandbox {f['sandbox']} {f['per_second']:.1f} submissions/s"
                                       for f in figures)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.grading", description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--keep", metavar="DIR", help="write the class here and keep it")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "user", "none"), action="append",
                        help="the boundary (repeatable; default: auto, then none)")
    args = parser.parse_args(argv)
    figures = []
    for i, sandbox in enumerate(args.sandbox or ["auto", "none"]):
        if i:
            print()
        figures.append(run(args.submissions, args.jobs, args.timeout, args.keep, sandbox=sandbox)[0])
    print()
    print(compared(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
