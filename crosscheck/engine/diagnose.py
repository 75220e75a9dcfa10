"""Probable causes: what a diverging tensor's numbers say about the mistake that produced them.

Each check looks for one recognisable pattern — an L2 term of another convention or none, a regularized bias,
a tensor changed in place, a factor of ±m^k, a transpose, a missing mask, a derivative taken of the wrong
tensor, a name or layer index mixed up, another activation, float32 rounding — and returns one line, or None.
The first check that recognises the divergence names it.

A tensor that fails after the first divergence is judged against its *local* reference: the lecture's formula
applied to the candidate's own upstream tensors (local_reference).  If it matches, its error is inherited (↳);
if not, it has a mistake of its own, and gets its own diagnosis.
"""
import dataclasses
import re

import numpy as np

from crosscheck.engine import dropout_batchnorm
from crosscheck.engine.tolerance import EPS32, size_of
from crosscheck.reference import ACTIVATIONS, Network, l2_coefficient, layers
from crosscheck.reference.losses import OUTPUT_LOSSES, output_backward
from crosscheck.reference.regularization import L2_CONVENTIONS
from crosscheck.reference.trace import split_name

# the network's layout in the lecture's formulas, for the hints that quote one
FORMULAS = {
    "rows": {"dW": "dW = A_prevᵀ·dZ / m", "db": "np.sum(dZ, axis=0, keepdims=True) / m", "W": "W is (n_in, n_out)",
             "batch": "axis=0", "units": "axis=1"},
    "columns": {"dW": "dW = dZ·A_prevᵀ / m", "db": "np.sum(dZ, axis=1, keepdims=True) / m", "W": "W is (n_out, n_in)",
                "batch": "axis=1", "units": "axis=0"},
}


def network_of(reference, net=None):
    """The Network a reference Trace was computed for (net itself when given)."""
    if net is not None:
        return net
    sizes = [np.shape(reference["W1"])[0]] + [np.shape(W)[1] for W, _ in reference.params]
    return Network(tuple(sizes), activation=reference.meta.get("activation", "relu"),
                   loss=reference.meta.get("loss", "softmax-ce"))


def diagnose(name, candidate, reference, comparison, scales=None, net=None, statuses=None, ref=None, layout="rows"):
    """One line naming the probable cause of `name` diverging in `candidate` from the reference.

    scales    {name: (S, n)}, the terms each tensor was summed from (crosscheck.tolerance.summand_scales): a
              float64 sum that cancels is never mistaken for float32 rounding
    net       the Network (its L2 strength and convention); None: read from the reference's meta, without L2
    statuses  {name: True (agrees) | False | None (not provided)} of the tensors compared before this one
    ref       what `name` should be (default: the reference's; a local reference for a later divergence)
    layout    the implementation's layout: shapes and formulas in hints are written in it
    """
    if name not in candidate:
        return f"{name} is missing from the result"
    got = np.asarray(candidate[name], dtype=np.float64)
    ref = np.asarray(reference[name] if ref is None else ref, dtype=np.float64)
    m = np.shape(reference["X"])[0]
    if comparison.got_shape is not None:
        return (dropout_batchnorm.shape_hint(name, got, ref, m, layout) or _other_shape(name, got, reference)
                or _shape_hint(name, got, ref, m, layout))
    if not np.all(np.isfinite(got)):
        return (f"{name} contains NaN or inf: something overflowed — e.g. exp() of large logits in a softmax "
                f"without subtracting the row max, or log(0)")
    context = _Context(name, got, ref, m, candidate, reference, scales, network_of(reference, net), statuses, layout)
    for check in CHECKS:
        hint = check(context)
        if hint:
            return hint
    return _fallback(name, got, ref)


class _Context:
    def __init__(self, name, got, ref, m, candidate, reference, scales, net, statuses, layout):
        self.name, self.got, self.ref, self.m = name, got, ref, m
        self.net, self.statuses, self.layout = net, statuses or {}, layout
        self.candidate, self.reference = candidate, reference
        self.size = size_of(name, reference, scales)  # max(max|ref|, the terms it was summed from)
        self.kind, self.layer = split_name(name)
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

    def upstream(self, name):
        """The candidate's own `name` where it returned it, else the lecture's formula on its own tensors before it
        (local_reference): what a tensor after `name` was computed from."""
        value = self.candidate.get(name)
        if value is not None and name in self.reference.tensors and np.shape(value) == np.shape(self.reference[name]):
            return np.asarray(value, np.float64)
        local = local_reference(name, self.candidate, self.reference, self.net)
        return self.ref_of(name) if local is None else np.asarray(local, np.float64)


def _shape_hint(name, got, ref, m, layout="rows"):
    """Shapes as the implementation sees them, in its layout (got and ref arrive in rows)."""
    f = FORMULAS[layout]

    def user(shape):
        return tuple(shape)[::-1] if layout == "columns" and len(shape) == 2 else tuple(shape)

    got_shape, ref_shape = user(got.shape), user(ref.shape)
    if got.shape == ref.T.shape and ref.ndim == 2:
        if name.startswith("dW"):
            return (f"{name} has shape {got_shape}, W's is {ref_shape}: it is transposed ({f['W']}, so {f['dW']})")
        return f"{name} has shape {got_shape}, the lecture's is {ref_shape} in your layout: it is transposed"
    if name.startswith("db"):
        n = ref.shape[1]
        if got.shape == (m, n):
            return f"{name} has shape {got_shape}: sum dZ over the batch — {f['db']}"
        if got.shape == (m, 1) and m != 1:
            return (f"{name} has shape {got_shape}: summed over the units ({f['units']}); the bias gradient sums over "
                    f"the batch — {f['db']}")
        if got.ndim < 2 and got.size == n:
            broadcast = (f" (b {ref_shape} minus a db {got_shape} broadcasts to ({n}, {n}))"
                         if layout == "columns" and n > 1 else "")
            return f"{name} was squeezed to shape {got_shape}: keep shape {ref_shape} — {f['db']}{broadcast}"
    if got.size == ref.size:
        return (f"{name} has shape {got_shape} but holds as many numbers as the lecture's {ref_shape}: a reshape or "
                f"layout mix-up")
    return f"{name} has shape {got_shape}, the lecture's is {ref_shape}"


def _other_shape(name, got, reference):
    """A tensor with another tensor's shape and numbers: the names or the layer index are mixed up."""
    if not np.any(got):  # zeros match zeros: a name swap is never read from an all-zero tensor
        return None
    for other in _lecture_names(reference):
        value = np.asarray(reference[other], np.float64)
        if other != name and value.shape == got.shape and np.any(value) and _near(got, value, 1e-8):
            return _same_as(name, other)
    return None


def _lecture_names(reference):
    return [n for n in reference.keys() if n not in ("Y",)]


def _near(a, b, rtol):
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    return float(np.max(np.abs(a - b))) <= rtol * scale


def _same_as(name, other):
    (kind, layer), (kind_other, _) = split_name(name), split_name(other)
    if layer is not None and kind == kind_other:
        return f"{name} equals the lecture's {other}: a layer index is off by one in the loop (or in the key it is stored under)"
    return f"your {name} is the lecture's {other}: the names are mixed up (return the lecture's {name} under {name})"


FACTOR_WORDS = {  # each part of a factor sign·m^k·r -> what it means
    "sign": "the opposite sign (gradient ascent, or Y − A instead of A − Y)",
    ("m", 1): "a summed loss — the 1/m is missing",
    ("m", 2): "1/m missing twice",
    ("m", -1): "an extra 1/m (in the lecture's convention dZ and dA carry no 1/m; only dW and db divide by m)",
    ("m", -2): "1/m applied twice too often",
    ("r", 2.0): "a stray 2 (or a missing ½)",
    ("r", 0.5): "a stray ½",
}


def _factor(c, m):
    """c as (sign, k, r) with c = sign·m^k·r, k in −2..2, r in {1, 2, ½}; None when it is no such product."""
    for k in (0, 1, -1, 2, -2) if m > 1 else (0,):
        for r in (1.0, 2.0, 0.5):
            for sign in (1, -1):
                target = sign * float(m) ** k * r
                if abs(c - target) <= 1e-6 * abs(target) and (sign, k, r) != (1, 0, 1.0):
                    return sign, k, r
    return None


def _scale_factor(ctx):
    """The whole tensor is a constant multiple of the reference's: ±m^k, a ½ or a 2 — each named apart."""
    denominator = float(np.sum(ctx.ref * ctx.ref))
    if denominator == 0:
        return None
    c = float(np.sum(ctx.got * ctx.ref)) / denominator
    if abs(c - 1) < 1e-6 or not ctx.close(ctx.got, c * ctx.ref):
        return None
    m = ctx.m
    found = _factor(c, m)
    if found == (1, 1, 1.0):
        return (f"{ctx.name} is m = {m} times the lecture's: the 1/m is missing "
                f"(dW and db are gradients of the mean loss J, so they carry 1/m)")
    if found == (1, -1, 1.0):
        return (f"{ctx.name} is 1/m = 1/{m} of the lecture's: an extra 1/m — in the lecture's convention "
                f"dZ and dA carry no 1/m (autodiff's ∂J/∂Z does); only dW and db divide by m")
    if found == (-1, 0, 1.0):
        return f"{ctx.name} has the opposite sign: check A − Y (not Y − A) and every sign down the chain"
    if found is not None:
        sign, k, r = found
        words = ([FACTOR_WORDS["sign"]] if sign < 0 else []) + ([FACTOR_WORDS["m", k]] if k else []) + \
                ([FACTOR_WORDS["r", r]] if r != 1 else [])
        parts = ("−" if sign < 0 else "") + ("m" if k == 1 else f"m^{k}" if k else "") + \
                ("" if r == 1 else ("·2" if r == 2 else "·½") if k else ("2" if r == 2 else "½"))
        value = f"{c:.4g}" if abs(c) != 1 else ""
        return f"{ctx.name} is {parts} = {value} × the lecture's (m = {m}): {' and '.join(words)}"
    hard = _hard_coded_m(ctx, c)
    if hard:
        return hard
    if ctx.ref.size == 1:  # any change of a scalar is "a factor": name only the telling ones
        return None
    return f"{ctx.name} is {c:.4g} × the lecture's: a constant factor is off (a stray ½, 2 or 1/m?)"


def _hard_coded_m(ctx, c):
    """c = m/k for a whole k ≠ m: a mean over k examples where the batch has m — m written as a number (the
    lecture's 300) instead of read from the data."""
    if ctx.kind not in ("dW", "db", "J", "dgamma", "dbeta") or not c > 0:
        return None
    k = ctx.m / c
    if not (2 <= k <= 1e6 and abs(k - round(k)) <= 1e-6 * k and round(k) != ctx.m):
        return None
    k = int(round(k))
    shape = "X.shape[1]" if ctx.layout == "columns" else "X.shape[0]"
    return (f"{ctx.name} is m/{k} = {ctx.m}/{k} × the lecture's: m is hard-coded as {k} (this probe has m = "
            f"{ctx.m}) — take it from the data: m = {shape}")


def _weights_transposed(ctx):
    """Z[l] = A[l-1]·W[l]ᵀ + b[l]: a square W used the other way round (X moved to rows, W not)."""
    if ctx.kind != "Z":
        return None
    W = ctx.ref_of(f"W{ctx.layer}")
    A_prev = ctx.ref_of("X" if ctx.layer == 1 else f"A{ctx.layer - 1}")
    b = ctx.ref_of(f"b{ctx.layer}")
    if W is None or A_prev is None or W.shape[0] != W.shape[1] or not ctx.close(ctx.got, A_prev @ W.T + b):
        return None
    how = ("in the column layout W is (n_out, n_in): turning X to rows means turning W too — or compute Z = W·A_prev + b"
           if ctx.layout == "columns" else "W is (n_in, n_out): Z = A_prev·W + b")
    return f"{ctx.name} = A{ctx.layer - 1}·W{ctx.layer}ᵀ + b{ctx.layer}: W{ctx.layer} is used transposed ({how})"


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


def _hidden_derivative(ctx):
    """A hidden layer's dZ taken with another derivative — the output's σ'(Z) (the course's
    linear_activation_backward(…, "sigmoid") on every layer), another activation's, or dA ⊙ A in place of the ReLU
    mask — seen at dZ[l], or, where dZ is not returned (the course's grads), at dW[l], db[l] or dA[l−1]."""
    layer = ctx.layer + 1 if ctx.kind == "dA" and ctx.layer is not None else ctx.layer
    net = ctx.net
    if (ctx.kind not in ("dZ", "dW", "db", "dA") or layer is None or not 1 <= layer < ctx.reference.L
            or net.batch_norm or net.dropout(layer)):
        return None
    own = ctx.upstream  # the candidate's own tensors before this one (a later divergence inherits them)
    dA, Z = own(f"dA{layer}"), own(f"Z{layer}")
    if ctx.kind == "dA":
        dA = local_reference(f"dA{layer}", ctx.candidate, ctx.reference, net)
    A = ctx.net.hidden_activation()[0](Z)[0]
    if dA is None or Z is None or np.shape(dA) != np.shape(Z):
        return None
    what = f"dZ{layer}" if ctx.kind == "dZ" else f"{ctx.name}'s dZ{layer}"
    wrong = []
    if net.activation == "relu":
        wrong.append((dA * A, f"{what} = dA{layer} ⊙ A{layer}: the ReLU's derivative is the mask 1[Z{layer} > 0], "
                              f"not A{layer} — dZ = dA ⊙ (Z > 0)"))
    with np.errstate(all="ignore"):
        for name in ACTIVATIONS:
            if name == net.activation or name == "identity":
                continue
            forward, backward = dataclasses.replace(net, activation=name).hidden_activation()
            alternative = backward(dA, forward(Z)[1])
            if name == "sigmoid" and net.loss == "sigmoid-bce":
                words = (f"{what} uses the output layer's derivative σ'(Z{layer}) = A(1 − A): hidden layer {layer} is "
                         f"{net.activation} — its derivative is {_DERIVATIVES.get(net.activation, 'g′(Z)')} (the "
                         f"hidden layers' backward with \"{net.activation}\", only the output's with \"sigmoid\")")
            else:
                words = (f"{what} uses {name}'s derivative: the hidden layers are {net.activation} (their derivative is "
                         f"{_DERIVATIVES.get(net.activation, 'g′(Z)')}) — or run with --activation {name}")
            wrong.append((alternative, words))
        L = ctx.reference.L
        if net.loss == "sigmoid-bce" and layer < L:  # every layer's backward started from the output's dA[L]
            AL, Y = own(f"A{L}"), ctx.ref_of("Y")
            dAL = np.broadcast_to((AL - Y) / (AL * (1 - AL)), Z.shape) if AL.shape == Y.shape and AL.shape[1] == 1 \
                else None
            for name in (n for n in ACTIVATIONS if dAL is not None and n != "identity"):
                forward, backward = dataclasses.replace(net, activation=name).hidden_activation()
                g = "σ" if name == "sigmoid" else name
                output = " and the output's derivative" if name == "sigmoid" else ""
                wrong.append((backward(dAL, forward(Z)[1]),
                              f"{what} = dAL ⊙ {g}'(Z{layer}): layer {layer}'s backward pass starts from the output's "
                              f"dAL = ∂J/∂A{L}{output} — it takes dA{layer} = dZ{layer + 1}·W{layer + 1}ᵀ, the layer "
                              f"above's dA_prev"))
    m = ctx.m
    prev = own("X" if layer == 1 else f"A{layer - 1}")
    W = ctx.ref_of(f"W{layer}")
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0.0
    for dZ, words in wrong:
        if ctx.kind == "dZ":
            target = dZ
        elif ctx.kind == "dW":
            target = prev.T @ dZ / m + c * W
        elif ctx.kind == "db":
            target = np.sum(dZ, axis=0, keepdims=True) / m
        else:
            target = dZ @ W.T
        if target.shape == ctx.got.shape and np.any(target) and ctx.close(ctx.got, target):
            return words
    return None


_DERIVATIVES = {"relu": "1[Z > 0]", "leaky_relu": "1 where Z > 0, else the slope", "tanh": "1 − A²",
                "sigmoid": "A(1 − A)", "identity": "1"}


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
            return (f"dZ{l} is wrong only where Z{l} <= 0: the ReLU mask (dZ[Z{l} <= 0] = 0) is missing or taken from "
                    f"the wrong tensor")
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
    if ctx.layer is None or not np.any(ctx.got):
        return None
    for name, value in ctx.reference.items():
        kind, layer = split_name(name)
        if layer is not None and kind == ctx.kind and layer != ctx.layer and np.any(value) and ctx.close(ctx.got, value):
            return f"{ctx.name} equals the lecture's {name}: a layer index is off by one in the loop"
    return None


def _agreeing(ctx, names):
    """Of these names, the ones that were provided and agree (never a name that was not returned)."""
    return [n for n in names if ctx.statuses.get(n) is True]


def _forward_or_loss(ctx):
    L = ctx.reference.L
    if ctx.name == "J":
        agree = _agreeing(ctx, [f"Z{L}", f"A{L}"])
        if agree:
            return (f"J differs while {' and '.join(agree)} agree{'s' if len(agree) == 1 else ''}: the loss formula "
                    f"(its sign, the 1/m, the log of A{L}, or the L2 term)")
        return (f"J differs (Z{L} and A{L} were not returned, so the forward pass behind it was not checked): the "
                f"loss formula, or the forward pass")
    if ctx.kind == "Z":
        return f"{ctx.name} differs: the forward pass Z{ctx.layer} = A{ctx.layer - 1}·W{ctx.layer} + b{ctx.layer}"
    if ctx.kind == "A":
        if _agreeing(ctx, [f"Z{ctx.layer}"]):
            return f"{ctx.name} differs while Z{ctx.layer} agrees: the activation itself"
        return f"{ctx.name} differs: the activation, or the forward pass before it (Z{ctx.layer} was not returned)"
    return None


OUTPUT = {"softmax-ce": "softmax", "sigmoid-bce": "sigmoid", "mse": "identity"}


def _another_activation(ctx):
    """A[l] is another activation of Z[l]: the implementation's network is not the one asked for."""
    if ctx.kind != "A" or ctx.layer is None:
        return None
    Z = ctx.ref_of(f"Z{ctx.layer}")
    with np.errstate(over="ignore"):
        if ctx.layer < ctx.reference.L:
            for name in ACTIVATIONS:  # each with the network's own leaky slope (reference.network)
                g = dataclasses.replace(ctx.net, activation=name).hidden_activation()[0]
                if name != ctx.net.activation and ctx.close(ctx.got, g(Z)[0]):
                    return (f"{ctx.name} = {name}({ctx.name.replace('A', 'Z')}): your hidden layers use {name}, the network "
                            f"asked for has {ctx.net.activation} — run with --activation {name}")
            return None
        for loss, (output, _) in OUTPUT_LOSSES.items():
            if loss != ctx.net.loss and ctx.close(ctx.got, output(Z)):
                return (f"{ctx.name} = {OUTPUT[loss]}(Z{ctx.layer}): your output layer is {OUTPUT[loss]}, the network asked "
                        f"for is {ctx.net.loss} — run with --loss {loss}")
    return None


def _changed_in_place(ctx):
    """A[L] = A[L]_ref − Y: the probabilities were turned into dZ in place after they were returned."""
    L = ctx.reference.L
    if ctx.name == f"A{L}" and ctx.close(ctx.got, ctx.ref - ctx.ref_of("Y")):
        return (f"A{L} = the lecture's A{L} − Y: probs was changed in place after it was returned "
                f"(dscores = probs; dscores[…] -= 1) — return a copy (probs.copy())")
    return None


def _l2_conventions(ctx, c):
    """The L2 conventions whose coefficient c (of (c/2)·Σ‖W‖², gradient c·W) equals c, for this λ and m."""
    lam = ctx.net.l2
    if not lam:
        return []
    return [conv for conv in L2_CONVENTIONS if abs(l2_coefficient(lam, conv, ctx.m) - c) <= 1e-6 * abs(c)]


def _l2_words(conv, lam):
    return {"keras": "λ·Σ‖W‖² in J, 2λ·W in dW", "course": "λ/(2m)·Σ‖W‖² in J, (λ/m)·W in dW",
            "weight-decay": "λ/2·Σ‖W‖² in J, λ·W in dW"}[conv]


def _dW_l2_coefficient(ctx, l):
    """k with the candidate's dW[l] − the reference's = k·W[l] (None: no such k, or dW[l] not provided)."""
    got = ctx.candidate.get(f"dW{l}")  # compared before this tensor or after it: what the candidate returned
    W = ctx.ref_of(f"W{l}")
    if got is None or np.shape(got) != W.shape or not np.any(W):
        return None
    d = np.asarray(got, np.float64) - ctx.ref_of(f"dW{l}")
    k = float(np.sum(d * W) / np.sum(W * W))
    scale = max(float(np.max(np.abs(d))), 1e-300)
    floor = 1e-13 * max(float(np.max(np.abs(ctx.ref_of(f"dW{l}")))), 1e-300)
    return k if float(np.max(np.abs(d - k * W))) <= 1e-6 * scale + floor else None


def _l2_term(ctx):
    """An L2 term of another convention, of the wrong factor, or none at all — in J or in dW[l]."""
    net, lam = ctx.net, ctx.net.l2
    c_ref = l2_coefficient(lam, net.l2_convention, ctx.m) if lam else 0.0
    if ctx.kind == "dW":
        k = _dW_l2_coefficient(ctx, ctx.layer)
        if k is None or abs(k) <= 1e-9 * max(abs(c_ref), 1e-300):
            return None
        c = c_ref + k
        name, l = ctx.name, ctx.layer
        if not lam:
            return (f"{name} − the lecture's = {k:.4g}·W{l}: an L2 term although λ = 0 here — is the regularization "
                    f"strength hard-coded instead of taken from the argument your code is given?")
        if abs(c) <= 1e-6 * abs(c_ref):
            j = _J_l2_coefficient(ctx)
            where = " although J has it" if j is not None and abs(j - c_ref) <= 1e-6 * abs(c_ref) else ""
            return (f"the L2 term is missing from {name}{where} (λ = {lam:g}: {name} needs + {c_ref:.4g}·W{l}, the "
                    f"derivative of J's term)")
        matches = _l2_conventions(ctx, c)
        j = _J_l2_coefficient(ctx)
        if j is not None and abs(j - c_ref) <= 1e-6 * abs(c_ref) and abs(c - c_ref) > 1e-6 * abs(c_ref):
            conv = f" ({matches[0]} convention)" if matches else ""
            return (f"{name}'s L2 term is {c:.4g}·W{l}{conv}, but J's is the {net.l2_convention} convention's: dW must "
                    f"carry the derivative of J's term, {c_ref:.4g}·W{l} ({_l2_words(net.l2_convention, lam)})")
        if matches:
            return (f"{name}'s L2 term is {c:.4g}·W{l}: the {matches[0]} convention ({_l2_words(matches[0], lam)}); the "
                    f"reference uses {net.l2_convention} — run with --l2-convention {matches[0]}")
        return (f"{name}'s L2 term has the wrong factor: {c:.4g}·W{l} where λ = {lam:g} ({net.l2_convention}: "
                f"{_l2_words(net.l2_convention, lam)}) gives {c_ref:.4g}·W{l}")
    if ctx.name == "J":
        half_sum = 0.5 * sum(float(np.sum(ctx.ref_of(f"W{l}") ** 2)) for l in range(1, ctx.reference.L + 1))
        if not half_sum:
            return None
        biases = _biases_in_J(ctx, c_ref)
        if biases:
            return biases
        c = c_ref + (float(ctx.got) - float(ctx.ref)) / half_sum
        dW = [_dW_l2_coefficient(ctx, l) for l in range(1, ctx.reference.L + 1)]
        dW_has = [c_ref + k for k in dW if k is not None]
        if not lam:
            if dW_has and all(abs(x - c) <= 1e-6 * abs(c) for x in dW_has) and abs(c) > 0:
                return (f"J and dW carry an L2 term (c = {c:.4g}) although λ = 0 here — is the regularization strength "
                        f"hard-coded instead of taken from the argument your code is given?")
            return None
        if abs(c) <= 1e-6 * abs(c_ref):
            also = " (dW has it)" if dW_has and all(abs(x - c_ref) <= 1e-6 * abs(c_ref) for x in dW_has) else ""
            return f"the L2 term is missing from J{also}: J = loss + {_l2_words(net.l2_convention, lam).split(' in J')[0]}"
        matches = _l2_conventions(ctx, c)
        if matches and dW_has and all(abs(x - dW_has[0]) <= 1e-6 * abs(dW_has[0]) for x in dW_has) \
                and abs(dW_has[0] - c) > 1e-6 * abs(c):  # J's term and dW's disagree: no option fixes that
            theirs = _l2_conventions(ctx, dW_has[0])
            return (f"J's L2 term is the {matches[0]} convention's ({_l2_words(matches[0], lam)}), but dW carries "
                    f"{dW_has[0]:.4g}·W{f' ({theirs[0]})' if theirs else ''}: dW must carry the derivative of J's "
                    f"term, {c:.4g}·W — J and dW disagree")
        if matches and matches[0] != net.l2_convention:
            return (f"J's L2 term is the {matches[0]} convention's ({_l2_words(matches[0], lam)}); the reference uses "
                    f"{net.l2_convention} — run with --l2-convention {matches[0]}")
    return None


def _biases_in_J(ctx, c_ref):
    """J − the lecture's = (c/2)·Σ‖b‖²: the biases are in the L2 term (folded into W before it: a CS231n mistake)."""
    if not ctx.net.l2:
        return None
    half = 0.5 * sum(float(np.sum(ctx.ref_of(f"b{l}") ** 2)) for l in range(1, ctx.reference.L + 1)
                     if ctx.ref_of(f"b{l}") is not None)
    term = c_ref * half
    if not term or abs((float(ctx.got) - float(ctx.ref)) - term) > 1e-6 * abs(term):
        return None
    return (f"J − the lecture's = {c_ref / 2:.4g}·Σ‖b‖²: the L2 term includes the biases — it sums the weights "
            f"only ({_l2_words(ctx.net.l2_convention, ctx.net.l2).split(' in J')[0]} in J, no λ on b)")


def _J_l2_coefficient(ctx):
    """The c of the candidate's J, if J was provided and its difference is an L2 term."""
    if "J" not in ctx.candidate or np.shape(ctx.candidate["J"]) not in ((), (1,), (1, 1)):
        return None
    lam = ctx.net.l2
    c_ref = l2_coefficient(lam, ctx.net.l2_convention, ctx.m) if lam else 0.0
    half_sum = 0.5 * sum(float(np.sum(ctx.ref_of(f"W{l}") ** 2)) for l in range(1, ctx.reference.L + 1))
    if not half_sum:
        return None
    return c_ref + (float(np.asarray(ctx.candidate["J"]).reshape(())) - float(ctx.reference["J"])) / half_sum


def _bias_regularized(ctx):
    """db[l] − db_ref = k·b[l]: an L2 term on the bias."""
    if ctx.kind != "db":
        return None
    b = ctx.ref_of(f"b{ctx.layer}")
    if b is None or not np.any(b) or b.size < 2:
        return None
    d = ctx.got - ctx.ref
    k = float(np.sum(d * b) / np.sum(b * b))
    if k and float(np.max(np.abs(d - k * b))) <= 1e-6 * float(np.max(np.abs(d))):
        return (f"{ctx.name} − the lecture's = {k:.4g}·b{ctx.layer}: the bias is regularized — the L2 term applies "
                f"to the weights only (db has no λ term)")
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


def _other_name(ctx):
    """The tensor holds the numbers of another lecture tensor of the same shape."""
    if not np.any(ctx.got):
        return None
    for other in _lecture_names(ctx.reference):
        value = ctx.ref_of(other)
        if other != ctx.name and value.shape == ctx.got.shape and np.any(value) and ctx.close(ctx.got, value):
            return _same_as(ctx.name, other)
    return None


CHECKS = (dropout_batchnorm.hint, _changed_in_place, _l2_term, _bias_regularized, _scale_factor, _float32_rounding,
          _weights_transposed, _transposed, _dA_without_transpose, _hidden_derivative, _activation_derivative,
          _output_layer, _other_layer, _another_activation, _other_name, _forward_or_loss)


# ---- local references: the lecture's formula on the candidate's own upstream tensors ---------------------

def local_reference(name, candidate, reference, net=None, _memo=None):
    """What `name` should be given the candidate's own tensors before it: the lecture's formula for it, dropout and
    batch norm included; None for an input.  An upstream tensor the candidate did not return (a course's grads
    have no dZ) is the lecture's formula on its own upstream tensors in turn — never the reference's, which would
    make a tensor that only inherits an earlier error look like a mistake of its own."""
    net = network_of(reference, net)
    memo = {} if _memo is None else _memo
    own = dropout_batchnorm.getter(candidate, reference)

    def get(n):
        if n in candidate and n in reference.tensors and np.shape(candidate[n]) == np.shape(reference[n]):
            return own(n)
        if n not in memo:
            memo[n] = None  # a name being worked out: its own formula does not come back to it
            value = local_reference(n, candidate, reference, net, memo) if n in reference.tensors else None
            memo[n] = own(n) if value is None or np.shape(value) != np.shape(reference[n]) else value
        return memo[n] if memo[n] is not None else own(n)

    fixed = lambda n: np.asarray(reference[n], np.float64)  # noqa: E731  inputs: the reference's own
    kind, l = split_name(name)
    L, X = net.L, fixed("X")
    m = X.shape[0]
    g_forward, g_backward = net.hidden_activation()
    def A_prev(l):  # what layer l reads: X, or the layer below's A (after its dropout)
        return X if l == 1 else get(f"Adrop{l - 1}") if net.dropout(l - 1) else get(f"A{l - 1}")

    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0.0
    with np.errstate(all="ignore"):
        if kind == "Z":
            return A_prev(l) @ fixed(f"W{l}") + (0 if net.normalized(l) else fixed(f"b{l}"))
        if kind == "mu":
            return get(f"Z{l}").mean(axis=0, keepdims=True)
        if kind == "var":
            return ((get(f"Z{l}") - get(f"mu{l}")) ** 2).mean(axis=0, keepdims=True)
        if kind == "Zhat":
            if net.training:
                return (get(f"Z{l}") - get(f"mu{l}")) / np.sqrt(get(f"var{l}") + net.bn_eps)
            return (get(f"Z{l}") - fixed(f"rmu{l}")) / np.sqrt(fixed(f"rvar{l}") + net.bn_eps)
        if kind == "Ztilde":
            return get(f"Zhat{l}") * fixed(f"gamma{l}") + fixed(f"beta{l}")
        if kind == "A":
            if l == L:
                return OUTPUT_LOSSES[net.loss][0](get(f"Z{L}"))
            return g_forward(get(f"Ztilde{l}") if net.normalized(l) else get(f"Z{l}"))[0]
        if kind == "Adrop":
            return get(f"A{l}") * fixed(f"D{l}") / net.keep_prob
        if name == "J":
            _, loss = OUTPUT_LOSSES[net.loss]
            return np.asarray(loss(get(f"Z{L}"), fixed("Y")) + c / 2 * sum(np.sum(fixed(f"W{k}") ** 2)
                                                                           for k in range(1, L + 1)))
        if kind == "dAdrop" or kind == "dA" and not net.dropout(l):
            return get(f"dZ{l + 1}") @ fixed(f"W{l + 1}").T
        if kind == "dA":
            return get(f"dAdrop{l}") * fixed(f"D{l}") / net.keep_prob
        if kind == "dZtilde":
            return g_backward(get(f"dA{l}"), g_forward(get(f"Ztilde{l}"))[1])
        if kind == "dgamma":
            return np.sum(get(f"dZtilde{l}") * get(f"Zhat{l}"), axis=0, keepdims=True) / m
        if kind == "dbeta":
            return np.sum(get(f"dZtilde{l}"), axis=0, keepdims=True) / m
        if kind == "dZhat":
            return get(f"dZtilde{l}") * fixed(f"gamma{l}")
        if kind == "dZ":
            if l == L:
                return output_backward(get(f"A{L}"), fixed("Y"))
            if net.normalized(l):
                dZhat = get(f"dZhat{l}")
                if net.training:
                    return layers.batchnorm_backward(dZhat, (get(f"Zhat{l}"), np.sqrt(get(f"var{l}") + net.bn_eps)))
                return dZhat / np.sqrt(fixed(f"rvar{l}") + net.bn_eps)
            return g_backward(get(f"dA{l}"), g_forward(get(f"Z{l}"))[1])
        if kind == "dW":
            return A_prev(l).T @ get(f"dZ{l}") / m + c * fixed(f"W{l}")
        if kind == "db":
            return np.sum(get(f"dZ{l}"), axis=0, keepdims=True) / m
    return None


def missing_hint(missing, L, ignored=()):
    """Why the required tensors `missing` (in computation order) make the check fail, in one line."""
    listed = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
    gradients = [n for n in missing if n[:2] in ("dW", "db")]
    layers = {int(n[2:]) for n in gradients}
    if gradients and layers == {L} and len(gradients) == len(missing):
        why = "the last layer's gradients are missing"
    elif len(gradients) == 2 * L:
        why = "no parameter gradient was returned"
    else:
        why = "every dW and db is checked"
    text = f"{listed} {'was' if len(missing) == 1 else 'were'} not returned — {why}"
    params = [k for k in ignored if re.fullmatch(r"[Wb]\d+", k)]
    if params:
        text += (f"; your result has {', '.join(params[:4])}: name the gradients dW1, db1, … (or return "
                 f"(loss, grads) and they are read as gradients)")
    stray = [k for k in ignored if re.fullmatch(r"d?[ZAWb]\d+", k) and not re.fullmatch(r"[Wb]\d+", k)
             and (int(re.sub(r"\D", "", k)) > L or k == f"dA{L}" or k != "dA0" and int(re.sub(r"\D", "", k)) == 0)]
    # (dA0 is dX: the course returns it, and it is no mistake)
    if stray:
        text += f"; it returned {', '.join(stray[:4])}, which a {L}-layer network does not have: is a layer index off by one?"
    return text + " (--partial checks a half-written implementation without failing on what it has not written yet)"


def layout_hint(layout):
    """Every 2-D tensor came back transposed: the implementation works in the other layout."""
    if layout == "rows":
        return ("every 2-D tensor comes back transposed: your code uses the column layout (X as (n0, m)) — run with "
                "--layout columns")
    return "every 2-D tensor comes back transposed: your code uses the row layout (X as (m, n0)) — run without --layout columns"


def _fallback(name, got, ref):
    index = np.unravel_index(int(np.argmax(np.abs(got - ref))), ref.shape) if ref.ndim else ()
    where = f" at {tuple(int(i) for i in index)}" if index else ""
    return f"{name} differs most{where}: {got[index]:.6g} where the lecture's is {ref[index]:.6g}"


# ---- an exception's shapes, named ------------------------------------------------------------------------

SHAPES_IN_MESSAGE = re.compile(r"\((\d+),\s*(\d+)\)")


def shape_error_hint(message, problem, layout="rows"):
    """For an exception that quotes 2-D shapes ("shapes (300,3) and (4,3) not aligned", "could not be broadcast
    together with shapes (300,4) (300,3)"): which lecture tensors have them, and — for a product that does not fit
    — the lecture's product of the same tensors (dA1 = dZ2 · W2ᵀ, (300, 3) · (3, 4)).  None when no shape is a
    lecture tensor's."""
    shapes = [(int(a), int(b)) for a, b in SHAPES_IN_MESSAGE.findall(message or "")][:2]
    if not shapes:
        return None
    net, m = problem.net, problem.X.shape[0]
    named = _tensor_shapes(net, m, layout)
    if len(shapes) == 2 and re.search(r"not aligned|matmul|dot", message):
        product = _lecture_product(shapes, net, m, layout)
        if product:
            return product
    parts = []
    for shape in dict.fromkeys(shapes):
        names = [name for name, s in named.items() if s == shape]
        if names:
            parts.append(f"{shape} is the lecture's {', '.join(names[:5])}")
    return "; ".join(parts) + f" (m = {m})" if parts else None


def _tensor_shapes(net, m, layout):
    """{name: shape} of the lecture's tensors of a plain network, in the implementation's layout."""
    shapes = {"X": (m, net.sizes[0]), "Y": (m, net.sizes[-1])}
    for l in range(net.L, 0, -1):
        n_in, n_out = net.sizes[l - 1], net.sizes[l]
        shapes.update({f"Z{l}": (m, n_out), f"A{l}": (m, n_out), f"dZ{l}": (m, n_out), f"W{l}": (n_in, n_out),
                       f"dW{l}": (n_in, n_out), f"b{l}": (1, n_out)})
        if l < net.L:
            shapes[f"dA{l}"] = (m, n_out)
    if layout == "columns":
        shapes = {name: shape[::-1] for name, shape in shapes.items()}
    return shapes


def _lecture_product(shapes, net, m, layout):
    """The lecture's matrix product whose operands are the tensors of these shapes — one used untransposed where the
    lecture transposes it, or the two in the other order — in the implementation's layout; None when there is
    none."""
    for l in range(net.L, 0, -1):
        prev = "X" if l == 1 else f"A{l - 1}"
        n_in, n_out = net.sizes[l - 1], net.sizes[l]
        rows = {  # result: ((left, its shape as used), (right, its shape as used)) in rows
            f"Z{l}": ((prev, (m, n_in)), (f"W{l}", (n_in, n_out))),
            f"dW{l}": ((f"{prev}ᵀ", (n_in, m)), (f"dZ{l}", (m, n_out))),
        }
        if l > 1:
            rows[f"dA{l - 1}"] = ((f"dZ{l}", (m, n_out)), (f"W{l}ᵀ", (n_out, n_in)))
        for result, ((left, left_shape), (right, right_shape)) in rows.items():
            if layout == "columns":  # (a·b)ᵀ = bᵀ·aᵀ, and each column-layout array is its rows twin transposed:
                # the operands swap, their names stay (dA1 = W2ᵀ · dZ2), their shapes turn
                (left, left_shape), (right, right_shape) = (right, right_shape[::-1]), (left, left_shape[::-1])
            if (shapes[0], shapes[1]) == (left_shape, right_shape):
                continue  # the lecture's product itself: it fits
            fits = lambda shape, lecture: shape in (lecture, lecture[::-1])  # noqa: E731
            if fits(shapes[0], left_shape) and fits(shapes[1], right_shape):
                got = f"{_as_used(left, shapes[0], left_shape)} · {_as_used(right, shapes[1], right_shape)}"
            elif fits(shapes[0], right_shape) and fits(shapes[1], left_shape):
                got = f"{_as_used(right, shapes[0], right_shape)} · {_as_used(left, shapes[1], left_shape)}"
            else:
                continue
            return (f"{shapes[0]} · {shapes[1]} reads as {got}: the lecture's {result} = {left} · {right}, "
                    f"{left_shape} · {right_shape}")
    return None


def _t(name):
    return name[:-1] if name.endswith("ᵀ") else name + "ᵀ"


def _as_used(name, shape, lecture_shape):
    """The operand as the code used it: the lecture's name, transposed where its shape is the other way round."""
    return name if shape == lecture_shape else _t(name)
