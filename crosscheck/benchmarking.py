"""The engine behind `crosscheck bench` and the pytest suites in bench/: what is timed, how, and where.

    plan(...)              the cases: batched matmul over a sweep of shapes, one training step per config
    measure(kernel, ...)   first call (compile) apart, warm-up, then rounds of n calls and one sync each
    run_plan(...)          every framework in its own worker process (python -m crosscheck.benchmarking)
    machine_info()         CPU, cores, BLAS and its kernel, framework versions, GPU — without importing them

The rules these follow, and why, are in docs/benchmarks.md.  This module imports no framework: the
framework code lives in bench/kernels.py, found next to this package in the source checkout.
"""
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from reference import files

# ---- what is measured --------------------------------------------------------------------------------

FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax", "cupy")
OPS = ("batched_matmul", "train_step")
DEVICES = ("cpu", "cuda")
CPU_DTYPES = ("float32", "float64")
GPU_DTYPES = ("float32", "float64", "bfloat16", "float16")

# where each framework can run
FRAMEWORK_DEVICES = {"numpy": ("cpu",), "torch": ("cpu", "cuda"), "tensorflow": ("cpu", "cuda"),
                     "jax": ("cpu", "cuda"), "cupy": ("cuda",)}
# how each framework's matmul is called: as written (eager) or through its compiler
MATMUL_MODE = {"numpy": "eager", "torch": "eager", "tensorflow": "eager", "jax": "jit", "cupy": "eager"}
# the train step: numpy is the reference; the others eager and compiled
TRAIN_MODES = {"numpy": ("eager",), "torch": ("eager", "compiled"), "tensorflow": ("eager", "compiled"),
               "jax": ("eager", "compiled")}
COMPILER = {"numpy": "-", "torch": "torch.compile", "tensorflow": "tf.function", "jax": "jax.jit"}

# (B, M, K, N): B products of (M, K) @ (K, N).  The lecture's Z2 = A1 W2 first, then up to compute-bound.
MATMUL_SWEEP = {
    "cpu": [(1, 300, 4, 3), (1, 256, 256, 256), (512, 64, 64, 64), (1, 1024, 784, 1024),
            (64, 256, 256, 256), (1, 1024, 1024, 1024), (1, 2048, 2048, 2048)],
    "cuda": [(1, 300, 4, 3), (1, 256, 256, 256), (512, 64, 64, 64), (1, 1024, 784, 1024),
             (64, 256, 256, 256), (1, 1024, 1024, 1024), (1, 2048, 2048, 2048),
             (1, 4096, 4096, 4096), (1, 8192, 8192, 8192)],
}
MATMUL_QUICK = [(1, 300, 4, 3), (512, 64, 64, 64), (1, 1024, 1024, 1024)]
# the smallest shapes, for the smoke run of bench/ (pytest --benchmark-disable) and the CLI's tests
MATMUL_SMOKE = [(1, 300, 4, 3), (4, 16, 16, 16)]


@dataclass(frozen=True)
class TrainConfig:
    """A network and its batch: the sizes [n0, …, nL], m examples, the init scheme, the SGD step α."""
    sizes: tuple
    batch: int
    init: str
    learning_rate: float = 0.1


TRAIN_CONFIGS = {
    "lecture": TrainConfig((2, 4, 3), 300, "lecture"),          # the spiral, as in the lecture
    "wide": TrainConfig((784, 1024, 1024, 10), 1024, "he"),     # GEMM-bound: an MNIST-sized MLP
}

# the reference's train step should stay within this factor of the fastest framework, at the wide config
REFERENCE_TARGET = 1.15
TARGET_CONFIG = "wide"


def matmul_flops(shape):
    """2·B·M·K·N: one multiply and one add per term of each of the B·M·N dot products of length K."""
    B, M, K, N = shape
    return 2 * B * M * K * N


def train_step_flops(sizes, m):
    """The GEMMs of one training step of the N-layer network on m examples.

    Per layer (n_in -> n_out): forward Z = A W, 2·m·n_in·n_out; backward dW = Aᵀ dZ, the same again,
    and dA_prev = dZ Wᵀ, the same again — except in the first layer, where dA_prev would be dX.
    Element-wise work (bias, ReLU, softmax, the update) is not counted: it is O(m·n), not O(m·n²).
    """
    total = 0
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        gemm = 2 * m * n_in * n_out
        total += gemm * (2 if l == 1 else 3)
    return total


def case_flops(case):
    if case["op"] == "batched_matmul":
        return matmul_flops(case["shape"])
    config = TRAIN_CONFIGS[case["config"]]
    return train_step_flops(config.sizes, config.batch)


def gflops(flops, seconds):
    """GFLOP/s = flops / seconds / 1e9 (None when nothing was timed)."""
    return flops / seconds / 1e9 if seconds and seconds > 0 else None


def train_problem(config_name, dtype):
    """(net, params, X, Y, y, α) for a train-step config: the same for every framework.

    The lecture config is the lecture's spiral and init; the wide one Gaussian data and He init.
    params [(W, b), …] are fresh NumPy arrays, so a step may update them in place.
    """
    import numpy as np

    from reference import Network, init_params, make_data
    config = TRAIN_CONFIGS[config_name]
    net = Network(config.sizes)
    params = init_params(net, config.init, seed=0, dtype=dtype)
    X, Y = make_data(net, config.batch, seed=0, dtype=dtype)
    y = np.argmax(Y, axis=1).astype(np.int64)
    return net, params, X, Y, y, config.learning_rate


def plan(frameworks=FRAMEWORKS, devices=("cpu",), ops=OPS, dtypes=None, shapes=None, configs=None,
         modes=("eager", "compiled"), quick=False):
    """The cases to run, each a dict: op, framework, device, dtype, mode and shape or config.

    dtypes None means float32 and float64, plus bfloat16 and float16 for matmul on cuda; shapes None
    the sweep of the device (the quick one with quick=True); configs None both train-step configs.
    """
    cases = []
    for framework in frameworks:
        for device in devices:
            if device not in FRAMEWORK_DEVICES[framework]:
                continue
            for op in ops:
                if op == "batched_matmul":
                    kinds = [("shape", list(s)) for s in (shapes or (MATMUL_QUICK if quick else MATMUL_SWEEP[device]))]
                    op_modes = (MATMUL_MODE[framework],)
                    default_dtypes = GPU_DTYPES if device == "cuda" else CPU_DTYPES
                else:
                    if framework not in TRAIN_MODES:
                        continue
                    kinds = [("config", c) for c in (configs or tuple(TRAIN_CONFIGS))]
                    op_modes = [m for m in TRAIN_MODES[framework] if m in modes or m == "eager" and framework == "numpy"]
                    default_dtypes = CPU_DTYPES
                for dtype in (dtypes or default_dtypes):
                    if dtype not in (GPU_DTYPES if device == "cuda" else CPU_DTYPES):
                        continue
                    if op == "train_step" and dtype not in CPU_DTYPES:
                        continue
                    for key, value in kinds:
                        for mode in op_modes:
                            cases.append({"op": op, "framework": framework, "device": device,
                                          "dtype": dtype, "mode": mode, key: value})
    return cases


def case_label(case):
    """'torch-cpu-float32-1x300x4x3' or 'jax-cpu-float64-wide-compiled': a pytest id, a progress line."""
    what = "x".join(map(str, case["shape"])) if case["op"] == "batched_matmul" else case["config"]
    label = f"{case['framework']}-{case['device']}-{case['dtype']}-{what}"
    return label + (f"-{case['mode']}" if case["op"] == "train_step" and case["framework"] != "numpy" else "")


# ---- timing ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """rounds: timed rounds; min_round_s: n is chosen so a round lasts at least this; warmup_s: untimed."""
    rounds: int = 7
    min_round_s: float = 0.1
    warmup_s: float = 0.25
    warmup_calls: int = 2
    max_calls: int = 100_000


FULL = Settings()
QUICK = Settings(rounds=3, min_round_s=0.02, warmup_s=0.02, warmup_calls=1)
# --quick times one train-step mode per framework: the one that is fast to start
QUICK_MODE = {"numpy": "eager", "torch": "eager", "tensorflow": "compiled", "jax": "compiled"}


@dataclass
class Timing:
    first_call_s: float     # the first call with its sync: includes tracing and compiling
    per_call_s: list        # one number per round: (round time) / calls_per_round
    calls_per_round: int

    @property
    def median_s(self):
        return statistics.median(self.per_call_s)


def _timed(kernel, calls):
    start = time.perf_counter()
    for _ in range(calls):
        kernel.call()
    kernel.sync()
    return time.perf_counter() - start


def calibrate(kernel, settings):
    """(first_call_s, n): time the first call apart, warm up, and pick n calls per round."""
    first = _timed(kernel, 1)
    times, start = [], time.perf_counter()
    while len(times) < settings.warmup_calls or (time.perf_counter() - start < settings.warmup_s
                                                  and len(times) < settings.max_calls):
        times.append(_timed(kernel, 1))
    per_call = statistics.median(times[len(times) // 2:]) if times else first
    limit = min(settings.max_calls, getattr(kernel, "max_calls", None) or settings.max_calls)
    n = max(1, min(limit, math.ceil(settings.min_round_s / max(per_call, 1e-9))))
    return first, n


def measure(kernel, settings):
    """Timing of a kernel: first call apart, warm-up, then `rounds` rounds of n calls and one sync."""
    first, n = calibrate(kernel, settings)
    per_call = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(settings.rounds):
            per_call.append(_timed(kernel, n) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(first, per_call, n)


class RoundOfCalls:
    """call() n times, sync() after every n-th: pytest-benchmark's pedantic(iterations=n) is then one
    round of n calls with exactly one sync inside its timed region, and reports the time per call."""

    def __init__(self, kernel, n):
        self.kernel, self.n, self.count = kernel, n, 0

    def __call__(self):
        self.kernel.call()
        self.count += 1
        if self.count == self.n:
            self.kernel.sync()
            self.count = 0


def result_record(case, info, median_s, first_call_s, calls_per_round, min_s, rounds):
    """A case with its numbers: the `results` entry of --json, and the extra_info of bench/."""
    flops = case_flops(case)
    record = dict(case)
    record.update({
        "median_s": median_s, "gflops": gflops(flops, median_s), "pct_peak": None, "flops": flops,
        "first_call_s": first_call_s, "calls_per_round": calls_per_round, "min_s": min_s, "rounds": rounds,
        "threads": info.get("threads"), "tf32": info.get("tf32"),
        # TF32 applies to float32 alone; float64 is always IEEE; bf16/fp16 run as the library runs them
        "precision": info.get("precision") if case["dtype"] == "float32" else "ieee" if case["dtype"] == "float64" else "native",
        "blas": info.get("blas"), "device_name": info.get("device_name"), "version": info.get("version"),
        "compiler": COMPILER.get(case["framework"]) if case.get("mode") in ("compiled", "jit") else None,
    })
    return record


# ---- the kernels, in the source checkout's bench/ ------------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class KernelsMissing(Exception):
    """bench/kernels.py is not beside this package (an installed copy without the source checkout)."""


def kernels():
    """bench.kernels, the framework code; importable from the source checkout (or an editable install)."""
    if not os.path.isfile(os.path.join(ROOT, "bench", "kernels.py")):
        raise KernelsMissing(f"bench/kernels.py not found under {ROOT}: run crosscheck bench from the source checkout")
    if ROOT not in sys.path:
        sys.path.append(ROOT)
    from bench import kernels as module
    return module


# ---- running the plan: one worker process per framework ---------------------------------------------------

MARK = "@@crosscheck-bench "   # the worker's records on stdout; anything else a framework prints is ignored


def skipped(case, reason):
    return {"kind": "skipped", "case": case, "reason": reason}


def run_framework(framework, cases, settings, threads, tf32, emit):
    """Run one framework's cases in this process; emit() its set-up per device and a record per case."""
    module = kernels()
    for device in dict.fromkeys(c["device"] for c in cases):
        device_cases = [c for c in cases if c["device"] == device]
        try:
            info = module.setup(framework, device, threads=threads, tf32=tf32)
        except module.Unavailable as exc:
            for case in device_cases:
                emit(skipped(case, str(exc)))
            continue
        emit({"kind": "framework", "framework": framework, "device": device, "info": info})
        for case in device_cases:
            try:
                kernel = module.make(case, tf32=tf32)
                timing = measure(kernel, settings)
            except module.Unavailable as exc:
                emit(skipped(case, str(exc)))
                continue
            except Exception as exc:  # a framework that fails on one case must not stop the others
                emit(skipped(case, f"{framework} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
                continue
            finally:
                kernel = None
                gc.collect()
            emit({"kind": "result", "result": result_record(case, info, timing.median_s, timing.first_call_s,
                                                            timing.calls_per_round, min(timing.per_call_s),
                                                            len(timing.per_call_s))})


def pin_threads(threads):
    """Restrict this process to `threads` cores before any framework starts: every runtime (OpenMP,
    OpenBLAS, MKL, Eigen, XLA) then sizes its pool to the same count."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        if threads < len(cores):
            os.sched_setaffinity(0, cores[:threads])


def keep_freed_memory():
    """Let glibc keep freed memory for reuse, as every framework's caching allocator does; the setting, or None.

    By default glibc hands each freed block over 128 KiB back to the OS (mmap/munmap), so every array
    NumPy allocates in a step arrives as fresh pages and is paid for in page faults — about a fifth of
    the reference's wide step here.  torch, TensorFlow and JAX reuse their own pools.  Applied in every
    worker alike (mallopt: blocks up to 32 MiB from the heap, trimmed only past 1 GiB).
    """
    try:
        import ctypes
        import ctypes.util
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        if libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30):
            return "glibc keeps freed memory (mmap threshold 32 MiB, trim threshold 1 GiB)"
    except (OSError, AttributeError):
        pass
    return None


def _run_isolated(framework, cases, settings, threads, tf32, on_record):
    request = {"framework": framework, "cases": cases, "settings": settings.__dict__, "threads": threads, "tf32": tf32}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    reported = set()
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen([sys.executable, "-m", "crosscheck.benchmarking"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=errors, env=env, text=True)
        try:
            process.stdin.write(json.dumps(request))
            process.stdin.close()
            for line in process.stdout:
                if line.startswith(MARK):
                    record = json.loads(line[len(MARK):])
                    if record["kind"] != "framework":
                        reported.add(case_label(record.get("case") or record["result"]))
                    on_record(record)
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if code != 0 or len(reported) < len(cases):
            errors.seek(0)
            lines = [l.strip() for l in errors.read().splitlines() if l.strip()]
            why = f"{framework} worker exited with code {code}" + (f": {lines[-1][:200]}" if lines else "")
            for case in cases:
                if case_label(case) not in reported:
                    on_record(skipped(case, why))


def run_plan(cases, settings=FULL, threads=None, tf32=False, isolate=True, on_record=None, repeat=1):
    """Run every case, each framework in its own process unless isolate=False.

    Returns {"results": [...], "skipped": [...], "frameworks": {"torch:cpu": {...}, …}}; on_record(record)
    is called as each record arrives (for a progress bar).  With repeat > 1 the whole plan runs that many
    times, the frameworks taking turns, and each case keeps the run with the median median_s: on a shared
    machine whose load changes, every framework then meets the same mix of quiet and busy moments.
    """
    if repeat > 1:
        runs = [run_plan(cases, settings, threads, tf32, isolate, on_record) for _ in range(repeat)]
        return merge_repeats(runs)
    threads = threads or usable_cores()
    out = {"results": [], "skipped": [], "frameworks": {}}
    if not isolate:
        keep_freed_memory()  # the workers do it for themselves

    def collect(record):
        if record["kind"] == "framework":
            out["frameworks"][f"{record['framework']}:{record['device']}"] = record["info"]
        elif record["kind"] == "result":
            out["results"].append(record["result"])
        else:
            out["skipped"].append({**record["case"], "reason": record["reason"]})
        if on_record:
            on_record(record)

    for framework in dict.fromkeys(c["framework"] for c in cases):
        mine = [c for c in cases if c["framework"] == framework]
        if isolate:
            _run_isolated(framework, mine, settings, threads, tf32, collect)
        else:
            run_framework(framework, mine, settings, threads, tf32, collect)
    return out


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


def _worker_main():
    """python -m crosscheck.benchmarking: read one request on stdin, print records on stdout."""
    request = json.loads(sys.stdin.read())
    pin_threads(request["threads"])
    keep_freed_memory()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    out = sys.stdout

    def emit(record):
        out.write(MARK + json.dumps(record) + "\n")
        out.flush()

    run_framework(request["framework"], request["cases"], Settings(**request["settings"]),
                  request["threads"], request["tf32"], emit)
    return 0


# ---- peaks and the reference's ratio -------------------------------------------------------------------

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
        reference = [r for r in same if r["framework"] == "numpy"]
        others = [r for r in same if r["framework"] != "numpy"]
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


# ---- the machine ---------------------------------------------------------------------------------------

# OpenBLAS kernels by the instruction set they need: 1 AVX, 2 AVX2+FMA, 3 AVX-512
_OPENBLAS_LEVEL = {"sandybridge": 1, "haswell": 2, "zen": 2, "skylakex": 3, "cooperlake": 3, "sapphirerapids": 3}
_LEVEL_NAME = {0: "SSE", 1: "AVX", 2: "AVX2", 3: "AVX-512"}
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "MKL_ENABLE_INSTRUCTIONS", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS", "CUPY_TF32")


def usable_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cpu_info():
    """{"model", "logical_cores", "usable_cores", "flags": the SIMD ones} from /proc/cpuinfo where there is one."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key.strip() in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    simd = sorted(f for f in flags if f.startswith(("avx", "fma", "sse4", "amx", "asimd", "sve")))
    return {"model": model, "logical_cores": os.cpu_count(), "usable_cores": usable_cores(), "flags": simd}


def cpu_level(flags):
    flags = set(flags)
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        return 3
    if {"avx2", "fma"} <= flags:
        return 2
    return 1 if "avx" in flags else 0 if flags else None


def blas_info():
    """threadpoolctl's view of the BLAS and OpenMP libraries loaded in this process, or why there is none."""
    import numpy  # noqa: F401  (threadpoolctl sees only the libraries loaded so far: NumPy's BLAS at least)
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"unavailable": "threadpoolctl is not installed: BLAS library and kernel unknown"}
    return {"libraries": [{k: v for k, v in lib.items() if k != "filepath"} | {"file": os.path.basename(lib["filepath"])}
                          for lib in threadpool_info()]}


def describe_blas(info):
    """'openblas 0.3.31 SkylakeX (pthreads, 2 threads)' for each BLAS in a blas_info()."""
    if "unavailable" in info:
        return info["unavailable"]
    names = [f"{lib.get('internal_api')} {lib.get('version')} {lib.get('architecture', '')} "
             f"({lib.get('threading_layer', '')}, {lib.get('num_threads')} thread{'' if lib.get('num_threads') == 1 else 's'})"
             .replace("  ", " ")
             for lib in info["libraries"] if lib.get("user_api") == "blas"]
    return "; ".join(names) or "no BLAS library loaded"


def blas_warnings(info, flags, env=None):
    """Warnings when an OpenBLAS kernel below this CPU's instruction set runs, or its blocking is forced."""
    env = os.environ if env is None else env
    warnings, best = [], cpu_level(flags)
    for lib in info.get("libraries", []):
        arch = (lib.get("architecture") or "").lower()
        if lib.get("internal_api") != "openblas" or arch not in _OPENBLAS_LEVEL or best is None:
            continue
        if _OPENBLAS_LEVEL[arch] < best:
            forced = f" (OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']})" if env.get("OPENBLAS_CORETYPE") else ""
            warnings.append(f"OpenBLAS runs its {lib['architecture']} kernel{forced} on a CPU with {_LEVEL_NAME[best]}: "
                            f"its GEMMs are slower than this machine can do")
    if env.get("OPENBLAS_L2_SIZE"):
        warnings.append(f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']} overrides the cache size OpenBLAS blocks its GEMMs for")
    return warnings


def framework_versions():
    """Installed versions, read from package metadata: nothing is imported."""
    from importlib import metadata
    versions = {}
    for name in ("numpy", "torch", "tensorflow", "tensorflow-cpu", "keras", "jax", "jaxlib", "cupy",
                 "cupy-cuda12x", "cupy-cuda11x", "cupy-cuda13x", "threadpoolctl", "pytest-benchmark", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def gpu_info():
    """[{"name", "driver", "memory"}] from nvidia-smi, or [] where there is none."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return gpus


def load_average():
    """The 1-minute load average, or None: above the core count, other work competes for the cores."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def load_warning(load, cores):
    if load is not None and load > 0.5 * cores:
        return (f"the machine was busy before the run (load average {load} on {cores} cores): "
                f"other work shares the cores, so timings are noisy")
    return None


def machine_info():
    """Everything about where the numbers were taken, without importing a framework."""
    cpu = cpu_info()
    blas = blas_info()
    load = load_average()
    return {
        "cpu": cpu, "blas": blas, "blas_summary": describe_blas(blas), "load_average": load,
        "warnings": [w for w in blas_warnings(blas, cpu["flags"]) + [load_warning(load, cpu["usable_cores"])] if w],
        "env": {k: os.environ[k] for k in BLAS_ENV if k in os.environ},
        "allocator": keep_freed_memory() or "the system's default",
        "python": platform.python_version(), "platform": platform.platform(),
        "versions": framework_versions(), "gpus": gpu_info(),
    }


# ---- saving --------------------------------------------------------------------------------------------

Exists = files.Exists


def write_new(path, write, overwrite=False):
    """Save a run atomically, and never over an earlier one unless asked (reference.files)."""
    files.write_atomically(path, write, overwrite)


if __name__ == "__main__":
    sys.exit(_worker_main())
