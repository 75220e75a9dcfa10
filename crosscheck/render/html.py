"""The report as HTML, for Jupyter: crosscheck.check(...) shown under the cell that ran it.

    report_html(report)    a crosscheck.classroom.api.Report -> one self-contained <div>: the verdict first (the first
                           divergence, its probable cause, the lecture's line it breaks), then the ✓/✗ table of
                           the probe shown, a line per probe, and what the code printed

Inline styles only (a notebook viewer may drop <style> blocks), colours that read on light and dark themes,
and every text that comes from the user's code — hints quote its key names, errors its messages, the
captured output its prints — escaped.
"""
from html import escape

from crosscheck.engine import layouts, verdict
from crosscheck.render import check as render

GREEN, RED, GREY, AMBER = "#1a7f37", "#cf222e", "#6e7781", "#9a6700"
COLOURS = {verdict.AGREES: GREEN, verdict.DIFFERS: RED, verdict.INHERITED: GREY, verdict.NOT_PROVIDED: GREY}
FONT = "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; line-height: 1.45"
CELL = "padding: 1px 10px; text-align: {align}; border: none"


def report_html(report):
    """A crosscheck.classroom.api.Report as HTML."""
    parts = [_header(report), _verdict(report)]
    parts += [_line(" ".join(line.split()), AMBER if "⚠" in line else GREY) for line in render.boundary_lines(report.run)]
    if report.report is not None:
        parts.append(_table(report))
        parts.append(_provided(report))
        parts.append(_probes(report))
    parts.append(_printed(report.output))
    parts.append(_div(render.LEGEND, f"color: {GREY}; margin-top: 4px"))
    return f'<div class="crosscheck-report" style="{FONT}">' + "".join(p for p in parts if p) + "</div>"


def _div(text, style="", raw=False):
    return f'<div style="{style}">{text if raw else escape(text)}</div>'


def _header(report):
    if report.report is None:
        return _div(f"crosscheck · {report.path or report.entry}", "font-weight: bold; margin-bottom: 4px")
    problem = report.report.config
    text = (f"crosscheck · {problem.get('network')} · {problem.get('dtype')} · m = {problem.get('batch')} "
            f"({problem.get('data')}) · seed {problem.get('seed')}")
    if len(report.run.results) > 1:
        text += f" · probe {report.probe}"
    return _div(text, "font-weight: bold; margin-bottom: 4px")


def _verdict(report):
    """The run's Headline (crosscheck.student.runner), worded for a notebook."""
    entry = report.entry or "implementation"
    headline = report.headline
    if headline.kind == "error":
        return _line(f"✗ your {entry} failed: {report.error}", RED, bold=True)
    if headline.kind in ("agrees", "partial"):
        outcome, probes = report.outcome, len(report.run.results)
        tensors = len(outcome.comparisons)
        if headline.kind == "agrees":
            text = f"✓ your {entry} agrees with the reference: all {tensors} tensors, on {probes} probes"
        else:
            text = (f"✓ your {entry}: {outcome.provided} of {tensors} tensors provided, all agree, on {probes} probes; "
                    f"not provided: {' '.join(outcome.not_provided)}")
        return _line(text, GREEN, bold=True)
    if headline.kind == "failed":
        probe = headline.probe.probe
        return (_line(f"✗ probe {probe.name} ({probe.title}): your {entry} failed", RED, bold=True)
                + _line(headline.failure.message, AMBER))
    if headline.kind == "frameworks":
        bad = [name for name, o in report.report.outcomes.items() if not o.implementation and o.status == "mismatch"]
        return _line(f"✗ {', '.join(bad) or 'a framework'} disagrees with the reference", RED, bold=True)
    first = headline.first
    where = f"{first.tensor} {_shape(first.shape, report.layout)}"
    on = f" on probe {report.probe} ({report.probe_title})" if len(report.run.results) > 1 else ""
    lines = [_line(f"✗ first divergence: {where}{on}", RED, bold=True),
             _labelled("probable cause", first.hint or "(none recognised)", AMBER)]
    if report.lecture_line:
        lines.append(_labelled("the lecture's line", report.lecture_line, None, code=True))
    lines.append(_labelled("measured", render.measured(first, report.layout), GREY))
    for c in headline.also:
        lines.append(_labelled(f"also {c.tensor}", c.hint, AMBER))
    return "".join(lines)


def _line(text, colour=None, bold=False):
    style = (f"color: {colour};" if colour else "") + (" font-weight: bold;" if bold else "")
    return _div(text, style)


def _labelled(label, text, colour, code=False):
    body = f"<code>{escape(text)}</code>" if code else escape(text)
    style = f' style="color: {colour}"' if colour else ""
    return _div(f"&nbsp;&nbsp;{escape(label)}: <span{style}>{body}</span>", raw=True)


def _table(report):
    shown = report.report
    columns = shown.compared
    if not columns:
        return ""
    names = [c.tensor for c in next(iter(columns.values())).comparisons]
    head = "".join(f'<th style="{CELL.format(align=a)}">{escape(h)}</th>'
                   for h, a in [("tensor", "left"), ("shape", "left")] + [(_column(n), "right") for n in columns])
    rows = []
    for i, name in enumerate(names):
        shape = _shape(shown.reference[name].shape, report.layout)
        cells = [_cell(o.comparisons[i], report.layout if o.implementation else "rows") for o in columns.values()]
        failing = any(verdict.of(o.comparisons[i]) == verdict.DIFFERS for o in columns.values())
        background = ' style="background: rgba(207, 34, 46, 0.08)"' if failing else ""
        rows.append(f"<tr{background}><td style=\"{CELL.format(align='left')}\">{escape(name)}</td>"
                    f"<td style=\"{CELL.format(align='left')}\">{escape(shape)}</td>{''.join(cells)}</tr>")
    return (f'<table style="border-collapse: collapse; margin: 6px 0; {FONT}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _provided(report):
    """What the implementation returned: how many tensors, and the keys that are not the lecture's names."""
    outcome = report.outcome
    if outcome is None:
        return ""
    text = f"yours: provided {outcome.provided} of {len(outcome.comparisons)} tensors"
    ignored = (outcome.info or {}).get("ignored") or []
    if ignored:
        text += f" · ignored {', '.join(ignored[:6])}{', …' if len(ignored) > 6 else ''} (not lecture names)"
    return _div(text, f"color: {GREY}")


def _column(name):
    return "yours" if name == "impl" else name


def _cell(comparison, layout):
    kind = verdict.of(comparison)
    text = "" if kind == verdict.NOT_PROVIDED else render.cell_text(comparison, layout)
    weight = "; font-weight: bold" if kind == verdict.DIFFERS else ""
    return (f'<td style="{CELL.format(align="right")}; color: {COLOURS[kind]}{weight}">'
            f"{escape(text)}{' ' if text else ''}{verdict.MARKS[kind]}</td>")


def _probes(report):
    run = report.run
    if len(run.results) + len(run.skipped) <= 1:
        return ""
    items = []
    for r in run.results:
        head = f"{verdict.PROBE_MARKS[r.status]} {r.probe.name} — {r.probe.title}"
        if r.failure:
            items.append(_line(f"{head}: {_short(r.failure.message, 160)}", RED))
        elif r.ok:
            items.append(_line(head, GREEN))
        else:
            first = r.first_divergence
            items.append(_line(f"{head}: {first.tensor}: {_short(first.hint, 160)}" if first else head, RED))
    for name, why in run.skipped.items():
        items.append(_line(f"{verdict.PROBE_MARKS[verdict.PROBE_SKIPPED]} {name}: not run: {why}", GREY))
    failed = sum(1 for r in run.results if not r.ok)
    summary = f"probes: {len(run.results)} run, {failed} failed" + (f", {len(run.skipped)} not run" if run.skipped else "")
    return (f'<details {"open" if failed else ""} style="margin: 4px 0"><summary>{escape(summary)}</summary>'
            f"{''.join(items)}</details>")


def _printed(output):
    parts = []
    for stream, captured in (output or {}).items():
        text = (captured or {}).get("text")
        if not text:
            continue
        cut = f" (the last lines of {captured.get('bytes', 0):,} bytes)" if captured.get("truncated") else ""
        parts.append(f'<details style="margin: 4px 0"><summary>your code printed on {escape(stream)}{escape(cut)}'
                     f'</summary><pre style="margin: 2px 0 2px 12px">{escape(text)}</pre></details>')
    return "".join(parts)


def _shape(shape, layout):
    shape = layouts.shape_in(shape, layout)
    return str(shape) if shape else "scalar"


def _short(text, limit):
    text = text or ""
    return text if len(text) <= limit else text[:limit - 1] + "…"
