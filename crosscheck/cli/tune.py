"""crosscheck tune — random search of the learning rate α and the L2 strength λ on a log scale (and the hidden
width), each point trained with the NumPy reference on the training split and judged on the dev split;
then the best point trained again in Keras with model.fit from the same start, to show that it lands on
the same result.  The test split is looked at once, after the search, for the best point only.

Exit code 0 when Keras lands on the reference's result (or Keras is unavailable: the search stands), 1 when
it does not or every trial diverged, 2 on bad input.
"""
import argparse

from crosscheck import output
from crosscheck.benchmarks import machine
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.course.training import one_blas_thread
from crosscheck.course.tuning import SearchSpace, Settings, confirm_in_keras, random_search
from crosscheck.engine.problem import build_problem
from crosscheck.engine.status import MISMATCH
from crosscheck.reference import ACTIVATIONS, L2_CONVENTIONS, LOSSES
from crosscheck.render import course as render
from crosscheck.render import plots

DEFAULTS = SearchSpace()


EXAMPLES = """\
examples:
  crosscheck tune --data digits                              20 random points, judged on dev, the best in Keras
  crosscheck tune --data digits --trials 40 --lr-range 0.01,1 --l2-range 1e-5,1e-2 --plot search.png
  crosscheck tune --data breast-cancer --optimizer adam --no-keras   the reference alone
"""


def add_arguments(parser):
    options.add_data_argument(parser, default="digits",
                              help="digits (the default) or breast-cancer, or FILE.npz of X with Y or y; "
                                   "split 60/20/20 by class with --seed, standardized on the training rows")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), default="relu", help="hidden activation (default relu)")
    parser.add_argument("--loss", choices=list(LOSSES), default="softmax-ce", help="output/loss pair (default softmax-ce)")
    parser.add_argument("--l2-convention", choices=list(L2_CONVENTIONS), default="keras",
                        help="how λ enters J (default keras: λ·Σ‖W‖²)")
    parser.add_argument("--trials", type=options.positive_int, default=20, metavar="N", help="points to try (default 20)")
    parser.add_argument("--lr-range", type=log_range, default=DEFAULTS.lr, metavar="LO,HI",
                        help="α log-uniform between LO and HI (default %s)" % ",".join(map(format_number, DEFAULTS.lr)))
    parser.add_argument("--l2-range", type=log_range, default=DEFAULTS.l2, metavar="LO,HI",
                        help="λ log-uniform between LO and HI (default %s)" % ",".join(map(format_number, DEFAULTS.l2)))
    parser.add_argument("--widths", type=widths, default=DEFAULTS.widths, metavar="W,W,…",
                        help="hidden widths to draw from (default %s)" % ",".join(map(str, DEFAULTS.widths)))
    options.add_training_arguments(parser, "the split, the points drawn, the start, the batches")
    parser.add_argument("--no-keras", dest="keras", action="store_false", help="skip training the best point in Keras")
    parser.add_argument("--plot", metavar="FILE.png", help="draw dev accuracy over the search space (.png, .svg, .pdf)")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def run(args):
    machine.keep_freed_memory()  # NumPy's arrays of a step reused, not paid again in page faults (docs/benchmarks.md)
    if args.plot:
        output.check_plot(args.plot, args.force)  # before any training: a missing matplotlib is exit 2
    space = SearchSpace(args.lr_range, args.l2_range, args.widths)
    settings = Settings(args.trials, args.optimizer, args.epochs, args.batch_size, args.init, args.seed)
    problem = build_problem(activation=args.activation, loss=args.loss, l2_convention=args.l2_convention,
                            dtype=args.dtype, seed=args.seed, init=args.init, data=args.data, split_files=True)
    with Progress(args.trials + args.keras, "tuning", enabled=False if args.json else None) as bar, one_blas_thread():
        search = random_search(problem, space, settings, on_trial=lambda t: bar.advance(f"trial {t.index}"))
        confirmation = None
        if args.keras and search.best is not None:
            bar.advance("keras", step=0)
            confirmation = confirm_in_keras(problem, search)
            bar.advance("keras")
    config = config_of(problem, space, settings)
    if args.plot:
        plots.tuning_figure(search, config, args.plot, args.force)
    if args.json:
        best = search.best
        output.emit_json({"config": config, "trials": [t.as_json() for t in search.trials],
                          "best": best.index if best else None,
                          "keras": confirmation.as_json() if confirmation else None, "plot": args.plot})
    else:
        print(render.tuning_report(search, confirmation, config, args.plot))
    if search.best is None:
        return 1
    return 1 if confirmation is not None and confirmation.status == MISMATCH else 0


def config_of(problem, space, settings):
    c = problem.config
    return {"data": problem.dataset.name, "split": c["split"], "dtype": c["dtype"],
            "activation": c["activation"], "loss": c["loss"], "l2_convention": c["l2_convention"],
            "inputs": c["layers"][0], "outputs": c["layers"][-1], "space": space.as_json(), **settings.as_json()}


def log_range(text):
    """'1e-3,1' -> (0.001, 1.0): two numbers > 0, low first."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LO,HI such as 1e-3,1, got {text!r}")
    lo, hi = (options.positive_float(part) for part in parts)
    if lo > hi:
        raise argparse.ArgumentTypeError(f"{text!r}: the low end must come first")
    return lo, hi


def widths(text):
    """'16,32,64' -> (16, 32, 64)."""
    try:
        return tuple(options.positive_int(part) for part in text.replace(" ", "").split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected positive integers such as 16,32,64, got {text!r}") from None


def format_number(x):
    return f"{x:g}"
