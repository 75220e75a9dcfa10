"""NumPy: the reference itself (reference/) is NumPy's check and NumPy's training run, so this folder holds
only what the benchmark times (kernels.py) and what it says about NumPy's BLAS.
"""
import os

import numpy as np

from crosscheck.adapters import Unavailable

_limits = None  # threadpoolctl's limit, kept alive for the life of the process


def setup(device="cpu", threads=None, tf32=False, exact=True):
    """NumPy's BLAS limited to `threads` (threadpoolctl), and which BLAS library and kernel it is."""
    global _limits
    if device != "cpu":
        raise Unavailable("numpy runs on the CPU only")
    if threads:
        try:
            from threadpoolctl import threadpool_limits
            _limits = threadpool_limits(threads, user_api="blas")
        except ImportError:
            pass  # the worker process set OPENBLAS_NUM_THREADS before NumPy started
    info = blas_info()
    blas_threads = [lib["num_threads"] for lib in info.get("libraries", []) if lib.get("user_api") == "blas"]
    return {"version": np.__version__, "device": "cpu", "device_name": "cpu",
            "threads": blas_threads[0] if blas_threads else threads, "precision": "input dtype (IEEE)",
            "blas": describe_blas(info), "tf32": False}


def blas_info():
    """threadpoolctl's view of the BLAS and OpenMP libraries loaded in this process, or why there is none."""
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
