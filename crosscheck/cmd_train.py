"""crosscheck train — train the same network from the same initial parameters, on the same batches in
the same order, in the NumPy reference, PyTorch, TensorFlow, Keras (model.fit) and JAX, and compare the
runs after every step: J, and every W and b against the reference run in that framework's convention.

Exit code 0 when every framework follows the reference's trajectory, 1 on a mismatch, 2 on bad input.
"""
import argparse
import importlib
import time

import numpy as np

from reference import DTYPES, INIT_SCHEMES
from reference.optim import FRAMEWORK_CONVENTIONS, OPTIMIZERS, Optimizer
from reference.train import accuracy, batch_schedule, train

from . import options
from .console import Progress, paint, table, use_colour
from .tolerance import EPS32, FLOAT32_FACTOR, FLOAT64_ATOL, FLOAT64_RTOL

REFERENCE = "numpy-reference"
# framework name -> module with NAME, CONVENTION, setup(), train(net, params, X, Y, optimizer, schedule, on_step)
TRAINERS = {"torch": "adapters.torch_train", "tensorflow": "adapters.tf_train", "keras": "adapters.keras_fit",
            "jax": "adapters.jax_train"}
FRAMEWORKS = (REFERENCE, *TRAINERS)
# the learning rate when --lr is not given: what trains the spiral well with each optimizer
DEFAULT_LR = {"sgd": 0.3, "momentum": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01}
# float32 trajectories amplify rounding: at a ReLU kink one rounding switches a unit for a step, and Adam
# and RMSprop turn the rounding noise of a near-zero gradient into a full step of size α.  A float32 run
# is held to 10× the spread of the reference's own correct float32 runs (see float32_spread), and never
# to less than half of float32's digits.
FLOAT32_TRAJECTORY_RTOL = float(np.sqrt(EPS32))

OK, MISMATCH, UNAVAILABLE = "ok", "mismatch", "unavailable"


def add_arguments(parser):
    options.add_network_arguments(parser)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="update rule (default sgd: W ← W − α dW)")
    parser.add_argument("--lr", type=options.positive_float, default=None, metavar="α",
                        help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--epochs", type=options.positive_int, default=1000, metavar="N", help="passes over the data (default 1000)")
    parser.add_argument("--batch-size", type=_batch_size, default=None, metavar="B",
                        help="examples per step; 'full' (the default) for full-batch descent")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float64", help="precision (default float64)")
    parser.add_argument("--examples", dest="batch", type=options.positive_int, default=300, metavar="M",
                        help="training examples (default 300, the lecture's spiral)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the data, the parameters and the batch order (default 0)")
    parser.add_argument("--init", choices=list(INIT_SCHEMES), default="lecture", help="parameter initialization (default lecture)")
    parser.add_argument("--params", metavar="FILE.npz", help="initial parameters W1, b1, W2, b2, … (layers inferred)")
    parser.add_argument("--data", metavar="FILE.npz", help="X with Y (one-hot) or y (labels)")
    options.add_frameworks_argument(parser, known=FRAMEWORKS)
    parser.add_argument("--plot", metavar="FILE.png", help="draw the loss curves and the decision boundary")
    options.add_json_argument(parser)


def run(args):
    if args.plot:
        from . import plotting
        options.check_writable(args.plot, "--plot")
        plotting.require(args.plot)           # before any training: a missing matplotlib is exit 2
    net, params, X, Y = options.build_problem(args)
    optimizer = Optimizer(args.optimizer, args.lr or DEFAULT_LR[args.optimizer])
    schedule = batch_schedule(X.shape[0], args.batch_size, args.epochs, args.seed)
    with Progress(len(schedule) * _runs(args.frameworks, optimizer, X.dtype), "training",
                  enabled=False if args.json else None) as bar:
        report = compare_training(net, params, X, Y, optimizer, schedule, args.frameworks,
                                  on_step=lambda name, t: bar.advance(name))
    report["epochs"], report["plot"] = args.epochs, None
    report["config"] = {"layers": list(net.sizes), "activation": net.activation, "loss": net.loss, "dtype": X.dtype.name,
                        "examples": int(X.shape[0]), "batch_size": args.batch_size, "seed": args.seed,
                        "init": None if args.params else args.init, "l2": net.l2, "l2_convention": net.l2_convention,
                        "params": args.params, "data": args.data}
    if args.plot:
        from . import plotting
        plotting.training_figure(report, net, X, Y, args.plot)
        report["plot"] = args.plot
    if args.json:
        options.emit_json(as_json(report))
    else:
        print(render(report, net, X, optimizer, args))
    return 1 if any(r["status"] == MISMATCH for r in report["frameworks"].values()) else 0


# ---- the engine ------------------------------------------------------------------------------------

def load_trainer(name):
    """The training module of a framework, set up; raises with the reason when the framework is missing."""
    module = importlib.import_module(TRAINERS[name])
    module.setup()
    return module


def compare_training(net, params, X, Y, optimizer, schedule, frameworks=FRAMEWORKS, on_step=None):
    """Train in each framework and compare every step with the reference run in that framework's convention.

    Returns {"references": {convention: Run}, "frameworks": {name: result}}, a result being
    {status, reason, convention, run, final_loss, accuracy, max_param_divergence, max_loss_divergence,
     param_tolerance, loss_tolerance, seconds}.
    """
    on_step = on_step or (lambda name, t: None)
    conventions = {FRAMEWORK_CONVENTIONS[f] for f in (REFERENCE, *frameworks)}
    references, own_drift = {}, {}
    for convention in sorted(conventions):
        opt = optimizer.in_convention(convention)
        references[convention] = train(net, params, X, Y, opt, schedule, lambda t: on_step(REFERENCE, t))
        if X.dtype == np.float32:
            own_drift[convention] = float32_spread(net, params, X, Y, opt, schedule, references[convention],
                                                   lambda t: on_step(REFERENCE, t))
    results = {}
    for name in frameworks:
        convention = FRAMEWORK_CONVENTIONS[name]
        reference = references[convention]
        started = time.perf_counter()
        if name == REFERENCE:
            run = reference
        else:
            try:
                module = load_trainer(name)
            except Exception as exc:  # ImportError, or a framework that imports but cannot start
                results[name] = {"status": UNAVAILABLE, "reason": _reason(exc), "convention": convention}
                continue
            try:
                run = module.train(net, params, X, Y, optimizer.in_convention(convention), schedule,
                                   lambda t, name=name: on_step(name, t))
            except NotImplementedError as exc:  # a combination the framework's API cannot express
                results[name] = {"status": UNAVAILABLE, "reason": _reason(exc), "convention": convention}
                continue
            except Exception as exc:  # the framework failed part-way: no trajectory to follow is a failure
                results[name] = {"status": MISMATCH, "reason": f"training failed: {type(exc).__name__}: {_reason(exc)}",
                                 "convention": convention}
                continue
        results[name] = judge(run, reference, own_drift.get(convention), X.dtype)
        results[name].update(convention=convention, seconds=time.perf_counter() - started,
                             accuracy=accuracy(net, run.final_params, X, Y), final_loss=float(run.losses[-1]))
    return {"references": references, "frameworks": results, "optimizer": optimizer, "steps": len(schedule)}


def float32_spread(net, params, X, Y, optimizer, schedule, reference32, on_step=None):
    """How far apart correct float32 runs get: [J spread, parameter spread] over the whole run.

    Two more reference runs: in float64 from the same float32 start (the exact walk, nearly), and in
    float32 with each batch's rows in reverse order (the same mathematics, other roundings).  The spread
    is the larger distance of either from reference32.
    """
    up = [(W.astype(np.float64), b.astype(np.float64)) for W, b in params]
    run64 = train(net, up, X.astype(np.float64), Y.astype(np.float64), optimizer, schedule, on_step)
    reversed32 = train(net, params, X, Y, optimizer, [rows[::-1] for rows in schedule], on_step)
    gaps = [divergence(reference32, other) for other in (run64, reversed32)]
    return [max(float(np.max(g[i])) for g in gaps) for i in (0, 1)]


def divergence(run, reference):
    """Per step: |J − J_ref| and max|P − P_ref| over every W and b — two arrays of shape (steps,)."""
    loss = np.abs(np.asarray(run.losses, np.float64) - reference.losses)
    param = np.array([max(float(np.max(np.abs(np.asarray(p, np.float64) - q)))
                          for pair, pair_ref in zip(after, after_ref) for p, q in zip(pair, pair_ref))
                      for after, after_ref in zip(run.params, reference.params)])
    return loss, param


def tolerances(reference, own_drift, dtype):
    """(loss tolerance, parameter tolerance) for a whole run, by the stated policy (see render's footnote)."""
    loss_scale = float(np.max(np.abs(reference.losses)))
    param_scale = max(float(np.max(np.abs(p))) for after in reference.params for pair in after for p in pair)
    if np.dtype(dtype) == np.float64:
        return FLOAT64_RTOL * loss_scale + FLOAT64_ATOL, FLOAT64_RTOL * param_scale + FLOAT64_ATOL
    own_loss, own_param = own_drift
    param_tol = max(FLOAT32_FACTOR * own_param, FLOAT32_TRAJECTORY_RTOL * param_scale)
    # J is held to the relative precision its parameters are held to: a run whose weights may differ by
    # 1% of their size may have a J 1% off too
    loss_tol = max(FLOAT32_FACTOR * own_loss, FLOAT32_TRAJECTORY_RTOL * loss_scale, param_tol / param_scale * loss_scale)
    return loss_tol, param_tol


def judge(run, reference, own_drift, dtype):
    """ok or mismatch: every step's J and every parameter within the run's tolerances (NaN fails)."""
    if len(run.losses) != len(reference.losses):
        return {"status": MISMATCH, "run": run, "reason": f"{len(run.losses)} steps recorded, expected "
                f"{len(reference.losses)}", "max_loss_divergence": float("nan"), "max_param_divergence": float("nan")}
    loss_gap, param_gap = divergence(run, reference)
    loss_div, param_div = float(np.max(loss_gap)), float(np.max(param_gap))
    loss_tol, param_tol = tolerances(reference, own_drift, dtype)
    reason = (f"max|ΔW| {param_div:.1e} > {param_tol:.1e}" if not param_div <= param_tol
              else f"max|ΔJ| {loss_div:.1e} > {loss_tol:.1e}" if not loss_div <= loss_tol else None)
    return {"status": MISMATCH if reason else OK, "reason": reason, "run": run,
            "loss_gap": loss_gap, "param_gap": param_gap, "max_loss_divergence": loss_div, "max_param_divergence": param_div,
            "loss_tolerance": loss_tol, "param_tolerance": param_tol}


# ---- output ----------------------------------------------------------------------------------------

def as_json(report):
    keys = ("status", "reason", "convention", "final_loss", "accuracy", "max_param_divergence",
            "max_loss_divergence", "param_tolerance", "loss_tolerance")
    return {"epochs": report["epochs"], "steps": report["steps"], "optimizer": report["optimizer"].name,
            "lr": report["optimizer"].lr, "config": report.get("config", {}),
            "frameworks": {name: {k: result.get(k) for k in keys} for name, result in report["frameworks"].items()},
            "plot": report["plot"]}


def render(report, net, X, optimizer, args, colour=None):
    colour = use_colour() if colour is None else colour
    head = (f"crosscheck train · {net.describe()} · {X.dtype.name} · m = {X.shape[0]} · {optimizer.name} α={optimizer.lr:g} · "
            f"{report['steps']} steps ({args.epochs} epochs, batch {args.batch_size or 'full'}) · seed {args.seed}")
    rows, notes = [], []
    for name, r in report["frameworks"].items():
        if r["status"] == UNAVAILABLE:
            notes.append(paint(f"  {name:<15} unavailable — {r['reason']}", "yellow", enabled=colour))
            continue
        if "run" not in r:
            notes.append(paint(f"  {name:<15} {r['reason']}", "red", enabled=colour))
            continue
        mark = paint("✓", "green", enabled=colour) if r["status"] == OK else paint("✗", "red", "bold", enabled=colour)
        rows.append([name, r["convention"], f"{r['final_loss']:.6f}", f"{100 * r['accuracy']:.1f}%",
                     f"{r['max_loss_divergence']:.1e}", f"{r['max_param_divergence']:.1e}",
                     f"{r.get('param_tolerance', float('nan')):.1e}", mark, f"{r['seconds']:.1f}s"])
    lines = [paint(head, "bold", enabled=colour), ""]
    if rows:
        lines.append(table(["framework", "convention", "final J", "accuracy", "max|ΔJ|", "max|ΔW|", "tol ΔW", "", "time"],
                           rows, align=["l", "l", "r", "r", "r", "r", "r", "l", "r"]))
        lines.append(paint("max|Δ|: over every step and every W and b, against the reference run in that framework's "
                           "optimizer convention", "dim", enabled=colour))
        lines.append(paint(f"tolerance: {_policy(X.dtype.name)}", "dim", enabled=colour))
    lines += notes
    if report["plot"]:
        lines.append(f"plot: {report['plot']}")
    bad = [n for n, r in report["frameworks"].items() if r["status"] == MISMATCH]
    checked = [n for n, r in report["frameworks"].items() if r["status"] == OK and n != REFERENCE]
    lines.append("")
    if bad:
        lines.append(paint(f"✗ {', '.join(bad)} left the reference's trajectory: {report['frameworks'][bad[0]]['reason']}",
                           "red", "bold", enabled=colour))
    elif checked:
        verb = "follows" if len(checked) == 1 else "follow"
        lines.append(paint(f"✓ {', '.join(checked)} {verb} the reference step for step", "green", "bold", enabled=colour))
    else:
        lines.append(paint("⚠ no framework was compared with the reference", "yellow", enabled=colour))
    return "\n".join(lines)


def _policy(dtype):
    if dtype == "float32":
        return (f"float32: max|ΔW| ≤ max({FLOAT32_FACTOR}× the spread of the reference's own float32 runs, "
                f"√ε32·max|W_ref| = {FLOAT32_TRAJECTORY_RTOL:.1e}·max|W_ref|); J to the same relative precision")
    return f"float64: max|Δ| ≤ {FLOAT64_RTOL:.0e}·max|ref| + {FLOAT64_ATOL:.0e}"


def _runs(frameworks, optimizer, dtype):
    """How many runs of the schedule the progress bar waits for."""
    conventions = {FRAMEWORK_CONVENTIONS[f] for f in (REFERENCE, *frameworks)}
    return len(conventions) * (3 if np.dtype(dtype) == np.float32 else 1) + sum(f != REFERENCE for f in frameworks)


def _reason(exc):
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text


def _batch_size(text):
    if text == "full":
        return None
    try:
        return options.positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {text!r}") from None
