"""What grading writes: the instructor's CSV, gradebooks an LMS imports, summary and grades.json; each student's
feedback and Gradescope results.json; the histogram.  Every function returns text or bytes; the command writes them
under the one output policy (crosscheck.output), each submission's only once its worker has ended.

The class-wide writers (csv_text, gradebook, summary, histogram_png, as_json) take Grades or their rows
(Grade.as_json(), as grades.json keeps them): a regrade of a few students rewrites them from every row.

Every output names the tool's version and the options that decided the scores (record(): grades.json,
results.json's extra_data, the feedback's first line, the summary's last; the CSVs stay plain tables an LMS imports).

A student's summary never gives away what is hidden: with hidden tests and the scheme's show_total off, it shows
only the visible tests' points, and results.json hides the total as Gradescope does (gradescope()).  A submission
the grader could not grade (`ungraded`: its own machine lacks a module, an extra; a bug of crosscheck's) has no
score anywhere — a blank cell, null, no score in results.json — and the fix for the instructor.

Every string a student controls — a file or folder name, a name or email an LMS gives, a message of their code's,
what it printed — is neutralised where it lands: control characters shown, not acting (a terminal escape, a newline
in a folder name that would forge a row), Markdown escaped (md), and a CSV cell that a spreadsheet would run as a
formula (=, +, -, @, tab, CR first) prefixed with '.
"""
import csv
import io
import json
import math
import re

from crosscheck.classroom.grading.scheme import GROUPS, round_score
from crosscheck.classroom.grading.scoring import STATUSES, UNGRADED, Grade, md, printable
from crosscheck.console import table
from crosscheck.engine.probes import PROBES
from crosscheck.output import finite
from crosscheck.student.implementation import resolve_style
from crosscheck.student.isolated import AUTOGRAD

CSV_COLUMNS = ("student_id", "name", "email", "submission", "score", "max_score", "percent", "status",
               "first_divergence", "hint", "note", "seed", "seconds", "peak_memory_mb", "sandbox", "path")
FORMULA = ("=", "+", "-", "@", "\t", "\r")   # what a spreadsheet runs, at the start of a cell
BOM = "\ufeff"   # Excel reads a CSV as UTF-8 only when it starts with one (Canvas and Moodle skip it)
# the columns each gradebook's import reads, and nothing else:
#   Canvas: the Gradebook's export/import CSV — Student, ID, SIS User ID, SIS Login ID, Section, then one column per
#           assignment, and a "Points Possible" row under the header (Canvas matches a row by ID, else SIS User ID,
#           else the name; a blank score leaves the grade as it is)
#   Moodle: the assignment's offline grading worksheet (Download/Upload grading worksheet), matched on Identifier
#           ("Participant <id>", the id of its download's folder names)
GRADEBOOKS = {
    "canvas": ("Student", "ID", "SIS User ID", "SIS Login ID", "Section"),
    "moodle": ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
               "Last modified (submission)", "Last modified (grade)", "Feedback comments"),
}
# the histogram's colour of each status: graded in full, points lost, the code failed, refused, nothing handed in
STATUS_COLOURS = {"ok": "#2a9d3f", "mismatch": "#e69f00", "error": "#d62728", "exit": "#d62728",
                  "timeout": "#d62728", "memory": "#d62728", "output": "#d62728", "crashed": "#d62728",
                  "forbidden": "#7b3294", "missing": "#9a9a9a"}
DPI = 150   # sharp on a slide


def row(r):
    """A Grade's row, or a row as grades.json keeps it."""
    return r.as_json() if isinstance(r, Grade) else r


def record(assignment, version, **extra):
    """The tool's version (crosscheck.__version__: the command line's to give) and the options that decided the
    scores (what a regrade must repeat), with the command's own (extra)."""
    return {"version": version, "options": {**assignment.options(), **extra}}


def record_line(meta):
    """record() in one line: the version, the style, the seed, and every other option that is not its default."""
    from crosscheck.engine.problem import Spec
    from crosscheck.student.runner import Limits
    options = meta["options"]
    spec, limits = options.get("spec", {}), options.get("limits", {})
    parts = [f"style {options.get('style')}", f"seed {spec.get('seed', 0)}"]
    parts += [f"{k} {','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in spec.items()
              if k != "seed" and v != getattr(Spec(), k, None)]
    parts += [f"{k} {v}" for k, v in limits.items()
              if k not in ("budget", "refuse") and _differs(v, getattr(Limits(), k, None))]
    allowed = [n for n in AUTOGRAD if n not in limits.get("refuse", AUTOGRAD)]
    if allowed and limits.get("refuse"):
        parts.append(f"allow {','.join(allowed)}")
    if options.get("layout") and options["layout"] != resolve_style(options.get("style"), None)[1]:
        parts.append(f"layout {options['layout']}")   # the style's own layout goes without saying
    parts += [f"{'assignment' if k == 'name' else k} {v}" for k, v in options.items()
              if k in ("entry", "file", "name") and v]
    if options.get("seed_per_student"):
        parts.append("a seed per student")
    if options.get("scheme", {}).get("inherited", "free") != "free":
        parts.append(f"inherited {options['scheme']['inherited']}")
    return f"graded by crosscheck {meta['version']} · " + " · ".join(parts)


def _differs(value, default):
    return (list(value) if isinstance(value, (list, tuple)) else value) != \
        (list(default) if isinstance(default, (list, tuple)) else default)


# ---- the instructor's tables --------------------------------------------------------------------------------------

def csv_text(results):
    """One row per submission, Excel-safe (UTF-8 with a BOM; no cell of the student's runs as a formula).  An
    ungraded submission's score and percent are blank: no score counts against it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in map(row, results):
        score = r["score"]
        writer.writerow([_cell(r.get("student_id")), _cell(r.get("student_name")), _cell(r.get("email")),
                         _cell(r["submission"]), "" if score is None else _number(score), _number(r["max_score"]),
                         _number(round(100 * score / r["max_score"], 1)) if score is not None and r["max_score"]
                         else "", r["status"], _cell(r["first_divergence"]), _cell(r["hint"]), _cell(r.get("note")),
                         "" if r.get("seed") is None else r["seed"], f"{r['seconds']:.2f}",
                         "" if r["peak_memory_mb"] is None else f"{r['peak_memory_mb']:.0f}", r["sandbox"] or "",
                         _cell(r.get("origin") or r["path"])])
    return BOM + buffer.getvalue()


def gradebook(results, assignment, lms, title="crosscheck"):
    """The CSV an LMS's gradebook imports (GRADEBOOKS): exactly its columns; an ungraded submission's grade blank,
    so that the import leaves it as it is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    top = assignment.max_score
    if lms == "canvas":
        writer.writerow([*GRADEBOOKS["canvas"], _cell(title)])
        writer.writerow(["Points Possible", "", "", "", "", _number(top)])
        for r in map(row, results):
            name = r.get("student_name") or r["submission"]
            writer.writerow([_cell(name), _cell(r.get("student_id") if r.get("lms") == "canvas" else None), "", "", "",
                             "" if r["score"] is None else _number(r["score"])])
    else:
        writer.writerow(GRADEBOOKS["moodle"])
        for r in map(row, results):
            identifier = f"Participant {r['student_id']}" if r.get("lms") == "moodle" and r.get("student_id") else ""
            comment = (f"{r['status']}: {r['first_divergence']} — {r['hint']}" if r["first_divergence"] else
                       f"{r['status']}: {r['hint']}" if r["hint"] else r["status"])
            writer.writerow([identifier, _cell(r.get("student_name") or r["submission"]), _cell(r.get("email")), "",
                             "" if r["score"] is None else f"{r['score']:.2f}", f"{top:.2f}", "Yes", "", "",
                             _cell(_short(comment, 500))])
    return BOM + buffer.getvalue()


def _cell(text):
    """A text cell of the student's: printable, and never a formula."""
    text = printable(text if text is not None else "")
    return "'" + text if text.startswith(FORMULA) else text


def _number(x):
    return f"{round(x, 2):g}"


# ---- what a student sees -------------------------------------------------------------------------------------------

def gradescope(result, assignment, meta=None):
    """The Gradescope results.json of one submission.

    Field names as Gradescope's autograder specification gives them
    (https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format" and "Controlling test case
    visibility"): top-level score, execution_time, output, output_format, visibility, stdout_visibility, extra_data,
    tests (each score, max_score, name, output, visibility, status).  The top-level "visibility" is the default of
    every test that sets none, and "if test cases are hidden, students will not be able to see their total score":
    with hidden tests it is the scheme's (hidden, after_due_date, after_published) unless the scheme's show_total
    says otherwise — each visible test says "visible" itself.  "stdout_visibility" is "hidden": what the run printed
    (the class table) is the instructor's.  An ungraded submission has no "score" and no tests: the spec asks for a
    score only where the tests carry none, and there are none — no points are counted against the student.
    """
    hidden = any(t.visibility != "visible" for t in result.tests)
    document = {"execution_time": round(result.seconds, 3), "output": student_summary(result, assignment),
                "output_format": "md", "stdout_visibility": "hidden",
                "visibility": assignment.scheme.hidden if hidden and not assignment.scheme.show_total else "visible",
                "tests": [t.as_gradescope() for t in result.tests],
                "extra_data": {"status": result.status, "first_divergence": result.first_divergence,
                               "max_score": result.max_score, "sandbox": result.sandbox, "seed": result.seed,
                               **({"fix": result.fix} if result.fix else {}),
                               **({"crosscheck": meta["version"], "options": meta["options"]} if meta else {})}}
    if result.score is not None:
        document = {"score": result.score, **document}
    return document


SHOWN = {"hidden": "to the instructor only", "after_due_date": "after the due date",
         "after_published": "after grades are published", "visible": "now"}


def student_summary(result, assignment):
    """What a student sees at once (Markdown): the score, the first divergence on a visible probe and its cause,
    and, plainly, what is hidden and what it is worth — never "all passed" while hidden tests fail, and, with hidden
    tests, only the visible tests' points unless the scheme's show_total says otherwise."""
    scheme = assignment.scheme
    if result.status == UNGRADED:
        return ("**Not graded yet: the autograder could not grade this submission.** This is not a mark against you: "
                "the autograder's own set-up lacks something your code needs, your instructor has been told, and "
                f"it will be graded again once that is fixed.\n\nwhat happened: {md(result.error)}")
    visible = [t for t in result.tests if t.visibility == "visible"]
    hidden = [t for t in result.tests if t.visibility != "visible"]
    earned = _number(round_score(sum(t.score for t in visible)))
    worth = _number(round_score(sum(t.max_score for t in visible)))
    probes = f"on {len(assignment.probes)} probes"
    if hidden and not scheme.show_total:
        lines = [f"**{earned} / {worth} points on the visible tests** — backprop checked tensor by tensor against the "
                 f"lecture's reference {probes}"]
    else:
        lines = [f"**{_number(result.score)} / {_number(result.max_score)} points** — backprop checked tensor by "
                 f"tensor against the lecture's reference {probes}"]
    if result.error:
        lines.append(f"✗ {md(result.error)}")
    elif visible:
        failed = [t for t in visible if not t.passed]
        lines.append(f"visible tests ({', '.join(sorted({t.probe for t in visible}))}): {earned} / {worth} points"
                     + (" — all passed" if not failed else ""))
        for t in failed:
            lines.append(f"✗ {t.name}:\n" + "\n".join(f"- {line}" for line in t.lines))
    if hidden:
        hidden_worth = _number(round_score(sum(t.max_score for t in hidden)))
        where = ", ".join(sorted({t.probe for t in hidden}, key=list(PROBES).index))
        if scheme.show_total:
            lines.append(f"hidden tests: {len(hidden)}, worth {hidden_worth} points, on the probes {where}; they "
                         f"count in the score above, and their details are shown {SHOWN[scheme.hidden]}")
        else:
            lines.append(f"hidden tests: {len(hidden)}, worth {hidden_worth} points, on the probes {where}; they count "
                         f"in your total, which is shown with their details {SHOWN[scheme.hidden]}")
    return "\n\n".join(lines)


def feedback(result, assignment, meta=None):
    """A student's feedback as plain text: the score, the first divergence and its cause, the points probe by probe
    and group by group, why each point was lost (each reason once), what the code printed, the full report."""
    score = "not graded" if result.score is None else f"{_number(result.score)} / {_number(result.max_score)} points"
    lines = [f"{printable(result.name)}: {score} ({result.status})"]
    lines += [record_line(meta), ""] if meta else [""]
    if result.status == UNGRADED:
        lines += ["✗ the autograder could not grade this submission: its own set-up lacks something the code needs.",
                  "  This is not a mark against you: it will be graded again once that is fixed.",
                  f"  what happened: {printable(result.error)}"]
        return "\n".join(lines) + "\n"
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
            several = f"probe{'s' if len(probes) > 1 else ''} {', '.join(probes)}"
            on = "every probe" if len(probes) == len(rows) and len(rows) > 1 else several
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


# ---- the instructor's summary and figure ---------------------------------------------------------------------------

def summary(results, assignment, notes=(), meta=None):
    """The instructor's table and figures: every row, then the scores (of the graded), the statuses, the commonest
    mistakes; what could not be graded and the fix; how files were chosen and what was left out."""
    rows = [row(r) for r in results]
    table_rows = [[printable(r["submission"]), "—" if r["score"] is None else
                   f"{_number(r['score'])}/{_number(r['max_score'])}", r["status"], r["first_divergence"] or "",
                   _short(printable(r["hint"] or ""), 70), f"{r['seconds']:.1f}s"] for r in rows]
    lines = [table(["submission", "score", "status", "first divergence", "probable cause", "time"], table_rows,
                   align=["l", "r", "l", "l", "l", "r"]), ""]
    graded = [r for r in rows if r["score"] is not None]
    scores = sorted(r["score"] for r in graded)
    if scores:
        n = len(scores)
        median = scores[n // 2] if n % 2 else (scores[n // 2 - 1] + scores[n // 2]) / 2
        lines.append(f"{n} submission{'s' if n != 1 else ''} · max {_number(assignment.max_score)} points · "
                     f"mean {sum(scores) / n:.2f} · "
                     f"median {_number(round_score(median))} · min {_number(scores[0])} · max {_number(scores[-1])} · "
                     f"full marks {sum(1 for r in graded if r['score'] >= r['max_score'])}")
    if rows:
        counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
        lines.append("status: " + ", ".join(f"{s} {c}" for s, c in counts.items() if c))
        mistakes = {}
        for r in rows:
            if r["first_divergence"] and r["status"] == "mismatch":
                mistakes.setdefault(r["first_divergence"].split(" on probe ")[0], []).append(r)
        if mistakes:
            common = sorted(mistakes.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:5]
            lines.append("commonest first divergence: " + ", ".join(f"{k} ({len(v)})" for k, v in common))
    ungraded = [r for r in rows if r["status"] == UNGRADED]
    if ungraded:
        lines += ["", f"not graded — the autograder could not grade {len(ungraded)} (no score counted; grade them "
                      f"again with --update once fixed):"]
        lines += [f"  {printable(r['submission'])}: {printable(r.get('note') or r['hint'] or '')}" for r in ungraded]
    chosen = [r for r in rows if r.get("note") and r["status"] != UNGRADED]
    if chosen or notes:
        lines += ["", "for the instructor:"]
        lines += [f"  {printable(r['submission'])}: {printable(r['note'])}" for r in chosen]
        lines += [f"  {printable(note)}" for note in notes]
    lines.append(boundary_line(assignment))
    if meta:
        lines.append(record_line(meta))
    return "\n".join(lines)


def boundary_line(assignment):
    """What every submission's code ran in, in one line (a warning where there was no sandbox)."""
    return f"sandbox: {assignment.runner.boundary.describe()}"


def _short(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def histogram_bins(top):
    """The histogram's bin edges for scores out of `top`: a point wide (wider past 50 points, so that there are at
    most 50), aligned on 0, and full marks a bin of its own — 42.83 and 45 out of 45 never share a bar."""
    width = max(1, math.ceil(top / 50))
    edges = [i * width for i in range(math.ceil(top / width))]
    return [*edges, top, top + width]


def histogram_counts(results, top):
    """(edges, {status: [count per bin]}) of the graded submissions, by status (an ungraded one has no score)."""
    edges = histogram_bins(top)
    counts = {}
    for r in map(row, results):
        if r["score"] is None:
            continue
        i = next(i for i in range(len(edges) - 1) if r["score"] < edges[i + 1] or i == len(edges) - 2)
        counts.setdefault(r["status"], [0] * (len(edges) - 1))[i] += 1
    return edges, counts


def histogram_png(results, assignment):
    """The scores' histogram as PNG bytes (matplotlib, Agg): whole submissions on the y axis, bars stacked and
    coloured by status, full marks a bar of its own, DPI dots per inch."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
    top = assignment.max_score
    edges, counts = histogram_counts(results, top)
    rows = [row(r) for r in results]
    graded = [r["score"] for r in rows if r["score"] is not None]
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=DPI)
    bottom = [0] * (len(edges) - 1)
    for status in STATUS_COLOURS:
        if status not in counts:
            continue
        widths = [0.9 * (edges[i + 1] - edges[i]) for i in range(len(edges) - 1)]
        ax.bar(edges[:-1], counts[status], width=widths, bottom=bottom, align="edge", color=STATUS_COLOURS[status],
               edgecolor="white", linewidth=0.5)
        bottom = [b + c for b, c in zip(bottom, counts[status])]
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([*bottom, 1]) * 1.2)  # room for the legend above the tallest bar
    ax.set_xlabel(f"score (out of {_number(top)}; the last bar: full marks)", fontsize=11)
    ax.set_ylabel("submissions", fontsize=11)
    ax.set_xlim(0, edges[-1])
    ax.tick_params(labelsize=10)
    legend = [Patch(color=STATUS_COLOURS[s], label=f"{s} ({sum(counts[s])})") for s in STATUS_COLOURS if s in counts]
    if legend:
        ax.legend(handles=legend, fontsize=9, frameon=False, loc="upper left")
    full = sum(1 for s in graded if s >= top)
    ungraded = sum(1 for r in rows if r["score"] is None)
    ax.set_title(f"{len(graded)} submissions · mean {sum(graded) / max(1, len(graded)):.1f} · full marks {full}"
                 + (f" · {ungraded} not graded" if ungraded else ""), fontsize=12)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})  # no version stamp: same scores, same file
    plt.close(fig)
    return buffer.getvalue()


# ---- the machine's record -------------------------------------------------------------------------------------------

def as_json(results, assignment, meta=None, notes=()):
    """Every row and test, what was left out, and (meta) the version and options: grades.json, and --json."""
    boundary = assignment.runner.boundary
    rows = [row(r) for r in results]
    document = {"ok": all(r["status"] == "ok" for r in rows), "max_score": assignment.max_score,
                "style": assignment.style, "probes": list(assignment.probes),
                "sandbox": {"kind": boundary.kind, "note": boundary.describe()},
                "not_graded": dict(assignment.not_graded), "notes": list(notes), "submissions": rows}
    if meta:
        document["crosscheck"] = meta
    return document


def file_name(name):
    """A submission's name as a file name: no directories, nothing but letters, digits, '.', '-' and '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def dumps(document):
    return json.dumps(finite(document), indent=2, ensure_ascii=False) + "\n"
