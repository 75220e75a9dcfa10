"""A candidate Trace against the reference, tensor by tensor, in computation order.

Per tensor: shape check, max|Δ|, max|Δ| / max|ref|, the tolerance (crosscheck.tolerance), a verdict.
NaN or inf never passes.  The first tensor that diverges is the one to look at, and gets a diagnosis
(crosscheck.diagnose) naming the probable cause.  A later tensor that fails is "downstream" (↳) only when it is
what the lecture's formula gives on the candidate's own upstream tensors — it only inherits the first error — and
those upstream tensors are real: every one the formula reads was returned, in the reference's shape, finite, and
not degenerate (not constant where the reference's is not: zeros, a constant).  A tensor with NaN or inf is never
↳; in a candidate that transposed every matrix, a tensor is ↳ only when its transpose agrees with the reference.
Otherwise it has a mistake of its own and gets a diagnosis of its own.  So a submission that computes nothing —
NaN, zeros, noise, a constant, its inputs echoed — inherits nothing.

A required tensor that is missing fails (for an implementation: every dW and db, unless it is partial).
"""
from dataclasses import dataclass

import numpy as np

from crosscheck.engine.diagnose import diagnose, layout_hint, local_reference, missing_hint
from crosscheck.engine.status import MISMATCH, NOT_PROVIDED, OK
from crosscheck.reference.trace import computed_names, parameter_names


@dataclass
class Comparison:
    """One tensor of one framework against the reference."""

    framework: str
    tensor: str
    shape: tuple              # the reference's (the lecture's) shape
    max_abs: float = None     # max|T − T_ref|; None when the shapes differ or the tensor is missing
    max_rel: float = None     # max|T − T_ref| / max|T_ref|
    tolerance: float = None
    status: str = OK          # ok, mismatch, not provided
    got_shape: tuple = None   # the candidate's shape when it differs
    hint: str = None          # the probable cause: the first divergence's, and a later one's own
    downstream: bool = False  # fails only because an earlier tensor of the same framework failed (inherited)
    missing: bool = False     # a required tensor that was not returned

    @property
    def ok(self):
        return None if self.status == NOT_PROVIDED else self.status == OK

    def as_json(self):
        return {"framework": self.framework, "tensor": self.tensor, "shape": list(self.shape),
                "max_abs": self.max_abs, "max_rel": self.max_rel, "tolerance": self.tolerance,
                "ok": self.ok, "status": self.status, "hint": self.hint,
                **({"got_shape": list(self.got_shape)} if self.got_shape is not None else {})}


def first_divergence(comparisons):
    """The first Comparison that fails, or None."""
    return next((c for c in comparisons if c.ok is False), None)


def measure(candidate, reference):
    """(max_abs, max_rel) of two arrays of one shape; inf when the candidate has NaN or inf."""
    candidate = np.asarray(candidate, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if candidate.size == 0:
        return 0.0, 0.0
    if not np.all(np.isfinite(candidate)):
        return float("inf"), float("inf")
    max_abs = float(np.max(np.abs(candidate - reference)))
    scale = float(np.max(np.abs(reference)))
    return max_abs, (max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf")))


def parameter_gradients(net):
    """dW1, db1, …, dWL, dbL (dgamma, dbeta for a batch-norm layer): what an implementation must return unless it
    is partial.  net: a Network, or L for the lecture's plain network."""
    return parameter_names(net)


def compare(framework, candidate, reference, tolerances, scales=None, required=True, net=None, layout="rows"):
    """[Comparison, …]: candidate (a Trace or dict) against the reference Trace, tensor by tensor in order.

    tolerances  {name: tol} from crosscheck.tolerance
    scales      {name: (S, n)}: the terms each tensor was summed from (crosscheck.tolerance.summand_scales)
    required    True: every tensor (an adapter); False: none — a tensor left out is "not provided"; or the
                names that must be there (an implementation: parameter_gradients(L))
    net         the Network (for the diagnoses' L2 and local references); None: from the reference's meta
    layout      the implementation's layout, for the hints (its arrays arrive here in rows)
    """
    names = computed_names(net if net is not None else reference.L)
    must = set(names) if required is True else set(required or ())
    ignored = list(getattr(candidate, "meta", {}).get("ignored", []))
    missing = [name for name in names if name in must and name not in candidate]
    transposed = _all_transposed(candidate, reference, names)
    comparisons, first, statuses = [], None, {}
    for name in names:
        ref = np.asarray(reference[name])
        comparison = Comparison(framework, name, ref.shape, tolerance=tolerances[name])
        if name not in candidate:
            comparison.status = MISMATCH if name in must else NOT_PROVIDED
            comparison.missing = name in must
        else:
            got = np.asarray(candidate[name])
            if got.shape != ref.shape:
                comparison.status, comparison.got_shape = MISMATCH, got.shape
            else:
                comparison.max_abs, comparison.max_rel = measure(got, ref)
                if not (np.isfinite(comparison.max_abs) and comparison.max_abs <= comparison.tolerance):
                    comparison.status = MISMATCH  # NaN or inf never passes, whatever the tolerance
        if comparison.ok is False:
            if first is None:
                first = comparison
                if comparison.missing:
                    comparison.hint = missing_hint(missing, reference.L, ignored)
                elif transposed:
                    comparison.hint = layout_hint(layout)
                else:
                    comparison.hint = diagnose(name, candidate, reference, comparison, scales, net, statuses,
                                               layout=layout)
            elif not comparison.missing:
                _judge_later(comparison, candidate, reference, scales, net, statuses, layout, transposed)
        statuses[name] = comparison.ok
        comparisons.append(comparison)
    return comparisons


def _judge_later(comparison, candidate, reference, scales, net, statuses, layout, transposed):
    """A tensor failing after the first divergence: inherited (↳), or a mistake of its own with its diagnosis."""
    name = comparison.tensor
    got = np.asarray(candidate[name])
    ref = np.asarray(reference[name])
    if transposed and got.ndim == 2 and got.T.shape == ref.shape:  # one layout mix-up: its transpose must agree
        max_abs, _ = measure(got.T, ref)
        if np.isfinite(max_abs) and max_abs <= comparison.tolerance:
            comparison.downstream = True
            return
        if comparison.got_shape is not None:
            comparison.hint = (f"transposed like the others, and wrong besides: its transpose is not the reference "
                               f"either (max|Δ| {max_abs:.3g} > tolerance {comparison.tolerance:.3g})")
            return
    if comparison.got_shape is not None:
        comparison.hint = diagnose(name, candidate, reference, comparison, scales, net, statuses, layout=layout)
        return
    read = _Reads(candidate)
    local = local_reference(name, read, reference, net)
    got = got.astype(np.float64)
    if (local is not None and np.all(np.isfinite(got)) and np.all(np.isfinite(local))
            and np.shape(local) == got.shape and _real_upstream(read.names, candidate, reference)):
        float32 = np.asarray(reference["X"]).dtype == np.float32
        scale = max(float(np.max(np.abs(local))) if np.size(local) else 0.0, comparison.tolerance)
        if float(np.max(np.abs(got - local))) <= (1e-4 if float32 else 1e-8) * scale + comparison.tolerance:
            comparison.downstream = True
            return
    comparison.hint = diagnose(name, candidate, reference, comparison, scales, net, statuses,
                               ref=local if local is not None and np.all(np.isfinite(local)) else None,
                               layout=layout)


class _Reads:
    """The candidate, noting every tensor the local reference looks up in it (its upstream tensors)."""

    def __init__(self, candidate):
        self.candidate, self.names = candidate, []

    def __contains__(self, name):
        self.names.append(name)
        return name in self.candidate

    def __getitem__(self, name):
        return self.candidate[name]

    def __getattr__(self, attribute):  # meta and the like
        return getattr(self.candidate, attribute)


def _real_upstream(names, candidate, reference):
    """Whether every upstream tensor the local reference read of the candidate is real: finite, and not constant
    where the reference's is not (zeros, a constant are nothing computed).  One the candidate did not return (a
    course's grads have no dZ) was worked out by the lecture's formula from the ones it did, which are read and
    judged in turn — from the inputs alone it is the reference's own, and then nothing it explains can be wrong."""
    for name in dict.fromkeys(names):
        if name not in reference.tensors:
            continue
        ref = np.asarray(reference[name], np.float64)
        if name not in candidate or np.shape(candidate[name]) != ref.shape:
            continue
        got = np.asarray(candidate[name], np.float64)
        if not np.all(np.isfinite(got)):
            return False
        if got.size > 1 and np.ptp(got) == 0 and np.ptp(ref) > 0:
            return False
        if got.size == 1 and got.item() == 0 and ref.item() != 0:
            return False
    return True


def _all_transposed(candidate, reference, names):
    """Every 2-D tensor the candidate returned that is not square has the reference's shape transposed."""
    seen = 0
    for name in names:
        if name not in candidate:
            continue
        got, ref = np.shape(candidate[name]), np.shape(reference[name])
        if len(ref) != 2 or ref[0] == ref[1] or 1 in ref:
            continue
        if got != ref[::-1]:
            return False
        seen += 1
    return seen >= 2
