"""The check: on one problem, the reference's Trace against each framework's and each implementation's, tensor
by tensor.

    result = run_check(problem, frameworks=("torch", "jax"), impls={"impl": implementation})
    result.ok, result.first_divergence, result.outcomes["torch"].comparisons, result.as_json()

An implementation is anything with run(problem) -> Trace and the attributes of
crosscheck.student.implementation.Implementation (a user's file runs in a worker process of its own there: the
reference, the frameworks and the comparison stay here).  It must return every dW and db (unless partial=True);
what it leaves out of the rest is "not provided", and the verdict counts what was checked.  Running one
implementation on every probe is crosscheck.student.runner's.
"""
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from crosscheck import adapters
from crosscheck.engine import tolerance
from crosscheck.engine.status import ERROR, MISMATCH, NOT_PROVIDED, OK, UNAVAILABLE, Outcome, nothing_checked
from crosscheck.engine.tensors import compare, first_divergence, parameter_gradients
from crosscheck.reference import Trace, backprop
from crosscheck.reference.errors import one_line
from crosscheck.reference.trace import split_name


@dataclass
class CheckOutcome(Outcome):
    """One framework's (or one implementation's) check: its status and every tensor's comparison."""

    comparisons: list = field(default_factory=list)  # crosscheck.tensors.Comparison, in computation order
    implementation: bool = False                     # a user's implementation rather than a framework
    output: dict = None                              # what the implementation printed (captured in its worker)
    trace: object = None                             # what the implementation returned, in rows (a Trace)

    @property
    def first_divergence(self):
        return first_divergence(self.comparisons)

    @property
    def provided(self):
        return sum(c.ok is not None and not c.missing for c in self.comparisons)

    @property
    def not_provided(self):
        """The tensors it did not return (required ones included), in computation order."""
        return [c.tensor for c in self.comparisons if c.status == NOT_PROVIDED or c.missing]


@dataclass
class CheckResult:
    """Every candidate checked on one problem: the reference, each tensor's tolerance, each candidate's outcome."""

    config: dict
    reference: Trace
    tolerances: dict
    outcomes: dict = field(default_factory=dict)  # name -> CheckOutcome, in the order checked

    @property
    def ok(self):
        return all(o.status in (OK, UNAVAILABLE) for o in self.outcomes.values())

    @property
    def first_divergence(self):
        """The first diverging Comparison, in the order the frameworks were checked; None when all agree."""
        return next((o.first_divergence for o in self.outcomes.values() if o.first_divergence), None)

    @property
    def compared(self):
        """The outcomes that have a tensor-by-tensor comparison (a table column each)."""
        return {name: o for name, o in self.outcomes.items() if o.comparisons}

    @property
    def checked(self):
        """The names of the frameworks and implementations that were checked (ok or mismatch)."""
        return [name for name, o in self.outcomes.items() if o.checked]

    @property
    def nothing_checked(self):
        """Why nothing was checked although something was asked for, or None (crosscheck.status)."""
        return nothing_checked(self.outcomes)

    def as_json(self):
        first = self.first_divergence
        return {
            "ok": self.ok,
            "checked": self.checked,
            "config": self.config,
            "frameworks": {name: {"status": o.status, "reason": o.reason, "version": (o.info or {}).get("version"),
                                  "info": o.info, "seconds": o.seconds,
                                  **({"output": o.output} if o.implementation else {})}
                           for name, o in self.outcomes.items()},
            "comparisons": [c.as_json() for o in self.outcomes.values() for c in o.comparisons],
            "first_divergence": None if first is None else
            {"framework": first.framework, "tensor": first.tensor, "hint": first.hint},
        }


class Expected(NamedTuple):
    """What every candidate is compared with: the reference's Trace, each tensor's tolerance, and the size of the
    terms each tensor was summed from (crosscheck.tolerance)."""
    reference: Trace
    tolerances: dict
    scales: dict


def reference_traces(net, params, X, Y, masks=None):
    """The reference's Trace, the tolerance of each of its tensors and their summand scales (crosscheck.tolerance).

    masks: the dropout masks, when the network has dropout (crosscheck.problem.Problem.masks)."""
    reference = backprop(net, params, X, Y, masks)
    if X.dtype == np.float64:
        scales = tolerance.summand_scales(net, reference)
        return Expected(reference, tolerance.tolerances(reference, scales=scales), scales)
    upcast = [tuple(P.astype(np.float64) for P in layer) for layer in params]
    masks64 = None if masks is None else [D.astype(np.float64) for D in masks]
    reference64 = backprop(net, upcast, X.astype(np.float64), Y.astype(np.float64), masks64)
    scales = tolerance.summand_scales(net, reference64)
    tolerances = tolerance.tolerances(reference, reference64, twins=[reversed_twin(net, params, X, Y, masks)],
                                      scales=scales)
    return Expected(reference, tolerances, scales)


# the tensors with one row per example (a dropout mask's too): reversed with the examples
PER_EXAMPLE = {"X", "Y", "Z", "A", "D", "Zhat", "Ztilde", "Adrop", "dZ", "dA", "dZhat", "dZtilde", "dAdrop"}


def reversed_twin(net, params, X, Y, masks=None):
    """The reference run on the examples in reverse order, its per-example rows put back in order."""
    twin = backprop(net, params, X[::-1], Y[::-1], None if masks is None else [D[::-1] for D in masks])
    for name, value in twin.items():
        if split_name(name)[0] in PER_EXAMPLE:
            twin[name] = value[::-1]
    return twin


def run_check(problem, frameworks=(), impls=None, progress=None, partial=False):
    """Compare each framework's and each implementation's Trace against the reference's.

    frameworks  names from adapters.having("check"); one that cannot load is "unavailable", with the reason
    impls       {name: implementation} (crosscheck.student.implementation); one that fails raises UserCodeError
                naming the user's file and line
    progress    called with each framework's name as it is checked, or None
    partial     an implementation need not return every dW and db (a half-written one)
    """
    net, params, X, Y = problem
    expected = reference_traces(net, params, X, Y, problem.masks)
    report = CheckResult(config=problem.config, reference=expected.reference, tolerances=expected.tolerances)
    for name in frameworks:
        if progress:
            progress(name)
        report.outcomes[name] = check_framework(name, problem, expected)
    for name, impl in (impls or {}).items():
        if progress:
            progress(name)
        report.outcomes[name] = check_implementation(name, impl, problem, expected, partial)
    return report


def check_implementation(name, impl, problem, expected, partial=False):
    """One implementation's CheckOutcome: ok, or mismatch (a tensor differs, a dW or db is missing, or it
    returned none of the names)."""
    start = time.perf_counter()
    trace = impl.run(problem)
    seconds = {"check": round(time.perf_counter() - start, 4)}
    required = () if partial else parameter_gradients(problem.net)
    comparisons = compare(name, trace, *expected, required=required, net=problem.net,
                          layout=getattr(impl, "layout", "rows"))
    J = next((c for c in comparisons if c.tensor == "J"), None)
    if J is not None and J.got_shape is not None and J.hint:
        J.hint = (f"J has shape {J.got_shape}: J is one number, the mean loss over the batch — return a float, "
                  f"or an array of shape (), (1,) or (1, 1)")
    outcome = CheckOutcome(name, implementation=True, comparisons=comparisons, seconds=seconds, output=impl.output,
                           trace=trace,
                           info={"path": impl.path, "ignored": trace.meta.get("ignored", []),
                                 "style": getattr(impl, "style", "lecture"), "layout": getattr(impl, "layout", "rows"),
                                 "entry": (getattr(impl, "description", None) or {}).get("entry"),
                                 "shapes": {k: list(v) for k, v in trace.meta.get("shapes", {}).items()}})
    outcome.status = OK if outcome.first_divergence is None and outcome.provided else MISMATCH
    if not outcome.provided:
        ignored = outcome.info["ignored"]
        outcome.reason = "returned none of the lecture's tensor names" + (
            f" (it returned {', '.join(ignored[:6])}{', …' if len(ignored) > 6 else ''})" if ignored else "")
    return outcome


def check_framework(name, problem, expected):
    """One framework's CheckOutcome: unavailable, error (our adapter broke), ok or mismatch."""
    start = time.perf_counter()
    try:
        module, info = adapters.load(name, "check")
    except adapters.Unavailable as exc:
        return CheckOutcome(name, UNAVAILABLE, reason=str(exc))
    loaded = time.perf_counter()
    try:
        trace = module.backprop(*problem, device=info["device"],
                                **({"masks": problem.masks} if problem.masks is not None else {}))
    except Exception as exc:  # an adapter that crashes is our bug; say so and go on with the others
        return CheckOutcome(name, ERROR, reason=f"{name} adapter raised {one_line(exc)}", info=info)
    # the import is paid once per process (adapters.load caches it); the check is paid per call
    seconds = {"import": round(loaded - start, 4), "check": round(time.perf_counter() - loaded, 4)}
    comparisons = compare(name, trace, *expected, net=problem.net)
    status = OK if first_divergence(comparisons) is None else MISMATCH
    return CheckOutcome(name, status, info=info, seconds=seconds, comparisons=comparisons)
