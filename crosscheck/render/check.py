"""How a check reads in a terminal: the tensor table, each framework and implementation, the probes, the verdict.

Every function returns text (colour codes only where colour is asked for); nothing here prints.
"""
import re

import numpy as np

from crosscheck.console import paint, table, use_colour
from crosscheck.engine import layouts, tolerance, verdict
from crosscheck.engine.status import ERROR, MISMATCH, UNAVAILABLE

LEGEND = f"cells: max|Δ| / max|reference| per tensor;  {verdict.LEGEND}"


# ---- crosscheck compare ---------------------------------------------------------------------------

def run_report(run, colour=None):
    """An implementation's Run (crosscheck.student.runner), as a person reads it: the table of the probe shown (the
    first that fails, else the problem as asked), the frameworks and the implementation, a line per probe, the
    verdict."""
    shown = run.shown
    return check_report(shown.result or run.results[0].result, colour, run)


def check_report(report, colour=None, run=None):
    """The report a person reads: the tensor table, the frameworks, the verdict.

    report  a crosscheck.engine.check.CheckResult; run: the Run it belongs to, if any (its probes, its verdict)
    """
    colour = use_colour() if colour is None else colour
    c = report.config
    probes = run is not None and len(run.results) > 1
    probe = f" · probe {c['probe']}" if probes and c.get("probe") else ""
    lines = [paint(f"crosscheck · {c.get('network')} · {c.get('dtype')} · m = {c.get('batch')} ({c.get('data')}) · "
                   f"seed {c.get('seed')}{probe}", "bold", enabled=colour), ""]
    columns = report.compared
    layout = _layout_of(report)
    if columns:
        names = [comparison.tensor for comparison in next(iter(columns.values())).comparisons]
        rows = []
        for i, name in enumerate(names):
            shape = _shape(report.reference[name].shape, layout)
            rows.append([name, str(shape) if shape else "scalar"] + [_cell(o.comparisons[i], colour, _own_layout(o))
                                                                      for o in columns.values()])
        lines.append(table(["tensor", "shape", *columns], rows, align=["l", "l"] + ["r"] * len(columns)))
        lines.append(paint(LEGEND, "dim", enabled=colour))
        if layout == "columns":
            lines.append(paint(f"shapes in your layout: {layouts.describe(layout)}", "dim", enabled=colour))
        lines.append(paint(f"tolerance: {tolerance.describe(c.get('dtype'))}", "dim", enabled=colour))
        lines.append("")
    for name, outcome in report.outcomes.items():
        lines.append(_framework_line(name, outcome, colour))
        if run is not None and outcome.implementation:
            lines += [paint(f"  {'':<11} · {note}", "dim", enabled=colour) for note in run.notes]
        lines += _captured(name, run.output if run is not None and outcome.implementation else outcome.output, colour)
    if run is not None:
        lines += boundary_lines(run, colour)
    if report.outcomes:
        lines.append("")
    if run is not None and len(run.results) + len(run.skipped) > 1:
        lines += _probe_lines(run, colour) + [""]
    lines.append(run_verdict(run, colour) if run is not None else check_verdict(report, colour))
    return "\n".join(lines)


def boundary_lines(run, colour=False):
    """What the code ran in (crosscheck.student.sandbox), and whether a grader would refuse it: a line each, a
    warning where there was no sandbox."""
    lines = []
    if run.boundary is not None:
        lines.append(paint(f"  {'sandbox':<11} {run.boundary.describe()}",
                           "dim" if run.boundary.kind == "bwrap" else "yellow", enabled=colour))
    if run.refused_by_graders:
        lines.append(paint(f"  ⚠ {run.refused_by_graders}", "yellow", enabled=colour))
    return lines


def _layout_of(report):
    """The layout of the implementations in the report (columns when one of them works in columns)."""
    found = [(o.info or {}).get("layout") for o in report.outcomes.values() if o.implementation]
    return "columns" if "columns" in found else "rows"


def _own_layout(outcome):
    return (outcome.info or {}).get("layout", "rows") if outcome.implementation else "rows"


def _shape(shape, layout):
    return layouts.shape_in(shape, layout)


def _probe_lines(run, colour):
    """A line per probe; probes that fail for one cause (the same tensor, the same hint but for its numbers) share
    one line that names them all."""
    lines = [paint("probes — your implementation on each, like a grader's hidden inputs (--probe NAME runs one):",
                   "bold", enabled=colour)]
    lines += _calls_lines(run, colour)
    width = max(len(name) for name in [*(r.probe.name for r in run.results), *run.skipped])
    title_width = max(len(r.probe.title) for r in run.results)
    groups = {}
    for r in run.results:
        if not r.ok:
            groups.setdefault(_cause(r), []).append(r)
    shown = set()
    for r in run.results:
        if r.ok:
            head = f"{verdict.PROBE_MARKS[r.status]} {r.probe.name:<{width}}  {r.probe.title:<{title_width}}"
            lines.append(paint(f"  {head}  {_agreed(r.result)}", "green", enabled=colour))
            continue
        key = _cause(r)
        if key in shown:
            continue
        shown.add(key)
        group = groups[key]
        if len(group) == 1:
            head = f"{verdict.PROBE_MARKS[r.status]} {r.probe.name:<{width}}  {r.probe.title:<{title_width}}"
        else:
            names = ", ".join(g.probe.name for g in group)
            head = f"{verdict.PROBE_MARKS[r.status]} {names:<{width + 2 + title_width}}"
        lines.append(paint(f"  {head}  {_failed(r)}", "red", enabled=colour))
    for name, why in run.skipped.items():
        lines.append(paint(f"  {verdict.PROBE_MARKS[verdict.PROBE_SKIPPED]} {name:<{width}}  not run: {why}", "dim",
                           enabled=colour))
    return lines


def _failed(r):
    if r.failure:
        return _short(r.failure.worded('flag'), 140)
    first = r.first_divergence
    return f"{first.tensor}: {_short(first.hint)}" if first else "a framework disagrees"


def _cause(r):
    """What a failing probe's line says, its numbers left out: the key that groups probes failing for one cause."""
    return (r.status, re.sub(r"(?<![A-Za-z_\d])-?\d+(\.\d+)?(e-?\d+)?", "#", _failed(r)))


def _calls_lines(run, colour):
    """Which of the user's functions the probes called, where a course has several (DLS: forward, cost, backward;
    the regularization week's l2 probe calls its _with_regularization ones, the others the course's own)."""
    groups = {}
    for r in run.results:
        if r.calls:
            groups.setdefault(tuple(r.calls), []).append(r.probe.name)
    if not groups or all(len(calls) < 2 for calls in groups):
        return []
    return [paint(f"  calls on {'every probe' if len(groups) == 1 else ', '.join(names)}: {', '.join(calls)}", "dim",
                  enabled=colour) for calls, names in groups.items()]


def _short(text, limit=100):
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _agreed(report):
    parts = []
    for o in report.outcomes.values():
        if o.implementation:
            parts.append(f"{o.provided} of {len(o.comparisons)} agree" if o.provided == len(o.comparisons) else
                         f"{o.provided} of {len(o.comparisons)} provided, all agree")
    return ", ".join(parts) or "agree"

def _captured(name, output, colour):
    """What an implementation printed, its last lines, each behind a bar: never mistaken for the verdict."""
    lines = []
    for stream, captured in (output or {}).items():
        if not captured.get("text"):
            continue
        shown = captured["text"].splitlines()
        cut = f" (the last {len(shown)} lines of {captured['bytes']:,} bytes)" if captured.get("truncated") else ""
        lines.append(paint(f"  {name} printed on {stream}{cut}:", "dim", enabled=colour))
        lines += [f"    │ {_printable(line)}" for line in shown]
    return lines


def captured_output(name, output, colour=None):
    """What an implementation printed before it failed, as check_report shows it ('' when nothing)."""
    colour = use_colour() if colour is None else colour
    return "\n".join(_captured(name, output, colour))


def _printable(line):
    """A captured line with its control characters (terminal escapes, carriage returns) made visible."""
    return "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in line)


def _framework_line(name, outcome, colour):
    if outcome.status == UNAVAILABLE:
        return paint(f"  {name:<11} unavailable — {outcome.reason}", "yellow", enabled=colour)
    if outcome.status == ERROR:
        return paint(f"  {name:<11} error — {outcome.reason}", "red", enabled=colour)
    if outcome.implementation:
        info = outcome.info or {}
        note = outcome.reason or f"provided {outcome.provided} of {len(outcome.comparisons)} tensors"
        ignored = info.get("ignored")
        if ignored and outcome.provided:
            note += f" · ignored {', '.join(ignored[:6])}{', …' if len(ignored) > 6 else ''} (not lecture names)"
        style = info.get("style")
        if style and style != "lecture":
            note += f" · --style {style}: {info.get('entry')}"
        elif info.get("layout") == "columns":
            note += " · column layout"
        return f"  {name:<11} your implementation · {note}"
    info, seconds = outcome.info or {}, outcome.seconds or {}
    timing = f" · import {seconds['import']:.1f} s, check {seconds['check'] * 1e3:.0f} ms" if seconds else ""
    return (f"  {name:<11} {info.get('version')} · {info.get('device', 'cpu')} · {info.get('threads', '?')} threads · "
            f"{info.get('precision', '')}{timing}")


def check_verdict(report, colour=False):
    """The verdict of a check without an implementation: the frameworks against the reference."""
    first = report.first_divergence
    checked = report.checked
    if not report.outcomes:
        return paint("– nothing was compared: no framework and no implementation was asked for; only the "
                     "reference ran", "yellow", enabled=colour)
    if first is None and report.ok:
        if not checked:
            return paint(f"⚠ {report.nothing_checked}", "yellow", enabled=colour)
        return paint(_agreement(report, checked, ""), "green", "bold", enabled=colour)
    if first is None:
        bad = [name for name, o in report.outcomes.items() if o.status in (MISMATCH, ERROR)]
        return paint(f"✗ {', '.join(bad)}: {report.outcomes[bad[0]].reason}", "red", "bold", enabled=colour)
    return _divergence(report, first, [], colour)


def run_verdict(run, colour=False):
    """The verdict of an implementation's Run: its Headline, worded for a terminal."""
    headline = run.headline
    result = headline.probe.result if headline.probe is not None else None
    several = len(run.results) > 1
    if headline.kind == "error":
        return paint(f"✗ {headline.failure.worded('flag')}", "red", "bold", enabled=colour)
    if headline.kind == "failed":
        probe = headline.probe.probe
        return (paint(f"✗ probe {probe.name} ({probe.title}): your implementation failed", "red", "bold",
                      enabled=colour) + "\n  " + paint(headline.failure.worded("flag"), "yellow", enabled=colour))
    if headline.kind == "diverges":
        return _divergence(result, headline.first, headline.also, colour, run)
    if headline.kind == "frameworks":
        return check_verdict(result, colour)
    return paint(_agreement(result, result.checked, f" on {len(run.results)} probes" if several else ""), "green",
                 "bold", enabled=colour)


def _divergence(report, first, also, colour, run=None):
    outcome = report.outcomes.get(first.framework)
    layout = (outcome.info or {}).get("layout", "rows") if outcome is not None and outcome.implementation else "rows"
    shape = layouts.shape_in(first.shape, layout)
    where = f"{first.framework} {first.tensor} {shape if shape else '(scalar)'}"
    probe = report.config.get("probe")
    if run is not None and len(run.results) > 1 and probe and probe != run.results[0].probe.name:
        title = next((r.probe.title for r in run.results if r.probe.name == probe), "")
        where += f" on probe {probe} ({title}; --probe {probe} reproduces it)"
    lines = [paint(f"✗ first divergence: {where}", "red", "bold", enabled=colour),
             "  " + paint(f"probable cause: {first.hint}", "yellow", enabled=colour)]
    if run is None:  # the frameworks: each one's later tensors with a mistake of their own
        also = [c for o in report.outcomes.values() for c in o.comparisons
                if c is not first and verdict.of(c) == verdict.DIFFERS and c.hint]
    groups = {}  # one line for tensors with one cause (the same hint but for the tensor's name)
    for c in also:
        groups.setdefault((c.framework, c.hint.replace(c.tensor, "{}")), []).append(c)
    for (framework, _), same in groups.items():
        names = ", ".join(c.tensor for c in same)
        lines.append("  " + paint(f"also {framework} {names}: {same[0].hint}", "yellow", enabled=colour))
    return "\n".join(lines)


def _agreement(report, checked, on):
    """✓ all 12 tensors agree …, or what was checked when an implementation left some out.  `on` (" on 8
    probes") belongs to the implementations: the frameworks are checked on the problem as asked."""
    tensors = len(next(iter(report.compared.values())).comparisons)
    partial = {name: o for name, o in report.outcomes.items() if o.implementation and o.provided < len(o.comparisons)}
    full = [name + (on if report.outcomes[name].implementation else "") for name in checked if name not in partial]
    parts = []
    if full:
        parts.append(f"✓ all {tensors} tensors agree with the reference in {', '.join(full)}")
    for name, o in partial.items():
        parts.append(f"{'' if parts else '✓ '}{name}: {o.provided} of {tensors} tensors provided, all agree{on}; "
                     f"not provided: {' '.join(o.not_provided)}")
    return "; ".join(parts)


def measured(comparison, layout="rows"):
    """One line: how far a tensor is from the reference, against its tolerance (or why it could not be measured)."""
    c = comparison
    if c.missing or (c.max_abs is None and c.got_shape is None):
        return "not returned"
    if c.got_shape is not None:
        return f"shape {_shape_text(c.got_shape, layout)} returned, {_shape_text(c.shape, layout)} expected"
    if not np.isfinite(c.max_abs):
        return "NaN or inf in it"
    return (f"max|Δ| {c.max_abs:.3g} {'≤' if c.ok else '>'} tolerance {c.tolerance:.3g} "
            f"(max|Δ| / max|reference| {c.max_rel:.3g})")


def _shape_text(shape, layout):
    shape = layouts.shape_in(shape, layout)
    return str(shape) if shape else "(scalar)"


def _cell(comparison, colour, layout="rows"):
    kind = verdict.of(comparison)
    if kind == verdict.NOT_PROVIDED:
        return paint(verdict.MARKS[kind], "dim", enabled=colour)
    text = f"{cell_text(comparison, layout)} {verdict.MARKS[kind]}"
    style = {verdict.AGREES: ("green",), verdict.INHERITED: ("dim",), verdict.DIFFERS: ("red", "bold")}[kind]
    return paint(text, *style, enabled=colour)


def cell_text(c, layout="rows"):
    """What a cell shows of a tensor: its relative difference, or why there is none."""
    if c.got_shape is not None:
        return f"shape {layouts.shape_in(c.got_shape, layout)}"
    if c.max_rel is None:
        return "missing"
    if not np.isfinite(c.max_abs):
        return "NaN/inf"
    return f"{c.max_rel:.1e}"
