"""Batched matmul (B, M, K) @ (B, K, N): from the lecture's Z2 = A1 W2 (1×300×4×3) to compute-bound shapes.

Each result's extra_info holds the FLOPs, GFLOP/s, shape, dtype, device, threads, precision and BLAS.
In the smoke run (--benchmark-disable) each case runs once and its product is checked against NumPy's.
"""
import numpy as np

from crosscheck.adapters.kernel import matmul_inputs
from crosscheck.benchmarks.plan import case_label

OP = "batched_matmul"


def test_batched_matmul(case, run_case):
    out = run_case(case)
    if out is None or case["device"] != "cpu":
        return
    a, b = matmul_inputs(case["shape"], case["dtype"])
    expected = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-12 if case["dtype"] == "float64" else 1e-4
    np.testing.assert_allclose(np.asarray(out), expected, rtol=tol, atol=tol * case["shape"][2],
                               err_msg=f"{case_label(case)}: product differs from NumPy's in float64")
