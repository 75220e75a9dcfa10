"""Where the cases run: every framework in a worker process of its own, one after another, its threads pinned.

    run_plan(cases, settings, threads, …) -> {"results", "skipped", "frameworks"}
    python -m crosscheck.benchmarks.workers     a worker: one request on stdin, a record per line on stdout

A worker sets itself up (pinned cores, the allocator rule) before any framework starts, then sets the
framework up for timing (adapters.setup with exact=False: the kernels a user gets by default) and times
each case with its kernels (adapters/<name>/kernels.py), then checks itself: one representative case timed
again by the harness and by a plain loop, in turns (timing.self_check).  A framework that cannot start, or
fails on one case, skips that case with the reason; a worker that dies skips the rest with its last words.
"""
import gc
import importlib
import json
import os
import subprocess
import sys
import tempfile

from crosscheck import adapters
from crosscheck.benchmarks.machine import keep_freed_memory, load_average
from crosscheck.benchmarks.plan import case_label, representative, train_problem
from crosscheck.benchmarks.results import fidelity_record, merge_repeats, result_record
from crosscheck.benchmarks.timing import FULL, TimingRules, measure, self_check
from crosscheck.reference.errors import one_line

MARK = "@@crosscheck-bench "   # the worker's records on stdout; anything else a framework prints is ignored


def skipped(case, reason):
    return {"kind": "skipped", "case": case, "reason": reason}


def make_kernel(kernels, case):
    """The Kernel for one case from a framework's kernels module; adapters.Unavailable if it has none."""
    if case["op"] == "batched_matmul":
        return kernels.matmul(case)
    if not hasattr(kernels, "train_step"):
        raise adapters.Unavailable(f"{case['framework']} has no train step")
    return kernels.train_step(case, train_problem(case["config"], case["dtype"]))


def load_kernels(framework, device, threads=None, tf32=False):
    """(kernels module, info) for timing a framework on a device; adapters.Unavailable with the reason."""
    info = adapters.setup(framework, device=device, threads=threads, tf32=tf32, exact=False)
    try:
        return importlib.import_module(f"{adapters.FRAMEWORKS[framework].package}.kernels"), info
    except Exception as exc:
        raise adapters.Unavailable(f"{framework}: {one_line(exc)}") from None


def run_framework(framework, cases, settings, threads, tf32, emit, check=True):
    """Run one framework's cases in this process; emit() its set-up per device, a record per case and, with
    check, the self-check of its representative case on each device."""
    for device in dict.fromkeys(c["device"] for c in cases):
        device_cases = [c for c in cases if c["device"] == device]
        try:
            kernels, info = load_kernels(framework, device, threads, tf32)
        except adapters.Unavailable as exc:
            for case in device_cases:
                emit(skipped(case, str(exc)))
            continue
        emit({"kind": "framework", "framework": framework, "device": device, "info": info})
        # the case the harness checks itself on keeps its kernel: nothing is built (or compiled) twice
        chosen = representative(device_cases) if check else None
        kept = None
        for case in device_cases:
            try:
                kernel = make_kernel(kernels, case)
                timing = measure(kernel, settings)
                if case is chosen:
                    kept = kernel
            except adapters.Unavailable as exc:
                emit(skipped(case, str(exc)))
                continue
            except Exception as exc:  # a framework that fails on one case must not stop the others
                emit(skipped(case, f"{framework} failed: {one_line(exc)}"))
                continue
            finally:
                kernel = None
                gc.collect()
            emit({"kind": "result", "result": result_record(case, info, timing.median_s, timing.first_call_s,
                                                            timing.calls_per_round, min(timing.per_call_s),
                                                            len(timing.per_call_s), *timing.quartiles_s)})
        if kept is not None:
            _check_harness(kept, chosen, settings, emit)
            kept = None
            gc.collect()


def _check_harness(kernel, case, settings, emit):
    """The self-check: the harness and a plain loop in turns on one case's kernel; a record, or none (and so
    no claim) if the kernel fails now — the failure is the framework's and its case already says so."""
    try:
        check = self_check(kernel, settings)
    except Exception:
        return
    emit({"kind": "fidelity", "fidelity": fidelity_record(case, check, load_average())})


def pin_threads(threads):
    """Restrict this process to `threads` cores before any framework starts: every runtime (OpenMP,
    OpenBLAS, MKL, Eigen, XLA) then sizes its pool to the same count."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        if threads < len(cores):
            os.sched_setaffinity(0, cores[:threads])


def _run_isolated(framework, cases, settings, threads, tf32, on_record, check=True):
    request = {"framework": framework, "cases": cases, "settings": settings.__dict__, "threads": threads, "tf32": tf32,
               "check": check}
    env = dict(os.environ)
    # the worker imports the packages this process imported, from a source checkout or an installed copy
    home = os.path.dirname(os.path.dirname(os.path.abspath(adapters.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (home, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    reported = set()
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen([sys.executable, "-m", "crosscheck.benchmarks.workers"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=errors, env=env, text=True)
        try:
            process.stdin.write(json.dumps(request))
            process.stdin.close()
            for line in process.stdout:
                if line.startswith(MARK):
                    record = json.loads(line[len(MARK):])
                    if record["kind"] in ("result", "skipped"):
                        reported.add(case_label(record.get("case") or record["result"]))
                    on_record(record)
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if code != 0 or len(reported) < len(cases):
            errors.seek(0)
            lines = [line.strip() for line in errors.read().splitlines() if line.strip()]
            why = f"{framework} worker exited with code {code}" + (f": {lines[-1][:200]}" if lines else "")
            for case in cases:
                if case_label(case) not in reported:
                    on_record(skipped(case, why))


def run_plan(cases, settings=FULL, threads=None, tf32=False, isolate=True, on_record=None, repeat=1, check=True):
    """Run every case, each framework in its own process unless isolate=False.

    Returns {"results": [...], "skipped": [...], "frameworks": {"torch:cpu": {...}, …}, "fidelity": [...]};
    on_record(record) is called as each record arrives (for a progress bar).  With repeat > 1 the whole
    plan runs that many times, the frameworks taking turns, and each case keeps the run with the median
    median_s: on a shared machine whose load changes, every framework then meets the same mix of quiet and
    busy moments.  check=False leaves out each framework's self-check (bench/fidelity.py does its own).
    """
    if repeat > 1:
        return merge_repeats([run_plan(cases, settings, threads, tf32, isolate, on_record, check=check)
                              for _ in range(repeat)])
    threads = threads or adapters.usable_cores()
    out = {"results": [], "skipped": [], "frameworks": {}, "fidelity": []}
    if not isolate:
        keep_freed_memory()  # the workers do it for themselves

    def collect(record):
        if record["kind"] == "framework":
            out["frameworks"][f"{record['framework']}:{record['device']}"] = record["info"]
        elif record["kind"] == "result":
            out["results"].append(record["result"])
        elif record["kind"] == "fidelity":
            out["fidelity"].append(record["fidelity"])
        else:
            out["skipped"].append({**record["case"], "reason": record["reason"]})
        if on_record:
            on_record(record)

    for framework in dict.fromkeys(c["framework"] for c in cases):
        mine = [c for c in cases if c["framework"] == framework]
        if isolate:
            _run_isolated(framework, mine, settings, threads, tf32, collect, check)
        else:
            run_framework(framework, mine, settings, threads, tf32, collect, check)
    return out


def main():
    """A worker: read one request on stdin, print records on stdout."""
    request = json.loads(sys.stdin.read())
    pin_threads(request["threads"])
    keep_freed_memory()
    out = sys.stdout

    def emit(record):
        out.write(MARK + json.dumps(record) + "\n")
        out.flush()

    run_framework(request["framework"], request["cases"], TimingRules(**request["settings"]),
                  request["threads"], request["tf32"], emit, request.get("check", True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
