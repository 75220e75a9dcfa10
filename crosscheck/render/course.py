"""How training, tuning and error analysis read in a terminal (crosscheck train, tune, analyze).

Every function returns text (colour codes only where colour is asked for); nothing here prints.
"""
from crosscheck.console import paint, table, use_colour
from crosscheck.course.analysis import ADVICE
from crosscheck.engine import tolerance
from crosscheck.engine.status import MISMATCH, OK, UNAVAILABLE

# ---- crosscheck train -----------------------------------------------------------------------------

def training_report(report, config, epochs, plot=None, colour=None):
    """The training table: per framework its convention, final J, accuracy (dev and test on a split data set), largest
    divergence against its tolerance, the steps compared, time; the chaos note and the end state when the run turned
    chaotic; early stopping; the verdict."""
    colour = use_colour() if colour is None else colour
    optimizer, c = report.optimizer, config
    data = f" ({c['data']})" if c.get("split") else ""
    head = (f"crosscheck train · {c['network']} · {c['dtype']} · m = {c['examples']}{data} · {optimizer.headline()} · "
            f"{report.steps} steps ({epochs} epochs, batch {c['batch_size'] or 'full'}) · seed {c['seed']}")
    split = bool(c.get("split"))
    splits = ["dev"] + (["test"] if c.get("test") else [])
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
                accuracies += [f"{100 * o.split_accuracy[s]:.1f}%" for s in splits]
            rows.append([name, o.convention, f"{o.final_loss:.6f}", *accuracies,
                         _sci(o.max_loss_divergence), _sci(o.loss_tolerance), _sci(o.max_param_divergence),
                         _sci(o.param_tolerance), compared, mark, f"{o.seconds['train']:.1f}s"])
    lines = [paint(head, "bold", enabled=colour), ""]
    if rows:
        accuracy_columns = ["train acc"] + [f"{s} acc" for s in splits] if split else ["accuracy"]
        lines.append(table(["framework", "convention", "final J", *accuracy_columns, "max|ΔJ|", "tol ΔJ", "max|ΔW|",
                            "tol ΔW", "steps compared", "", "time"], rows,
                           align=["l", "l", "r"] + ["r"] * len(accuracy_columns) + ["r", "r", "r", "r", "l", "l", "r"]))
        lines.append(paint("max|Δ|: over the steps compared one by one and every W and b (γ, β and batch norm's running "
                           "averages too), against the reference run in that framework's optimizer convention; tol: "
                           "the largest per-step tolerance, which grows with what rounding does to the reference's own "
                           "twin", "dim", enabled=colour))
        if split:
            tested = (f" and test {c['split']['test']} rows" if c.get("test") else
                      " rows (test: not looked at, --test)")
            lines.append(paint(f"trained on the training split ({c['split']['train']} rows); accuracies in an "
                               f"inference pass, dev {c['split']['dev']}{tested}", "dim", enabled=colour))
        lines.append(paint(f"tolerance: {tolerance.describe(c['dtype'], 'trajectory')}", "dim", enabled=colour))
        lines += hyperparameter_lines(judged)
        lines += mini_batch_l2_note(c)
        lines += early_stopping_note(judged, c)
        lines += switch_note(judged)
        lines += chaos_note(report, judged, colour)
    lines += notes
    if plot:
        lines.append(f"plot: {plot}")
    lines += ["", training_verdict(report, colour)]
    return "\n".join(lines)


def hyperparameter_lines(judged):
    """Each framework's optimizer (and batch norm, clipping) as it ran, read back from its own objects."""
    lines = ["hyperparameters as each ran them:"]
    for name, o in judged.items():
        ran = o.run.meta.get("hyperparameters")
        if ran:
            lines.append(f"  {name:<15} {describe_hyperparameters(ran)}")
    return lines if len(lines) > 1 else []


def describe_hyperparameters(ran):
    """One line: optimizer(arguments) · batch norm · clipping · schedule."""
    def plain(value):
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, dict):  # a Keras schedule's config
            return value.get("class_name") or "{…}"
        return str(value)

    def arguments(values):
        return ", ".join(f"{k}={plain(v)}" for k, v in values.items() if k not in ("layer", "call", "scheduler"))

    parts = [f"{ran['optimizer']}({arguments(ran['arguments'])})"]
    for key in ("batch_norm", "clip", "schedule"):
        if key in ran:
            part = ran[key]
            parts.append(part if isinstance(part, str) else
                         f"{part.get('layer') or part.get('call') or part.get('scheduler') or key.replace('_', ' ')}"
                         f"({arguments(part)})")
    return " · ".join(parts)


def mini_batch_l2_note(config):
    """Under the course's λ/(2m) with mini-batches: m is the batch's, and a λ tuned full-batch is stronger per step."""
    batch = config.get("batch_size")
    m = config["examples"]
    if not config.get("l2") or config.get("l2_convention") != "course" or not batch or batch >= m:
        return []
    return [f"L2 (course): λ/(2m) with m the batch's rows, {batch}: each step's λW/m is {m / batch:.1f}× what "
            f"full-batch descent on the {m} rows applies — a λ from a full-batch notebook is {m / batch:.1f}× stronger "
            f"here"]


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
    if config.get("l2") and config.get("l2_convention") == "course":
        batch = config.get("batch_size") or config["examples"]
        note += (f"; its L2 term λ/(2m) takes m = {min(batch, config['examples'])}, the training batch's, in Keras's "
                 f"val_loss (the keras convention) and m = {config['split']['dev']}, the dev split's, in the loops of "
                 f"the torch and optax conventions")
    if len(parts) > 1 and config.get("batch_norm"):
        note += " (batch norm's running variance differs by convention, and with it J on the dev split)"
    return [note]


def switch_note(judged):
    """The steps a framework took with a hidden unit on ReLU's kink on its other side, which the reference then took too."""
    lines = []
    for name, o in judged.items():
        for switch in o.switches:
            units = ", ".join(f"unit {u['unit'] + 1} of layer {u['layer']} for row {u['row'] + 1} of the batch "
                              f"(Z = {u['Z']:.1e}, within {u['reach']:.1e} of 0)" for u in switch["units"][:3])
            more = f" and {len(switch['units']) - 3} more" if len(switch["units"]) > 3 else ""
            lines.append(f"{name} at step {switch['step']}: {units}{more} on the other side of ReLU's kink — another "
                         f"run's rounding may put it there, and no twin foresees which way; the reference took that "
                         f"step so too, and went on comparing")
    return lines


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
    lines.append(paint(f"tol: {tolerance.TRAJECTORY_FACTOR}× the distance of the twin's own end state, or the reference's "
                       "interquartile range over those steps if larger (+ one example for the accuracy)", "dim",
                       enabled=colour))
    return lines


def training_verdict(report, colour=False):
    from crosscheck.adapters import REFERENCE
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
            return paint(f"✓ {', '.join(checked)} {end} where the reference's twin does (chaotic from the first step)",
                         "green", "bold", enabled=colour)
        if chaos:
            return paint(f"✓ {', '.join(checked)} {verb} the reference step for step to step {min(chaos) - 1} and "
                         f"{end} where its twin does", "green", "bold", enabled=colour)
        return paint(f"✓ {', '.join(checked)} {verb} the reference step for step", "green", "bold", enabled=colour)
    return paint("⚠ no framework was compared with the reference", "yellow", enabled=colour)


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
    looked = [s for s in ("train", "dev", "test") if s in a.errors]
    rows = [[s, str(a.sizes[s]), str(a.wrong[s]), _percent(a.errors[s])] for s in looked]
    lines.append(table(["split", "examples", "wrong", "error"], rows, align=["l", "r", "r", "r"]))
    if "test" not in a.errors:
        lines.append(paint("test: not looked at (--test): the test set is looked at once, at the end", "dim",
                           enabled=colour))
    lines.append("")
    focus = a.focus
    arrow = {name: paint("  ← the larger: work on this first", "yellow", "bold", enabled=colour) if name == focus else ""
             for name in ("bias", "variance")}
    rows = [["target error", "human-level, the stand-in for Bayes error", _percent(a.target_error), ""],
            ["avoidable bias", "train error − target", _signed_percent(a.avoidable_bias), arrow["bias"]],
            ["variance", "dev error − train error", _signed_percent(a.variance), arrow["variance"]]]
    if a.dev_test_gap is not None:
        rows.append(["dev → test", "test error − dev error", _signed_percent(a.dev_test_gap), ""])
    lines.append(table(["the course's reading", "from", "", ""], rows, align=["l", "l", "r", "l"]))
    lines += ["", f"{'high avoidable bias' if focus == 'bias' else 'high variance'}: try {ADVICE[focus]}"]
    if a.dev_test_gap is not None and a.dev_test_gap > max(a.variance, a.avoidable_bias, 0):
        lines.append(paint("the test error is well above dev: the choices made on dev fit it too closely "
                           "(a bigger dev set helps)", "yellow", enabled=colour))
    lines += ["", paint(f"confusion matrix on {a.split} (rows: the true class, columns: the predicted one)", "bold",
                        enabled=colour)]
    names = [str(name)[:10] for name in a.classes]
    rows = []
    for i, (name, error) in enumerate(zip(names, a.class_errors)):
        cells = [paint(str(n), "green" if i == j else "red", enabled=colour) if n else paint("·", "dim", enabled=colour)
                 for j, n in enumerate(a.confusion[i])]
        rows.append([name, *cells, str(int(a.confusion[i].sum())), _percent(error)])
    lines.append(table(["true \\ predicted", *names, "total", "error"], rows, align=["l"] + ["r"] * (len(names) + 2)))
    lines.append(paint("error: the share of the class's examples predicted as another class (its row, off the diagonal)",
                       "dim", enabled=colour))
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
