"""What a benchmark kernel is, for every framework's kernels.py, and the inputs its matmul draws.

A Kernel's call() runs the operation once and may return before the device is done; sync() waits for
all the calls so far.  Everything call() touches exists before it is first called: no copies, no dtype
conversions, no allocation of inputs inside the timed region (docs/benchmarks.md, rules 1 and 2).
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np


def nothing():
    """sync() where the call is done when it returns."""


@dataclass
class Kernel:
    call: Callable[[], object]          # the operation, once (may return before the device is done)
    sync: Callable[[], None] = nothing  # wait for every call so far: once per timed round
    read: Callable[[], list] = None     # train steps: the current parameters as NumPy [(W, b), …]
    max_calls: int = None               # calls per round this kernel can hold results for (jax)


def matmul_inputs(shape, dtype, seed=0):
    """Random (never zero) A (B, M, K) and B (B, K, N): two distinct buffers, drawn in float32.

    float64 inputs are the float32 draws converted; half types are converted by the framework, on its device.
    """
    B, M, K, N = shape
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((B, M, K), dtype=np.float32), rng.standard_normal((B, K, N), dtype=np.float32)
    return (a.astype(dtype), b.astype(dtype)) if dtype == "float64" else (a, b)
