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

Trajectories (crosscheck train).  A training run is a dynamical system, and it may amplify rounding:
on the spiral at α = 1 (2-100-3) a float64 run and the same run with each batch's rows in reverse order
differ by 1e-16 after one step, 1e-11 after a thousand, and from about step 1,900 on by ×10 every hundred
steps, up to the size of the weights.  No fixed tolerance fits such a run, so the reference measures its
own sensitivity.  Next to it runs its twin (crosscheck.course.training.twins), the same run rounded otherwise
in every sum at once: each batch's rows in reverse order, the inputs and each hidden layer's units in another
order, the start nudged one ulp, in the run's own dtype.  Per step t, with  e_t = max|P_twin − P_ref|  (every
W and b after step t) and s_t = max|P_ref|:

  E_t = max(e_1, …, e_t)                      what rounding alone has done by step t (it does not un-happen)
  tol_W(t) = k · E_t + f · ε · √t · S_t       k = 30, f = 16, S_t = max(s_1, …, s_t), ε the dtype's epsilon
  tol_J(t) = k · max(|J_twin − J_ref| so far) + f · ε · √t · max(|J_ref|, max|Z[L]_ref| so far)

Error model: a correct framework makes rounding errors of the same kind as the twin but not the same ones
(its own softmax, its own Adam arithmetic), and a sensitive step (a near-zero gradient under Adam's or
RMSprop's normalization) amplifies some perturbations more than others.  Over 120 framework runs (torch,
TensorFlow, Keras and JAX; the 5 optimizers; both dtypes; the 2-16-3 spiral in batches of 64, 2-100-3 in full
batch for 300 steps, a deep tanh net) every correct framework passed: 118 stayed within 9.1 E_t, and two float32
RMSprop runs in Keras's convention, with units on ReLU's kink step after step, reached 26 and 35 E_t inside the
floor; k = 30 leaves a factor of three over the rest.  The floor
is one update's own rounding, f ulps a step adding up like a random walk, for the steps where the twin
happens to agree exactly; J is a mean of differences of numbers of the size of the logits, so its floor
scales with them.  A mistake (another α, another L2, another g, an optimizer in another convention,
weights that never move) is off by a fraction of a step from the first step on, where E_t is rounding.

One sensitive step no twin can foresee: a hidden unit of ReLU within rounding of its kink, Z ≈ 0, which
another run's rounding may put on the other side — a coin flip that switches the unit's gradient, dZ = dA or
0.  A framework that lands outside the tolerance at such a step is compared with the reference's step taken
with that unit switched (crosscheck.course.training.near_kink: the units whose Z lies within what the
tolerance on W and the rounding of the sum can move); if that is its step, the reference follows it and
the comparison goes on, step for step.

Chaos.  While the twin agrees to a small fraction of the weights (E_t ≤ c · max|W_ref| over the run,
c = 1e-4), every step is compared: the tolerance stays below k · c = 0.3 % of the weights, never their
scale.  From the first step N where it does not, the run is chaotic: the reference disagrees with
itself, and a step-for-step comparison would compare rounding.  Then only the end state is compared, each
run summarised over the last tenth of its steps by the median of J and of the training accuracy (medians:
near the edge of stability a run spikes for a few steps, never the same steps in two runs), within k ×
the distance of the twin's medians — or the reference's own interquartile range over that tenth, the
finest a median over it resolves, when larger — plus the floor for J and one example for the accuracy.
A framework fails when it leaves the envelope before step N, or ends outside what the twin allows.
"""
from dataclasses import dataclass

import numpy as np

from crosscheck.reference import l2_coefficient

FLOAT64_RTOL = 1e-10
FLOAT64_ATOL = 1e-14
FLOAT32_FACTOR = 10
FLOAT32_FLOOR_ULPS = 8
EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)


def scale_of(tensor):
    """max|T| (0 for an empty tensor)."""
    tensor = np.asarray(tensor, dtype=np.float64)
    return float(np.max(np.abs(tensor))) if tensor.size else 0.0


def gamma(n, u=EPS64 / 2):
    """γ_n = n·u / (1 − n·u): the relative forward-error bound of a sum of n terms in precision u."""
    return n * u / (1 - n * u) if n * u < 1 else float("inf")


def summand_scales(net, trace):
    """{name: (S, n)}: for every computed tensor of a reference Trace, the entry-wise Σ|terms| that were added up
    to make it, and how many terms there were (see the policy above).  Computed in float64.

    Batch norm and dropout (reference.network) make tensors from tensors that carry rounding of their own; their S
    is the first-order size of what rounding can move them by (δ(a·b) ≈ S(a)|b| + |a|S(b), δ(1/σ) ≈ S(σ²)/(2σ³)),
    each upstream tensor's S standing for its own error:

        mu = Σ_rows Z / m                 S = Σ_rows S(Z) / m,  n = m            (c = Z − mu:  S(c) = S(Z) + S(mu))
        var = Σ_rows c² / m               S = Σ_rows (c² + 2|c| S(c)) / m,  n = m + 2
        Zhat = c / √(var + ε)             S = S(c) / σ + |Zhat| S(var) / (2σ²)
        Ztilde = γ Zhat + β               S = |γ| S(Zhat) + |β|;   A = g(Ztilde): S(Ztilde) where A ≠ 0 (|g'| ≤ 1)
        Adrop = A ⊙ D / p, dA = dAdrop ⊙ D / p            S = S(A) D / p, S(dAdrop) D / p
        dZtilde = dA ⊙ g'(Ztilde)         S = S(dA) where dZtilde ≠ 0, + |dA| S(Ztilde) for a curved g (tanh, sigmoid)
        dgamma = Σ_rows dZtilde ⊙ Zhat / m                 S = Σ_rows (S(dZtilde)|Zhat| + |dZtilde| S(Zhat)) / m
        dbeta = Σ_rows dZtilde / m        S = Σ_rows S(dZtilde) / m;   dZhat = γ dZtilde:  S = |γ| S(dZtilde)
        dZ = (dZhat − mean(dZhat) − Zhat k) / σ,  k = mean(dZhat ⊙ Zhat)
                                          S = (S(dZhat) + mean S(dZhat) + S(Zhat)|k| + |Zhat| S(k)) / σ
                                              + |dZ| S(var) / (2σ²),  n = m + 3
        Z = A_prev W, dW = A_prevᵀ dZ / m, dA_prev = dZ Wᵀ, db: the lecture's, with S(A_prev) and S(dZ) for |A_prev|
        and |dZ| (the larger of S(A_prev)ᵀ|dZ| and |A_prev|ᵀS(dZ) for dW)

    For the lecture's plain network every S(A), S(dZ) is |A|, |dZ|: the sums above are its own.
    """
    a = {name: np.abs(np.asarray(value, np.float64)) for name, value in trace.items()}
    m, L = a["X"].shape[0], net.L
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0.0
    scales = {name: (value, 1) for name, value in a.items()}  # element-wise: |T| itself
    S = lambda name: scales[name][0]  # noqa: E731
    mean = lambda T: T.sum(axis=0, keepdims=True) / m  # noqa: E731
    curved = net.activation in ("tanh", "sigmoid")
    for l in range(1, L + 1):
        A_prev = "X" if l == 1 else f"Adrop{l - 1}" if net.dropout(l - 1) else f"A{l - 1}"
        n_in = a[A_prev].shape[1]
        if net.normalized(l):
            scales[f"Z{l}"] = (S(A_prev) @ a[f"W{l}"], n_in)
            if net.training:
                var = a[f"var{l}"]
                scales[f"mu{l}"] = (mean(S(f"Z{l}")), m)
                centred = np.abs(np.asarray(trace[f"Z{l}"], np.float64) - np.asarray(trace[f"mu{l}"], np.float64))
                S_centred = S(f"Z{l}") + S(f"mu{l}")
                scales[f"var{l}"] = (mean(centred ** 2 + 2 * centred * S_centred), m + 2)
                S_var = S(f"var{l}")
            else:
                var, S_centred, S_var = a[f"rvar{l}"], S(f"Z{l}") + a[f"rmu{l}"], 0.0
            sigma2 = var + net.bn_eps
            scales[f"Zhat{l}"] = (S_centred / np.sqrt(sigma2) + a[f"Zhat{l}"] * S_var / (2 * sigma2), n_in + 3)
            scales[f"Ztilde{l}"] = (a[f"gamma{l}"] * S(f"Zhat{l}") + a[f"beta{l}"], n_in + 5)
            scales[f"A{l}"] = (np.maximum(a[f"A{l}"], S(f"Ztilde{l}") * (a[f"A{l}"] > 0)), 1)
        else:
            scales[f"Z{l}"] = (S(A_prev) @ a[f"W{l}"] + a[f"b{l}"], n_in + 1)
        if net.dropout(l):
            scales[f"Adrop{l}"] = (S(f"A{l}") * a[f"D{l}"] / net.keep_prob, 1)
    for l in range(L, 0, -1):  # backward: each tensor from the ones after it
        if l < L:
            first = f"dAdrop{l}" if net.dropout(l) else f"dA{l}"
            scales[first] = (S(f"dZ{l + 1}") @ a[f"W{l + 1}"].T, net.sizes[l + 1])
            if net.dropout(l):
                scales[f"dA{l}"] = (S(first) * a[f"D{l}"] / net.keep_prob, net.sizes[l + 1])
            if net.normalized(l):
                sigma2 = (a[f"var{l}"] if net.training else a[f"rvar{l}"]) + net.bn_eps
                S_dZtilde = np.maximum(a[f"dZtilde{l}"], S(f"dA{l}") * (a[f"dZtilde{l}"] > 0))
                if curved:
                    S_dZtilde = S_dZtilde + a[f"dA{l}"] * S(f"Ztilde{l}")
                scales[f"dZtilde{l}"] = (S_dZtilde, 1)
                scales[f"dgamma{l}"] = (mean(S_dZtilde * a[f"Zhat{l}"] + a[f"dZtilde{l}"] * S(f"Zhat{l}")), m)
                scales[f"dbeta{l}"] = (mean(S_dZtilde), m)
                scales[f"dZhat{l}"] = (a[f"gamma{l}"] * S_dZtilde, 1)
                S_dZhat = S(f"dZhat{l}")
                if net.training:
                    k = np.abs(mean(np.asarray(trace[f"dZhat{l}"], np.float64) * np.asarray(trace[f"Zhat{l}"], np.float64)))
                    S_k = mean(S_dZhat * a[f"Zhat{l}"] + a[f"dZhat{l}"] * S(f"Zhat{l}"))
                    inner = S_dZhat + mean(S_dZhat) + S(f"Zhat{l}") * k + a[f"Zhat{l}"] * S_k
                    scales[f"dZ{l}"] = (inner / np.sqrt(sigma2) + a[f"dZ{l}"] * S(f"var{l}") / (2 * sigma2), m + 3)
                else:
                    scales[f"dZ{l}"] = (S_dZhat / np.sqrt(sigma2), 1)
        A_prev = "X" if l == 1 else f"Adrop{l - 1}" if net.dropout(l - 1) else f"A{l - 1}"
        dW = np.maximum(S(A_prev).T @ a[f"dZ{l}"], a[A_prev].T @ S(f"dZ{l}")) / m
        scales[f"dW{l}"] = (dW + c * a[f"W{l}"], m + 1)
        if not net.normalized(l):
            scales[f"db{l}"] = (mean(S(f"dZ{l}")), m)
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


def describe(dtype, what="tensor"):
    """The policy in one line, for the footnote of a report."""
    if what == "trajectory":
        return describe_trajectory(dtype)
    size = "size: max|ref| or the terms summed, whichever is larger"
    if dtype == "float32":
        return (f"float32: max|Δ| ≤ max({FLOAT32_FACTOR}× the reference's own float32 error, "
                f"{FLOAT32_FLOOR_ULPS}·ε32·size), ε32 = {EPS32:.2e} ({size})")
    return f"float64: max|Δ| ≤ max({FLOAT64_RTOL:.0e}, 2γₙ)·size + {FLOAT64_ATOL:.0e} ({size})"


# ---- trajectories (crosscheck train): see the policy above ------------------------------------------

TRAJECTORY_FACTOR = 30      # k: a correct run stays within k × what rounding did to the reference's twin
TRAJECTORY_FLOOR_ULPS = 16  # f: the floor f·ε·√t·max|P|, each update's own rounding
CHAOS_FRACTION = 1e-4       # c: the twin disagrees by more than c·max|W|: chaotic from that step on
END_FRACTION = 0.1          # the end state: the last tenth of the steps


def running_max(values):
    """max(v_1, …, v_t) for every t; a NaN stays NaN from where it appears (np.maximum propagates it)."""
    return np.maximum.accumulate(np.asarray(values, np.float64))


@dataclass
class TrajectoryTolerance:
    """What a run must stay within, step by step, and at its end when it turns chaotic.

    param, loss   per step t = 1 … T: the tolerance on max|ΔW| (every W and b) and on |ΔJ|
    chaos_step    the first step where the twins disagree by more than c·max|W| (None: never);
                  steps from there on are not compared one by one
    end_loss, end_accuracy   when chaotic: the allowance for the end state's median J and accuracy
    """

    param: np.ndarray
    loss: np.ndarray
    chaos_step: int = None
    end_loss: float = None
    end_accuracy: float = None

    @property
    def compared_steps(self):
        """How many steps are compared one by one: all of them, or those before the chaos step."""
        return len(self.param) if self.chaos_step is None else self.chaos_step - 1


def trajectory_tolerance(param_spread, loss_spread, param_scale, loss_scale, dtype):
    """The per-step tolerances and the chaos step of a reference run from what its twins show.

    param_spread  per step: max over twins of max|P_twin − P_ref| after the step
    loss_spread   per step: max over twins of |J_twin − J_ref|
    param_scale   per step: max|P_ref| after the step
    loss_scale    per step: max(|J_ref|, max|Z[L]_ref|): J is a mean of differences of numbers of Z's size
    """
    eps = float(np.finfo(np.dtype(dtype)).eps)
    # the floor: one ulp of rounding per step, adding up like a random walk where the dynamics do not amplify it
    ulps = TRAJECTORY_FLOOR_ULPS * eps * np.sqrt(np.arange(1, len(param_spread) + 1))
    spread = running_max(param_spread)
    param = TRAJECTORY_FACTOR * spread + ulps * running_max(param_scale)
    loss = TRAJECTORY_FACTOR * running_max(loss_spread) + ulps * running_max(loss_scale)
    # chaos: the twins disagree by more than c·max|W| of the whole run (`not ≤`: a NaN spread, a reference that
    # blew up, is chaos too)
    chaotic = np.flatnonzero(~(spread <= CHAOS_FRACTION * np.max(param_scale, initial=0.0)))
    return TrajectoryTolerance(param, loss, int(chaotic[0]) + 1 if chaotic.size else None)


def end_tolerance(reference, twins, within, dtype, examples):
    """(J allowance, accuracy allowance) for a chaotic run's end state.

    reference, twins   (median J, median accuracy) over the last tenth of the steps: the reference's, each twin's
    within             (interquartile range of J, of the accuracy) of the reference over that tenth: how much
                       they move there, the finest a median over it can resolve
    examples           the rows accuracy is measured on: one example is the smallest difference it shows
    """
    eps = float(np.finfo(np.dtype(dtype)).eps)
    loss_spread = max(abs(J - reference[0]) for J, _ in twins)
    accuracy_spread = max(abs(a - reference[1]) for _, a in twins)
    return (max(TRAJECTORY_FACTOR * loss_spread, within[0]) + TRAJECTORY_FLOOR_ULPS * eps * abs(reference[0]),
            max(TRAJECTORY_FACTOR * accuracy_spread, within[1]) + 1 / examples)


def describe_trajectory(dtype):
    """The trajectory policy in one line, for the footnote of a report."""
    return (f"{dtype}: at step t, {TRAJECTORY_FACTOR}× the largest distance so far of the reference's twin (rows "
            f"reversed, inputs and hidden units permuted, start nudged one ulp) + {TRAJECTORY_FLOOR_ULPS}·ε·√t·max|ref|, "
            f"while the twin agrees to {CHAOS_FRACTION:.0e}·max|W|; after that the end state only")
