"""The tolerance policy, written down once: how close a tensor, or a training run, must be to the reference.

Tensors (crosscheck compare).  Every tensor T is a sum, or made element-wise from sums: Z = A W + b sums
n_in products, dW = A_prevᵀ dZ / m and db = Σ_rows dZ / m sum m terms, J sums the m·n[L] losses.  The
forward error of a float sum is bounded by the size of what was summed, not of the result:

    |fl(Σ t_i) − Σ t_i|  ≤  γ_n · Σ|t_i|,      γ_n = n·u / (1 − n·u),  u = 2^-53 (float64)

so two correct implementations, each within that bound, differ by at most 2·γ_n·Σ|t_i|.  For every tensor
the reference keeps S(T), the entry-wise Σ|t_i| of the terms that made it (summand_scales: |A_prev|·|W| + |b|
for Z, |A_prev|ᵀ·|dZ| / m + c·|W| for dW, Σ_rows|dZ| / m for db, |dZ|·|W|ᵀ for dA, the losses' own terms for J;
|T| itself for an element-wise tensor), and n(T), the number of terms.  A tensor T agrees when
max|T − T_ref| ≤ tol(T), where size = max(max|T_ref|, max S(T)) and

  float64   tol = max(1e-10, 2·γ_n) · size + 1e-14
            Independent float64 implementations of this network agree to about 1e-13 of size (the only
            difference is summation order; rounding upstream is carried along, hence the 1e-10 floor);
            every real mistake is off by far more.  When a sum cancels (db2 over a million rows is
            8e-6 from terms of 0.44) size is the terms', not the result's: a tolerance relative to the
            result would fail correct frameworks, one relative to the terms does not — and still catches
            a mistake of 1e-4 of that tiny result (a real mistake, a factor or a missing term, is O(1)).

  float32   tol = max(10 · e32(T),  8 · ε32 · size) + 1e-30,   ε32 = 2^-23 ≈ 1.19e-7
            e32(T) is the reference's own float32 error on the very same inputs: the larger of
            max|T_ref32 − T_ref64| and max|T_twin32 − T_ref64|, where T_ref64 is computed in float64
            from the float32 inputs and the twin is the float32 reference run on the examples in
            reverse order (the same mathematics, other roundings: one error alone can be luckily
            small, e.g. for db = Σ_rows dZ / m when the sum cancels).  Another correct float32
            implementation makes rounding errors of the same size, so it lands within a few e32 of
            us; 10× leaves room for a different summation order.  The floor 8·ε32·size covers
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

from reference import l2_coefficient

FLOAT64_RTOL = 1e-10
FLOAT64_ATOL = 1e-14
FLOAT32_FACTOR = 10
FLOAT32_FLOOR_ULPS = 8
EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
FLOAT32_TRAJECTORY_RTOL = float(np.sqrt(EPS32))


def scale_of(tensor):
    """max|T| (0 for an empty tensor)."""
    tensor = np.asarray(tensor, dtype=np.float64)
    return float(np.max(np.abs(tensor))) if tensor.size else 0.0


def gamma(n, u=EPS64 / 2):
    """γ_n = n·u / (1 − n·u): the relative forward-error bound of a sum of n terms in precision u."""
    return n * u / (1 - n * u) if n * u < 1 else float("inf")


def summand_scales(net, trace):
    """{name: (S, n)}: for every computed tensor of a reference Trace, the entry-wise Σ|terms| that were added up
    to make it, and how many terms there were (see the policy above).  Computed in float64."""
    a = {name: np.abs(np.asarray(value, np.float64)) for name, value in trace.items()}
    m, L = a["X"].shape[0], net.L
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0.0
    scales = {name: (value, 1) for name, value in a.items()}  # element-wise: |T| itself
    for l in range(1, L + 1):
        A_prev = a["X"] if l == 1 else a[f"A{l - 1}"]
        n_in = A_prev.shape[1]
        scales[f"Z{l}"] = (A_prev @ a[f"W{l}"] + a[f"b{l}"], n_in + 1)
        scales[f"dW{l}"] = (A_prev.T @ a[f"dZ{l}"] / m + c * a[f"W{l}"], m + 1)
        scales[f"db{l}"] = (a[f"dZ{l}"].sum(axis=0, keepdims=True) / m, m)
        if l > 1:
            scales[f"dA{l - 1}"] = (a[f"dZ{l}"] @ a[f"W{l}"].T, net.sizes[l])
    scales["J"] = (np.asarray(loss_terms(net, trace) + c / 2 * sum(np.sum(a[f"W{l}"] ** 2) for l in range(1, L + 1))),
                   m * net.sizes[-1] + sum(a[f"W{l}"].size for l in range(1, L + 1)))
    return scales


def loss_terms(net, trace):
    """Σ|terms| / m of the loss as the reference computes it from the logits (reference.losses)."""
    Z, Y = np.asarray(trace[f"Z{net.L}"], np.float64), np.asarray(trace["Y"], np.float64)
    m = Z.shape[0]
    if net.loss == "softmax-ce":  # log A = (Z − max) − log Σ e^(Z − max)
        shifted = Z - Z.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return float(np.sum(np.abs(Y) * (np.abs(shifted) + log_sum)) / m)
    if net.loss == "sigmoid-bce":  # log(1 + e^Z) − Y Z
        return float(np.sum(np.logaddexp(0, Z) + np.abs(Y * Z)) / m)
    return float(np.sum((Z - Y) ** 2) / (2 * m))


def size_of(name, reference, scales):
    """max(max|T_ref|, max S(T)): what a tensor's rounding is relative to."""
    S = scales.get(name, (None, 1))[0] if scales else None
    return max(scale_of(reference[name]), scale_of(S) if S is not None else 0.0)


def float64_tolerance(size, terms=1):
    return max(FLOAT64_RTOL, 2 * gamma(terms)) * size + FLOAT64_ATOL


def float32_tolerance(size, reference64_tensor, *reference32_tensors):
    """From the float64 reference and one or more correct float32 runs of the same inputs."""
    exact = np.asarray(reference64_tensor, np.float64)
    own_error = max(scale_of(np.asarray(t, np.float64) - exact) for t in reference32_tensors)
    return max(FLOAT32_FACTOR * own_error, FLOAT32_FLOOR_ULPS * EPS32 * size) + 1e-30


def tolerances(reference, reference64=None, twins=(), scales=None):
    """{name: tol} for every tensor of a reference Trace.

    reference    the reference's Trace in the dtype under test
    reference64  for float32: the reference's Trace recomputed in float64 from the same (upcast) inputs
    twins        for float32: more correct float32 Traces of the same problem (see the policy above)
    scales       summand_scales of the reference (None: every tensor taken as element-wise)
    """
    if reference64 is None:
        return {name: float64_tolerance(size_of(name, reference, scales), (scales or {}).get(name, (None, 1))[1])
                for name in reference.keys()}
    return {name: float32_tolerance(size_of(name, reference64, scales), reference64[name], value,
                                    *(twin[name] for twin in twins))
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
    size = "size: max|ref| or the terms summed, whichever is larger"
    if dtype == "float32":
        return (f"float32: max|Δ| ≤ max({FLOAT32_FACTOR}× the reference's own float32 error, "
                f"{FLOAT32_FLOOR_ULPS}·ε32·size), ε32 = {EPS32:.2e} ({size})")
    return f"float64: max|Δ| ≤ max({FLOAT64_RTOL:.0e}, 2γₙ)·size + {FLOAT64_ATOL:.0e} ({size})"
