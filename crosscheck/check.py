"""One cross-check run: the reference's Trace, each framework's and each implementation's, compared.

    report = run_check(net, params, X, Y, frameworks=("torch", "jax"), impls={"impl": backprop})
    report.ok, report.first_divergence, report.as_json()
"""
import time
from dataclasses import dataclass, field

import numpy as np

import adapters
from reference import Trace, backprop

from . import tolerance
from .compare import compare
from .impl import run_impl

OK, MISMATCH, UNAVAILABLE, ERROR = "ok", "mismatch", "unavailable", "error"


@dataclass
class Report:
    config: dict
    reference: Trace
    tolerances: dict
    frameworks: dict = field(default_factory=dict)  # name -> {"status", "reason", "version", "info"}
    results: dict = field(default_factory=dict)     # name -> compare.Result

    @property
    def ok(self):
        return all(entry["status"] in (OK, UNAVAILABLE) for entry in self.frameworks.values())

    @property
    def first_divergence(self):
        """The first diverging Comparison, in the order the frameworks were checked; None when all agree."""
        return next((r.first_divergence for r in self.results.values() if not r.ok), None)

    def as_json(self):
        first = self.first_divergence
        return {
            "ok": self.ok,
            "config": self.config,
            "frameworks": {name: {k: entry.get(k) for k in ("status", "reason", "version", "info", "seconds")}
                           for name, entry in self.frameworks.items()},
            "comparisons": [c.as_json() for result in self.results.values() for c in result.comparisons],
            "first_divergence": None if first is None else
            {"framework": first.framework, "tensor": first.tensor, "hint": first.hint},
        }


def reference_traces(net, params, X, Y):
    """The reference's Trace and the tolerance of each of its tensors (crosscheck.tolerance)."""
    reference = backprop(net, params, X, Y)
    if X.dtype == np.float64:
        return reference, tolerance.tolerances(reference)
    upcast = [(W.astype(np.float64), b.astype(np.float64)) for W, b in params]
    reference64 = backprop(net, upcast, X.astype(np.float64), Y.astype(np.float64))
    return reference, tolerance.tolerances(reference, reference64, twins=[reversed_twin(net, params, X, Y)])


def reversed_twin(net, params, X, Y):
    """The reference run on the examples in reverse order, its per-example rows put back in order."""
    twin = backprop(net, params, X[::-1], Y[::-1])
    for name, value in twin.items():
        if name[:1] in "XYZA" or name[:2] in ("dZ", "dA"):  # one row per example
            twin[name] = value[::-1]
    return twin


def run_check(net, params, X, Y, frameworks=(), impls=None, config=None, progress=None):
    """Compare each framework's and each implementation's Trace against the reference's.

    frameworks  names from adapters.FRAMEWORKS; one that cannot load is "unavailable", with the reason
    impls       {name: backprop function} in the --impl interface (crosscheck.impl); an exception in
                one raises UsageError (exit 2) naming the user's file and line
    progress    called with each framework's name as it is checked, or None
    """
    reference, tolerances = reference_traces(net, params, X, Y)
    report = Report(config=config or {}, reference=reference, tolerances=tolerances)
    for name in frameworks:
        if progress:
            progress(name)
        start = time.perf_counter()
        try:
            module, info = adapters.load(name)
        except adapters.Unavailable as exc:
            report.frameworks[name] = {"status": UNAVAILABLE, "reason": str(exc), "version": None, "info": None}
            continue
        loaded = time.perf_counter()
        entry = {"status": OK, "reason": None, "version": info.get("version"), "info": info}
        try:
            trace = module.backprop(net, params, X, Y)
        except Exception as exc:  # an adapter that crashes is our bug; say so and go on with the others
            entry.update(status=ERROR, reason=f"{name} adapter raised {type(exc).__name__}: {exc}")
            report.frameworks[name] = entry
            continue
        # the import is paid once per process (adapters.load caches it); the check is paid per call
        entry["seconds"] = {"import": round(loaded - start, 4), "check": round(time.perf_counter() - loaded, 4)}
        report.results[name] = compare(name, trace, reference, tolerances)
        entry["status"] = OK if report.results[name].ok else MISMATCH
        report.frameworks[name] = entry
    for name, function in (impls or {}).items():
        if progress:
            progress(name)
        trace = run_impl(function, net, params, X, Y, name)
        result = compare(name, trace, reference, tolerances, required=False)
        report.results[name] = result
        provided = sum(c.ok is not None for c in result.comparisons)
        report.frameworks[name] = {
            "status": OK if result.ok else MISMATCH, "version": None, "info": None,
            "reason": None if provided else "returned none of the lecture's tensor names",
        }
        if not provided:
            report.frameworks[name]["status"] = MISMATCH
    return report
