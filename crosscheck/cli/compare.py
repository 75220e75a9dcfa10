"""crosscheck compare — every forward tensor and every gradient of the network, in every framework,
against the NumPy reference, in the lecture's names and convention.

Your own implementation (--impl FILE.py or FILE.ipynb) runs in a worker process of its own, under --timeout and
--memory, inside --sandbox (bwrap where it runs: docs/untrusted-code.md), written the way your course writes it
(--style lecture | dls | cs231n, --layout rows | columns).  It is checked on several probes — the problem as
asked, then non-zero biases, He weights, other widths, odd m, m = 1, another seed, a deeper net and an L2 term
where it takes them — and must return every dW and db (--partial: a half-written one).
With --impl, only the reference is compared by default (no framework is imported: half a second, not fifteen);
--frameworks all, or a list, checks the frameworks on the problem as asked too.
Exit code 0 when everything checked agrees, 1 on a mismatch (on any probe), 2 on bad input, an implementation
that fails on the problem as asked, or nothing checked at all (every framework asked for unavailable).
"""

from crosscheck import adapters, output
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.engine.check import run_check
from crosscheck.engine.layouts import LAYOUTS
from crosscheck.engine.probes import PROBES
from crosscheck.engine.problem import build_problem
from crosscheck.errors import UsageError
from crosscheck.render import check as render
from crosscheck.student.runner import Runner
from crosscheck.student.styles import STYLES

EXAMPLES = """\
examples:
  crosscheck compare                                         the reference against every framework
  crosscheck compare --impl my_backprop.py                   your backprop against the reference, on every probe
  crosscheck compare --impl homework.ipynb --style dls       a Coursera notebook
  crosscheck compare --impl fc_net.py --style cs231n --frameworks all   and every framework too
  crosscheck compare --layers 2,8,8,3 --activation tanh --examples 64 --frameworks torch,jax
"""
FRAMEWORKS_HINT = ("frameworks: none compared (the reference is itself checked against them by `crosscheck compare`); "
                   "--frameworks all adds PyTorch, TensorFlow, Keras and JAX")


def add_arguments(parser):
    options.add_network_arguments(parser)
    options.add_layer_arguments(parser, inference=True)
    options.add_data_arguments(parser, batch_alias=True)
    options.add_frameworks_argument(parser, adapters.having("check"), default_text="all; with --impl, none")
    parser.set_defaults(activation=None, loss=None, l2_convention=None)  # each style has its own (student.styles)
    parser.add_argument("--impl", metavar="FILE", help="your own implementation to check too: a .py file or a "
                                                       ".ipynb notebook")
    parser.add_argument("--style", choices=list(STYLES), default="lecture",
                        help="how your code is written: lecture (backprop(X, Y, params), the default), dls "
                             "(Coursera's L_model_forward / compute_cost / L_model_backward), cs231n (a class with "
                             "params and loss(X, y))")
    parser.add_argument("--layout", choices=LAYOUTS, default=None,
                        help="rows: X (m, n0), W (n_in, n_out) (the lecture's, the default); columns: X (n0, m), "
                             "W (n_out, n_in), b (n_out, 1) (dls is always columns)")
    parser.add_argument("--entry", metavar="NAME", help="the function or class to check (default: the style's)")
    parser.add_argument("--partial", action="store_true",
                        help="a half-written implementation: dW and db it does not return are not failures")
    parser.add_argument("--probe", metavar="NAME", type=options.probe_names,
                        help=f"check only these probes ({', '.join(PROBES)}; comma-separated)")
    options.add_limit_arguments(parser)
    parser.add_argument("--save", metavar="FILE.npz", help="write the reference's every tensor and the config")
    options.add_force_argument(parser)
    options.add_json_argument(parser)


def run(args):
    if args.save:
        output.check_output(args.save, "--save", args.force)
    if not args.impl and (args.style != "lecture" or args.layout or args.entry or args.partial or args.probe):
        raise UsageError("--style, --layout, --entry, --partial and --probe describe an implementation: give --impl")
    defaulted = args.frameworks is None
    if defaulted:  # your own code is checked against the reference; the reference against the frameworks
        args.frameworks = () if args.impl else adapters.having("check")
    spec = options.spec(args)
    quiet = False if args.json else None
    if args.impl:
        runner = Runner(args.style, spec, layout=args.layout, entry=args.entry, probes=args.probe,
                        partial=args.partial, frameworks=args.frameworks, limits=options.limits(args))
        with Progress(len(args.frameworks) + 1, "checking", enabled=quiet) as bar:
            run = runner.run(args.impl, progress=lambda name: bar.advance(name, step=0))
        if run.error is not None:  # what the code printed before it failed, above the one line that says how
            raise UsageError(run.error.worded("flag"), details={"output": run.error.output or run.output},
                             report=None if args.json else render.captured_output("impl", run.error.output or run.output))
        shown = run.shown.result or run.results[0].result
        first = run.results[0].result
        text = None if args.json else render.run_report(run)
        document = run.as_json() if args.json else None
        ok = run.ok
    else:
        problem = build_problem(spec)
        with Progress(len(args.frameworks), "checking", enabled=quiet) as bar:
            first = shown = run_check(problem, frameworks=args.frameworks, progress=lambda name: bar.advance(name, step=0))
        text = None if args.json else render.check_report(shown)
        document = shown.as_json() if args.json else None
        ok = shown.ok
    if first.nothing_checked:  # asked for frameworks, none could be checked: not a pass
        raise UsageError(first.nothing_checked, details=first.as_json(), report=text)
    if args.save:
        output.write(args.save, lambda f: first.reference.save_to(f, {**first.config, "impl": args.impl}), args.force)
    if args.json:
        output.emit_json(document)
    else:
        print(text)
        if args.impl and defaulted:
            print(FRAMEWORKS_HINT)
    return 0 if ok and shown.ok else 1

