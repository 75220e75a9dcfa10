"""Does `crosscheck bench` agree with a stopwatch?  The measurements behind docs/benchmarks.md, in one command.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench.fidelity --save fidelity.json

on a quiet machine (about 15 minutes on 2 cores), from the repository root.  Four parts (--parts):

    estimators  one plain-loop trace of NumPy's 1×1024³ float32 product (every call's time), read back by the
                harness's old rules (3 or 7 rounds of ≥ 20 / 100 ms) and its new ones (rounds of ≥ 1 ms within
                a budget): the same calls, so any difference is the rule's, not the machine's
    loop        the harness (a `crosscheck bench` worker, full and quick) against bench/plain_loop.py, each in a
                fresh process, taking turns, --pairs times, per framework at 1×1024³ float32: the median of the
                pairs' speed ratios, which should lie within 0.95–1.05
    quick       --quick's figures against the full run's: the quick and full rules in turns on each case's kernel
                in one worker, then whole quick and full runs of the quick plan, taking turns
    floor       the reference's wide step against its GEMM floor (its FLOPs at NumPy's 2048³ rate): the two
                timed in turns, --pairs times; then as a run's table has it (NumPy's sweep, --repeat 3)

Every figure is printed with the 1-minute load average at the moment it was taken; above half the cores the
line says the machine was busy.  The OpenBLAS variables are read, never set: unset them for the command.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from crosscheck.adapters import FRAMEWORKS, usable_cores  # noqa: E402
from crosscheck.benchmarks import machine, plan, report, results, workers  # noqa: E402
from crosscheck.benchmarks.timing import FULL, QUICK, TimingRules, measure, round_plan  # noqa: E402
from crosscheck.console import table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHAPE = [1, 1024, 1024, 1024]
PARTS = ("estimators", "loop", "quick", "floor")
LOOP_FRAMEWORKS = ("numpy", "torch", "jax", "tensorflow")

# the harness before issue 14: a fixed number of rounds, each at least 20 ms (quick) or 100 ms (full) long
OLD_QUICK = TimingRules(budget_s=0, min_rounds=3, round_s=0.02, warmup_s=0.02, warmup_calls=1)
OLD_FULL = TimingRules(budget_s=0, min_rounds=7, round_s=0.1, warmup_s=0.25, warmup_calls=2)


def load():
    return machine.load_average()


def busy(loads):
    """' (busy: load 2.3)' when the machine had more than half its cores taken, else ''."""
    worst = max((x for x in loads if x is not None), default=None)
    return f" (busy: load up to {worst})" if worst is not None and worst > 0.5 * usable_cores() else ""


def plain_loop(framework, dtype, shape, seconds=3.0, times=False):
    """bench/plain_loop.py in a fresh process: its JSON line."""
    argv = [sys.executable, "-m", "bench.plain_loop", framework, dtype, "x".join(map(str, shape)), str(seconds)]
    done = subprocess.run(argv + (["--times"] if times else []), cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"plain loop {framework}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def harness(case, settings):
    """The harness as `crosscheck bench` runs it: a worker process of its own, without the self-check."""
    out = workers.run_plan([case], settings, check=False)
    if not out["results"]:
        raise RuntimeError(f"harness {plan.case_label(case)}: {out['skipped'][0]['reason']}")
    return out["results"][0]


def matmul_case(framework, dtype="float32", shape=SHAPE):
    return {"op": "batched_matmul", "framework": framework, "device": "cpu", "dtype": dtype,
            "mode": FRAMEWORKS[framework].matmul_mode, "shape": list(shape)}


def summary(ratios):
    ratios = sorted(ratios)
    return {"median": statistics.median(ratios), "low": sum(q < 0.95 for q in ratios) / len(ratios),
            "high": sum(q > 1.05 for q in ratios) / len(ratios), "n": len(ratios)}


# ---- estimators: one trace, two sets of rules ---------------------------------------------------------

def replay(times, start, settings):
    """The harness's figure had it met the calls times[start:] — first call, warm-up, n, rounds — or None."""
    i, warm = start + 1, []
    while len(warm) < settings.warmup_calls or sum(warm) < settings.warmup_s:
        if i >= len(times):
            return None
        warm.append(times[i])
        i += 1
    n, rounds = round_plan(statistics.median(warm[len(warm) // 2:]), settings)
    if i + n * rounds > len(times):
        return None
    return statistics.median(sum(times[i + r * n:i + (r + 1) * n]) / n for r in range(rounds))


def part_estimators(args):
    trace = plain_loop("numpy", "float32", SHAPE, seconds=args.trace_seconds, times=True)
    times = trace["times"]
    median = statistics.median(times)
    undisturbed = sum(t <= 1.05 * median for t in times) / len(times)
    out = {"load_average": load(), "calls": len(times), "median_s": median, "mean_over_median": statistics.mean(times) / median,
           "share_within_5pct_of_median": undisturbed, "rules": {}}
    rows = []
    for name, settings in (("old quick: 3 rounds ≥ 20 ms", OLD_QUICK), ("old full: 7 rounds ≥ 100 ms", OLD_FULL),
                           ("new quick: rounds ≥ 1 ms, 0.2 s", QUICK), ("new full: rounds ≥ 1 ms, 1 s", FULL)):
        figures = [replay(times, start, settings) for start in range(0, len(times), max(1, len(times) // 400))]
        ratios = [median / f for f in figures if f]  # speed by the rule / speed by the median call
        if not ratios:
            continue
        s = summary(ratios)
        out["rules"][name] = s
        rows.append([name, f"{s['median']:.3f}", f"{s['low']:.0%}", f"{s['high']:.0%}", str(s["n"])])
    print(f"\nestimators: one trace of {len(times)} calls of numpy float32 1×1024³, median call "
          f"{report.seconds(median)}, mean / median {out['mean_over_median']:.2f}, "
          f"{undisturbed:.0%} of the calls within 5 % of the median{busy([out['load_average']])}; "
          f"load {out['load_average']}")
    print(table(["rules", "speed / median call", "> 5 % low", "> 5 % high", "starts"], rows, list("lrrrr")))
    return out


# ---- loop: the harness against a plain loop, fresh processes, in turns ---------------------------------

def part_loop(args):
    out = {}
    for framework in args.frameworks:
        pairs = []
        for pair in range(args.pairs):
            runs = {}
            order = ("loop", "full", "quick") if pair % 2 == 0 else ("quick", "full", "loop")
            try:
                for what in order:
                    if what == "loop":
                        runs[what] = plain_loop(framework, "float32", SHAPE)["median_s"]
                    else:
                        runs[what] = harness(matmul_case(framework), FULL if what == "full" else QUICK)["median_s"]
            except RuntimeError as exc:
                print(f"  {framework}: {exc}")
                break
            pairs.append({"loop_s": runs["loop"], "full_s": runs["full"], "quick_s": runs["quick"],
                          "full": runs["loop"] / runs["full"], "quick": runs["loop"] / runs["quick"], "load_average": load()})
        if pairs:
            out[framework] = {"pairs": pairs, "full": statistics.median(p["full"] for p in pairs),
                              "quick": statistics.median(p["quick"] for p in pairs)}
    rows = []
    for framework, r in out.items():
        loads = [p["load_average"] for p in r["pairs"]]
        rows.append([framework, report.seconds(statistics.median(p["loop_s"] for p in r["pairs"])),
                     f"{r['full']:.3f}", " ".join(f"{p['full']:.2f}" for p in r["pairs"]),
                     f"{r['quick']:.3f}", " ".join(f"{p['quick']:.2f}" for p in r["pairs"]),
                     f"{min(loads)}–{max(loads)}{' busy' if busy(loads) else ''}"])
    print("\nloop: the harness against a plain loop at float32 1×1024³, fresh processes taking turns "
          "(harness speed / loop speed; target 0.95–1.05)")
    print(table(["framework", "loop", "full", "full, per pair", "quick", "quick, per pair", "load"], rows, list("lrrlrll")))
    return out


# ---- quick: --quick against the full run ---------------------------------------------------------------

def paired_rules(request):
    """In a worker set up as crosscheck bench's (pinned threads, the allocator rule, the framework's timing
    set-up): each case's kernel timed by the quick and the full rules in turns.  Prints one JSON line."""
    workers.pin_threads(request["threads"])
    machine.keep_freed_memory()
    kernels, _ = workers.load_kernels(request["framework"], "cpu", request["threads"])
    out = {}
    for case in request["cases"]:
        kernel = workers.make_kernel(kernels, case)
        pairs = []
        for pair in range(request["pairs"]):
            times = {}
            for what in (("quick", "full") if pair % 2 == 0 else ("full", "quick")):
                times[what] = measure(kernel, QUICK if what == "quick" else FULL).median_s
            pairs.append(times["full"] / times["quick"])
        out[plan.case_label(case)] = pairs
    print(json.dumps({"pairs": out, "load_average": load()}))


def _paired_in_a_worker(framework, cases, pairs):
    request = json.dumps({"framework": framework, "cases": cases, "pairs": pairs, "threads": usable_cores()})
    code = "import json, sys; from bench.fidelity import paired_rules; paired_rules(json.loads(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", code, request], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"  {framework}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _quick_table(title, by_case, loads, extra=""):
    within = sum(abs(q - 1) <= 0.05 for q in by_case.values())
    print(f"\n{title}{busy(loads)}; load {min(loads)}–{max(loads)}")
    print(table(["case", "quick / full"], [[label, f"{q:.3f}"] for label, q in by_case.items()], list("lr")))
    if by_case:
        worst = max(by_case, key=lambda k: abs(by_case[k] - 1))
        print(f"  {within} of {len(by_case)} within 5 %; median |quick/full − 1| "
              f"{statistics.median(abs(q - 1) for q in by_case.values()):.1%}; worst {worst} {by_case[worst]:.3f}{extra}")
    return within


def part_quick(args):
    """Two ways: the rules in turns on each case's kernel in one worker (what the rules do, with the machine's
    drift between them taken out), then whole quick and full runs in turns (what a user compares)."""
    cases, _ = plan.one_mode_each(plan.plan(frameworks=args.frameworks, quick=True))
    paired, loads = {}, []
    for framework in args.frameworks:
        answer = _paired_in_a_worker(framework, [c for c in cases if c["framework"] == framework], args.quick_pairs + 1)
        if answer:
            paired.update({label: statistics.median(q) for label, q in answer["pairs"].items()})
            loads.append(answer["load_average"])
    within_paired = _quick_table(f"quick: the quick and the full rules in turns on each case, {args.quick_pairs + 1} pairs "
                                 f"(quick speed / full speed)", paired, loads or [load()])

    runs = {"quick": [], "full": []}
    for pair in range(args.quick_pairs):
        for what in (("quick", "full") if pair % 2 == 0 else ("full", "quick")):
            started = time.perf_counter()
            out = workers.run_plan(cases, QUICK if what == "quick" else FULL, check=False)
            runs[what].append({"results": {plan.case_label(r): r["median_s"] for r in out["results"]},
                               "seconds": time.perf_counter() - started, "load_average": load()})
    by_case = {}
    for label in runs["full"][0]["results"]:
        pairs = [f["results"][label] / q["results"][label] for f, q in zip(runs["full"], runs["quick"])
                 if label in f["results"] and label in q["results"]]
        if pairs:
            by_case[label] = statistics.median(pairs)
    run_loads = [r["load_average"] for what in runs.values() for r in what]
    extra = (f"; a quick run took {statistics.median(r['seconds'] for r in runs['quick']):.0f} s (workers only, "
             f"no self-check), a full one {statistics.median(r['seconds'] for r in runs['full']):.0f} s")
    within = _quick_table(f"quick: whole --quick and full runs of the quick plan in turns, {args.quick_pairs} pairs",
                          by_case, run_loads, extra)
    return {"paired": paired, "within_paired": within_paired, "cases": by_case, "runs": runs, "within": within}


# ---- floor: the reference against its GEMM floor ------------------------------------------------------

FLOOR_SHAPE = [1, 2048, 2048, 2048]  # NumPy's best rate in a quiet full run here


def floor_pairs(dtype, pairs):
    """The wide step and NumPy's 2048³ product timed in turns in this process, --pairs times: per pair the
    step over its FLOPs at that pair's product rate.  Taking turns keeps a load that comes and goes out of
    the ratio, where a run's table compares a product and a step timed a minute apart."""
    from crosscheck import adapters
    from crosscheck.adapters.numpy import kernels
    adapters.setup("numpy", threads=usable_cores(), exact=False)
    gemm = kernels.matmul(matmul_case("numpy", dtype, FLOOR_SHAPE))
    case = {"op": "train_step", "framework": "numpy", "device": "cpu", "dtype": dtype, "mode": "eager", "config": "wide"}
    step = kernels.train_step(case, plan.train_problem("wide", dtype))
    out = []
    for pair in range(pairs):
        times = {}
        for what in (("gemm", "step") if pair % 2 == 0 else ("step", "gemm")):
            times[what] = measure(gemm if what == "gemm" else step, FULL).median_s
        rate = plan.matmul_flops(FLOOR_SHAPE) / times["gemm"]
        floor = plan.case_flops(case) / rate
        out.append({"step_s": times["step"], "gemm_gflops": rate / 1e9, "floor_s": floor,
                    "ratio": times["step"] / floor, "load_average": load()})
    return out


def part_floor(args):
    print(f"\nfloor: the reference's wide step against its GEMM floor (its FLOPs at NumPy's {'×'.join(map(str, FLOOR_SHAPE))} "
          f"rate), the two in turns in one process, {args.pairs} pairs (target ≤ {plan.FLOOR_TARGET}×)")
    paired, rows = {}, []
    for dtype in plan.CPU_DTYPES:
        pairs = floor_pairs(dtype, args.pairs)
        ratio = statistics.median(p["ratio"] for p in pairs)
        loads = [p["load_average"] for p in pairs]
        paired[dtype] = {"pairs": pairs, "ratio": ratio}
        rows.append([dtype, report.seconds(statistics.median(p["step_s"] for p in pairs)),
                     f"{statistics.median(p['gemm_gflops'] for p in pairs):.0f}", f"{ratio:.3f}",
                     " ".join(f"{p['ratio']:.2f}" for p in pairs), f"{min(loads)}–{max(loads)}{' busy' if busy(loads) else ''}"])
    print(table(["dtype", "step", "GFLOP/s", "× floor", "per pair", "load"], rows, list("lrrrll")))

    cases = plan.plan(frameworks=("numpy",), configs=("wide",))
    out = workers.run_plan(cases, FULL, repeat=args.repeat, check=False)
    ratios = results.reference_ratios(out["results"])
    print(f"\nand as a run's table says it: NumPy's matmul sweep and the wide step, each case the median of "
          f"{args.repeat} runs{busy([load()])}; load {load()}")
    for title, headers, rows, align in report.sections({"results": out["results"], "ratios": ratios}, colour=False):
        print(f"{title}\n{table(headers, rows, align)}\n")
    return {"paired": paired, "ratios": ratios, "results": out["results"], "load_average": load()}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.fidelity", description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)} (default all)")
    parser.add_argument("--frameworks", default=",".join(LOOP_FRAMEWORKS), help="for loop and quick (default %(default)s)")
    parser.add_argument("--pairs", type=int, default=5, help="harness/loop pairs per framework (default 5)")
    parser.add_argument("--quick-pairs", type=int, default=2, help="quick/full pairs (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the floor plan (default 3)")
    parser.add_argument("--trace-seconds", type=float, default=10.0, help="length of the estimators' trace (default 10)")
    parser.add_argument("--save", metavar="FILE.json", help="write every figure to FILE (not over an existing file)")
    args = parser.parse_args(argv)
    args.frameworks = [f for f in args.frameworks.split(",") if f]
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS) | set(args.frameworks) - set(LOOP_FRAMEWORKS))
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    if args.save and os.path.exists(args.save):
        parser.error(f"--save {args.save}: exists")
    machine.keep_freed_memory()  # this process only reads the workers' answers; the same rule as every bench process
    env = machine.machine_info()
    print(f"bench.fidelity — {env['cpu']['model']}, {usable_cores()} usable cores, {env['blas_summary']}; "
          f"load {env['load_average']} at the start")
    for warning in env["warnings"]:
        print(f"  warning: {warning}")
    document = {"env": env, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for part in parts:
        document[part] = globals()[f"part_{part}"](args)
    if args.save:
        with open(args.save, "x", encoding="utf-8") as f:
            json.dump(document, f, indent=2, default=str)
        print(f"\nwritten to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
