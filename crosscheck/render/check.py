"""How a check reads in a terminal: the tensor table, each framework and implementation, the probes, the verdict.

Every function returns text (colour codes only where colour is asked for); nothing here prints.
"""
import numpy as np

from crosscheck.console import paint, table, use_colour
from crosscheck.engine import layouts, tolerance
from crosscheck.engine.status import ERROR, MISMATCH, UNAVAILABLE

LEGEND = ("cells: max|Δ| / max|reference| per tensor;  ✓ within tolerance, ✗ not, "
          "↳ fails only because of an earlier ✗ (fix that one first), – not provided")


# ---- crosscheck compare ---------------------------------------------------------------------------

def check_report(report, colour=None, probes=None):
    """The report a person reads: the tensor table, the frameworks, the verdict.

    probes  a crosscheck.check.ProbeRun whose shown result `report` is: a line per probe, and its verdict
    """
    colour = use_colour() if colour is None else colour
    c = report.config
    probe = f" · probe {c['probe']}" if probes is not None and len(probes.results) > 1 and c.get("probe") else ""
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
        lines += _captured(name, outcome.output, colour)
    if report.outcomes:
        lines.append("")
    if probes is not None and len(probes.results) + len(probes.skipped) > 1:
        lines += _probe_lines(probes, colour) + [""]
    lines.append(check_verdict(report, colour, probes))
    return "\n".join(lines)


def _layout_of(report):
    """The layout of the implementations in the report (columns when one of them works in columns)."""
    found = [(o.info or {}).get("layout") for o in report.outcomes.values() if o.implementation]
    return "columns" if "columns" in found else "rows"


def _own_layout(outcome):
    return (outcome.info or {}).get("layout", "rows") if outcome.implementation else "rows"


def _shape(shape, layout):
    return layouts.shape_in(shape, layout)


def _probe_lines(probes, colour):
    lines = [paint("probes — your implementation on each, like a grader's hidden inputs (--probe NAME runs one):",
                   "bold", enabled=colour)]
    width = max(len(r.probe.name) for r in probes.results)
    title_width = max(len(r.probe.title) for r in probes.results)
    for r in probes.results:
        head = f"{r.probe.name:<{width}}  {r.probe.title:<{title_width}}"
        if r.skipped:
            lines.append(paint(f"  – {head}  not run: {r.skipped}", "dim", enabled=colour))
        elif r.error:
            lines.append(paint(f"  ✗ {head}  {_short(r.error, 140)}", "red", enabled=colour))
        elif r.ok:
            lines.append(paint(f"  ✓ {head}  {_agreed(r.report)}", "green", enabled=colour))
        else:
            first = r.report.first_divergence
            lines.append(paint(f"  ✗ {head}  {first.tensor}: {_short(first.hint)}", "red", enabled=colour))
    for name, why in probes.skipped.items():
        lines.append(paint(f"  – {name:<{width}}  not run: {why}", "dim", enabled=colour))
    return lines


def _short(text, limit=100):
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _agreed(report):
    parts = []
    for name, o in report.outcomes.items():
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


def check_verdict(report, colour=False, probes=None):
    first = report.first_divergence
    checked = report.checked
    on = ""
    if probes is not None and len(probes.results) > 1:
        on = f" on {len(probes.results)} probes" if probes.ok else ""
    if not report.outcomes:
        return paint("– nothing was compared: no framework and no implementation was asked for; only the "
                     "reference ran", "yellow", enabled=colour)
    if probes is not None and first is None and report.ok and probes.first_failure is not None:
        failed = probes.first_failure  # an implementation that raised on a later probe
        return (paint(f"✗ probe {failed.probe.name} ({failed.probe.title}): your implementation failed", "red", "bold",
                      enabled=colour) + "\n  " + paint(failed.error or "", "yellow", enabled=colour))
    if first is None and report.ok:
        if not checked:
            return paint(f"⚠ {report.nothing_checked}", "yellow", enabled=colour)
        return paint(_agreement(report, checked, on), "green", "bold", enabled=colour)
    if first is None:
        bad = [name for name, o in report.outcomes.items() if o.status in (MISMATCH, ERROR)]
        return paint(f"✗ {', '.join(bad)}: {report.outcomes[bad[0]].reason}", "red", "bold", enabled=colour)
    outcome = report.outcomes.get(first.framework)
    layout = (outcome.info or {}).get("layout", "rows") if outcome is not None and outcome.implementation else "rows"
    shape = layouts.shape_in(first.shape, layout)
    where = f"{first.framework} {first.tensor} {shape if shape else '(scalar)'}"
    probe = report.config.get("probe")
    if probes is not None and len(probes.results) > 1 and probe and probe != probes.results[0].probe.name:
        title = next((r.probe.title for r in probes.results if r.probe.name == probe), "")
        where += f" on probe {probe} ({title}; --probe {probe} reproduces it)"
    lines = [paint(f"✗ first divergence: {where}", "red", "bold", enabled=colour),
             "  " + paint(f"probable cause: {first.hint}", "yellow", enabled=colour)]
    for o in report.outcomes.values():  # later tensors with a mistake of their own, each with its diagnosis
        for c in o.comparisons:
            if c is not first and c.ok is False and not c.downstream and c.hint:
                lines.append("  " + paint(f"also {c.framework} {c.tensor}: {c.hint}", "yellow", enabled=colour))
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
    if comparison.ok is None:
        return paint("–", "dim", enabled=colour)
    if comparison.got_shape is not None:
        text = f"shape {layouts.shape_in(comparison.got_shape, layout)} ✗"
    elif comparison.max_rel is None:
        text = "missing ✗"
    elif not np.isfinite(comparison.max_abs):
        text = "NaN/inf ✗"
    else:
        text = f"{comparison.max_rel:.1e} {'✓' if comparison.ok else '✗'}"
    if comparison.ok:
        return paint(text, "green", enabled=colour)
    if comparison.downstream:
        return paint(text.replace("✗", "↳"), "dim", enabled=colour)
    return paint(text, "red", "bold", enabled=colour)
