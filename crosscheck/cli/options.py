"""Command-line options shared by the subcommands, and the Problem they describe.

The converters given to argparse as `type=` raise argparse.ArgumentTypeError, whose message argparse
keeps (it replaces a ValueError's with a generic one); the CLI turns it into one line and exit code 2.
"""
import argparse
import dataclasses

import numpy as np

from crosscheck.engine.probes import PROBES
from crosscheck.engine.problem import Spec, build_problem
from crosscheck.reference import ACTIVATIONS, DTYPES, INIT_SCHEMES, L2_CONVENTIONS, LOSSES
from crosscheck.reference.data import DATASETS
from crosscheck.reference.optim import OPTIMIZERS
from crosscheck.student.isolated import AUTOGRAD
from crosscheck.student.runner import Limits
from crosscheck.student.sandbox import CHOICES as SANDBOXES


def parse_layers(text):
    """'2,4,3' -> (2, 4, 3)."""
    try:
        sizes = tuple(int(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers such as 2,4,3") from None
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: need at least two sizes (inputs and outputs)")
    if any(n <= 0 for n in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be a positive integer")
    return sizes


def parse_names(text, known, what="framework", flag="--frameworks"):
    """'torch,jax' -> ('torch', 'jax'); 'all' -> every known name; 'none' -> ()."""
    if text in (None, "all"):
        return tuple(known)
    if text == "none":
        return ()
    names = tuple(n for n in text.replace(" ", "").split(",") if n)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{flag}: unknown {what} {', '.join(unknown) or text!r}; "
                                         f"choose from {', '.join(known)}")
    return names


def _number(text, convert, accept, expected):
    """convert(text) if it parses and accept(value), else the ArgumentTypeError 'expected …, got …'."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not np.isfinite(value) or not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text):
    return _number(text, int, lambda n: n > 0, "a positive integer")


def positive_float(text):
    return _number(text, float, lambda x: x > 0, "a number > 0")


def batch_size(text):
    """A positive integer, or 'full' (None: full-batch descent)."""
    if text == "full":
        return None
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'full', got {text!r}") from None


def non_negative_float(text):
    return _number(text, float, lambda x: x >= 0, "a finite number >= 0")


def add_network_arguments(parser, layers=True):
    """--layers --activation --loss --l2 --l2-convention --leaky-slope."""
    if layers:
        parser.add_argument("--layers", type=parse_layers, default=None, metavar="N0,N1,…",
                            help="layer sizes, inputs first (default: 2,4,3, the lecture's network)")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), default="relu", help="hidden activation (default relu)")
    parser.add_argument("--loss", choices=list(LOSSES), default="softmax-ce", help="output/loss pair (default softmax-ce)")
    add_l2_arguments(parser)
    parser.add_argument("--leaky-slope", type=float, default=0.01, metavar="S", help="leaky_relu slope for Z <= 0 (default 0.01)")


def add_training_arguments(parser, seed_help, default_lr=None):
    """A short training run on a dataset's split (analyze, tune): the update rule, its step where default_lr
    ({optimizer: α}) is given, the passes, the batch, the start, the precision and the seed (seed_help: what it draws)."""
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="update rule (default sgd)")
    if default_lr:
        parser.add_argument("--lr", type=positive_float, default=None, metavar="α",
                            help="learning rate (default: " + ", ".join(f"{k} {v:g}" for k, v in default_lr.items()) + ")")
    parser.add_argument("--epochs", type=positive_int, default=30, metavar="N",
                        help="passes over the training split (default 30)")
    parser.add_argument("--batch-size", type=batch_size, default=64, metavar="B",
                        help="examples per step, or 'full' (default 64)")
    parser.add_argument("--init", choices=list(INIT_SCHEMES), default="he", help="parameter initialization (default he)")
    parser.add_argument("--dtype", choices=list(DTYPES), default="float64", help="precision (default float64)")
    parser.add_argument("--seed", type=int, default=0, help=f"{seed_help} (default 0)")


def unit_interval(text):
    return _number(text, float, lambda x: 0 < x <= 1, "a number in (0, 1]")


def momentum(text):
    return _number(text, float, lambda x: 0 <= x < 1, "a number in [0, 1)")


def add_layer_arguments(parser, inference=False):
    """--keep-prob --batch-norm --bn-momentum --bn-eps (and --inference): the next lecture's layers."""
    parser.add_argument("--keep-prob", type=unit_interval, default=1.0, metavar="P",
                        help="inverted dropout on every hidden layer, keeping each unit with probability P; the masks "
                             "are drawn once from --seed and shared by every framework (default 1: no dropout)")
    parser.add_argument("--batch-norm", action="store_true",
                        help="batch normalization between every hidden layer's affine step and g (the layer has no b)")
    parser.add_argument("--bn-momentum", type=momentum, default=0.9, metavar="β",
                        help="the running averages' β: μ_run ← β μ_run + (1 − β) μ (Keras's momentum; torch's is 1 − β; "
                             "default 0.9)")
    parser.add_argument("--bn-eps", type=positive_float, default=1e-5, metavar="ε",
                        help="ε in √(σ² + ε) (default 1e-5, torch's; Keras's is 1e-3)")
    if inference:
        parser.add_argument("--inference", action="store_true",
                            help="check an inference pass: no dropout, batch norm with the running averages")


def layer_options(args):
    """build_problem's keyword arguments for the options of add_layer_arguments (defaults where a command has none)."""
    return dict(keep_prob=getattr(args, "keep_prob", 1.0), batch_norm=getattr(args, "batch_norm", False),
                bn_momentum=getattr(args, "bn_momentum", 0.9), bn_eps=getattr(args, "bn_eps", 1e-5),
                inference=getattr(args, "inference", False))


def add_l2_arguments(parser):
    """--l2 --l2-convention."""
    parser.add_argument("--l2", type=non_negative_float, default=0.0, metavar="λ", help="L2 strength (default 0)")
    parser.add_argument("--l2-convention", choices=list(L2_CONVENTIONS), default="keras",
                        help="how λ enters J (default keras: λ·Σ‖W‖²)")


def add_data_arguments(parser, flag="--examples", examples_help="examples in the batch (default 300)",
                       batch_alias=False):
    """--dtype --examples --seed --init --params --data.  One name for one thing in every command: --examples M is
    how many examples the problem has, --batch-size B how many a training step takes; batch_alias keeps the old
    --batch, hidden, where it meant --examples (compare, gradcheck)."""
    parser.add_argument("--dtype", choices=list(DTYPES), default="float64", help="precision (default float64)")
    add_examples_argument(parser, flag, examples_help, batch_alias)
    parser.add_argument("--seed", type=int, default=0, help="seed for data and parameters (default 0)")
    parser.add_argument("--init", choices=list(INIT_SCHEMES), default="lecture",
                        help="parameter initialization (default lecture)")
    parser.add_argument("--params", metavar="FILE.npz", help="parameters W1, b1, W2, b2, … (layers inferred)")
    add_data_argument(parser, help="X with Y (one-hot) or y (labels) from FILE.npz, or a data set: "
                                   f"{', '.join(DATASETS)} (its training split; layers default to n0-32-K)")


def add_examples_argument(parser, flag="--examples", help="examples in the batch (default 300)", batch_alias=False):
    """--examples M (dest batch: Spec.batch), and the old --batch as a hidden alias where it was its name."""
    parser.add_argument(flag, dest="batch", type=positive_int, default=300, metavar="M", help=help)
    if batch_alias:
        parser.add_argument("--batch", dest="batch", type=positive_int, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_data_argument(parser, default=None, help=None):
    """--data NAME|FILE.npz: a named data set (scikit-learn's bundled files) or a file of X with Y or y."""
    parser.add_argument("--data", metavar="NAME|FILE.npz", default=default, help=help)


def add_frameworks_argument(parser, known, default=None, extra="", default_text=None):
    """--frameworks A,B | all | none; default_text: what the default is when the command decides it later (the
    default given is then None)."""
    if default_text is None:
        default = tuple(default or known)
        default_text = ",".join(default)
    parser.add_argument("--frameworks", type=lambda text: parse_names(text, known), default=default, metavar="A,B",
                        help=f"a subset of {','.join(known)}, all, or none (default: {default_text}){extra}")


def add_limit_arguments(parser, who="your code", grader=False):
    """--timeout --memory --output-limit --sandbox (and, for a grader, --budget --allow): what the implementation's
    worker may use (the same defaults everywhere, crosscheck.student.runner.Limits)."""
    defaults = Limits()
    parser.add_argument("--timeout", type=positive_float, default=defaults.timeout, metavar="SECONDS",
                        help=f"longest time {who} may take per call, its import included (default {defaults.timeout:g})")
    parser.add_argument("--memory", type=megabytes, default=defaults.memory, metavar="MB",
                        help=f"most memory (address space) {who}'s process may use, and its processes together "
                             f"(default {defaults.memory}; 0: no limit, e.g. for code that uses CUDA, which reserves "
                             f"tens of GB of address space)")
    parser.add_argument("--output-limit", type=positive_float, default=defaults.output, metavar="MB",
                        help=f"most {who} may write, printed and in files together (default {defaults.output:g})")
    parser.add_argument("--sandbox", choices=SANDBOXES, default=defaults.sandbox,
                        help=f"the boundary {who} runs in: bwrap (bubblewrap: its own namespaces, no network, a "
                             f"private copy of its folder), user (an unprivileged user of its own; the checker must be "
                             f"root), none, or auto (the first of these that works here; the default)")
    if grader:
        parser.add_argument("--budget", type=positive_float, default=None, metavar="SECONDS",
                            help="longest time a submission may take in all, every probe together (default: 5 × "
                                 "--timeout)")
        parser.add_argument("--allow", type=framework_names, action="extend", default=[], metavar="NAME",
                            help=f"let submissions import this autograd framework (refused by default: "
                                 f"{', '.join(AUTOGRAD[:5])}, …); comma-separated or repeated")


def framework_names(text):
    """'torch,jax' -> ['torch', 'jax'], each one of the autograd frameworks a grader refuses."""
    names = [name for name in text.replace(" ", "").split(",") if name]
    unknown = [name for name in names if name not in AUTOGRAD]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"not an autograd framework a grader refuses: {', '.join(unknown) or text!r}; "
                                         f"choose from {', '.join(AUTOGRAD)}")
    return names


def megabytes(text):
    return 0 if text.strip() == "0" else positive_int(text)


def add_json_argument(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")


def add_force_argument(parser, *aliases):
    parser.add_argument("--force", *aliases, action="store_true", dest="force",
                        help="replace an output file that exists (never anything but a regular file)")


def spec(args):
    """The Spec (crosscheck.engine.problem) the network and data options describe; what a command lacks keeps the
    lecture's default."""
    fields = {f.name for f in dataclasses.fields(Spec)}
    return Spec(**{name: getattr(args, name) for name in fields if hasattr(args, name)})


def problem(args):
    """The Problem the network and data options describe, every input checked."""
    return build_problem(spec(args))


def limits(args):
    """The Limits (crosscheck.student.runner) the implementation options give; the same defaults everywhere.  A
    grader (--allow) refuses every autograd framework but those allowed, and has a budget (5 × --timeout by
    default)."""
    defaults = Limits()
    timeout = getattr(args, "timeout", defaults.timeout)
    grader = hasattr(args, "allow")
    budget = getattr(args, "budget", defaults.budget)
    return Limits(timeout=timeout, memory=getattr(args, "memory", defaults.memory),
                  output=getattr(args, "output_limit", defaults.output),
                  budget=budget if budget is not None or not grader else 5 * timeout,
                  sandbox=getattr(args, "sandbox", defaults.sandbox),
                  refuse=tuple(n for n in AUTOGRAD if n not in args.allow) if grader else defaults.refuse)


def probe_names(text):
    """'lecture,m1' -> ['lecture', 'm1'], each a probe's name."""
    names = [name for name in text.replace(" ", "").split(",") if name]
    unknown = [name for name in names if name not in PROBES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"no such probe {', '.join(unknown) or text!r}; choose from {', '.join(PROBES)}")
    return names

