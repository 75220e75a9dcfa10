"""Probable causes: what a diverging tensor's numbers say about the mistake that produced them.

Each check looks for one recognisable pattern — a factor of m, a transpose, a sign, a missing mask,
a derivative taken of the wrong tensor, a layer index off by one, float32 rounding — and returns one
line, or None.  The first check that recognises the divergence names it.
"""
import re

import numpy as np

from .tolerance import EPS32, size_of


def diagnose(name, candidate, reference, comparison, scales=None):
    """One line naming the probable cause of `name` diverging in `candidate` from the reference.

    scales  {name: (S, n)}, the terms each tensor was summed from (crosscheck.tolerance.summand_scales): a
            float64 sum that cancels is never mistaken for float32 rounding
    """
    if name not in candidate:
        return f"{name} is missing from the result"
    got = np.asarray(candidate[name], dtype=np.float64)
    ref = np.asarray(reference[name], dtype=np.float64)
    m = np.shape(reference["X"])[0]
    if comparison.got_shape is not None:
        return _shape_hint(name, got, ref, m)
    if not np.all(np.isfinite(got)):
        return (f"{name} contains NaN or inf: something overflowed — e.g. exp() of large logits in a softmax "
                f"without subtracting the row max, or log(0)")
    context = _Context(name, got, ref, m, candidate, reference, scales)
    for check in CHECKS:
        hint = check(context)
        if hint:
            return hint
    return _fallback(name, got, ref)


class _Context:
    def __init__(self, name, got, ref, m, candidate, reference, scales):
        self.name, self.got, self.ref, self.m = name, got, ref, m
        self.candidate, self.reference = candidate, reference
        self.size = size_of(name, reference, scales)  # max(max|ref|, the terms it was summed from)
        match = re.fullmatch(r"(d?[A-Za-z])(\d+)", name)
        self.kind, self.layer = (match.group(1), int(match.group(2))) if match else (name, None)
        self.float32 = np.asarray(reference["X"]).dtype == np.float32
        # how closely a pattern must hold to be recognised through the candidate's own rounding
        self.pattern_rtol = 1e-4 if self.float32 else 1e-8
        self.activation = reference.meta.get("activation")

    def close(self, a, b):
        """a ≈ b, loosely enough to recognise a pattern through the candidate's own rounding."""
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            return False
        scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
        return float(np.max(np.abs(a - b))) <= self.pattern_rtol * scale

    def ref_of(self, name):
        value = self.reference.get(name)
        return None if value is None else np.asarray(value, dtype=np.float64)


def _shape_hint(name, got, ref, m):
    if got.shape == ref.T.shape and ref.ndim == 2:
        return (f"{name} has shape {got.shape}, the lecture's is {ref.shape}: it is transposed "
                f"(W is (n_in, n_out), so dW = A_prevᵀ·dZ, not dZᵀ·A_prev)")
    if name.startswith("db"):
        n = ref.shape[1]
        if got.shape == (m, n):
            return f"{name} has shape {got.shape}: sum dZ over the batch — np.sum(dZ, axis=0, keepdims=True) / m"
        if got.shape == (m, 1) and m != 1:
            return (f"{name} has shape {got.shape}: summed over the units (axis=1); the bias gradient sums over the "
                    f"batch — np.sum(dZ, axis=0, keepdims=True) / m")
        if got.shape == (n,):
            return f"{name} has shape {got.shape}: keep the batch axis — np.sum(dZ, axis=0, keepdims=True) gives (1, {n})"
    if got.size == ref.size:
        return f"{name} has shape {got.shape} but holds as many numbers as the lecture's {ref.shape}: a reshape or layout mix-up"
    return f"{name} has shape {got.shape}, the lecture's is {ref.shape}"


def _scale_factor(ctx):
    """The whole tensor is a constant multiple of the reference's: a 1/m, a sign, a ½ or 2."""
    denominator = float(np.sum(ctx.ref * ctx.ref))
    if denominator == 0:
        return None
    c = float(np.sum(ctx.got * ctx.ref)) / denominator
    if abs(c - 1) < 1e-6 or not ctx.close(ctx.got, c * ctx.ref):
        return None
    scalar = ctx.ref.size == 1  # any change of a scalar is "a factor": name only the telling ones
    m = ctx.m
    if m > 1 and abs(c - m) < 1e-3 * m:
        return (f"{ctx.name} is m = {m} times the lecture's: the 1/m is missing "
                f"(dW and db are gradients of the mean loss J, so they carry 1/m)")
    if m > 1 and abs(c * m - 1) < 1e-3:
        return (f"{ctx.name} is 1/m = 1/{m} of the lecture's: an extra 1/m — in the lecture's convention "
                f"dZ and dA carry no 1/m (autodiff's ∂J/∂Z does); only dW and db divide by m")
    if abs(c + 1) < 1e-3:
        return f"{ctx.name} has the opposite sign: check A − Y (not Y − A) and every sign down the chain"
    if scalar:
        return None
    return f"{ctx.name} is {c:.4g} × the lecture's: a constant factor is off (a stray ½, 2 or 1/m?)"


def _transposed(ctx):
    if ctx.ref.ndim == 2 and ctx.ref.shape[0] == ctx.ref.shape[1] and ctx.close(ctx.got, ctx.ref.T):
        return f"{ctx.name} matches the lecture's transposed: a layout mix-up (W is (n_in, n_out))"
    return None


def _dA_without_transpose(ctx):
    if ctx.kind != "dA":
        return None
    dZ, W = ctx.ref_of(f"dZ{ctx.layer + 1}"), ctx.ref_of(f"W{ctx.layer + 1}")
    if dZ is not None and W is not None and W.shape[0] == W.shape[1] and ctx.close(ctx.got, dZ @ W):
        return (f"{ctx.name} = dZ{ctx.layer + 1}·W{ctx.layer + 1}, but the lecture's is "
                f"dZ{ctx.layer + 1}·W{ctx.layer + 1}ᵀ: the transpose is missing (both shapes fit because W is square)")
    return None


def _activation_derivative(ctx):
    if ctx.kind != "dZ" or f"dA{ctx.layer}" not in ctx.reference.tensors:
        return None
    l = ctx.layer
    dA, Z, A = ctx.ref_of(f"dA{l}"), ctx.ref_of(f"Z{l}"), ctx.ref_of(f"A{l}")
    if ctx.activation != "identity" and ctx.close(ctx.got, dA):
        return f"dZ{l} equals dA{l}: the activation's derivative g'(Z{l}) was never applied (dZ = dA ⊙ g'(Z))"
    if ctx.activation in ("relu", "leaky_relu"):
        positive = Z > 0
        agree = np.abs(ctx.got - ctx.ref) <= ctx.pattern_rtol * max(float(np.max(np.abs(ctx.ref))), 1e-300)
        if np.all(agree[positive]) and not np.all(agree[~positive]):
            return f"dZ{l} is wrong only where Z{l} <= 0: the ReLU mask (dZ[Z{l} <= 0] = 0) is missing or taken from the wrong tensor"
        if np.all(agree[~positive]) and not np.all(agree[positive]):
            return f"dZ{l} is wrong only where Z{l} > 0: the mask passes the wrong entries (Z > 0 keeps dA, Z <= 0 zeroes it)"
    if ctx.activation == "relu" and _is_masked(ctx, ctx.got, dA):
        return (f"dZ{l} is dA{l} times a 0/1 mask, but not the mask Z{l} > 0: the ReLU mask is taken from the "
                f"wrong tensor or inverted (dZ = dA; dZ[Z{l} <= 0] = 0)")
    if ctx.activation == "sigmoid" and ctx.close(ctx.got, dA * Z * (1 - Z)):
        return f"dZ{l} uses Z{l}(1 − Z{l}): the sigmoid's derivative is A(1 − A), evaluated on A{l} = sigmoid(Z{l}), not on Z{l}"
    if ctx.activation == "tanh" and ctx.close(ctx.got, dA * (1 - Z * Z)):
        return f"dZ{l} uses 1 − Z{l}²: tanh's derivative is 1 − A², evaluated on A{l} = tanh(Z{l}), not on Z{l}"
    if ctx.activation == "sigmoid" and ctx.close(ctx.got, dA * A):
        return f"dZ{l} = dA{l} ⊙ A{l}: the sigmoid's derivative is A(1 − A)"
    return None


def _is_masked(ctx, got, dA):
    """got = dA ⊙ M for some 0/1 mask M (wherever dA is non-zero)."""
    nonzero = dA != 0
    if not np.any(nonzero):
        return False
    ratio = got[nonzero] / dA[nonzero]
    tol = ctx.pattern_rtol
    return bool(np.all((np.abs(ratio) <= tol) | (np.abs(ratio - 1) <= tol))) and np.all(got[~nonzero] == 0)


def _output_layer(ctx):
    """At the output: the derivative applied twice, or softmax normalised over the wrong axis."""
    L = ctx.reference.L
    A = ctx.ref_of(f"A{L}")
    if ctx.name == f"dZ{L}" and ctx.close(ctx.got, ctx.ref * A * (1 - A)):
        return (f"dZ{L} = (A{L} − Y) ⊙ A{L}(1 − A{L}): the output's derivative is applied twice — with "
                f"sigmoid + BCE or softmax + CE, ∂J/∂Z{L} = A{L} − Y already contains it")
    if ctx.name == f"A{L}" and ctx.reference.meta.get("loss") == "softmax-ce" and ctx.got.shape[0] > 1:
        columns_sum_to_one = np.allclose(ctx.got.sum(axis=0), 1, atol=1e-4)
        if columns_sum_to_one and not np.allclose(ctx.got.sum(axis=1), 1, atol=1e-4):
            return (f"A{L}'s columns sum to 1, not its rows: softmax normalised over the batch (axis=0) "
                    f"instead of the classes (axis=1)")
    return None


def _other_layer(ctx):
    """The tensor equals the reference's tensor of the same kind at another layer."""
    if ctx.layer is None:
        return None
    for name, value in ctx.reference.items():
        match = re.fullmatch(r"(d?[A-Za-z])(\d+)", name)
        if match and match.group(1) == ctx.kind and int(match.group(2)) != ctx.layer and ctx.close(ctx.got, value):
            return f"{ctx.name} equals the lecture's {name}: a layer index is off by one in the loop"
    return None


def _forward_or_loss(ctx):
    if ctx.name == "J":
        L = ctx.reference.L
        return (f"J differs while Z{L} and A{L} agree: the loss formula (its sign, the 1/m, the log of A{L}, "
                f"or the L2 term)")
    if ctx.kind == "Z":
        return f"{ctx.name} differs: the forward pass Z{ctx.layer} = A{ctx.layer - 1}·W{ctx.layer} + b{ctx.layer}"
    if ctx.kind == "A":
        return f"{ctx.name} differs while Z{ctx.layer} agrees: the activation itself"
    return None


def _float32_rounding(ctx):
    """Only on evidence of float32: every number of the candidate survives a round trip through float32 while the
    reference's do not, or — for a tensor of several entries — its error is the size float32 rounding leaves,
    measured against the terms the tensor was summed from (a float64 sum that cancels errs by 1e-14 of those)."""
    if ctx.float32 or not ctx.got.size:
        return None
    error = float(np.max(np.abs(ctx.got - ctx.ref)))
    if not ctx.size or not error:
        return None
    as_float32 = np.all(ctx.got.astype(np.float32).astype(np.float64) == ctx.got)
    reference_is_float32 = np.all(ctx.ref.astype(np.float32).astype(np.float64) == ctx.ref)
    rounding_sized = ctx.got.size > 1 and 0.1 * EPS32 * ctx.size <= error <= 1e3 * EPS32 * ctx.size
    if (as_float32 and not reference_is_float32 and error <= 1e3 * EPS32 * ctx.size) or rounding_sized:
        return (f"{ctx.name} agrees only to float32 rounding (max|Δ| = {error / ctx.size:.1e} of the size of what was "
                f"summed): something was computed in float32")
    return None


CHECKS = (_float32_rounding, _scale_factor, _transposed, _dA_without_transpose, _activation_derivative,
          _output_layer, _other_layer, _forward_or_loss)


def _fallback(name, got, ref):
    index = np.unravel_index(int(np.argmax(np.abs(got - ref))), ref.shape) if ref.ndim else ()
    where = f" at {tuple(int(i) for i in index)}" if index else ""
    return f"{name} differs most{where}: {got[index]:.6g} where the lecture's is {ref[index]:.6g}"
