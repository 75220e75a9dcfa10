"""The training comparison: the same network, start, batches and optimizer in the reference and in each
framework, every step's J and parameters compared with the reference run in that framework's convention.

    report = compare_training(problem, optimizer, schedule, frameworks=("numpy-reference", "torch"))
    report.outcomes["torch"].status, .max_param_divergence, .param_tolerance, …
"""
import time
from dataclasses import dataclass, field

import numpy as np

import adapters
from adapters import FRAMEWORKS, REFERENCE
from reference.errors import one_line
from reference.train import Run, accuracy, train

from .status import MISMATCH, OK, UNAVAILABLE, Outcome
from .tolerance import trajectory_tolerances


def convention(name):
    """The optimizer convention a framework's run follows (the reference's own is numpy's)."""
    return FRAMEWORKS["numpy" if name == REFERENCE else name].convention


@dataclass
class TrainOutcome(Outcome):
    """One framework's run against the reference's, over every step."""

    convention: str = None
    run: Run = None
    loss_gap: np.ndarray = None      # per step: |J − J_ref|
    param_gap: np.ndarray = None     # per step: max|P − P_ref| over every W and b
    loss_tolerance: float = None
    param_tolerance: float = None
    final_loss: float = None
    accuracy: float = None

    @property
    def max_loss_divergence(self):
        return float(np.max(self.loss_gap)) if self.loss_gap is not None else float("nan")

    @property
    def max_param_divergence(self):
        return float(np.max(self.param_gap)) if self.param_gap is not None else float("nan")

    def as_json(self):
        return {"status": self.status, "reason": self.reason, "convention": self.convention,
                "final_loss": self.final_loss, "accuracy": self.accuracy,
                "max_param_divergence": self.max_param_divergence if self.run else None,
                "max_loss_divergence": self.max_loss_divergence if self.run else None,
                "param_tolerance": self.param_tolerance, "loss_tolerance": self.loss_tolerance}


@dataclass
class TrainingReport:
    optimizer: object                 # reference.optim.Optimizer
    steps: int
    references: dict                  # convention -> the reference's Run in it
    outcomes: dict = field(default_factory=dict)  # name -> TrainOutcome

    @property
    def ok(self):
        return not any(o.status == MISMATCH for o in self.outcomes.values())

    @property
    def reference_run(self):
        return self.references[convention(REFERENCE)]


def runs_to_do(frameworks, dtype):
    """How many runs of the schedule compare_training makes (for a progress bar)."""
    conventions = {convention(f) for f in (REFERENCE, *frameworks)}
    return len(conventions) * (3 if np.dtype(dtype) == np.float32 else 1) + sum(f != REFERENCE for f in frameworks)


def compare_training(problem, optimizer, schedule, frameworks, on_step=None):
    """Train in each framework and compare every step with the reference run in that framework's convention.

    on_step(name, t) is called after each step of each run (a progress bar).
    """
    net, params, X, Y = problem
    on_step = on_step or (lambda name, t: None)
    references, own_drift = {}, {}
    for name in sorted({convention(f) for f in (REFERENCE, *frameworks)}):
        opt = optimizer.in_convention(name)
        references[name] = train(net, params, X, Y, opt, schedule, lambda t: on_step(REFERENCE, t))
        if X.dtype == np.float32:
            own_drift[name] = float32_spread(net, params, X, Y, opt, schedule, references[name],
                                             lambda t: on_step(REFERENCE, t))
    report = TrainingReport(optimizer, len(schedule), references)
    for name in frameworks:
        report.outcomes[name] = train_framework(name, problem, optimizer, schedule, references, own_drift, on_step)
    return report


def train_framework(name, problem, optimizer, schedule, references, own_drift, on_step):
    """One framework's TrainOutcome: unavailable, mismatch when it fails part-way, else judged step by step."""
    net, params, X, Y = problem
    rule = convention(name)
    started = time.perf_counter()
    if name == REFERENCE:
        run = references[rule]
    else:
        try:
            module, info = adapters.load(name, "train")
        except adapters.Unavailable as exc:
            return TrainOutcome(name, UNAVAILABLE, reason=str(exc).removeprefix(f"{name}: "), convention=rule)
        try:
            run = module.train(net, params, X, Y, optimizer.in_convention(rule), schedule,
                               lambda t: on_step(name, t))
        except NotImplementedError as exc:  # a combination the framework's API cannot express
            return TrainOutcome(name, UNAVAILABLE, reason=str(exc), convention=rule)
        except Exception as exc:  # the framework failed part-way: no trajectory to follow is a failure
            return TrainOutcome(name, MISMATCH, reason=f"training failed: {one_line(exc)}", convention=rule)
    outcome = judge(run, references[rule], own_drift.get(rule), X.dtype)
    outcome.framework, outcome.convention = name, rule
    outcome.seconds = {"train": time.perf_counter() - started}
    outcome.accuracy, outcome.final_loss = accuracy(net, run.final_params, X, Y), float(run.losses[-1])
    return outcome


def float32_spread(net, params, X, Y, optimizer, schedule, reference32, on_step=None):
    """How far apart correct float32 runs get: (J spread, parameter spread) over the whole run.

    Two more reference runs: in float64 from the same float32 start (the exact walk, nearly), and in
    float32 with each batch's rows in reverse order (the same mathematics, other roundings).  The spread
    is the larger distance of either from reference32.
    """
    up = [(W.astype(np.float64), b.astype(np.float64)) for W, b in params]
    run64 = train(net, up, X.astype(np.float64), Y.astype(np.float64), optimizer, schedule, on_step)
    reversed32 = train(net, params, X, Y, optimizer, [rows[::-1] for rows in schedule], on_step)
    gaps = [divergence(reference32, other) for other in (run64, reversed32)]
    return tuple(max(float(np.max(g[i])) for g in gaps) for i in (0, 1))


def divergence(run, reference):
    """Per step: |J − J_ref| and max|P − P_ref| over every W and b — two arrays of shape (steps,)."""
    loss = np.abs(np.asarray(run.losses, np.float64) - reference.losses)
    param = np.array([max(float(np.max(np.abs(np.asarray(p, np.float64) - q)))
                          for pair, pair_ref in zip(after, after_ref) for p, q in zip(pair, pair_ref))
                      for after, after_ref in zip(run.history, reference.history)])
    return loss, param


def judge(run, reference, own_drift, dtype):
    """A TrainOutcome, ok or mismatch: every step's J and every parameter within the run's tolerances (NaN fails)."""
    if len(run.losses) != len(reference.losses):
        return TrainOutcome(run.framework, MISMATCH, run=run,
                            reason=f"{len(run.losses)} steps recorded, expected {len(reference.losses)}")
    loss_gap, param_gap = divergence(run, reference)
    param_scale = max(float(np.max(np.abs(p))) for after in reference.history for pair in after for p in pair)
    loss_tol, param_tol = trajectory_tolerances(reference.losses, param_scale, own_drift, dtype)
    loss_div, param_div = float(np.max(loss_gap)), float(np.max(param_gap))
    reason = (f"max|ΔW| {param_div:.1e} > {param_tol:.1e}" if not param_div <= param_tol
              else f"max|ΔJ| {loss_div:.1e} > {loss_tol:.1e}" if not loss_div <= loss_tol else None)
    return TrainOutcome(run.framework, MISMATCH if reason else OK, reason=reason, run=run, loss_gap=loss_gap,
                        param_gap=param_gap, loss_tolerance=loss_tol, param_tolerance=param_tol)
