"""crosscheck gradcheck — the reference's backward pass against central finite differences of J, in float64.

With no --activation or --loss named it checks every activation × loss pair.  Parameters are He-scaled
with small random biases, so that no hidden Z sits exactly on a ReLU kink; a step that still crosses
one is counted in the `kinks` column.  Exit code 1 when any relative error exceeds 1e-7.
"""
import numpy as np

from crosscheck import output
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.engine.problem import LECTURE_LAYERS
from crosscheck.errors import UsageError
from crosscheck.reference import ACTIVATIONS, LOSSES
from crosscheck.reference.gradcheck import THRESHOLD, gradcheck_pairs
from crosscheck.render import tools as render

EXAMPLES = """\
examples:
  crosscheck gradcheck                                     every activation × loss pair, finite differences
  crosscheck gradcheck --activation tanh --loss sigmoid-bce --l2 0.1
  crosscheck gradcheck --layers 4,8,8,2 --examples 50 --step 1e-5
"""


def add_arguments(parser):
    parser.add_argument("--layers", type=options.parse_layers, default=LECTURE_LAYERS, metavar="N0,N1,…",
                        help="layer sizes (default 2,4,3)")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), help="one hidden activation (default: all)")
    parser.add_argument("--loss", choices=list(LOSSES), help="one output/loss pair (default: all)")
    options.add_l2_arguments(parser)
    options.add_examples_argument(parser, help="examples (default 300)", batch_alias=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step", type=float, default=1e-6, metavar="H", help="finite-difference step h (default 1e-6)")
    options.add_json_argument(parser)


def run(args):
    if not (np.isfinite(args.step) and 0 < args.step < 1):
        raise UsageError(f"--step {args.step}: must be between 0 and 1")
    activations = [args.activation] if args.activation else list(ACTIVATIONS)
    losses = [args.loss] if args.loss else list(LOSSES)
    with Progress(len(activations) * len(losses), "gradcheck", enabled=False if args.json else None) as bar:
        results = gradcheck_pairs(args.layers, activations, losses, args.l2, args.l2_convention, args.batch,
                                  args.seed, args.step, on_pair=lambda *pair: bar.advance(" ".join(pair)))
    max_error = max(r["rel_error"] for r in results)
    ok = max_error <= THRESHOLD
    if args.json:
        output.emit_json({"ok": ok, "max_rel_error": max_error, "threshold": THRESHOLD, "results": results})
    else:
        print(render.gradcheck_report(results, args.layers, args.batch, args.step))
    return 0 if ok else 1
