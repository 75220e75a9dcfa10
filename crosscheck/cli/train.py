"""crosscheck train — train the same network from the same initial parameters, on the same batches in
the same order, in the NumPy reference, PyTorch, TensorFlow, Keras (model.fit) and JAX, and compare the
runs after every step: J, and every W and b against the reference run in that framework's convention,
within what the reference's own twins show (crosscheck.tolerance); once the twins part, the run is
chaotic from that step and only its end state is compared.

Exit code 0 when every framework follows the reference's trajectory, 1 on a mismatch, 2 on bad input.
"""
import argparse

import adapters
from reference.optim import OPTIMIZERS, Optimizer
from reference.train import batch_schedule

from .. import output, plots, render
from ..console import Progress
from ..errors import UsageError
from ..status import nothing_checked
from ..training import compare_training, runs_to_do
from . import options

FRAMEWORKS = (adapters.REFERENCE, *adapters.having("train"))
# the learning rate when --lr is not given: what trains the spiral well with each optimizer
DEFAULT_LR = {"sgd": 0.3, "momentum": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01}


def add_arguments(parser):
    options.add_network_arguments(parser)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="update rule (default sgd: W ← W − α dW)")
    parser.add_argument("--lr", type=options.positive_float, default=None, metavar="α",
                        help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--epochs", type=options.positive_int, default=1000, metavar="N", help="passes over the data (default 1000)")
    parser.add_argument("--batch-size", type=_batch_size, default=None, metavar="B",
                        help="examples per step; 'full' (the default) for full-batch descent")
    options.add_data_arguments(parser, "--examples", "training examples (default 300, the lecture's spiral)")
    options.add_frameworks_argument(parser, FRAMEWORKS)
    parser.add_argument("--plot", metavar="FILE.png", help="draw the loss curves and the decision boundary (.png, .svg, .pdf)")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def run(args):
    if args.plot:
        output.check_plot(args.plot, args.force)  # before any training: a missing matplotlib is exit 2
    problem = options.problem(args)
    net, _, X, Y = problem
    optimizer = Optimizer(args.optimizer, args.lr or DEFAULT_LR[args.optimizer])
    schedule = batch_schedule(X.shape[0], args.batch_size, args.epochs, args.seed)
    with Progress(len(schedule) * runs_to_do(args.frameworks, net, X.dtype), "training", enabled=False if args.json else None) as bar:
        report = compare_training(problem, optimizer, schedule, args.frameworks, on_step=lambda name, t: bar.advance(name))
    unchecked = nothing_checked({n: o for n, o in report.outcomes.items() if n != adapters.REFERENCE})
    if unchecked:  # frameworks were asked for and none could run: exit 2 (the reference alone, asked for, is exit 0)
        raise UsageError(unchecked)
    config = {**problem.config, "examples": problem.config["batch"], "batch_size": args.batch_size}
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


def _batch_size(text):
    if text == "full":
        return None
    try:
        return options.positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {text!r}") from None
