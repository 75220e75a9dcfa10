"""Diagnoses for the next lecture's layers: what a diverging dropout or batch-norm tensor's numbers say.

    hint(ctx)                    one line for a recognised mistake (crosscheck.diagnose calls it first), or None
    shape_hint(name, got, …)     dgamma, dbeta of the wrong shape: summed over the wrong axis
    local_reference(name, …)     the lecture's formula on the candidate's own upstream tensors, for every tensor
                                 of a network with dropout or batch norm (reference.network)

Names: D (mask), Adrop = A ⊙ D / keep_prob, dAdrop, dA = dAdrop ⊙ D / keep_prob; mu, var (the batch's, biased),
Zhat = (Z − mu) / √(var + ε) (rmu, rvar at inference), Ztilde = γ Zhat + β, dZtilde, dgamma, dbeta, dZhat, dZ.
"""

import numpy as np

from crosscheck.reference.trace import split_name


def extended(net):
    """Whether the network has the next lecture's layers (dropout or batch norm)."""
    return net is not None and (net.keep_prob < 1 or net.batch_norm)


def hint(ctx):
    """A recognised dropout or batch-norm mistake in ctx (crosscheck.diagnose._Context), or None."""
    net = ctx.net
    if not extended(net):
        return None
    kind, l = split_name(ctx.name)
    value = getter(ctx.candidate, ctx.reference)
    p, eps, m = net.keep_prob, net.bn_eps, ctx.m
    if kind == "Adrop" and l is not None:
        A, D = value(f"A{l}"), value(f"D{l}")
        if ctx.close(ctx.got, A * D):
            return (f"Adrop{l} = A{l} ⊙ D{l} without the 1/keep_prob: inverted dropout divides the kept units by "
                    f"keep_prob = {p:g}, so that the expected activation stays A{l} (and dA by the same on the way back)")
        if ctx.close(ctx.got, A):
            return f"Adrop{l} = A{l}: the dropout mask D{l} was never applied (Adrop = A ⊙ D / keep_prob)"
    if kind == "dA" and net.dropout(l):
        dAdrop, D = value(f"dAdrop{l}"), value(f"D{l}")
        if ctx.close(ctx.got, dAdrop):
            return (f"dA{l} = dAdrop{l}: the dropout mask D{l} was not applied on the way back — the units the forward "
                    f"pass dropped pass no gradient (dA = dAdrop ⊙ D / keep_prob)")
        if ctx.close(ctx.got, dAdrop * D):
            return f"dA{l} = dAdrop{l} ⊙ D{l} without the 1/keep_prob: the backward pass scales like the forward pass"
        mask = _mask_of(ctx.got * p, dAdrop, ctx.pattern_rtol)
        if mask is not None and not np.array_equal(mask[dAdrop != 0], D[dAdrop != 0]):
            return (f"dA{l} is dAdrop{l} through another mask than D{l}: the backward pass must reuse the forward "
                    f"pass's mask (keep D{l} in the cache), not draw a new one")
    if kind == "var" and m > 1 and ctx.close(ctx.got, ctx.ref * m / (m - 1)):
        return (f"var{l} is m/(m − 1) = {m}/{m - 1} × the lecture's: the unbiased variance (ddof=1); batch norm "
                f"normalizes with the biased Σ(Z − μ)²/m (torch keeps the unbiased one only in its running average)")
    if kind == "Zhat":
        Z = value(f"Z{l}")
        if net.training:
            mu, var = value(f"mu{l}"), value(f"var{l}")
            if m > 1 and ctx.close(ctx.got, (Z - mu) / np.sqrt(var * m / (m - 1) + eps)):
                return (f"Zhat{l} is normalized with the unbiased variance (ddof=1): batch norm divides by √(σ² + ε) "
                        f"with the biased σ² = Σ(Z − μ)²/m")
            if ctx.close(ctx.got, (Z - value(f"rmu{l}")) / np.sqrt(value(f"rvar{l}") + eps)):
                return f"Zhat{l} uses the running averages in a training pass: training normalizes with the batch's μ, σ²"
            if ctx.close(ctx.got, (Z - mu) / np.sqrt(var)):
                return f"Zhat{l} = (Z{l} − μ)/√σ²: ε is missing (√(σ² + ε), ε = {eps:g})"
            if ctx.close(ctx.got, (Z - mu) / (np.sqrt(var) + eps)):
                return f"Zhat{l} = (Z{l} − μ)/(√σ² + ε): ε belongs inside the root, √(σ² + ε)"
        else:
            mu = Z.mean(axis=0, keepdims=True)
            var = ((Z - mu) ** 2).mean(axis=0, keepdims=True)
            if ctx.close(ctx.got, (Z - mu) / np.sqrt(var + eps)) or m > 1 and ctx.close(
                    ctx.got, (Z - mu) / np.sqrt(var * m / (m - 1) + eps)):
                return (f"Zhat{l} is normalized with the batch's own μ and σ² in an inference pass: at inference batch "
                        f"norm uses the running averages rmu{l}, rvar{l} (model.eval(), training=False)")
    if kind == "dZhat" and ctx.close(ctx.got, value(f"dZtilde{l}")):
        return f"dZhat{l} = dZtilde{l}: γ is missing (dẐ = dZ̃ ⊙ γ)"
    if kind == "dZ" and net.normalized(l):
        dZhat = value(f"dZhat{l}")
        if net.training and ctx.close(ctx.got, dZhat / np.sqrt(value(f"var{l}") + eps)):
            return (f"dZ{l} = dZhat{l}/√(σ² + ε): the gradient through μ and σ² is missing — every row moves the batch's "
                    f"statistics: dZ = (dẐ − mean(dẐ) − Ẑ ⊙ mean(dẐ ⊙ Ẑ))/√(σ² + ε)")
    if kind == "Z" and l is not None and l > 1 and not net.training and net.keep_prob < 1 \
            and ctx.statuses.get(f"A{l - 1}") is True:
        return (f"Z{l} differs while A{l - 1} agrees, in an inference pass of a network with dropout: is dropout still "
                f"on? At inference every unit is used, unscaled — inverted dropout did its scaling in training")
    return None


def _mask_of(got, dA, rtol):
    """M with got = dA ⊙ M and M of 0s and 1s wherever dA is not 0; None when there is none."""
    nonzero = dA != 0
    if not np.any(nonzero):
        return None
    ratio = np.zeros_like(dA)
    ratio[nonzero] = got[nonzero] / dA[nonzero]
    if not np.all((np.abs(ratio) <= rtol) | (np.abs(ratio - 1) <= rtol)):
        return None
    return np.round(ratio)


def shape_hint(name, got, ref, m, layout="rows"):
    """dgamma or dbeta of another shape than (1, n): summed over the wrong axis, or not summed."""
    kind, l = split_name(name)
    if kind not in ("dgamma", "dbeta"):
        return None
    batch, units = ("axis=0", "axis=1") if layout == "rows" else ("axis=1", "axis=0")
    terms = "dZtilde * Zhat" if kind == "dgamma" else "dZtilde"
    formula = f"np.sum({terms}, {batch}, keepdims=True) / m"
    shown = tuple(got.shape)[::-1] if layout == "columns" and got.ndim == 2 else tuple(got.shape)
    n = ref.shape[1]
    if got.shape == (m, 1) and m != 1:
        return (f"{name} has shape {shown}: summed over the units ({units}); "
                f"{'γ' if kind == 'dgamma' else 'β'} is one number per unit, its gradient sums over the batch — {formula}")
    if got.shape == (m, n):
        return f"{name} has shape {shown}: sum over the batch — {formula}"
    if got.shape == (n,):
        return f"{name} has shape {shown}: keep the batch axis — {formula.replace(' / m', '')} gives (1, {n})"
    return None


def getter(candidate, reference):
    """get(name): the candidate's tensor where it has one of the reference's shape, else the reference's (NaN for a
    tensor the reference does not have)."""
    def get(name):
        if name in candidate and name in reference.tensors and np.shape(candidate[name]) == np.shape(reference[name]):
            return np.asarray(candidate[name], np.float64)
        return np.asarray(reference[name], np.float64) if name in reference.tensors else np.nan
    return get
