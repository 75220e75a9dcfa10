"""The tolerance policy, written down once: how close a tensor, or a training run, must be to the reference.

Tensors (crosscheck compare).  A tensor T agrees when  max|T − T_ref| ≤ tol(T),  where scale = max|T_ref| and

  float64   tol = 1e-10 · scale + 1e-14
            Independent float64 implementations of this network agree to about 1e-13 of scale (the
            only difference is summation order); every real mistake is off by far more than 1e-10.

  float32   tol = max(10 · e32(T),  8 · ε32 · scale) + 1e-30,   ε32 = 2^-23 ≈ 1.19e-7
            e32(T) is the reference's own float32 error on the very same inputs: the larger of
            max|T_ref32 − T_ref64| and max|T_twin32 − T_ref64|, where T_ref64 is computed in float64
            from the float32 inputs and the twin is the float32 reference run on the examples in
            reverse order (the same mathematics, other roundings: one error alone can be luckily
            small, e.g. for db = Σ_rows dZ / m when the sum cancels).  Another correct float32
            implementation makes rounding errors of the same size, so it lands within a few e32 of
            us; 10× leaves room for a different summation order.  The floor 8·ε32·scale covers
            tensors that happen to round exactly (X, W, e32 = 0).

Trajectories (crosscheck train).  A run follows the reference's when every step's J and every W and b
after every step are within

  float64   1e-10 · max|ref| + 1e-14 over the run, as for tensors
  float32   max(10 × the spread of the reference's own correct float32 runs, √ε32 · max|W_ref|) for W;
            J to the same relative precision.  float32 trajectories amplify rounding: at a ReLU kink one
            rounding switches a unit for a step, and Adam and RMSprop turn the rounding noise of a
            near-zero gradient into a full step of size α.
"""
import numpy as np

FLOAT64_RTOL = 1e-10
FLOAT64_ATOL = 1e-14
FLOAT32_FACTOR = 10
FLOAT32_FLOOR_ULPS = 8
EPS32 = float(np.finfo(np.float32).eps)
FLOAT32_TRAJECTORY_RTOL = float(np.sqrt(EPS32))


def scale_of(tensor):
    """max|T| (0 for an empty tensor)."""
    tensor = np.asarray(tensor, dtype=np.float64)
    return float(np.max(np.abs(tensor))) if tensor.size else 0.0


def float64_tolerance(reference_tensor):
    return FLOAT64_RTOL * scale_of(reference_tensor) + FLOAT64_ATOL


def float32_tolerance(reference64_tensor, *reference32_tensors):
    """From the float64 reference and one or more correct float32 runs of the same inputs."""
    exact = np.asarray(reference64_tensor, np.float64)
    own_error = max(scale_of(np.asarray(t, np.float64) - exact) for t in reference32_tensors)
    return max(FLOAT32_FACTOR * own_error, FLOAT32_FLOOR_ULPS * EPS32 * scale_of(exact)) + 1e-30


def tolerances(reference, reference64=None, twins=()):
    """{name: tol} for every tensor of a reference Trace.

    reference    the reference's Trace in the dtype under test
    reference64  for float32: the reference's Trace recomputed in float64 from the same (upcast) inputs
    twins        for float32: more correct float32 Traces of the same problem (see the policy above)
    """
    if reference64 is None:
        return {name: float64_tolerance(value) for name, value in reference.items()}
    return {name: float32_tolerance(reference64[name], value, *(twin[name] for twin in twins))
            for name, value in reference.items() if name in reference64}


def trajectory_tolerances(losses, param_scale, own_drift, dtype):
    """(J tolerance, parameter tolerance) for a whole run of the reference.

    losses       the reference run's J per step
    param_scale  max|P| over every W and b the reference run visited
    own_drift    for float32: (J spread, parameter spread) of the reference's own correct float32 runs
    """
    loss_scale = float(np.max(np.abs(losses)))
    if np.dtype(dtype) == np.float64:
        return FLOAT64_RTOL * loss_scale + FLOAT64_ATOL, FLOAT64_RTOL * param_scale + FLOAT64_ATOL
    own_loss, own_param = own_drift
    param_tol = max(FLOAT32_FACTOR * own_param, FLOAT32_TRAJECTORY_RTOL * param_scale)
    # J is held to the relative precision its parameters are held to: a run whose weights may differ by
    # 1% of their size may have a J 1% off too
    loss_tol = max(FLOAT32_FACTOR * own_loss, FLOAT32_TRAJECTORY_RTOL * loss_scale, param_tol / param_scale * loss_scale)
    return loss_tol, param_tol


def describe(dtype, what="tensor"):
    """The policy in one line, for the footnote of a report."""
    if what == "trajectory":
        if dtype == "float32":
            return (f"float32: max|ΔW| ≤ max({FLOAT32_FACTOR}× the spread of the reference's own float32 runs, "
                    f"√ε32·max|W_ref| = {FLOAT32_TRAJECTORY_RTOL:.1e}·max|W_ref|); J to the same relative precision")
        return f"float64: max|Δ| ≤ {FLOAT64_RTOL:.0e}·max|ref| + {FLOAT64_ATOL:.0e}"
    if dtype == "float32":
        return (f"float32: max|Δ| ≤ max({FLOAT32_FACTOR}× the reference's own float32 error, "
                f"{FLOAT32_FLOOR_ULPS}·ε32·max|ref|), ε32 = {EPS32:.2e}")
    return f"float64: max|Δ| ≤ {FLOAT64_RTOL:.0e}·max|ref| + {FLOAT64_ATOL:.0e}"
