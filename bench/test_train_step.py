"""One training step (forward + backward + SGD update) of the lecture network and a wide one, every framework.

The reference (framework "numpy") is the lecture's backward pass; the others use their autodiff, eager and
compiled.  test_one_step_matches_reference checks that every step is the same computation: from the same
parameters and data, one step leaves the same parameters.
"""
import numpy as np
import pytest

from crosscheck.adapters.numpy.kernels import reference_step
from crosscheck.benchmarks.plan import case_label, train_problem

OP = "train_step"


def test_train_step(case, run_case):
    run_case(case)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_step_matches_reference(step_case, dtype, kernel_for):
    case = dict(step_case, dtype=dtype)
    kernel, _ = kernel_for(case)
    kernel.call()
    kernel.sync()
    problem = train_problem(case["config"], dtype)
    params = [(W.copy(), b.copy()) for W, b in problem.params]
    reference_step(problem.net, params, problem.X, problem.Y, problem.lr)
    tol = 1e-12 if dtype == "float64" else 2e-6
    for l, ((W, b), (W_ref, b_ref)) in enumerate(zip(kernel.read(), params), start=1):
        np.testing.assert_allclose(W, W_ref, rtol=tol, atol=tol, err_msg=f"{case_label(case)} W{l} after one step")
        np.testing.assert_allclose(b, b_ref, rtol=tol, atol=tol, err_msg=f"{case_label(case)} b{l} after one step")
