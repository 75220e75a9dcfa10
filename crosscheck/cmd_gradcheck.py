"""crosscheck gradcheck — the reference's backward pass against central finite differences of J, in float64.

With no --activation or --loss named it checks every activation × loss pair.  Parameters are He-scaled
with small random biases, so that no hidden Z sits exactly on a ReLU kink; a step that still crosses
one is counted in the `kinks` column.  Exit code 1 when any relative error exceeds 1e-7.
"""
import itertools

import numpy as np

from reference import ACTIVATIONS, LOSSES, Network, init_params, make_data
from reference.gradcheck import THRESHOLD, gradcheck

from . import options
from .errors import UsageError
from .console import Progress, paint, table, use_colour


def add_arguments(parser):
    parser.add_argument("--layers", type=options.parse_layers, default=options.LECTURE_LAYERS, metavar="N0,N1,…",
                        help="layer sizes (default 2,4,3)")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), help="one hidden activation (default: all)")
    parser.add_argument("--loss", choices=list(LOSSES), help="one output/loss pair (default: all)")
    parser.add_argument("--l2", type=options.non_negative_float, default=0.0, metavar="λ", help="L2 strength (default 0)")
    parser.add_argument("--l2-convention", default="keras", choices=["keras", "course", "weight-decay"])
    parser.add_argument("--batch", type=options.positive_int, default=300, metavar="M", help="examples (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", type=float, default=1e-6, metavar="H", help="finite-difference step h (default 1e-6)")
    options.add_json_argument(parser)


def gradcheck_params(net, seed):
    """He-scaled weights and biases ~ 0.1·N(0, 1): no hidden unit starts exactly at a kink."""
    params = init_params(net, "he", seed)
    rng = np.random.default_rng(seed + 1)
    return [(W, 0.1 * rng.standard_normal(b.shape)) for W, b in params]


def run(args):
    if not (np.isfinite(args.step) and 0 < args.step < 1):
        raise UsageError(f"--step {args.step}: must be between 0 and 1")
    activations = [args.activation] if args.activation else list(ACTIVATIONS)
    losses = [args.loss] if args.loss else list(LOSSES)
    results = []
    pairs = list(itertools.product(activations, losses))
    with Progress(len(pairs), "gradcheck", enabled=False if args.json else None) as bar:
        for activation, loss in pairs:
            net = Network(args.layers, activation=activation, loss=loss, l2=args.l2, l2_convention=args.l2_convention)
            X, Y = make_data(net, args.batch, args.seed)
            for row in gradcheck(net, gradcheck_params(net, args.seed), X, Y, h=args.step):
                results.append({"activation": activation, "loss": loss, **row})
            bar.advance(f"{activation} {loss}")
    max_error = max(r["rel_error"] for r in results)
    ok = max_error <= THRESHOLD
    if args.json:
        options.emit_json({"ok": ok, "max_rel_error": max_error, "threshold": THRESHOLD, "results": results})
    else:
        print(render(args, results, max_error, ok))
    return 0 if ok else 1


def render(args, results, max_error, ok, colour=None):
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
    lines = [paint(f"gradcheck · layers {','.join(map(str, args.layers))} · m = {args.batch} · float64 · h = {args.step:g}",
                   "bold", enabled=colour), "",
             table(["activation", "loss", *params, "kinks"], rows, align=["l", "l"] + ["r"] * (len(params) + 1)),
             paint("cells: max|a − n| / max(|a| + |n|) of the backward pass (a) against central differences (n); "
                   "kinks: steps that crossed a ReLU kink", "dim", enabled=colour), ""]
    mark = paint("✓", "green", enabled=colour) if ok else paint("✗", "red", enabled=colour)
    lines.append(f"{mark} max relative error {max_error:.1e} ({'≤' if ok else '>'} threshold {THRESHOLD:.0e})")
    return "\n".join(lines)
