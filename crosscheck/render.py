"""How the reports read in a terminal: the check's tensor table, the training table, gradcheck, the bug catalogue.

Every function returns text (colour codes only where colour is asked for); nothing here prints.
"""
import numpy as np

from reference.gradcheck import THRESHOLD

from . import layouts, tolerance
from .analysis import ADVICE
from .console import paint, table, use_colour
from .status import ERROR, MISMATCH, OK, UNAVAILABLE

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


# ---- crosscheck train -----------------------------------------------------------------------------

def training_report(report, config, epochs, plot=None, colour=None):
    """The training table: per framework its convention, final J, accuracy (dev and test on a split data set), largest
    divergence against its tolerance, the steps compared, time; the chaos note and the end state when the run turned
    chaotic; early stopping; the verdict."""
    colour = use_colour() if colour is None else colour
    optimizer, c = report.optimizer, config
    data = f" ({c['data']})" if c.get("split") else ""
    head = (f"crosscheck train · {c['network']} · {c['dtype']} · m = {c['examples']}{data} · {optimizer.describe()} · "
            f"{report.steps} steps ({epochs} epochs, batch {c['batch_size'] or 'full'}) · seed {c['seed']}")
    split = bool(c.get("split"))
    rows, notes, judged = [], [], {}
    for name, o in report.outcomes.items():
        if o.status == UNAVAILABLE:
            notes.append(paint(f"  {name:<15} unavailable — {o.reason}", "yellow", enabled=colour))
        elif o.run is None or o.envelope is None:
            notes.append(paint(f"  {name:<15} {o.reason}", "red", enabled=colour))
        else:
            judged[name] = o
            mark = paint("✓", "green", enabled=colour) if o.status == OK else paint("✗", "red", "bold", enabled=colour)
            n = min(o.tolerance.compared_steps, o.steps)
            compared = "every step" if o.chaos_step is None else (f"1–{n}, end" if n else "end only")
            accuracies = [f"{100 * o.accuracy:.1f}%"]
            if split:
                accuracies += [f"{100 * o.split_accuracy['dev']:.1f}%", f"{100 * o.split_accuracy['test']:.1f}%"]
            rows.append([name, o.convention, f"{o.final_loss:.6f}", *accuracies,
                         _sci(o.max_loss_divergence), _sci(o.loss_tolerance), _sci(o.max_param_divergence),
                         _sci(o.param_tolerance), compared, mark, f"{o.seconds['train']:.1f}s"])
    lines = [paint(head, "bold", enabled=colour), ""]
    if rows:
        accuracy_columns = ["train acc", "dev acc", "test acc"] if split else ["accuracy"]
        lines.append(table(["framework", "convention", "final J", *accuracy_columns, "max|ΔJ|", "tol ΔJ", "max|ΔW|",
                            "tol ΔW", "steps compared", "", "time"], rows,
                           align=["l", "l", "r"] + ["r"] * len(accuracy_columns) + ["r", "r", "r", "r", "l", "l", "r"]))
        lines.append(paint("max|Δ|: over the steps compared one by one and every W and b (γ, β and batch norm's running "
                           "averages too), against the reference run in that framework's optimizer convention; tol: "
                           "the largest per-step tolerance, which grows with what rounding does to the reference's own "
                           "twins", "dim", enabled=colour))
        if split:
            lines.append(paint(f"trained on the training split ({c['split']['train']} rows); accuracies in an "
                               f"inference pass, dev {c['split']['dev']} and test {c['split']['test']} rows",
                               "dim", enabled=colour))
        lines.append(paint(f"tolerance: {tolerance.describe(c['dtype'], 'trajectory')}", "dim", enabled=colour))
        lines += early_stopping_note(judged, c)
        lines += chaos_note(report, judged, colour)
    lines += notes
    if plot:
        lines.append(f"plot: {plot}")
    lines += ["", training_verdict(report, colour)]
    return "\n".join(lines)


def early_stopping_note(judged, config):
    """When early stopping is on: where the reference stopped in each convention (each framework must stop there)."""
    if not config.get("patience") or not judged:
        return []
    by_convention = {}
    for o in judged.values():
        by_convention.setdefault(o.convention, o.envelope)
    parts = []
    for convention, envelope in sorted(by_convention.items()):
        steps, epochs = len(envelope.run.losses), -(-envelope.planned // envelope.steps_per_epoch)
        stopped = (f"after epoch {-(-steps // envelope.steps_per_epoch)} of {epochs} (step {steps} of {envelope.planned})"
                   if steps < envelope.planned else f"not before the last epoch ({epochs})")
        parts.append(f"{convention} convention: stops {stopped}")
    note = (f"early stopping (patience {config['patience']} epochs, on J of the dev split in an inference pass): the "
            f"reference in the {'; the reference in the '.join(parts)} — each framework must stop where the reference "
            f"in its convention does")
    if len(parts) > 1 and config.get("batch_norm"):
        note += " (batch norm's running variance differs by convention, and with it J on the dev split)"
    return [note]


def _sci(value):
    return "–" if value is None or value != value else f"{value:.1e}"


def chaos_note(report, judged, colour=False):
    """When a run turned chaotic: from which step, how far the reference disagrees with itself, and the end
    state every framework is judged on instead."""
    chaotic = {name: o for name, o in judged.items() if o.chaos_step is not None}
    if not chaotic:
        return []
    by_step = {}
    for o in chaotic.values():
        by_step.setdefault((o.chaos_step, o.envelope.self_disagreement), []).append(o.convention)
    lines = [""]
    for (step, disagreement), conventions in sorted(by_step.items()):
        where = f" ({', '.join(sorted(set(conventions)))} convention)" if len(by_step) > 1 else ""
        if step > 1:
            lines.append(f"chaotic from step {step}{where}: step-for-step agreement holds to step {step - 1}; after that "
                         f"the dynamics amplify rounding — the reference disagrees with itself by {disagreement:.2g} — "
                         f"so only the end state is compared.")
        else:
            lines.append(f"chaotic from step 1{where}: the reference disagrees with itself from the first step (by up to "
                         f"{disagreement:.2g}), so only the end state is compared.")
    window = next(iter(chaotic.values())).envelope.end_steps
    rows = []
    for name, o in chaotic.items():
        tol = o.tolerance
        (J, acc), (J_ref, acc_ref) = o.end, o.envelope.end
        rows.append([name, f"{J:.6f}", _sci(abs(J - J_ref)), _sci(tol.end_loss), f"{100 * acc:.1f}%",
                     f"{100 * abs(acc - acc_ref):.1f}%", f"{100 * tol.end_accuracy:.1f}%"])
    lines.append(table([f"end state (median of the last {window} steps)", "J", "|ΔJ|", "tol", "accuracy", "|Δ|", "tol"],
                       rows, align=["l", "r", "r", "r", "r", "r", "r"]))
    lines.append(paint(f"tol: {tolerance.TRAJECTORY_FACTOR}× the spread of the twins' own end states, or the reference's "
                       "interquartile range over those steps if larger (+ one example for the accuracy)", "dim",
                       enabled=colour))
    return lines


def training_verdict(report, colour=False):
    from adapters import REFERENCE
    bad = [name for name, o in report.outcomes.items() if o.status == MISMATCH]
    checked = [name for name, o in report.outcomes.items() if o.status == OK and name != REFERENCE]
    if bad:
        first = report.outcomes[bad[0]]
        hint = f"\n  probable cause: {first.hint}" if first.hint else ""
        return paint(f"✗ {', '.join(bad)} left the reference's trajectory: {first.reason}{hint}",
                     "red", "bold", enabled=colour)
    if checked:
        verb = "follows" if len(checked) == 1 else "follow"
        chaos = [report.outcomes[name].chaos_step for name in checked if report.outcomes[name].chaos_step is not None]
        end = "ends" if len(checked) == 1 else "end"
        if chaos and min(chaos) == 1:
            return paint(f"✓ {', '.join(checked)} {end} where the reference's twins do (chaotic from the first step)",
                         "green", "bold", enabled=colour)
        if chaos:
            return paint(f"✓ {', '.join(checked)} {verb} the reference step for step to step {min(chaos) - 1} and "
                         f"{end} where its twins do", "green", "bold", enabled=colour)
        return paint(f"✓ {', '.join(checked)} {verb} the reference step for step", "green", "bold", enabled=colour)
    return paint("⚠ no framework was compared with the reference", "yellow", enabled=colour)


# ---- crosscheck gradcheck -------------------------------------------------------------------------

def gradcheck_report(results, layers, batch, step, colour=None):
    """Per activation × loss pair the relative error of each parameter's gradient, the kinks crossed; the verdict."""
    colour = use_colour() if colour is None else colour
    by_pair = {}
    for r in results:
        by_pair.setdefault((r["activation"], r["loss"]), []).append(r)
    params = [r["param"] for r in next(iter(by_pair.values()))]
    rows = []
    for (activation, loss), rs in by_pair.items():
        cells = [paint(f"{r['rel_error']:.1e}", "green" if r["rel_error"] <= THRESHOLD else "red", enabled=colour)
                 for r in rs]
        rows.append([activation, loss, *cells, str(sum(r["kinks"] for r in rs))])
    max_error = max(r["rel_error"] for r in results)
    ok = max_error <= THRESHOLD
    mark = paint("✓", "green", enabled=colour) if ok else paint("✗", "red", enabled=colour)
    return "\n".join([
        paint(f"gradcheck · layers {','.join(map(str, layers))} · m = {batch} · float64 · h = {step:g}", "bold",
              enabled=colour), "",
        table(["activation", "loss", *params, "kinks"], rows, align=["l", "l"] + ["r"] * (len(params) + 1)),
        paint("cells: max|a − n| / max(|a| + |n|) of the backward pass (a) against central differences (n); "
              "kinks: steps that crossed a ReLU kink", "dim", enabled=colour), "",
        f"{mark} max relative error {max_error:.1e} ({'≤' if ok else '>'} threshold {THRESHOLD:.0e})"])


# ---- crosscheck bugs ------------------------------------------------------------------------------

def bugs_report(outcomes, colour=None):
    """Per bug: caught or not, where, where the catalogue says, the lecture line; then each hint; then the verdict."""
    colour = use_colour() if colour is None else colour
    rows = []
    for i, outcome in enumerate(outcomes, 1):
        bug = outcome.bug
        if outcome.ok:
            status = paint("✓ caught", "green", enabled=colour)
        elif not outcome.detected:
            status = paint("✗ missed", "red", "bold", enabled=colour)
        elif outcome.first_divergence != bug.expected:
            status = paint("✗ elsewhere", "red", "bold", enabled=colour)
        else:
            status = paint("✗ control", "red", "bold", enabled=colour)
        rows.append([str(i), bug.name, status, outcome.first_divergence or "–", bug.expected, bug.probe, bug.breaks])
    lines = [paint(f"crosscheck bugs · {len(outcomes)} classic backprop mistakes, each a one-step mutation of a "
                   f"correct implementation, through the same checks as --impl", "bold", enabled=colour), "",
             table(["#", "bug", "result", "first ✗", "predicted", "probe", "the lecture's line it breaks"], rows,
                   align=["r", "l", "l", "l", "l", "l", "l"]),
             "", paint("probable cause, as the engine gives it at the first divergence:", "bold", enabled=colour)]
    width = len(str(len(outcomes)))
    for i, outcome in enumerate(outcomes, 1):
        lines.append(f"  {i:>{width}}  {outcome.hint or paint('(no divergence, no hint)', 'red', enabled=colour)}")
    lines += ["", bugs_verdict(outcomes, colour)]
    return "\n".join(lines)


def bugs_verdict(outcomes, colour=False):
    failures = [o for o in outcomes if not o.ok]
    if not failures:
        return paint(f"✓ all {len(outcomes)} bugs caught at the tensor the catalogue predicts; the correct "
                     f"implementation passes on every bug's network", "green", "bold", enabled=colour)
    lines = []
    for outcome in failures:
        bug = outcome.bug
        if not outcome.detected:
            why = "not detected: every tensor agrees with the reference"
        elif outcome.first_divergence != bug.expected:
            why = f"first diverges at {outcome.first_divergence}, the catalogue predicts {bug.expected}"
        else:
            why = f"the correct implementation itself diverges at {outcome.control_divergence} on this network"
        lines.append(paint(f"✗ {bug.name}: {why}", "red", "bold", enabled=colour))
    return "\n".join(lines)


def bug_report(bug, report, colour=None):
    """One bug's full tensor-by-tensor report, under a header naming it, exactly as `crosscheck --impl` prints it."""
    colour = use_colour() if colour is None else colour
    header = paint(f"── {bug.name}: {bug.title}  (breaks {bug.breaks})", "bold", "cyan", enabled=colour)
    return header + "\n" + check_report(report, colour)


def training_bug_report(bug, outcome, colour=None):
    """A training loop's mistake: crosscheck train's verdict on the run, the step it leaves the reference, the hint."""
    colour = use_colour() if colour is None else colour
    header = paint(f"── {bug.name}: {bug.title}  (breaks {bug.breaks})", "bold", "cyan", enabled=colour)
    lines = [header, f"crosscheck train's comparison on {bug.scenario.describe()}: every step against the reference "
                     f"run and within what its twins show"]
    if outcome.status == OK:
        lines.append(paint("✓ follows the reference step for step: not detected", "red", "bold", enabled=colour))
    else:
        lines.append(paint(f"✗ leaves the reference's trajectory: {outcome.reason}", "red", "bold", enabled=colour))
        if outcome.hint:
            lines.append(f"  probable cause: {outcome.hint}")
    return "\n".join(lines)


# ---- crosscheck tune ------------------------------------------------------------------------------

def _percent(fraction):
    return "–" if fraction is None else f"{100 * fraction:.1f}%"


def _split_line(c):
    s = c["split"]
    return f"{c['data']} (train {s['train']} / dev {s['dev']} / test {s['test']}, stratified, seed {s['seed']})"


def tuning_report(search, confirmation, config, plot=None, colour=None):
    """The search's table (best dev accuracy first), the best point, and the best point again in Keras."""
    colour = use_colour() if colour is None else colour
    c, space = config, search.space
    batch = c["batch_size"] or "full"
    lines = [paint(f"crosscheck tune · {_split_line(c)} · {c['activation']} {c['loss']} · {c['optimizer']}, "
                   f"{c['epochs']} epochs, batch {batch}, init {c['init']} · {c['dtype']}", "bold", enabled=colour),
             f"{len(search.trials)} random points: α log-uniform on [{space.lr[0]:g}, {space.lr[1]:g}], "
             f"λ ({c['l2_convention']}) log-uniform on [{space.l2[0]:g}, {space.l2[1]:g}], "
             f"width from {', '.join(map(str, space.widths))}; each trained by the reference, judged on dev", ""]
    best = search.best
    ranked = sorted(search.trials, key=lambda t: t.key(), reverse=True)
    rows = []
    for t in ranked:
        mark = paint("★ best", "green", "bold", enabled=colour) if t is best else ""
        if t.diverged:
            rows.append([str(t.index), f"{t.lr:.3g}", f"{t.l2:.2e}", str(t.width),
                         paint("diverged", "red", enabled=colour), "–", "–", "–", ""])
        else:
            rows.append([str(t.index), f"{t.lr:.3g}", f"{t.l2:.2e}", str(t.width), f"{t.final_loss:.4g}",
                         _percent(t.train_accuracy), _percent(t.dev_accuracy), f"{t.dev_loss:.4g}", mark])
    lines.append(table(["trial", "α", "λ", "width", "final J", "train acc", "dev acc", "dev J", ""], rows,
                       align=["r", "r", "r", "r", "r", "r", "r", "r", "l"]))
    lines.append(paint("best dev accuracy first (the lower dev J breaks a tie); final J: the last step's batch, "
                       "L2 term included; dev J: the loss alone", "dim", enabled=colour))
    if plot:
        lines.append(f"plot: {plot}")
    lines.append("")
    if best is None:
        return "\n".join(lines + [paint("✗ every trial diverged: try a smaller --lr-range", "red", "bold", enabled=colour)])
    lines.append(paint(f"best: trial {best.index} · α = {best.lr:.3g}, λ = {best.l2:.2e}, width {best.width} · "
                       f"dev accuracy {_percent(best.dev_accuracy)}", "bold", enabled=colour))
    if confirmation is None:
        return "\n".join(lines + ["(not trained in Keras: --no-keras)"])
    lines += ["", f"the best point again, from the same start on the same {confirmation.steps} batches:"]
    rows = [[name, f"{r['final_loss']:.6f}", _percent(r["train_accuracy"]), _percent(r["dev_accuracy"]),
             _percent(r["test_accuracy"])] for name, r in confirmation.results.items()]
    labels = {"reference": "reference (NumPy)", "keras": "keras (model.fit)"}
    rows = [[labels.get(row[0], row[0]), *row[1:]] for row in rows]
    lines.append(table(["", "final J", "train acc", "dev acc", "test acc"], rows, align=["l", "r", "r", "r", "r"]))
    lines.append(paint("test: looked at once, for this point only, after the search", "dim", enabled=colour))
    if confirmation.max_param_divergence is not None:
        lines.append(f"max|ΔJ| over the steps {confirmation.max_loss_divergence:.1e} (tol {confirmation.loss_tolerance:.1e}) · "
                     f"max|ΔW| {confirmation.max_param_divergence:.1e} (tol {confirmation.param_tolerance:.1e})")
        lines.append(paint(f"tolerance: {tolerance.describe(c['dtype'], 'trajectory')}", "dim", enabled=colour))
    lines += ["", tuning_verdict(confirmation, colour)]
    return "\n".join(lines)


def tuning_verdict(confirmation, colour=False):
    if confirmation.status == OK:
        return paint("✓ keras lands on the reference's result: the same J, the same parameters, the same dev accuracy",
                     "green", "bold", enabled=colour)
    if confirmation.status == UNAVAILABLE:
        return paint(f"⚠ keras unavailable — {confirmation.reason}; the search stands on the reference alone",
                     "yellow", enabled=colour)
    return paint(f"✗ keras lands elsewhere: {confirmation.reason}", "red", "bold", enabled=colour)


# ---- crosscheck analyze ---------------------------------------------------------------------------

def _signed_percent(fraction):
    return f"{100 * fraction:+.1f}%"


def analysis_report(analysis, config, plot=None, saved=None, colour=None):
    """Errors side by side, the bias and variance reading, the confusion matrix, the surest mistakes."""
    colour = use_colour() if colour is None else colour
    a, c, t = analysis, config, config["trained"]
    how = (f"parameters from {t['params']}" if "params" in t else
           f"trained here: {t['optimizer']} α={t['lr']:g}, {t['epochs']} epochs, batch {t['batch_size'] or 'full'}, "
           f"init {t['init']}")
    lines = [paint(f"crosscheck analyze · {_split_line(c)} · {c['network']} · {how} · {c['dtype']}", "bold",
                   enabled=colour), ""]
    rows = [[s, str(a.sizes[s]), str(a.wrong[s]), _percent(a.errors[s])] for s in ("train", "dev", "test")]
    lines.append(table(["split", "examples", "wrong", "error"], rows, align=["l", "r", "r", "r"]))
    lines.append("")
    focus = a.focus
    arrow = {name: paint("  ← the larger: work on this first", "yellow", "bold", enabled=colour) if name == focus else ""
             for name in ("bias", "variance")}
    rows = [["target error", "human-level, the stand-in for Bayes error", _percent(a.target_error), ""],
            ["avoidable bias", "train error − target", _signed_percent(a.avoidable_bias), arrow["bias"]],
            ["variance", "dev error − train error", _signed_percent(a.variance), arrow["variance"]],
            ["dev → test", "test error − dev error", _signed_percent(a.dev_test_gap), ""]]
    lines.append(table(["the course's reading", "from", "", ""], rows, align=["l", "l", "r", "l"]))
    lines += ["", f"{'high avoidable bias' if focus == 'bias' else 'high variance'}: try {ADVICE[focus]}"]
    if a.dev_test_gap > max(a.variance, a.avoidable_bias, 0):
        lines.append(paint("the test error is well above dev: the choices made on dev fit it too closely "
                           "(a bigger dev set helps)", "yellow", enabled=colour))
    lines += ["", paint(f"confusion matrix on {a.split} (rows: the true class, columns: the predicted one)", "bold",
                        enabled=colour)]
    names = [str(name)[:10] for name in a.classes]
    rows = []
    for i, name in enumerate(names):
        cells = [paint(str(n), "green" if i == j else "red", enabled=colour) if n else paint("·", "dim", enabled=colour)
                 for j, n in enumerate(a.confusion[i])]
        rows.append([name, *cells, str(int(a.confusion[i].sum()))])
    lines.append(table(["true \\ predicted", *names, "total"], rows, align=["l"] + ["r"] * (len(names) + 1)))
    pairs = a.pairs()
    if pairs:
        lines.append("most confused: " + ", ".join(f"{a.classes[i]} → {a.classes[j]} ({n})" for i, j, n in pairs))
    if a.confused:
        lines += ["", paint(f"the {len(a.confused)} {a.split} examples it got wrong most confidently", "bold",
                            enabled=colour)]
        rows = [[str(x.row), str(x.index), a.classes[x.true], a.classes[x.predicted], f"{x.p_predicted:.3f}",
                 f"{x.p_true:.3f}"] for x in a.confused]
        lines.append(table([f"{a.split} row", "data set row", "true", "predicted", "p(predicted)", "p(true)"], rows,
                           align=["r", "r", "l", "l", "r", "r"]))
    else:
        lines += ["", f"no {a.split} example is misclassified"]
    if saved:
        lines.append(f"parameters: {saved}")
    if plot:
        lines.append(f"plot: {plot}")
    return "\n".join(lines)
