"""crosscheck analyze — error analysis of a trained network: train and dev error side by side, the avoidable bias
(train error − the target error) and the variance (dev error − train error), which of the two to work on, the
confusion matrix with each class's error rate and the examples the network got wrong most confidently (--plot draws
them: for the digits, their 8×8 images).  The test split is looked at only when asked: --test (or --split test).

The network is trained here by the NumPy reference (--optimizer, --lr, --epochs, --batch-size), or read
from --params FILE.npz (W1, b1, W2, b2, …).  Exit code 0 when the analysis ran, 2 on bad input.
"""
import argparse

import numpy as np

from crosscheck import output
from crosscheck.benchmarks import machine
from crosscheck.cli import options
from crosscheck.course.analysis import analyze
from crosscheck.course.training import one_blas_thread
from crosscheck.engine.problem import build_problem
from crosscheck.errors import UsageError
from crosscheck.reference.optim import Optimizer
from crosscheck.reference.train import batch_schedule, train
from crosscheck.render import course as render
from crosscheck.render import plots

# the learning rate when --lr is not given: what trains the digits well with each optimizer
DEFAULT_LR = {"sgd": 0.3, "momentum": 0.1, "adam": 0.003, "adamw": 0.003, "rmsprop": 0.003}


EXAMPLES = """\
examples:
  crosscheck analyze --data digits                           train here, then bias, variance and the confusions
  crosscheck analyze --data digits --target-error 2 --plot errors.png   against human-level error, with a plot
  crosscheck analyze --data digits --params trained.npz --split test --test   a trained net on the test split
"""


def add_arguments(parser):
    options.add_data_argument(parser, default="digits",
                              help="digits (the default) or breast-cancer, or FILE.npz of X with Y or y; "
                                   "split 60/20/20 by class with --seed, standardized on the training rows")
    options.add_network_arguments(parser)
    parser.add_argument("--params", metavar="FILE.npz", help="a trained network's W1, b1, W2, b2, … (else: trained here)")
    options.add_training_arguments(parser, "the split, the start, the batches", DEFAULT_LR)
    parser.add_argument("--target-error", type=percent, default=0.0, metavar="PCT",
                        help="the error to aim for, in percent: human-level error, the stand-in for Bayes error (default 0)")
    parser.add_argument("--split", choices=["dev", "test", "train"], default="dev",
                        help="where the confusion matrix and the examples come from (default dev; test looks at the "
                             "test split, as --test does)")
    parser.add_argument("--test", action="store_true",
                        help="look at the test split too: its error and the dev → test gap (the error-analysis "
                             "lecture's rule: the test set is looked at once, at the end)")
    parser.add_argument("--show", type=options.positive_int, default=16, metavar="N",
                        help="most confused examples to list (default 16)")
    parser.add_argument("--save-params", metavar="FILE.npz", help="write the trained W1, b1, W2, b2, … (for --params)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the errors, the confusion matrix and the examples (.png, .svg, .pdf)")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def run(args):
    machine.keep_freed_memory()  # NumPy's arrays of a step reused, not paid again in page faults (docs/benchmarks.md)
    if args.plot:
        output.check_plot(args.plot, args.force)
    if args.save_params:
        if args.params:
            raise UsageError("--save-params writes the parameters trained here; with --params there are none")
        output.check_output(args.save_params, "--save-params", args.force)
    problem = build_problem(layers=args.layers, activation=args.activation, loss=args.loss, l2=args.l2,
                            l2_convention=args.l2_convention, leaky_slope=args.leaky_slope, dtype=args.dtype,
                            seed=args.seed, init=args.init, params=args.params, data=args.data, split_files=True)
    net, params, X, Y = problem
    if args.params:
        trained = {"params": args.params}
    else:
        optimizer = Optimizer(args.optimizer, args.lr or DEFAULT_LR[args.optimizer])
        schedule = batch_schedule(X.shape[0], args.batch_size, args.epochs, args.seed)
        with one_blas_thread():
            run_ = train(net, params, X, Y, optimizer, schedule)
        params = run_.final_params
        if not all(np.all(np.isfinite(P)) for pair in params for P in pair):
            raise UsageError(f"training diverged ({optimizer.describe()}): try a smaller --lr")
        trained = {"optimizer": optimizer.name, "lr": optimizer.lr, "epochs": args.epochs,
                   "batch_size": args.batch_size, "init": args.init, "steps": len(schedule),
                   "final_loss": float(run_.losses[-1])}
    analysis = analyze(net, params, problem.dataset, args.target_error, args.split, args.show, args.test)
    config = {"data": problem.dataset.name, "split": problem.config["split"], "network": net.describe(),
              "layers": list(net.sizes), "dtype": X.dtype.name, "seed": args.seed, "trained": trained}
    if args.save_params:
        arrays = {f"{name}{l}": value for l, (W, b) in enumerate(params, 1) for name, value in (("W", W), ("b", b))}
        output.write(args.save_params, lambda f: np.savez(f, **arrays), args.force, "--save-params")
    if args.plot:
        plots.analysis_figure(analysis, problem.dataset, config, args.plot, args.force)
    if args.json:
        output.emit_json({"config": config, **analysis.as_json(), "plot": args.plot, "saved_params": args.save_params})
    else:
        print(render.analysis_report(analysis, config, args.plot, args.save_params))
    return 0


def percent(text):
    """'1.5' or '1.5%' -> 0.015: a percentage in [0, 100)."""
    value = options.non_negative_float(text.strip().removesuffix("%"))
    if value >= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage below 100, got {text!r}")
    return value / 100
