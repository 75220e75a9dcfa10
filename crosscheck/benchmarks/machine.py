"""On what the numbers were taken: CPU, cores, BLAS and its kernel, GPUs, load, allocator — nothing imported.

    machine_info()        everything, for a run's "env" and pytest-benchmark's machine_info
    blas_warnings(...)    an OpenBLAS kernel forced below the CPU's instruction set, or its blocking overridden
    keep_freed_memory()   the allocator rule every benchmark process follows (docs/benchmarks.md, rule 9)
"""
import os
import platform
import subprocess

from crosscheck.adapters import usable_cores
from crosscheck.adapters.numpy import blas_info, describe_blas


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


# OpenBLAS kernels by the instruction set they need: 1 AVX, 2 AVX2+FMA, 3 AVX-512
_OPENBLAS_LEVEL = {"sandybridge": 1, "haswell": 2, "zen": 2, "skylakex": 3, "cooperlake": 3, "sapphirerapids": 3}
_LEVEL_NAME = {0: "SSE", 1: "AVX", 2: "AVX2", 3: "AVX-512"}
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "MKL_ENABLE_INSTRUCTIONS", "TF_ENABLE_ONEDNN_OPTS", "XLA_FLAGS", "CUPY_TF32")


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
