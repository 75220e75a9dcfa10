"""crosscheck bench — time batched matmul and the training step in every framework, the reference included.

Each framework runs in its own process, with the same number of threads; a table shows GFLOP/s per
framework × shape × dtype × device, and how the reference's train step compares with the fastest
framework's.  The rules that make the numbers comparable are in docs/benchmarks.md.
"""
import dataclasses
import datetime
import json
import os
import sys

from . import benchmarking as engine
from .console import Progress, paint, table
from .errors import UsageError
from .options import add_json_argument, check_writable, emit_json, parse_frameworks, positive_int

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


def _choice_list(flag, known):
    def parse(text):
        names = tuple(n for n in text.replace(" ", "").split(",") if n)
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise UsageError(f"{flag}: unknown value {', '.join(unknown) or text!r}; choose from {', '.join(known)}")
        return names
    return parse


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
        if key != "*" and key not in engine.GPU_DTYPES or not peak > 0 or peak == float("inf"):
            raise UsageError(f"--peak-gflops {part!r}: expected GFLOP/s such as 900, or DTYPE=GFLOPS such as float32=180")
        peaks[key] = peak
    return peaks


def add_arguments(parser):
    parser.add_argument("--device", choices=("cpu", "cuda", "all"), default="cpu", help="where to run (default cpu)")
    parser.add_argument("--quick", action="store_true", help="3 matmul shapes, 3 rounds, one train-step mode per framework (under a minute on 2 cores)")
    parser.add_argument("--frameworks", type=lambda t: parse_frameworks(t, engine.FRAMEWORKS), default=engine.FRAMEWORKS,
                        metavar="A,B", help=f"a subset of {','.join(engine.FRAMEWORKS)} (default: all; numpy is the reference)")
    parser.add_argument("--ops", type=_choice_list("--ops", ("matmul", "train")), default=("matmul", "train"),
                        metavar="OPS", help="matmul, train or both (default)")
    parser.add_argument("--shapes", type=parse_shapes, metavar="BxMxKxN,…", help="matmul shapes instead of the sweep")
    parser.add_argument("--configs", type=_choice_list("--configs", tuple(engine.TRAIN_CONFIGS)), metavar="C,…",
                        help="train-step configs: lecture (2-4-3, m=300), wide (784-1024-1024-10, m=1024); default both")
    parser.add_argument("--dtypes", type=_choice_list("--dtypes", engine.GPU_DTYPES), metavar="D,…",
                        help="float32,float64 (default); bfloat16,float16 on cuda only (matmul)")
    parser.add_argument("--modes", type=_choice_list("--modes", ("eager", "compiled")), metavar="M,…",
                        help="train steps eager, compiled (tf.function, jax.jit, torch.compile) or both "
                             "(default both; --quick: one per framework)")
    parser.add_argument("--threads", type=positive_int, metavar="N", help="threads for every framework (default: all usable cores)")
    parser.add_argument("--rounds", type=positive_int, metavar="N", help="timed rounds per case (default 7, quick 3)")
    parser.add_argument("--repeat", type=positive_int, default=1, metavar="N",
                        help="run the whole plan N times, frameworks taking turns; keep each case's median run "
                             "(steadier on a shared machine)")
    parser.add_argument("--tf32", action="store_true", help="let float32 matmuls use TF32 on the GPU (default off, IEEE float32)")
    parser.add_argument("--peak-gflops", type=parse_peaks, metavar="G|DTYPE=G,…",
                        help="peak GFLOP/s for the %% of peak column (GPUs with a known datasheet peak need none)")
    parser.add_argument("--in-process", action="store_true", help="run every framework in this process (faster to start, less fair)")
    parser.add_argument("--save", metavar="FILE.json", help="also write the JSON document to FILE (never overwritten unless --overwrite)")
    parser.add_argument("--plot", metavar="FILE.png", help="draw GFLOP/s against problem size per framework (needs matplotlib)")
    parser.add_argument("--overwrite", action="store_true", help="let --save and --plot replace an existing file")
    parser.add_argument("--from", dest="from_file", metavar="FILE.json",
                        help="measure nothing: report (or --plot, --markdown) a run saved with --save")
    output = parser.add_mutually_exclusive_group()
    add_json_argument(output)
    output.add_argument("--markdown", action="store_true", help="print the tables as Markdown (for docs/benchmarks.md)")


def _check_output(path, flag, overwrite):
    check_writable(path, flag)
    if os.path.exists(path) and not overwrite:
        raise UsageError(f"{flag} {path}: exists; choose a new name or pass --overwrite")


def build_plan(args):
    """(cases, skipped up front) from the options; UsageError for a combination that cannot run."""
    devices = engine.DEVICES if args.device == "all" else (args.device,)
    if args.dtypes and args.device == "cpu" and set(args.dtypes) <= set(HALF):
        raise UsageError(f"--dtypes {','.join(args.dtypes)}: bfloat16 and float16 run on cuda only (use --device cuda)")
    if args.threads and args.threads > engine.usable_cores():
        raise UsageError(f"--threads {args.threads}: only {engine.usable_cores()} cores are available to this process")
    ops = tuple(dict.fromkeys(OP_NAMES[o] for o in args.ops))
    cases = engine.plan(frameworks=args.frameworks, devices=devices, ops=ops, dtypes=args.dtypes,
                        shapes=args.shapes, configs=args.configs, modes=args.modes or ("eager", "compiled"),
                        quick=args.quick)
    skipped = []
    if args.quick and not args.modes:
        left_out = [c for c in cases if c["op"] == "train_step" and c["mode"] != engine.QUICK_MODE[c["framework"]]]
        cases = [c for c in cases if c not in left_out]
        skipped = [dict(c, reason="--quick times one mode per framework: torch eager (torch.compile's first compile "
                                  "takes ~30 s here), tf.function, jax.jit") for c in left_out]
    if not cases and not skipped:
        raise UsageError("nothing to run: no framework in --frameworks runs the chosen --ops on --device "
                         f"{args.device} (numpy runs on cpu only, cupy on cuda only)")
    return cases, skipped


def load_document(path):
    """A run saved with --save, checked enough that the report can read it."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except OSError as exc:
        raise UsageError(f"--from {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"--from {path}: not a JSON document") from None
    if not (isinstance(document, dict) and isinstance(document.get("env"), dict) and isinstance(document.get("results"), list)):
        raise UsageError(f"--from {path}: not a crosscheck bench run (needs \"env\" and \"results\")")
    document.setdefault("skipped", [])
    document.setdefault("ratios", engine.reference_ratios(document["results"]))
    return document


def run(args):
    for path, flag in ((args.save, "--save"), (args.plot, "--plot")):
        if path:
            _check_output(path, flag, args.overwrite)
    if args.from_file:
        return finish(args, load_document(args.from_file), [])
    cases, skipped = build_plan(args)
    try:
        engine.kernels()
    except engine.KernelsMissing as exc:
        raise UsageError(str(exc)) from None
    settings = engine.QUICK if args.quick else engine.FULL
    if args.rounds:
        settings = dataclasses.replace(settings, rounds=args.rounds)
    threads = args.threads or engine.usable_cores()
    machine = engine.machine_info()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")

    with Progress(len(cases) * args.repeat, "bench") as bar:
        def advance(record):
            if record["kind"] != "framework":
                bar.advance(engine.case_label(record.get("case") or record["result"]))
        out = engine.run_plan(cases, settings, threads=threads, tf32=args.tf32, isolate=not args.in_process,
                              on_record=advance, repeat=args.repeat)
    results = engine.add_peaks(out["results"], args.peak_gflops)
    document = {
        "env": {"date": started,
                "device": args.device, "quick": args.quick, "threads": threads, "tf32": args.tf32, "repeat": args.repeat,
                "isolated": not args.in_process, "settings": settings.__dict__, "peak_gflops": args.peak_gflops,
                **machine, "frameworks": out["frameworks"]},
        "results": results,
        "skipped": skipped + out["skipped"],
        "ratios": engine.reference_ratios(results),
    }
    return finish(args, document, machine["warnings"])


def finish(args, document, warnings):
    """Save, plot and print a run (just measured, or read with --from)."""
    notes = []
    if args.save:
        text = json.dumps(document, indent=2, default=str).encode()
        notes.append(_write(args.save, lambda f: f.write(text), args.overwrite, "results"))
    if args.plot:
        notes.append(plot(document, args.plot, args.overwrite))
    if args.json:
        emit_json(document)
    else:
        print(markdown(document) if args.markdown else report(document))
    if args.json:  # the report shows them in its header
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    for note in notes:
        print(note, file=sys.stderr)
    if not document["results"]:
        print("nothing was measured: every case was skipped (reasons above / in \"skipped\")", file=sys.stderr)
    return 0


def _write(path, write, overwrite, what):
    try:
        engine.write_new(path, write, overwrite)
    except engine.Exists as exc:
        raise UsageError(str(exc)) from None
    return f"{what} written to {path}"


# ---- the report --------------------------------------------------------------------------------------

def seconds(s):
    """3.2 µs, 41.0 ms, 1.20 s."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}" if unit != "s" else f"{s:.2f} s"
    return f"{s * 1e9:.0f} ns"


def _rate(g):
    return "-" if g is None else f"{g:.2g}" if g < 1 else f"{g:,.1f}" if g < 100 else f"{g:,.0f}"


def _order(r):
    framework = engine.FRAMEWORKS.index(r["framework"])
    if r["op"] == "batched_matmul":
        return (r["device"], r["dtype"], engine.matmul_flops(r["shape"]), tuple(r["shape"]), framework)
    return (r["device"], r["dtype"], list(engine.TRAIN_CONFIGS).index(r["config"]), framework, r["mode"])


def sections(document, colour=None):
    """The report as [(title, headers, rows, align)]: a table per op (fastest of each group marked), the ratios."""
    results, out = document["results"], []
    show_peak = any(r.get("pct_peak") is not None for r in results)
    for op, title in (("batched_matmul", "batched matmul (B×M×K×N), time per call"),
                      ("train_step", "train step (forward + backward + SGD update), time per step")):
        rows = sorted((r for r in results if r["op"] == op), key=_order)
        if not rows:
            continue
        group = (lambda r: (r["device"], r["dtype"], tuple(r["shape"]))) if op == "batched_matmul" else \
                (lambda r: (r["device"], r["dtype"], r["config"]))
        best = {}
        for r in rows:
            best[group(r)] = min(best.get(group(r), float("inf")), r["median_s"])
        headers = ["framework", "mode", "device", "dtype", "shape" if op == "batched_matmul" else "config",
                   "median", "GFLOP/s"] + (["% peak"] if show_peak else []) + ["first call"]
        table_rows = []
        for r in rows:
            rate = _rate(r["gflops"])
            if r["median_s"] == best[group(r)] and sum(group(o) == group(r) for o in rows) > 1:
                rate = paint(rate, "green", enabled=colour) if colour is not False else f"**{rate}**"
            what = "×".join(map(str, r["shape"])) if op == "batched_matmul" else r["config"]
            mode = "eager" if r["mode"] == "eager" else engine.COMPILER[r["framework"]]
            table_rows.append([r["framework"], mode, r["device"], r["dtype"], what, seconds(r["median_s"]), rate]
                              + ([f"{r['pct_peak']:.0f}%" if r.get("pct_peak") is not None else "-"] if show_peak else [])
                              + [seconds(r["first_call_s"])])
        out.append((title, headers, table_rows, list("lllllrr") + (["r"] if show_peak else []) + ["r"]))
    if document.get("ratios"):
        rows = []
        for q in document["ratios"]:
            verdict = ("" if q["met"] is None else "met" if q["met"] else "not met")
            if colour is not False and verdict:
                verdict = paint(verdict, "green" if q["met"] else "red", enabled=colour)
            rows.append([q["config"], q["dtype"], q["device"], seconds(q["reference_s"]), q["fastest"],
                         seconds(q["fastest_s"]), f"{q['ratio']:.2f}×", verdict])
        out.append((f"the reference's train step against the fastest framework (target: ≤ {engine.REFERENCE_TARGET}× at wide)",
                    ["config", "dtype", "device", "reference", "fastest framework", "its time", "ratio", "target"],
                    rows, list("lllrlrrl")))
    return out


def header(document):
    env, cpu = document["env"], document["env"]["cpu"]
    repeats = f", each case the median of {env['repeat']} runs" if env.get("repeat", 1) > 1 else ""
    threads = f"{env['threads']} thread{'s' if env['threads'] != 1 else ''}"
    lines = [f"{cpu['model']}, {threads} per framework of {cpu['usable_cores']} usable cores"
             f"{', each framework in its own process' if env['isolated'] else ', all frameworks in one process'}"
             f"{', quick' if env['quick'] else ''}{repeats}; load average {env.get('load_average')} before the run; {env['date']}",
             f"BLAS (numpy): {env['blas_summary']}"]
    if any(key.startswith("numpy:") for key in env["frameworks"]):
        lines.pop()  # the numpy worker's own line below says it, with the worker's thread count
    for key, info in env["frameworks"].items():
        lines.append(f"{key}: {info.get('version')}, {info.get('blas')}, threads {info.get('threads') or '-'}, "
                     f"precision {info.get('precision')}" + (f", {info.get('device_name')}" if key.endswith("cuda") else ""))
    return lines + [f"warning: {w}" for w in env.get("warnings", [])]


def skipped_lines(document):
    reasons = {}
    for s in document["skipped"]:
        reasons.setdefault(s["reason"], []).append(s)
    return [f"{len(cases)} × {reason}" for reason, cases in reasons.items()]


def report(document):
    """The text report: where it ran, the tables, what was skipped."""
    first, *rest = header(document)
    lines = [paint("crosscheck bench", "bold") + " — " + first]
    lines += ["  " + (paint(line, "yellow") if line.startswith("warning:") else line) for line in rest]
    for title, headers, rows, align in sections(document):
        lines += ["", paint(title, "bold"), table(headers, rows, align)]
    if document["skipped"]:
        lines += ["", paint(f"skipped {len(document['skipped'])} cases", "bold")]
        lines += ["  " + line for line in skipped_lines(document)]
    return "\n".join(lines)


def markdown(document):
    """The same report as Markdown, to paste into docs/benchmarks.md."""
    lines = ["- " + line for line in header(document)]
    for title, headers, rows, align in sections(document, colour=False):
        lines += ["", f"**{title}**", "", "| " + " | ".join(headers) + " |",
                  "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    if document["skipped"]:
        lines += ["", f"Skipped {len(document['skipped'])} cases:"] + ["- " + line for line in skipped_lines(document)]
    return "\n".join(lines)


# ---- the plot ------------------------------------------------------------------------------------------

def plot(document, path, overwrite):
    """GFLOP/s against problem size (shapes in order of FLOPs), a line per framework, a panel per device × dtype."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "--plot skipped: matplotlib is not installed (pip install matplotlib)"
    rows = [r for r in document["results"] if r["op"] == "batched_matmul" and r["gflops"]]
    if not rows:
        return "--plot skipped: no batched matmul was measured"
    panels = sorted({(r["device"], r["dtype"]) for r in rows}, key=lambda p: (p[0], engine.GPU_DTYPES.index(p[1])))
    figure, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False, sharey=True)
    for ax, (device, dtype) in zip(axes[0], panels):
        mine = [r for r in rows if (r["device"], r["dtype"]) == (device, dtype)]
        shapes = sorted({tuple(r["shape"]) for r in mine}, key=lambda s: (engine.matmul_flops(s), s))
        for framework in engine.FRAMEWORKS:
            points = sorted((shapes.index(tuple(r["shape"])), r["gflops"]) for r in mine if r["framework"] == framework)
            if points:
                ax.plot(*zip(*points), marker="o", ms=3, label=framework)
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels(["×".join(map(str, s)) for s in shapes], rotation=40, ha="right", fontsize=7)
        ax.set(yscale="log", title=f"{device} {dtype}", xlabel="B×M×K×N, by FLOPs per call")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("GFLOP/s")
    axes[0][0].legend(fontsize=7)
    env = document["env"]
    figure.suptitle(f"batched matmul — {env['cpu']['model']}, {env['threads']} threads per framework", fontsize=9)
    figure.tight_layout()

    def write(f):
        figure.savefig(f, format="png", dpi=80)

    try:
        return _write(path, write, overwrite, "plot")
    finally:
        plt.close(figure)
