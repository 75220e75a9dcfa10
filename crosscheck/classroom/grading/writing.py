"""What grading writes: the instructor's CSV and summary, each student's feedback and Gradescope results.json,
the histogram.  Every function returns text or bytes; the command writes them under the one output policy
(crosscheck.output), and only once every worker has ended.

Every string a student controls — a file or folder name, a message of their code's, what it printed — is
neutralised where it lands: control characters shown, not acting (a terminal escape, a newline in a folder name
that would forge a row), Markdown escaped (md), and a CSV cell that a spreadsheet would run as a formula (=, +, -,
@, tab, CR first) prefixed with '.
"""
import csv
import io
import json
import re

from crosscheck.classroom.grading.scheme import GROUPS, round_score
from crosscheck.classroom.grading.scoring import STATUSES, md, printable
from crosscheck.console import table
from crosscheck.engine.probes import PROBES
from crosscheck.output import finite

CSV_COLUMNS = ("submission", "score", "max_score", "percent", "status", "first_divergence", "hint", "seconds",
               "peak_memory_mb", "sandbox", "path")
FORMULA = ("=", "+", "-", "@", "\t", "\r")   # what a spreadsheet runs, at the start of a cell


def csv_text(results):
    """One row per submission."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in results:
        writer.writerow([_cell(r.name), _number(r.score), _number(r.max_score),
                         _number(round(100 * r.score / r.max_score, 1)) if r.max_score else "", r.status,
                         _cell(r.first_divergence), _cell(r.hint), f"{r.seconds:.2f}",
                         "" if r.peak_memory_mb is None else f"{r.peak_memory_mb:.0f}", r.sandbox or "",
                         _cell(r.submission.path)])
    return buffer.getvalue()


def _cell(text):
    """A text cell of the student's: printable, and never a formula."""
    text = printable(text or "")
    return "'" + text if text.startswith(FORMULA) else text


def _number(x):
    return f"{round(x, 2):g}"


def gradescope(result, assignment):
    """The Gradescope results.json of one submission (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
    return {"score": result.score, "execution_time": round(result.seconds, 3),
            "output": student_summary(result, assignment), "output_format": "md",
            "tests": [t.as_gradescope() for t in result.tests],
            "extra_data": {"status": result.status, "first_divergence": result.first_divergence,
                           "max_score": result.max_score, "sandbox": result.sandbox}}


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
        lines.append(f"✗ {md(result.error)}")
    elif visible:
        failed = [t for t in visible if not t.passed]
        earned = sum(t.score for t in visible)
        worth = sum(t.max_score for t in visible)
        lines.append(f"visible tests ({', '.join(sorted({t.probe for t in visible}))}): {_number(round_score(earned))} / "
                     f"{_number(round_score(worth))} points" + (" — all passed" if not failed else ""))
        for t in failed:
            lines.append(f"✗ {t.name}:\n" + "\n".join(f"- {line}" for line in t.lines))
    if hidden:
        lines.append(f"hidden tests: {len(hidden)}, worth {_number(round_score(sum(t.max_score for t in hidden)))} points, "
                     f"on the probes {', '.join(sorted({t.probe for t in hidden}, key=list(PROBES).index))}; they "
                     f"count in the score above, and their details are shown {SHOWN[scheme.hidden]}")
    return "\n\n".join(lines)


def feedback(result, assignment):
    """A student's feedback as plain text: the score, the first divergence and its cause, the points probe by probe
    and group by group, why each point was lost (each reason once), what the code printed, the full report."""
    lines = [f"{printable(result.name)}: {_number(result.score)} / {_number(result.max_score)} points "
             f"({result.status})", ""]
    if result.error:
        lines += [f"✗ {printable(result.error)}", ""]
    elif result.first_divergence:
        lines.append(f"✗ first divergence: {result.first_divergence}")
        lines.append(f"  probable cause: {printable(result.hint)}")
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
        rows.append([f"{mark} {probe}", title, *cells, f"{_number(round_score(earned))} / {_number(round_score(worth))}"])
        for t in tests.values():
            if t.passed:
                continue
            for line in t.lines:
                if not line.startswith("✓"):
                    reasons.setdefault(_plain(line), []).append(probe)
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
        lines += ["", f"your code printed on {stream} (the last lines):"] + [f"  │ {printable(l)}"
                                                                             for l in captured["text"].splitlines()]
    if result.report:
        lines += ["", "the report of the probe shown (crosscheck compare --impl prints the same):", ""]
        lines += [printable(line) for line in result.report.splitlines()]
    return "\n".join(lines) + "\n"


def _plain(markdown):
    return re.sub(r"\\(.)", r"\1", markdown).replace("**", "").replace("`", "")


def summary(results, assignment):
    """The instructor's table and figures: every row, then the scores, the statuses, the commonest mistakes."""
    rows = [[printable(r.name), f"{_number(r.score)}/{_number(r.max_score)}", r.status, r.first_divergence or "",
             _short(printable(r.hint or ""), 70), f"{r.seconds:.1f}s"] for r in results]
    lines = [table(["submission", "score", "status", "first divergence", "probable cause", "time"], rows,
                   align=["l", "r", "l", "l", "l", "r"]), ""]
    scores = sorted(r.score for r in results)
    if scores:
        n = len(scores)
        median = scores[n // 2] if n % 2 else (scores[n // 2 - 1] + scores[n // 2]) / 2
        lines.append(f"{n} submissions · max {_number(assignment.max_score)} points · mean {sum(scores) / n:.2f} · "
                     f"median {_number(round_score(median))} · min {_number(scores[0])} · max {_number(scores[-1])} · "
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
    lines.append(boundary_line(assignment))
    return "\n".join(lines)


def boundary_line(assignment):
    """What every submission's code ran in, in one line (a warning where there was no sandbox)."""
    return f"sandbox: {assignment.runner.boundary.describe()}"


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
    boundary = assignment.runner.boundary
    return {"ok": all(r.status == "ok" for r in results), "max_score": assignment.max_score,
            "style": assignment.style, "probes": list(assignment.probes),
            "sandbox": {"kind": boundary.kind, "note": boundary.describe()},
            "not_graded": dict(assignment.not_graded),
            "submissions": [r.as_json() for r in results]}


def file_name(name):
    """A submission's name as a file name: no directories, nothing but letters, digits, '.', '-' and '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def dumps(document):
    return json.dumps(finite(document), indent=2, ensure_ascii=False) + "\n"
