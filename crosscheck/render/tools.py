"""How gradcheck and the bug catalogue read in a terminal.

Every function returns text (colour codes only where colour is asked for); nothing here prints.
"""
from crosscheck.console import paint, table, use_colour
from crosscheck.engine.status import OK
from crosscheck.reference.gradcheck import THRESHOLD
from crosscheck.render.check import check_report

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
                     f"run and within what its twin shows"]
    if outcome.status == OK:
        lines.append(paint("✓ follows the reference step for step: not detected", "red", "bold", enabled=colour))
    else:
        lines.append(paint(f"✗ leaves the reference's trajectory: {outcome.reason}", "red", "bold", enabled=colour))
        if outcome.hint:
            lines.append(f"  probable cause: {outcome.hint}")
    return "\n".join(lines)
