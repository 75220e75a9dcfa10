"""crosscheck compare — every forward tensor and every gradient of the network, in every framework,
against the NumPy reference, in the lecture's names and convention.

Your own implementation (--impl FILE.py or FILE.ipynb) runs in a worker process of its own, under --timeout and
--memory, written the way your course writes it (--style lecture | dls | cs231n, --layout rows | columns).  It
is checked on several probes — the problem as asked, then non-zero biases, He weights, other widths, odd m,
m = 1, another seed, a deeper net and an L2 term where it takes them — and must return every dW and db
(--partial: a half-written one).
Exit code 0 when everything checked agrees, 1 on a mismatch (on any probe), 2 on bad input, an implementation
that fails on the problem as asked, or nothing checked at all (every framework asked for unavailable).
"""
import contextlib

from crosscheck import adapters, output
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.engine.check import run_check, run_probes
from crosscheck.engine.layouts import LAYOUTS
from crosscheck.engine.probes import PROBES, make_probes, style_options
from crosscheck.engine.problem import build_problem
from crosscheck.errors import UsageError, UserCodeError
from crosscheck.render import check as render
from crosscheck.student.user_code import STYLES, Isolated


def add_arguments(parser):
    options.add_network_arguments(parser)
    options.add_layer_arguments(parser, inference=True)
    options.add_data_arguments(parser)
    options.add_frameworks_argument(parser, adapters.having("check"))
    parser.set_defaults(loss=None, l2_convention=None)  # each style has its own (crosscheck.probes.style_options)
    parser.add_argument("--impl", metavar="FILE", help="your own implementation to check too: a .py file or a "
                                                       ".ipynb notebook")
    parser.add_argument("--style", choices=STYLES, default="lecture",
                        help="how your code is written: lecture (backprop(X, Y, params), the default), dls "
                             "(Coursera's L_model_forward / compute_cost / L_model_backward), cs231n (a class with "
                             "params and loss(X, y))")
    parser.add_argument("--layout", choices=LAYOUTS, default=None,
                        help="rows: X (m, n0), W (n_in, n_out) (the lecture's, the default); columns: X (n0, m), "
                             "W (n_out, n_in), b (n_out, 1) (dls is always columns)")
    parser.add_argument("--entry", metavar="NAME", help="the function or class to check (default: the style's)")
    parser.add_argument("--partial", action="store_true",
                        help="a half-written implementation: dW and db it does not return are not failures")
    parser.add_argument("--probe", metavar="NAME", type=_probe_names,
                        help=f"check only these probes ({', '.join(PROBES)}; comma-separated)")
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
    if not args.impl and (args.style != "lecture" or args.layout or args.entry or args.partial or args.probe):
        raise UsageError("--style, --layout, --entry, --partial and --probe describe an implementation: give --impl")
    if args.impl and args.style != "lecture" and (args.keep_prob < 1 or args.batch_norm):
        raise UsageError(f"--style {args.style} checks the lecture's plain network: --keep-prob and --batch-norm need "
                         f"--style lecture (backprop(X, Y, params, …, keep_prob=, masks=, batch_norm=, bn_eps=, training=))")
    probes = None
    try:
        with contextlib.ExitStack() as stack:  # the implementation's worker ends with this block, whatever happens
            impls = {}
            if args.impl:
                impls["impl"] = stack.enter_context(Isolated(args.impl, timeout=args.timeout, memory=args.memory,
                                                             style=args.style, layout=args.layout, entry=args.entry))
            settings = problem_options(args, impls.get("impl"))
            if impls:
                chosen, skipped = make_probes(settings, impls["impl"].description, args.probe)
                if not chosen:
                    raise UsageError(f"--probe {','.join(args.probe)}: does not apply here ("
                                     f"{'; '.join(f'{k}: {v}' for k, v in skipped.items())})")
                if args.probe:
                    skipped = {}
                for probe in chosen:
                    probe.problem.config["impl"] = args.impl
                with Progress(len(args.frameworks) + len(impls), "checking", enabled=False if args.json else None) as bar:
                    probes = run_probes(chosen, args.frameworks, impls, lambda name: bar.advance(name, step=0),
                                        args.partial, skipped)
                report = probes.shown.report or probes.results[0].report
                problem = chosen[0].problem
            else:
                problem = build_problem(**settings)
                problem.config["impl"] = None
                with Progress(len(args.frameworks), "checking", enabled=False if args.json else None) as bar:
                    report = run_check(problem, frameworks=args.frameworks, progress=lambda name: bar.advance(name, step=0))
    except UserCodeError as exc:  # what the code printed before it failed, above the one line that says how
        exc.report = render.captured_output("impl", exc.details.get("output"))
        raise
    text = None if args.json else render.check_report(report, probes=probes)
    first = probes.results[0].report if probes else report
    if first.nothing_checked:  # asked for frameworks, none could be checked: not a pass
        raise UsageError(first.nothing_checked, details=first.as_json(), report=text)
    if args.save:
        output.write(args.save, lambda f: first.reference.save_to(f, problem.config), args.force)
    if args.json:
        output.emit_json(probes.as_json() if probes else report.as_json())
    else:
        print(text)
    ok = probes.ok if probes else report.ok
    return 0 if ok and report.ok else 1


def problem_options(args, impl=None):
    """build_problem's keyword arguments from the options, the style's own network where they say nothing."""
    return style_options(impl.style if impl is not None else "lecture", impl.description if impl is not None else None,
                         layers=args.layers, activation=args.activation, loss=args.loss, l2=args.l2,
                         l2_convention=args.l2_convention, leaky_slope=args.leaky_slope, dtype=args.dtype,
                         batch=args.batch, seed=args.seed, init=args.init, params=args.params, data=args.data,
                         **options.layer_options(args))


def _probe_names(text):
    return [name for name in text.replace(" ", "").split(",") if name]


def _megabytes(text):
    return 0 if text.strip() == "0" else options.positive_int(text)
