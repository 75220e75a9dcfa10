"""crosscheck compare — every forward tensor and every gradient of the network, in every framework,
against the NumPy reference, in the lecture's names and convention.

Exit code 0 when everything agrees, 1 on a mismatch, 2 on bad input.
"""
import adapters

from .. import output, render
from ..check import run_check
from ..console import Progress
from ..user_code import load_impl
from . import options


def add_arguments(parser):
    options.add_network_arguments(parser)
    options.add_data_arguments(parser)
    options.add_frameworks_argument(parser, adapters.having("check"))
    parser.add_argument("--impl", metavar="FILE.py", help="your own backprop(X, Y, params, activation) to check too")
    parser.add_argument("--save", metavar="FILE.npz", help="write the reference's every tensor and the config")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def run(args):
    if args.save:
        output.check_output(args.save, "--save", args.force)
    impl = load_impl(args.impl) if args.impl else None
    problem = options.problem(args)
    problem.config["impl"] = args.impl
    with Progress(len(args.frameworks) + bool(impl), "checking", enabled=False if args.json else None) as bar:
        report = run_check(problem, frameworks=args.frameworks, impls={"impl": impl} if impl else None,
                           progress=lambda name: bar.advance(name, step=0))
    if args.save:
        output.write(args.save, lambda f: report.reference.save_to(f, problem.config), args.force)
    if args.json:
        output.emit_json(report.as_json())
    else:
        print(render.check_report(report))
    return 0 if report.ok else 1
