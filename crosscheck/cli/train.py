"""crosscheck train — train the same network from the same initial parameters, on the same batches in
the same order, in the NumPy reference, PyTorch, TensorFlow, Keras (model.fit) and JAX, and compare the
runs after every step: J, and every W and b against the reference run in that framework's convention,
within what the reference's own twin shows (crosscheck.tolerance); once the twin parts, the run is
chaotic from that step and only its end state is compared.

Dropout (the masks shared, drawn per step), batch norm (its running averages compared too), a learning-rate
schedule per epoch in each framework's own scheduler, gradient clipping by the global norm and early stopping
on the dev split of a named data set are each part of the run every framework makes.

Exit code 0 when every framework follows the reference's trajectory, 1 on a mismatch, 2 on bad input.
"""

from crosscheck import adapters, output
from crosscheck.benchmarks import machine
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.course.training import batch_sizes_near, compare_training, one_row_refused, runs_to_do
from crosscheck.engine.status import nothing_checked
from crosscheck.errors import UsageError
from crosscheck.reference.optim import OPTIMIZERS, SCHEDULE_OPTIONS, SCHEDULES, LRSchedule, Optimizer
from crosscheck.reference.train import EarlyStopping, batch_schedule
from crosscheck.render import course as render
from crosscheck.render import plots

FRAMEWORKS = (adapters.REFERENCE, *adapters.having("train"))
# the learning rate when --lr is not given: what trains the spiral well with each optimizer
DEFAULT_LR = {"sgd": 0.3, "momentum": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01}


EXAMPLES = """\
examples:
  crosscheck train                                           the lecture's net in every framework, step for step
  crosscheck train --layers 2,100,3 --lr 1 --epochs 300 --frameworks numpy-reference,torch
  crosscheck train --optimizer adam --lr 0.01 --batch-size 64 --plot run.png    mini-batches, a plot
  crosscheck train --data digits --epochs 30 --batch-size 64 --init he --test   real data, the test split once
  crosscheck train --batch-norm --keep-prob 0.8 --schedule exponential --decay 0.9 --patience 3 --data digits
"""


def add_arguments(parser):
    options.add_network_arguments(parser)
    options.add_layer_arguments(parser)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="update rule (default sgd: W ← W − α dW)")
    parser.add_argument("--lr", type=options.positive_float, default=None, metavar="α",
                        help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--schedule", choices=SCHEDULES, default="constant",
                        help="the learning rate per epoch e: step α·γ^⌊e/k⌋, exponential α·γ^e, inverse α/(1 + γ·⌊e/k⌋) "
                             "(the course's schedule_lr_decay, time_interval k), cosine from α to floor·α over the "
                             "epochs (default constant)")
    parser.add_argument("--decay", type=options.positive_float, default=None, metavar="γ",
                        help="step and exponential decay: the factor γ; inverse: the rate (default 0.5)")
    parser.add_argument("--decay-every", type=options.positive_int, default=None, metavar="K",
                        help="step decay: epochs between two drops (default 10); inverse: the course's time_interval, "
                             "α/(1 + γ·⌊e/K⌋) (default 1)")
    parser.add_argument("--lr-floor", type=options.non_negative_float, default=None, metavar="F",
                        help="cosine: the last epoch's α as a fraction of the first (default 0)")
    parser.add_argument("--clip", type=options.positive_float, default=None, metavar="C",
                        help="clip the gradients to a global norm of at most C (all of them together), each framework "
                             "with its own call (default: no clipping)")
    parser.add_argument("--patience", type=options.positive_int, default=None, metavar="N",
                        help="early stopping: stop after N epochs in a row without a lower J on the dev split of a "
                             "named data set (--data digits; default: no early stopping)")
    parser.add_argument("--epochs", type=options.positive_int, default=1000, metavar="N",
                        help="passes over the data (default 1000)")
    parser.add_argument("--batch-size", type=options.batch_size, default=None, metavar="B",
                        help="examples per step; 'full' (the default) for full-batch descent")
    options.add_data_arguments(parser, "--examples", "training examples (default 300, the lecture's spiral)")
    parser.add_argument("--test", action="store_true",
                        help="with a named data set: each framework's accuracy on the test split too (the test set is "
                             "looked at once, at the end; dev figures are shown without it)")
    options.add_frameworks_argument(parser, FRAMEWORKS)
    parser.add_argument("--plot", metavar="FILE.png", help="draw the loss curves and the decision boundary (.png, .svg, .pdf)")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


# each schedule's flags (reference.optim.SCHEDULE_OPTIONS): the others are refused, never silently left out
SCHEDULE_FLAGS = {"factor": "--decay", "every": "--decay-every", "floor": "--lr-floor"}


def learning_rate_schedule(args):
    """The LRSchedule of --schedule and its flags, or None for a constant α; a flag the schedule ignores is exit 2."""
    given = {field: getattr(args, flag[2:].replace("-", "_")) for field, flag in SCHEDULE_FLAGS.items()}
    given = {field: value for field, value in given.items() if value is not None}
    uses = SCHEDULE_OPTIONS[args.schedule]
    ignored = [SCHEDULE_FLAGS[field] for field in given if field not in uses]
    if ignored:
        takes = [SCHEDULE_FLAGS[field] for field in uses if field in SCHEDULE_FLAGS]
        raise UsageError(f"--schedule {args.schedule} ignores {' and '.join(ignored)}"
                         + (f" (it takes {' and '.join(takes)})" if takes else " (a constant α takes none)"))
    if args.schedule == "constant":
        return None
    if args.schedule in ("step", "exponential") and not given.get("factor", 0.5) < 1:
        raise UsageError(f"--schedule {args.schedule} decays: --decay γ must be below 1, got {given['factor']:g}")
    if given.get("floor", 0) > 1:
        raise UsageError(f"--lr-floor is a fraction of α in [0, 1], got {given['floor']:g}")
    return LRSchedule(args.schedule, epochs=args.epochs if args.schedule == "cosine" else None, **given)


def one_row_error(m, batch_size, refused, frameworks):
    """The UsageError of a batch of one row under batch norm in torch's convention, naming batch sizes that work."""
    others = [f for f in frameworks if f not in refused]
    if batch_size is None or m < 3:
        return UsageError(f"batch norm on {m} example{'s' * (m != 1)}: a batch of one row, which torch's BatchNorm1d "
                          f"refuses in training (its running variance is the unbiased σ²·m/(m − 1)) — and so does the "
                          f"reference in torch's convention ({', '.join(refused)}); give two examples or more",
                          {"refused": refused, "batch_sizes": []})
    sizes = batch_sizes_near(m, batch_size)
    whole, rest = divmod(m, batch_size)
    return UsageError(f"--batch-size {batch_size} ends each epoch in a batch of one row ({m} = {whole} × {batch_size} + "
                      f"{rest}), which torch's BatchNorm1d refuses in training (its running variance is the unbiased "
                      f"σ²·m/(m − 1)), and so does the reference in torch's convention ({', '.join(refused)}): batch "
                      f"sizes that work here are {', '.join(map(str, sizes))} or full"
                      + (f" — or leave {', '.join(refused)} out ({', '.join(others)} "
                         f"normalize{'s' * (len(others) == 1)} a row of one: σ² = 0)"
                         if others else ""),
                      {"refused": refused, "batch_sizes": sizes, "full_batch": True})


def run(args):
    machine.keep_freed_memory()  # NumPy's arrays of a step reused, not paid again in page faults (docs/benchmarks.md)
    if args.plot:
        output.check_plot(args.plot, args.force)  # before any training: a missing matplotlib is exit 2
    problem = options.problem(args)
    net, _, X, Y = problem
    schedule_ = learning_rate_schedule(args)
    optimizer = Optimizer(args.optimizer, args.lr or DEFAULT_LR[args.optimizer], schedule=schedule_, clip=args.clip)
    if args.test and problem.dataset is None:
        raise UsageError("--test measures a data set's test split: give --data a data set's name (digits, "
                         "breast-cancer)")
    stopping = None
    if args.patience:
        if problem.dataset is None:
            raise UsageError("--patience stops early on a dev split: give --data a data set's name (digits, "
                             "breast-cancer)")
        stopping = EarlyStopping(args.patience, *problem.dataset.split("dev"))
    schedule = batch_schedule(X.shape[0], args.batch_size, args.epochs, args.seed, stopping)
    refused = one_row_refused(net, schedule, args.frameworks)
    if refused:
        raise one_row_error(X.shape[0], args.batch_size, refused, args.frameworks)
    steps = len(schedule) * runs_to_do(args.frameworks, net, X.dtype)
    with Progress(steps, "training", enabled=False if args.json else None) as bar:
        report = compare_training(problem, optimizer, schedule, args.frameworks, on_step=lambda name, t: bar.advance(name),
                                  splits=("dev", "test") if args.test else ("dev",))
    unchecked = nothing_checked({n: o for n, o in report.outcomes.items() if n != adapters.REFERENCE})
    if unchecked:  # frameworks were asked for and none could run: exit 2 (the reference alone, asked for, is exit 0)
        raise UsageError(f"{unchecked}; pass --frameworks numpy-reference to train the reference alone")
    config = {**problem.config, "examples": problem.config["batch"], "batch_size": args.batch_size,
              "schedule": schedule_.describe() if schedule_ else "constant", "clip": args.clip, "patience": args.patience,
              "test": args.test}
    del config["batch"]
    if args.plot:
        plots.training_figure(report, net, X, Y, args.plot, args.force)
    if args.json:
        output.emit_json({"epochs": args.epochs, "steps": report.steps, "optimizer": optimizer.name, "lr": optimizer.lr,
                          "config": config, "plot": args.plot,
                          "frameworks": {name: o.as_json() for name, o in report.outcomes.items()}})
    else:
        print(render.training_report(report, config, args.epochs, args.plot))
    return 0 if report.ok else 1
