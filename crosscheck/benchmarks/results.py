"""The numbers of a run: one record per case with its spread, % of peak, the reference's step against its GEMM
floor and the fastest framework, the harness's self-check, several runs merged, a saved run read back.
"""
import json
import statistics

from crosscheck.adapters import FRAMEWORKS
from crosscheck.benchmarks.plan import FLOOR_TARGET, REFERENCE_TARGET, TARGET_CONFIG, case_flops, case_label, gflops
from crosscheck.benchmarks.timing import FIDELITY_LIMIT, SCATTER_LIMIT
from crosscheck.errors import UsageError

REFERENCE_FRAMEWORK = "numpy"  # the reference's own train step is timed as numpy's


def precision(dtype, tf32):
    """What a matmul of this dtype ran as: TF32 applies to float32 alone; float64 is IEEE; half types native."""
    if dtype == "float32":
        return "tf32" if tf32 else "ieee"
    return "ieee" if dtype == "float64" else "native"


def result_record(case, info, median_s, first_call_s, calls_per_round, min_s, rounds, q1_s, q3_s):
    """A case with its numbers: the `results` entry of --json, and the extra_info of bench/.

    q1_s, q3_s: the quartiles of the rounds' per-call times; their distance over the median is the case's
    spread, and past SCATTER_LIMIT the case is `scattered`: its median is not to be trusted.
    """
    flops = case_flops(case)
    record = dict(case)
    iqr = q3_s - q1_s
    record.update({
        "median_s": median_s, "gflops": gflops(flops, median_s), "pct_peak": None, "flops": flops,
        "first_call_s": first_call_s, "calls_per_round": calls_per_round, "min_s": min_s, "rounds": rounds,
        "q1_s": q1_s, "q3_s": q3_s, "iqr_s": iqr, "iqr_pct": 100 * iqr / median_s,
        "scattered": iqr > SCATTER_LIMIT * median_s,
        "threads": info.get("threads"), "tf32": info.get("tf32"),
        "precision": precision(case["dtype"], info.get("tf32")),
        "blas": info.get("blas"), "device_name": info.get("device_name"), "version": info.get("version"),
        "compiler": FRAMEWORKS[case["framework"]].compiler if case.get("mode") in ("compiled", "jit") else None,
    })
    return record


# Dense peak GFLOP/s from the vendors' datasheets (tensor-core FP64; "float32" without and with TF32).
KNOWN_PEAKS = {
    "H200": {"float64": 67_000, "float32": 67_000, "tf32": 494_700, "bfloat16": 989_500, "float16": 989_500},
    "H100 PCIe": {"float64": 51_000, "float32": 51_000, "tf32": 378_000, "bfloat16": 756_000, "float16": 756_000},
    "H100": {"float64": 67_000, "float32": 67_000, "tf32": 494_700, "bfloat16": 989_500, "float16": 989_500},
    "A100": {"float64": 19_500, "float32": 19_500, "tf32": 156_000, "bfloat16": 312_000, "float16": 312_000},
}


def known_peak(device_name, dtype, tf32):
    """The datasheet peak for a GPU by name, or None (CPUs: give --peak-gflops)."""
    for name, peaks in KNOWN_PEAKS.items():
        if device_name and name in device_name:
            return peaks["tf32" if dtype == "float32" and tf32 else dtype]
    return None


def add_peaks(results, given=None):
    """Fill pct_peak: from `given` ({dtype or '*': GFLOP/s}) first, else a known GPU's datasheet."""
    given = given or {}
    for r in results:
        peak = given.get(r["dtype"], given.get("*"))
        if peak is None and r["device"] == "cuda":
            peak = known_peak(r.get("device_name"), r["dtype"], r.get("tf32"))
        r["peak_gflops"] = peak
        r["pct_peak"] = 100 * r["gflops"] / peak if peak and r["gflops"] is not None else None
    return results


def gemm_floor(results, dtype, device):
    """(best GFLOP/s, its case label) of NumPy's batched matmul in this run for a dtype and device, or (None, None).

    The reference's step cannot be faster than its FLOPs at this rate: the floor its overhead is measured from.
    """
    matmuls = [r for r in results if r["op"] == "batched_matmul" and r["framework"] == REFERENCE_FRAMEWORK
               and r["dtype"] == dtype and r["device"] == device and r.get("gflops")]
    if not matmuls:
        return None, None
    best = max(matmuls, key=lambda r: r["gflops"])
    return best["gflops"], case_label(best)


def reference_ratios(results):
    """For each train-step config × dtype × device the reference has: its median against its GEMM floor
    (its FLOPs at NumPy's best matmul rate in the run) and against the fastest framework's median."""
    ratios = []
    steps = [r for r in results if r["op"] == "train_step"]
    for key in dict.fromkeys((r["config"], r["dtype"], r["device"]) for r in steps):
        same = [r for r in steps if (r["config"], r["dtype"], r["device"]) == key]
        reference = [r for r in same if r["framework"] == REFERENCE_FRAMEWORK]
        others = [r for r in same if r["framework"] != REFERENCE_FRAMEWORK]
        rate, source = gemm_floor(results, key[1], key[2])
        if not reference or not (others or rate):
            continue
        mine, judged = reference[0], key[0] == TARGET_CONFIG
        entry = {"config": key[0], "dtype": key[1], "device": key[2], "reference_s": mine["median_s"],
                 "reference_scattered": mine.get("scattered"),
                 "floor_s": None, "floor_gflops": rate, "floor_from": source, "floor_ratio": None,
                 "floor_target": FLOOR_TARGET if judged else None, "floor_met": None,
                 "fastest": None, "fastest_s": None, "ratio": None,
                 "target": REFERENCE_TARGET if judged else None, "met": None}
        if rate:
            entry["floor_s"] = mine["flops"] / (rate * 1e9)
            entry["floor_ratio"] = mine["median_s"] / entry["floor_s"]
            entry["floor_met"] = entry["floor_ratio"] <= FLOOR_TARGET if judged else None
        if others:
            fastest = min(others, key=lambda r: r["median_s"])
            entry.update(fastest=f"{fastest['framework']} {fastest['mode']}", fastest_s=fastest["median_s"],
                         ratio=mine["median_s"] / fastest["median_s"])
            entry["met"] = entry["ratio"] <= REFERENCE_TARGET if judged else None
        ratios.append(entry)
    return ratios


def fidelity_record(case, check, load=None):
    """The self-check of one framework: the harness against a plain loop on its representative case."""
    return {"framework": case["framework"], "device": case["device"], "case": case_label(case), **case,
            "harness_s": statistics.median(check.harness_s), "loop_s": statistics.median(check.loop_s),
            "ratios": check.ratios, "ratio": check.ratio, "limit": FIDELITY_LIMIT, "within": check.within,
            "load_average": load}


def fidelity_warnings(document):
    """A line per framework whose harness strayed from its plain loop by more than FIDELITY_LIMIT, naming the case."""
    lines = []
    for f in document.get("fidelity", []):
        if not f["within"]:
            way = "low" if f["ratio"] < 1 else "high"
            lines.append(f"the harness reads {abs(f['ratio'] - 1):.0%} {way} against a plain loop on {f['case']} "
                         f"(ratios {', '.join(f'{q:.2f}' for q in f['ratios'])}): {f['framework']}'s figures in this "
                         f"run are not good to {f['limit']:.0%}")
    return lines


def run_warnings(document):
    """What the run itself says about its figures: harnesses that strayed from their plain loops, scattered cases."""
    return fidelity_warnings(document) + [w for w in [scattered_warning(document)] if w]


def scattered_warning(document):
    """One line when some cases' rounds scattered past SCATTER_LIMIT, or None."""
    scattered = [r for r in document["results"] if r.get("scattered")]
    if not scattered:
        return None
    return (f"{len(scattered)} of {len(document['results'])} cases scattered (IQR over {SCATTER_LIMIT:.0%} of the "
            f"median, marked in the tables): their medians are not to be trusted")


def merge_repeats(runs):
    """One run from several of the same plan: per case the result with the median median_s (the lower
    middle one for an even count), with every run's median_s in median_s_repeats."""
    by_case = {}
    for run in runs:
        for r in run["results"]:
            by_case.setdefault(case_label(r), []).append(r)
    results = []
    for records in by_case.values():
        ranked = sorted(records, key=lambda r: r["median_s"])
        chosen = dict(ranked[(len(ranked) - 1) // 2])
        chosen["median_s_repeats"] = [r["median_s"] for r in records]
        # the repeats disagreeing is scatter too: flag it even where the chosen run's own rounds agreed
        if len(ranked) > 2:
            chosen["runs_iqr_pct"] = 100 * _spread(ranked)
            chosen["scattered"] = bool(chosen.get("scattered")) or chosen["runs_iqr_pct"] > 100 * SCATTER_LIMIT
        results.append(chosen)
    measured = set(by_case)
    skipped = {case_label(s): s for run in runs for s in run["skipped"] if case_label(s) not in measured}
    frameworks = {}
    for run in runs:
        frameworks.update(run["frameworks"])
    fidelity = {}
    for run in runs:  # the self-checks of every repeat, their pairs pooled per framework and device
        for f in run.get("fidelity", []):
            key = (f["framework"], f["device"])
            if key in fidelity:
                pooled = fidelity[key]
                pooled["ratios"] = pooled["ratios"] + f["ratios"]
                pooled["ratio"] = statistics.median(pooled["ratios"])
                pooled["within"] = abs(pooled["ratio"] - 1) <= pooled["limit"]
            else:
                fidelity[key] = dict(f)
    return {"results": results, "skipped": list(skipped.values()), "frameworks": frameworks,
            "fidelity": list(fidelity.values())}


def _spread(ranked):
    """The IQR of several runs' medians over their median."""
    times = [r["median_s"] for r in ranked]
    q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
    return (q3 - q1) / statistics.median(times)


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
    document.setdefault("fidelity", [])
    document["ratios"] = reference_ratios(document["results"])  # derived: a run saved before the floor gets one
    return document
