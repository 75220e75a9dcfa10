"""crosscheck compare — every forward tensor and every gradient of the network, in every framework,
against the NumPy reference, in the lecture's names and convention.

Your own implementation (--impl FILE.py) runs in a worker process of its own, under --timeout and --memory.
Exit code 0 when everything checked agrees, 1 on a mismatch, 2 on bad input, an implementation that
fails, or nothing checked at all (every framework asked for unavailable).
"""
import contextlib

import adapters

from .. import output, render
from ..check import run_check
from ..console import Progress
from ..errors import UsageError, UserCodeError
from ..user_code import Isolated
from . import options


def add_arguments(parser):
    options.add_network_arguments(parser)
    options.add_data_arguments(parser)
    options.add_frameworks_argument(parser, adapters.having("check"))
    parser.add_argument("--impl", metavar="FILE.py", help="your own backprop(X, Y, params, activation) to check too")
    parser.add_argument("--timeout", type=options.positive_float, default=60.0, metavar="SECONDS",
                        help="longest time your code may take per call, its import included (default 60)")
    parser.add_argument("--memory", type=_megabytes, default=4096, metavar="MB",
                        help="most memory (address space) your code's process may use (default 4096; 0: no limit, "
                             "e.g. for code that uses CUDA, which reserves tens of GB of address space)")
    parser.add_argument("--save", metavar="FILE.npz", help="write the reference's every tensor and the config")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def run(args):
    if args.save:
        output.check_output(args.save, "--save", args.force)
    try:
        with contextlib.ExitStack() as stack:  # the implementation's worker ends with this block, whatever happens
            impls = {}
            if args.impl:
                impls["impl"] = stack.enter_context(Isolated(args.impl, timeout=args.timeout, memory=args.memory))
            problem = options.problem(args)
            problem.config["impl"] = args.impl
            with Progress(len(args.frameworks) + len(impls), "checking", enabled=False if args.json else None) as bar:
                report = run_check(problem, frameworks=args.frameworks, impls=impls,
                                   progress=lambda name: bar.advance(name, step=0))
    except UserCodeError as exc:  # what the code printed before it failed, above the one line that says how
        exc.report = render.captured_output("impl", exc.details.get("output"))
        raise
    text = None if args.json else render.check_report(report)
    if report.nothing_checked:  # asked for frameworks, none could be checked: not a pass
        raise UsageError(report.nothing_checked, details=report.as_json(), report=text)
    if args.save:
        output.write(args.save, lambda f: report.reference.save_to(f, problem.config), args.force)
    if args.json:
        output.emit_json(report.as_json())
    else:
        print(text)
    return 0 if report.ok else 1


def _megabytes(text):
    return 0 if text.strip() == "0" else options.positive_int(text)
