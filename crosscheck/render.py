"""How the reports read in a terminal: the check's tensor table, the training table, gradcheck, the bug catalogue.

Every function returns text (colour codes only where colour is asked for); nothing here prints.
"""
import numpy as np

from reference.gradcheck import THRESHOLD

from . import tolerance
from .console import paint, table, use_colour
from .status import ERROR, MISMATCH, OK, UNAVAILABLE

LEGEND = ("cells: max|Δ| / max|reference| per tensor;  ✓ within tolerance, ✗ not, "
          "↳ fails after the first ✗ (fix that one first), – not provided")


# ---- crosscheck compare ---------------------------------------------------------------------------

def check_report(report, colour=None):
    """The report a person reads: the tensor table, the frameworks, the verdict."""
    colour = use_colour() if colour is None else colour
    c = report.config
    lines = [paint(f"crosscheck · {c.get('network')} · {c.get('dtype')} · m = {c.get('batch')} ({c.get('data')}) · "
                   f"seed {c.get('seed')}", "bold", enabled=colour), ""]
    columns = report.compared
    if columns:
        names = [comparison.tensor for comparison in next(iter(columns.values())).comparisons]
        rows = []
        for i, name in enumerate(names):
            shape = report.reference[name].shape
            rows.append([name, str(shape) if shape else "scalar"] + [_cell(o.comparisons[i], colour)
                                                                      for o in columns.values()])
        lines.append(table(["tensor", "shape", *columns], rows, align=["l", "l"] + ["r"] * len(columns)))
        lines.append(paint(LEGEND, "dim", enabled=colour))
        lines.append(paint(f"tolerance: {tolerance.describe(c.get('dtype'))}", "dim", enabled=colour))
    lines.append("")
    for name, outcome in report.outcomes.items():
        lines.append(_framework_line(name, outcome, colour))
    lines += ["", check_verdict(report, colour)]
    return "\n".join(lines)


def _framework_line(name, outcome, colour):
    if outcome.status == UNAVAILABLE:
        return paint(f"  {name:<11} unavailable — {outcome.reason}", "yellow", enabled=colour)
    if outcome.status == ERROR:
        return paint(f"  {name:<11} error — {outcome.reason}", "red", enabled=colour)
    if outcome.implementation:
        note = outcome.reason or f"provided {outcome.provided} of {len(outcome.comparisons)} tensors"
        return f"  {name:<11} your implementation · {note}"
    info, seconds = outcome.info or {}, outcome.seconds or {}
    timing = f" · import {seconds['import']:.1f} s, check {seconds['check'] * 1e3:.0f} ms" if seconds else ""
    return (f"  {name:<11} {info.get('version')} · {info.get('device', 'cpu')} · {info.get('threads', '?')} threads · "
            f"{info.get('precision', '')}{timing}")


def check_verdict(report, colour=False):
    first = report.first_divergence
    checked = [name for name, o in report.outcomes.items() if o.checked]
    if first is None and report.ok:
        if not checked:
            return paint("⚠ nothing was checked: no framework is available", "yellow", enabled=colour)
        tensors = len(next(iter(report.compared.values())).comparisons)
        return paint(f"✓ all {tensors} tensors agree with the reference in {', '.join(checked)}", "green", "bold",
                     enabled=colour)
    if first is None:
        bad = [name for name, o in report.outcomes.items() if o.status in (MISMATCH, ERROR)]
        return paint(f"✗ {', '.join(bad)}: {report.outcomes[bad[0]].reason}", "red", "bold", enabled=colour)
    where = f"{first.framework} {first.tensor} {first.shape if first.shape else '(scalar)'}"
    return (paint(f"✗ first divergence: {where}", "red", "bold", enabled=colour) + "\n  "
            + paint(f"probable cause: {first.hint}", "yellow", enabled=colour))


def _cell(comparison, colour):
    if comparison.ok is None:
        return paint("–", "dim", enabled=colour)
    if comparison.got_shape is not None:
        text = f"shape {comparison.got_shape} ✗"
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
    """The training table: per framework its convention, final J, accuracy, largest divergence against its
    tolerance, the steps compared, time; the chaos note and the end state when the run turned chaotic; the verdict."""
    colour = use_colour() if colour is None else colour
    optimizer, c = report.optimizer, config
    head = (f"crosscheck train · {c['network']} · {c['dtype']} · m = {c['examples']} · {optimizer.name} α={optimizer.lr:g} · "
            f"{report.steps} steps ({epochs} epochs, batch {c['batch_size'] or 'full'}) · seed {c['seed']}")
    rows, notes, judged = [], [], {}
    for name, o in report.outcomes.items():
        if o.status == UNAVAILABLE:
            notes.append(paint(f"  {name:<15} unavailable — {o.reason}", "yellow", enabled=colour))
        elif o.run is None or o.envelope is None:
            notes.append(paint(f"  {name:<15} {o.reason}", "red", enabled=colour))
        else:
            judged[name] = o
            mark = paint("✓", "green", enabled=colour) if o.status == OK else paint("✗", "red", "bold", enabled=colour)
            n = o.tolerance.compared_steps
            compared = "every step" if o.chaos_step is None else (f"1–{n}, end" if n else "end only")
            rows.append([name, o.convention, f"{o.final_loss:.6f}", f"{100 * o.accuracy:.1f}%",
                         _sci(o.max_loss_divergence), _sci(o.loss_tolerance), _sci(o.max_param_divergence),
                         _sci(o.param_tolerance), compared, mark, f"{o.seconds['train']:.1f}s"])
    lines = [paint(head, "bold", enabled=colour), ""]
    if rows:
        lines.append(table(["framework", "convention", "final J", "accuracy", "max|ΔJ|", "tol ΔJ", "max|ΔW|", "tol ΔW",
                            "steps compared", "", "time"], rows, align=["l", "l", "r", "r", "r", "r", "r", "r", "l", "l", "r"]))
        lines.append(paint("max|Δ|: over the steps compared one by one and every W and b, against the reference run in "
                           "that framework's optimizer convention; tol: the largest per-step tolerance, which grows with "
                           "what rounding does to the reference's own twins", "dim", enabled=colour))
        lines.append(paint(f"tolerance: {tolerance.describe(c['dtype'], 'trajectory')}", "dim", enabled=colour))
        lines += chaos_note(report, judged, colour)
    lines += notes
    if plot:
        lines.append(f"plot: {plot}")
    lines += ["", training_verdict(report, colour)]
    return "\n".join(lines)


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
        return paint(f"✗ {', '.join(bad)} left the reference's trajectory: {report.outcomes[bad[0]].reason}",
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
        rows.append([str(i), bug.name, status, outcome.first_divergence or "–", bug.expected, bug.breaks])
    lines = [paint(f"crosscheck bugs · {len(outcomes)} classic backprop mistakes, each a one-step mutation of a "
                   f"correct implementation, through the same checks as --impl", "bold", enabled=colour), "",
             table(["#", "bug", "result", "first ✗", "predicted", "the lecture's line it breaks"], rows,
                   align=["r", "l", "l", "l", "l", "l"]),
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
