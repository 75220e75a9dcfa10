"""The tolerance policy, written down once: how close a tensor must be to the reference to agree.

A tensor T agrees when  max|T − T_ref| ≤ tol(T),  where scale = max|T_ref| and

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
"""
import numpy as np

FLOAT64_RTOL = 1e-10
FLOAT64_ATOL = 1e-14
FLOAT32_FACTOR = 10
FLOAT32_FLOOR_ULPS = 8
EPS32 = float(np.finfo(np.float32).eps)


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
