"""The numbers of a run: one record per case, % of peak, the reference's ratio to the fastest framework,
several runs merged, a saved run read back.
"""
import json

from adapters import FRAMEWORKS

from ..errors import UsageError
from .plan import REFERENCE_TARGET, TARGET_CONFIG, case_flops, case_label, gflops

REFERENCE_FRAMEWORK = "numpy"  # the reference's own train step is timed as numpy's


def precision(dtype, tf32):
    """What a matmul of this dtype ran as: TF32 applies to float32 alone; float64 is IEEE; half types native."""
    if dtype == "float32":
        return "tf32" if tf32 else "ieee"
    return "ieee" if dtype == "float64" else "native"


def result_record(case, info, median_s, first_call_s, calls_per_round, min_s, rounds):
    """A case with its numbers: the `results` entry of --json, and the extra_info of bench/."""
    flops = case_flops(case)
    record = dict(case)
    record.update({
        "median_s": median_s, "gflops": gflops(flops, median_s), "pct_peak": None, "flops": flops,
        "first_call_s": first_call_s, "calls_per_round": calls_per_round, "min_s": min_s, "rounds": rounds,
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


def reference_ratios(results):
    """For each train-step config × dtype × device: the reference's median over the fastest framework's."""
    ratios = []
    steps = [r for r in results if r["op"] == "train_step"]
    for key in dict.fromkeys((r["config"], r["dtype"], r["device"]) for r in steps):
        same = [r for r in steps if (r["config"], r["dtype"], r["device"]) == key]
        reference = [r for r in same if r["framework"] == REFERENCE_FRAMEWORK]
        others = [r for r in same if r["framework"] != REFERENCE_FRAMEWORK]
        if not reference or not others:
            continue
        fastest = min(others, key=lambda r: r["median_s"])
        ratio = reference[0]["median_s"] / fastest["median_s"]
        ratios.append({"config": key[0], "dtype": key[1], "device": key[2],
                       "reference_s": reference[0]["median_s"], "fastest": f"{fastest['framework']} {fastest['mode']}",
                       "fastest_s": fastest["median_s"], "ratio": ratio,
                       "target": REFERENCE_TARGET if key[0] == TARGET_CONFIG else None,
                       "met": ratio <= REFERENCE_TARGET if key[0] == TARGET_CONFIG else None})
    return ratios


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
        results.append(chosen)
    measured = set(by_case)
    skipped = {case_label(s): s for run in runs for s in run["skipped"] if case_label(s) not in measured}
    frameworks = {}
    for run in runs:
        frameworks.update(run["frameworks"])
    return {"results": results, "skipped": list(skipped.values()), "frameworks": frameworks}


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
    document.setdefault("ratios", reference_ratios(document["results"]))
    return document
