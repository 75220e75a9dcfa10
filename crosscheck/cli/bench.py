"""crosscheck bench — time batched matmul and the training step in every framework, the reference included.

Each framework runs in its own process, with the same number of threads; a table shows GFLOP/s per
framework × shape × dtype × device, and how the reference's train step compares with the fastest
framework's.  The rules that make the numbers comparable are in docs/benchmarks.md.
"""
import dataclasses
import datetime
import json
import sys

from crosscheck import output
from crosscheck.adapters import usable_cores
from crosscheck.benchmarks import machine, plan, report, results, timing, workers
from crosscheck.cli import options
from crosscheck.console import Progress
from crosscheck.errors import UsageError
from crosscheck.render import plots

EXAMPLES = """\
examples:
  crosscheck bench --quick                              every framework, in under a minute on 2 cores
  crosscheck bench --frameworks torch,jax --ops matmul --save run.json --plot run.png
  crosscheck bench --device cuda --dtypes float32,bfloat16 --repeat 3
  crosscheck bench --from run.json --markdown           a saved run as the tables of docs/benchmarks.md
"""
OP_NAMES = {"matmul": "batched_matmul", "batched_matmul": "batched_matmul", "train": "train_step", "train_step": "train_step"}
HALF = ("bfloat16", "float16")


def parse_shapes(text):
    """'1x300x4x3,64x256x256x256' -> [(1, 300, 4, 3), (64, 256, 256, 256)]."""
    shapes = []
    for part in text.replace(" ", "").split(","):
        try:
            shape = tuple(int(n) for n in part.lower().split("x"))
        except ValueError:
            shape = ()
        if len(shape) != 4 or any(n <= 0 for n in shape):
            raise UsageError(f"--shapes {part!r}: expected BxMxKxN with four positive integers, e.g. 1x300x4x3")
        shapes.append(shape)
    return shapes


def _choice_list(flag, known, what="value"):
    return lambda text: options.parse_names(text, known, what, flag)


def parse_peaks(text):
    """'900' (every result) or 'float32=180,float64=90' -> {dtype or '*': GFLOP/s}."""
    peaks = {}
    for part in text.replace(" ", "").split(","):
        key, _, value = part.rpartition("=")
        key = key or "*"
        try:
            peak = float(value)
        except ValueError:
            peak = -1.0
        if key != "*" and key not in plan.GPU_DTYPES or not peak > 0 or peak == float("inf"):
            raise UsageError(f"--peak-gflops {part!r}: expected GFLOP/s such as 900, or DTYPE=GFLOPS such as float32=180")
        peaks[key] = peak
    return peaks


def add_arguments(parser):
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="cpu", help="where to run (default cpu)")
    parser.add_argument("--quick", action="store_true",
                        help="3 matmul shapes, 0.2 s of rounds per case, one train-step mode per framework "
                             "(under a minute on 2 cores)")
    options.add_frameworks_argument(parser, plan.TIMED, extra="; numpy is the reference")
    parser.add_argument("--ops", type=_choice_list("--ops", ("matmul", "train")), default=("matmul", "train"),
                        metavar="OPS", help="matmul, train or both (default)")
    parser.add_argument("--shapes", type=parse_shapes, metavar="BxMxKxN,…", help="matmul shapes instead of the sweep")
    parser.add_argument("--configs", type=_choice_list("--configs", tuple(plan.TRAIN_CONFIGS)), metavar="C,…",
                        help="train-step configs: lecture (2-4-3, m=300), wide (784-1024-1024-10, m=1024); default both")
    parser.add_argument("--dtypes", type=_choice_list("--dtypes", plan.GPU_DTYPES), metavar="D,…",
                        help="float32,float64 (default); bfloat16,float16 on cuda only (matmul)")
    parser.add_argument("--modes", type=_choice_list("--modes", ("eager", "compiled")), metavar="M,…",
                        help="train steps eager, compiled (tf.function, jax.jit, torch.compile) or both "
                             "(default both; --quick: one per framework)")
    parser.add_argument("--threads", type=options.positive_int, metavar="N",
                        help="threads for every framework (default: all usable cores)")
    parser.add_argument("--rounds", type=options.positive_int, metavar="N",
                        help="at least N timed rounds per case, however long they take (default 10, quick 5)")
    parser.add_argument("--budget", type=options.positive_float, metavar="SECONDS",
                        help="time in timed rounds per case, when the minimum of rounds fits in it (default 1, quick 0.2)")
    parser.add_argument("--no-self-check", dest="self_check", action="store_false",
                        help="leave out each framework's self-check (its harness against a plain loop on one case)")
    parser.add_argument("--repeat", type=options.positive_int, default=1, metavar="N",
                        help="run the whole plan N times, frameworks taking turns; keep each case's median run "
                             "(steadier on a shared machine)")
    parser.add_argument("--tf32", action="store_true", help="let float32 matmuls use TF32 on the GPU (default off, IEEE float32)")
    parser.add_argument("--peak-gflops", type=parse_peaks, metavar="G|DTYPE=G,…",
                        help="peak GFLOP/s for the %% of peak column (GPUs with a known datasheet peak need none)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every framework in this process (faster to start, less fair)")
    parser.add_argument("--save", metavar="FILE.json",
                        help="also write the JSON document to FILE (never over an earlier run without --force)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw GFLOP/s against problem size per framework (.png, .svg, .pdf; needs matplotlib)")
    options.add_force_argument(parser, "--overwrite")
    parser.add_argument("--from", dest="from_file", metavar="FILE.json",
                        help="measure nothing: report (or --plot, --markdown) a run saved with --save")
    shown = parser.add_mutually_exclusive_group()
    options.add_json_argument(shown)
    shown.add_argument("--markdown", action="store_true", help="print the tables as Markdown (for docs/benchmarks.md)")


def build_plan(args):
    """(cases, skipped up front) from the options; UsageError for a combination that cannot run."""
    devices = plan.DEVICES if args.device == "all" else (args.device,)
    if args.dtypes and args.device == "cpu" and set(args.dtypes) <= set(HALF):
        raise UsageError(f"--dtypes {','.join(args.dtypes)}: bfloat16 and float16 run on cuda only (use --device cuda)")
    if args.threads and args.threads > usable_cores():
        raise UsageError(f"--threads {args.threads}: only {usable_cores()} cores are available to this process")
    ops = tuple(dict.fromkeys(OP_NAMES[o] for o in args.ops))
    cases = plan.plan(frameworks=args.frameworks, devices=devices, ops=ops, dtypes=args.dtypes, shapes=args.shapes,
                      configs=args.configs, modes=args.modes or ("eager", "compiled"), quick=args.quick)
    skipped = []
    if args.quick and not args.modes:
        cases, left_out = plan.one_mode_each(cases)
        skipped = [dict(c, reason=plan.QUICK_REASON) for c in left_out]
    if not cases and not skipped:
        raise UsageError("nothing to run: no framework in --frameworks runs the chosen --ops on --device "
                         f"{args.device} (numpy runs on cpu only, cupy on cuda only)")
    return cases, skipped


def run(args):
    if args.save:
        output.check_output(args.save, "--save", args.force)
    if args.plot:
        output.check_plot(args.plot, args.force)
    if args.from_file:
        return finish(args, results.load_document(args.from_file), [])
    cases, skipped = build_plan(args)
    settings = timing.QUICK if args.quick else timing.FULL
    if args.rounds:
        settings = dataclasses.replace(settings, min_rounds=args.rounds)
    if args.budget:
        settings = dataclasses.replace(settings, budget_s=args.budget)
    threads = args.threads or usable_cores()
    env = machine.machine_info()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")

    with Progress(len(cases) * args.repeat, "bench") as bar:
        def advance(record):
            if record["kind"] in ("result", "skipped"):
                bar.advance(plan.case_label(record.get("case") or record["result"]))
        out = workers.run_plan(cases, settings, threads=threads, tf32=args.tf32, isolate=not args.in_process,
                               on_record=advance, repeat=args.repeat, check=args.self_check)
    measured = results.add_peaks(out["results"], args.peak_gflops)
    document = {
        "env": {"date": started,
                "device": args.device, "quick": args.quick, "threads": threads, "tf32": args.tf32, "repeat": args.repeat,
                "isolated": not args.in_process, "settings": settings.__dict__, "peak_gflops": args.peak_gflops,
                **env, "frameworks": out["frameworks"]},
        "results": measured,
        "skipped": skipped + out["skipped"],
        "ratios": results.reference_ratios(measured),
        "fidelity": out["fidelity"],
    }
    return finish(args, document, env["warnings"] + results.run_warnings(document))


def finish(args, document, warnings):
    """Save, plot and print a run (just measured, or read with --from); exit 2 when it measured nothing."""
    if not document["results"]:  # exit 2, nothing written; the report (or the document) lists every skipped case
        reasons = list(dict.fromkeys(s["reason"] for s in document["skipped"]))
        raise UsageError("nothing was measured: " + ("; ".join(reasons[:3]) + ("; …" if len(reasons) > 3 else "")
                                                     if reasons else "no case to run"), details=document,
                         report=None if args.json else report.markdown(document) if args.markdown else report.report(document))
    notes = []
    if args.save:
        text = json.dumps(document, indent=2, default=str).encode()
        output.write(args.save, lambda f: f.write(text), args.force)
        notes.append(f"results written to {args.save}")
    if args.plot:
        notes.append(plots.bench_figure(document, args.plot, args.force))
    if args.json:
        output.emit_json(document)
    else:
        print(report.markdown(document) if args.markdown else report.report(document))
    if args.json:  # the report shows them in its header
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    for note in notes:
        print(note, file=sys.stderr)
    return 0
