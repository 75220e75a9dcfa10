"""A candidate Trace against the reference, tensor by tensor, in computation order.

Per tensor: shape check, max|Δ|, max|Δ| / max|ref|, the tolerance (crosscheck.tolerance), a verdict.
NaN or inf never passes.  The first tensor that diverges is the one to look at — everything computed
from it inherits its error — so it alone gets a diagnosis (crosscheck.diagnose) naming the probable cause.
"""
from dataclasses import dataclass

import numpy as np

from reference.trace import computed_names

from .diagnose import diagnose
from .status import MISMATCH, NOT_PROVIDED, OK


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
    hint: str = None          # the probable cause, for the first divergence only
    downstream: bool = False  # fails after an earlier tensor of the same framework already failed

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


def compare(framework, candidate, reference, tolerances, scales=None, required=True):
    """[Comparison, …]: candidate (a Trace or dict) against the reference Trace, tensor by tensor in order.

    tolerances  {name: tol} from crosscheck.tolerance
    scales      {name: (S, n)}: the terms each tensor was summed from (crosscheck.tolerance.summand_scales)
    required    False for a user's implementation: a tensor it leaves out is "not provided", not failed
    """
    comparisons, first = [], None
    for name in computed_names(reference.L):
        ref = np.asarray(reference[name])
        comparison = Comparison(framework, name, ref.shape, tolerance=tolerances[name])
        if name not in candidate:
            comparison.status = MISMATCH if required else NOT_PROVIDED
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
                comparison.hint = diagnose(name, candidate, reference, comparison, scales)
            else:
                comparison.downstream = True
        comparisons.append(comparison)
    return comparisons
