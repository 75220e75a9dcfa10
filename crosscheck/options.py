"""Command-line options shared by the subcommands, and turning them into a network, data and parameters.

The converters given to argparse as `type=` raise argparse.ArgumentTypeError, whose message argparse
keeps (it replaces a ValueError's with a generic one); the CLI turns it into one line and exit code 2.
"""
import argparse
import json
import os
import sys

import numpy as np

from adapters import FRAMEWORKS
from reference import (ACTIVATIONS, DTYPES, INIT_SCHEMES, L2_CONVENTIONS, LOSSES, Network, load_data,
                       make_data, params_from_arrays, init_params)
from reference.trace import load_npz

from .errors import UsageError

LECTURE_LAYERS = (2, 4, 3)


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


def parse_frameworks(text, known=FRAMEWORKS):
    """'torch,jax' -> ('torch', 'jax'); 'all' -> every known framework; 'none' -> only the reference."""
    if text in (None, "all"):
        return tuple(known)
    if text == "none":
        return ()
    names = tuple(n for n in text.replace(" ", "").split(",") if n)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown framework {', '.join(unknown) or text!r}; choose from {', '.join(known)}")
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


def non_negative_float(text):
    return _number(text, float, lambda x: x >= 0, "a finite number >= 0")


def add_network_arguments(parser, layers=True):
    """--layers --activation --loss --l2 --l2-convention --leaky-slope."""
    if layers:
        parser.add_argument("--layers", type=parse_layers, default=None, metavar="N0,N1,…",
                            help="layer sizes, inputs first (default: 2,4,3, the lecture's network)")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), default="relu", help="hidden activation (default relu)")
    parser.add_argument("--loss", choices=list(LOSSES), default="softmax-ce", help="output/loss pair (default softmax-ce)")
    parser.add_argument("--l2", type=non_negative_float, default=0.0, metavar="λ", help="L2 strength (default 0)")
    parser.add_argument("--l2-convention", choices=list(L2_CONVENTIONS), default="keras",
                        help="how λ enters J (default keras: λ·Σ‖W‖²)")
    parser.add_argument("--leaky-slope", type=float, default=0.01, metavar="S", help="leaky_relu slope for Z <= 0 (default 0.01)")


def add_data_arguments(parser):
    """--dtype --batch --seed --init --params --data."""
    parser.add_argument("--dtype", choices=list(DTYPES), default="float64", help="precision (default float64)")
    parser.add_argument("--batch", type=positive_int, default=300, metavar="M", help="examples in the batch (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="seed for data and parameters (default 0)")
    parser.add_argument("--init", choices=list(INIT_SCHEMES), default="lecture", help="parameter initialization (default lecture)")
    parser.add_argument("--params", metavar="FILE.npz", help="parameters W1, b1, W2, b2, … (layers inferred)")
    parser.add_argument("--data", metavar="FILE.npz", help="X with Y (one-hot) or y (labels)")


def add_frameworks_argument(parser, known=FRAMEWORKS, default=None):
    parser.add_argument("--frameworks", type=lambda t: parse_frameworks(t, known), default=default or tuple(known),
                        metavar="A,B", help=f"a subset of {','.join(known)}, all, or none (default: "
                             f"{','.join(default or known)})")


def add_json_argument(parser):
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")


def build_problem(args):
    """(net, params, X, Y) from the network and data options, every input checked."""
    options = dict(activation=args.activation, loss=args.loss, l2=args.l2,
                   l2_convention=args.l2_convention, leaky_slope=args.leaky_slope)
    params = None
    if getattr(args, "params", None):
        params = params_from_arrays(load_npz(args.params), dtype=args.dtype)
        net = Network.from_params(params, **options)
        if args.layers and tuple(args.layers) != net.sizes:
            raise UsageError(f"--layers {','.join(map(str, args.layers))} disagrees with --params "
                             f"{args.params} ({','.join(map(str, net.sizes))})")
    else:
        net = Network(tuple(args.layers or LECTURE_LAYERS), **options)
    if params is None:
        params = init_params(net, args.init, args.seed, args.dtype)
    if getattr(args, "data", None):
        X, Y = load_data(args.data, net, dtype=args.dtype)
    else:
        X, Y = make_data(net, args.batch, args.seed, args.dtype)
    return net, params, X, Y


def emit_json(document, stream=None):
    """One JSON document on stdout; NaN and inf become null so that any JSON reader accepts it."""
    json.dump(_finite(document), stream or sys.stdout, indent=2)
    (stream or sys.stdout).write("\n")


def _finite(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def check_writable(path, flag):
    """Fail before any work if an output file cannot be written, so nothing is half-done."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{flag} {path}: directory {directory} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a directory")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"{flag} {path}: directory {directory} is not writable")
