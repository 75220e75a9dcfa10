"""The training comparison: the same network, start, batches and optimizer in the reference and in each
framework, every step's J and parameters compared with the reference run in that framework's convention,
within what the reference's own twins show (crosscheck.tolerance, "Trajectories").

    report = compare_training(problem, optimizer, schedule, frameworks=("numpy-reference", "torch"))
    report.outcomes["torch"].status, .max_param_divergence, .tolerance.chaos_step, …

Memory stays flat in the number of steps: nothing keeps a step's parameters past that step.  The twins
run in lockstep with the reference (measure_envelope), and each framework's run is followed by a
reference run of its own, advanced one step each time the framework reports one (follow); what is
kept per step is a handful of distances.
"""
import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from crosscheck import adapters
from crosscheck.adapters import FRAMEWORKS, REFERENCE
from crosscheck.engine.status import MISMATCH, OK, UNAVAILABLE, Outcome
from crosscheck.engine.tolerance import (
    END_FRACTION,
    TrajectoryTolerance,
    end_tolerance,
    trajectory_tolerance,
)
from crosscheck.reference.errors import one_line
from crosscheck.reference.train import Run, Stepper, accuracy, as_schedule

TWINS = ("rows reversed", "start nudged one ulp", "hidden units permuted")
EXACT_TWIN = "in float64"     # a float32 run's fourth twin
END_SAMPLES = 21  # accuracy is measured at this many steps of the last tenth (J at every one of them)


def convention(name):
    """The optimizer convention a framework's run follows (the reference's own is numpy's)."""
    return FRAMEWORKS["numpy" if name == REFERENCE else name].convention


class Twin:
    """The reference's run under a rounding-level perturbation, stepped like the reference; .params in the
    reference's layout.  See twins()."""

    def __init__(self, label, stepper, back=None):
        self.label, self.stepper, self.back = label, stepper, back

    def step(self):
        return self.stepper.step()

    @property
    def params(self):
        return self.back(self.stepper.params) if self.back else self.stepper.params


def twins(problem, optimizer, schedule, seed=0):
    """The reference's twins: the same run, the same mathematics, other roundings.

    rows reversed          each batch's rows in reverse order: other roundings in every sum over rows (dW, db, J)
    start nudged one ulp   every nonzero entry of every W and b moved to the next float, up or down at random
                           (a batch of one row has nothing to reverse; this twin always differs).  Zeros stay:
                           every framework starts from the same exact zeros, and the float after 0 is a
                           subnormal that would move an input at the origin off ReLU's kink — not rounding
    hidden units permuted  each hidden layer's units in another order (W's columns, b, the next W's rows):
                           other roundings in every sum over units (Z = A W, dA = dZ Wᵀ)
    in float64             (float32 runs only) the same run in float64 from the same start: the exact walk,
                           nearly.  Part of a float32 step's rounding is the same in every row order — each
                           A − Y rounded the same way, a cancelling db = Σ_rows dZ / m off by a few per cent —
                           and a framework computing it otherwise differs by that much, not by what a
                           reordering shows; the reference's distance from the exact walk measures it
    """
    net, params, X, Y = problem
    rng = np.random.default_rng(seed)
    schedule = as_schedule(schedule, X.shape[0]).like(stopping=None)  # the twins stop where the reference stops

    def nudge(P):
        direction = np.full_like(P, np.inf)
        direction[rng.random(P.shape) < 0.5] = -np.inf
        return np.where(P != 0, np.nextafter(P, direction), P)

    orders = [rng.permutation(n) for n in net.sizes[1:-1]]
    undo = [np.argsort(order) for order in orders]

    def permute(params, orders):
        """Hidden layer l's units in orders[l − 1]: W[l]'s columns and its b (γ, β, μ_run, σ²_run), W[l + 1]'s rows."""
        out = []
        for l, (W, *vectors) in enumerate(params):
            rows = orders[l - 1] if l > 0 else slice(None)
            columns = orders[l] if l < len(orders) else slice(None)
            out.append((W[rows][:, columns], *(v[:, columns] for v in vectors)))
        return out

    made = [Twin(TWINS[0], Stepper(net, params, X, Y, optimizer, schedule.like([rows[::-1] for rows in schedule]))),
            Twin(TWINS[1], Stepper(net, [tuple(nudge(P) for P in layer) for layer in params], X, Y, optimizer,
                                   schedule))]
    if orders:  # the dropout masks follow the units: a twin's unit j is the reference's unit orders[l][j]
        made.append(Twin(TWINS[2], Stepper(net, permute(params, orders), X, Y, optimizer,
                                           schedule.like(unit_orders=orders)),
                         lambda params: permute(params, undo)))
    if X.dtype == np.float32:
        up = [tuple(P.astype(np.float64) for P in layer) for layer in params]
        made.append(Twin(EXACT_TWIN, Stepper(net, up, X.astype(np.float64), Y.astype(np.float64), optimizer, schedule)))
    return made


def distance(params, reference):
    """max|P − P_ref| over every W and b (NaN if any is NaN); parameters of another shape are an error."""
    worst = []
    for pair, pair_ref in zip(params, reference, strict=True):
        for P, Q in zip(pair, pair_ref, strict=True):
            P = np.asarray(P)
            if P.shape != Q.shape:
                raise ValueError(f"parameters of shape {P.shape} reported where the reference has {Q.shape}")
            worst.append(np.max(np.abs(P.astype(np.float64) - Q), initial=0.0))
    return float(np.max(worst))


def magnitude(params):
    return float(np.max([np.max(np.abs(P), initial=0.0) for pair in params for P in pair]))


class EndState:
    """A run's end state, kept as it goes: J at every step of its last tenth, the training accuracy at about
    END_SAMPLES of them (every stride-th step, and the last); summary() gives their medians.

    The last tenth is of the steps planned (the schedule's); a run that early stopping ends sooner is summarised
    over as many steps before its own end, so memory stays flat and nothing needs to know the end in advance.
    """

    def __init__(self, net, X, Y, steps):
        self.net, self.X, self.Y = net, X, Y
        self.window = max(1, math.ceil(steps * END_FRACTION))
        self.stride = max(1, self.window // (END_SAMPLES - 1))
        self.losses = deque(maxlen=self.window)
        self.sampled = deque(maxlen=self.window // self.stride + 1)   # (t, accuracy)
        self.last = None                                               # (t, params) of the last step seen

    def record(self, t, J, params):
        self.losses.append(J)
        if t % self.stride == 0:
            self.sampled.append((t, accuracy(self.net, params, self.X, self.Y)))
        self.last = (t, params)

    @property
    def accuracies(self):
        """The accuracies sampled in the last tenth, the last step's included."""
        t_last, params = self.last
        kept = [acc for t, acc in self.sampled if t > t_last - self.window and t != t_last]
        return kept + [self.sampled[-1][1] if self.sampled and self.sampled[-1][0] == t_last
                       else accuracy(self.net, params, self.X, self.Y)]

    def summary(self):
        """(median J, median accuracy) of the last tenth of the steps."""
        return float(np.median(self.losses)), float(np.median(self.accuracies))

    def spread(self):
        """(interquartile range of J, of the accuracy) over the last tenth of the steps."""
        return tuple(float(np.subtract(*np.percentile(values, [75, 25]))) for values in (self.losses, self.accuracies))

    @property
    def steps(self):
        return len(self.losses)


@dataclass
class Envelope:
    """The reference run in one convention and what its twins show, step by step (scalars only)."""

    convention: str
    run: Run                   # the reference's run: J per step, final parameters
    param_spread: np.ndarray   # per step: max over twins of max|P_twin − P_ref|
    loss_spread: np.ndarray    # per step: max over twins of |J_twin − J_ref|
    param_scale: np.ndarray    # per step: max|P_ref| after the step
    end: tuple                 # (median J, median accuracy) of the reference's last tenth
    twin_ends: list            # the same for each twin
    end_steps: int             # how many steps the last tenth is
    tolerance: TrajectoryTolerance
    seconds: float = None      # how long the reference and its twins took
    planned: int = None        # the steps the schedule has (early stopping may have ended the run before)
    steps_per_epoch: int = 1

    @property
    def stopped_early(self):
        """The epoch early stopping ended the reference's run after, or None."""
        return self.run.meta.get("stopped_epoch")

    @property
    def scale(self):
        """max|P| over every W and b the reference run visited."""
        return float(np.max(self.param_scale))

    @property
    def self_disagreement(self):
        """The most the twins ever differ from the reference in any W or b."""
        return float(np.max(self.param_spread))


def measure_envelope(problem, optimizer, schedule, on_step=None):
    """The reference run and its twins in lockstep: an Envelope with its tolerances (crosscheck.tolerance).

    on_step(t) after each step of each of the runs (a progress bar).
    """
    net, params, X, Y = problem
    on_step = on_step or (lambda t: None)
    started = time.perf_counter()
    schedule = as_schedule(schedule, X.shape[0])
    planned = len(schedule)
    reference = Stepper(net, params, X, Y, optimizer, schedule)
    others = twins(problem, optimizer, schedule)
    ends = [EndState(net, X, Y, planned) for _ in range(1 + len(others))]
    losses, loss_spread, loss_scale, param_spread, param_scale = (np.empty(planned) for _ in range(5))
    while not reference.done:  # the schedule, or until early stopping ends the reference's run
        J = reference.step()
        t = reference.t
        losses[t - 1] = J
        ends[0].record(t, J, reference.params)
        on_step(t)
        loss_spread[t - 1] = param_spread[t - 1] = 0.0
        for twin, end in zip(others, ends[1:]):
            J_twin = twin.step()
            end.record(t, J_twin, twin.params)
            on_step(t)
            # np.fmax would drop a NaN; max() over NaN depends on the order: spell it out
            loss_spread[t - 1] = np.max([loss_spread[t - 1], abs(J_twin - J)])
            param_spread[t - 1] = np.max([param_spread[t - 1], distance(twin.params, reference.params)])
        param_scale[t - 1] = magnitude(reference.params)
        loss_scale[t - 1] = max(abs(J), reference.logit_scale)
    steps = reference.t
    losses, loss_spread, loss_scale, param_spread, param_scale = (a[:steps] for a in (
        losses, loss_spread, loss_scale, param_spread, param_scale))
    tolerance = trajectory_tolerance(param_spread, loss_spread, param_scale, loss_scale, X.dtype)
    summaries = [end.summary() for end in ends]
    if tolerance.chaos_step is not None:
        tolerance.end_loss, tolerance.end_accuracy = end_tolerance(summaries[0], summaries[1:], ends[0].spread(),
                                                                   X.dtype, X.shape[0])
    meta = {"optimizer": optimizer.describe()}
    if reference.patience:
        meta["stopped_epoch"] = reference.patience.stopped_epoch
    run = Run(REFERENCE, losses, reference.params, meta)
    return Envelope(optimizer.convention, run, param_spread, loss_spread, param_scale, summaries[0], summaries[1:],
                    ends[0].steps, tolerance, time.perf_counter() - started, planned, schedule.steps_per_epoch)


@dataclass
class TrainOutcome(Outcome):
    """One framework's run against the reference's: every step before the chaos step, and the end state."""

    convention: str = None
    run: Run = None
    envelope: Envelope = None        # the reference run in this convention and its twins' spread
    loss_gap: np.ndarray = None      # per step: |J − J_ref|
    param_gap: np.ndarray = None     # per step: max|P − P_ref| over every W and b
    end: tuple = None                # (median J, median accuracy) over the last tenth of the steps
    final_loss: float = None
    accuracy: float = None           # on the training data, in an inference pass
    split_accuracy: dict = None      # {"dev": …, "test": …} when the data set was split
    failed_step: int = None          # the first step outside the tolerance
    hint: str = None                 # what the update at that step says (step_hint)

    @property
    def tolerance(self):
        return self.envelope.tolerance if self.envelope else None

    @property
    def chaos_step(self):
        return self.tolerance.chaos_step if self.envelope else None

    @property
    def compared(self):
        """The steps compared one by one (before the chaos step)."""
        return slice(0, self.tolerance.compared_steps)

    def _largest(self, values):
        values = values[self.compared] if values is not None else []
        return float(np.max(values)) if len(values) else float("nan")

    @property
    def max_loss_divergence(self):
        """The largest |ΔJ| over the steps compared one by one."""
        return self._largest(self.loss_gap)

    @property
    def max_param_divergence(self):
        """The largest max|ΔW| over the steps compared one by one."""
        return self._largest(self.param_gap)

    @property
    def loss_tolerance(self):
        """The tolerance on |ΔJ| at the last step compared one by one (it only grows)."""
        return self._largest(self.tolerance.loss) if self.envelope else None

    @property
    def param_tolerance(self):
        return self._largest(self.tolerance.param) if self.envelope else None

    @property
    def steps(self):
        """The steps the run took (fewer than the schedule's when early stopping ended it)."""
        return len(self.run.losses) if self.run is not None else None

    @property
    def stopped_epoch(self):
        """The epoch early stopping ended this run after, or None (it ran its schedule)."""
        if self.run is None or self.envelope is None or self.steps >= self.envelope.planned:
            return None
        return math.ceil(self.steps / self.envelope.steps_per_epoch)

    def as_json(self):
        compared = self.run is not None and self.envelope is not None
        tol = self.tolerance
        splits = self.split_accuracy or {}
        return {"status": self.status, "reason": self.reason, "convention": self.convention,
                "final_loss": self.final_loss, "accuracy": self.accuracy,
                "dev_accuracy": splits.get("dev"), "test_accuracy": splits.get("test"),
                "steps": self.steps, "stopped_epoch": self.stopped_epoch, "failed_step": self.failed_step,
                "hint": self.hint,
                "max_param_divergence": self.max_param_divergence if compared else None,
                "max_loss_divergence": self.max_loss_divergence if compared else None,
                "param_tolerance": self.param_tolerance if compared else None,
                "loss_tolerance": self.loss_tolerance if compared else None,
                "tolerance": {"W": self.param_tolerance, "J": self.loss_tolerance,
                              "end_J": tol.end_loss, "end_accuracy": tol.end_accuracy} if compared else None,
                "chaos_step": self.chaos_step if compared else None,
                "compared_steps": tol.compared_steps if compared else None,
                "param_scale": self.envelope.scale if self.envelope else None,
                "end_state": self._end_json() if compared and tol.chaos_step is not None else None}

    def _end_json(self):
        (J, acc), (J_ref, acc_ref) = self.end, self.envelope.end
        return {"steps": self.envelope.end_steps, "median_J": J, "median_J_reference": J_ref,
                "median_accuracy": acc, "median_accuracy_reference": acc_ref}


@dataclass
class TrainingReport:
    optimizer: object                 # reference.optim.Optimizer
    steps: int
    envelopes: dict                   # convention -> Envelope: the reference's run in it and its twins' spread
    outcomes: dict = field(default_factory=dict)  # name -> TrainOutcome

    @property
    def ok(self):
        return not any(o.status == MISMATCH for o in self.outcomes.values())

    @property
    def reference_run(self):
        return self.envelopes[convention(REFERENCE)].run


def twin_labels(net, dtype):
    """The twins a run of net in dtype gets (see twins())."""
    return [TWINS[0], TWINS[1]] + ([TWINS[2]] if net.L > 1 else []) + ([EXACT_TWIN] if np.dtype(dtype) == np.float32 else [])


def runs_to_do(frameworks, net, dtype):
    """How many runs of the schedule compare_training makes (for a progress bar): the reference and its
    twins in each convention, then each framework (its lockstep reference is counted with it)."""
    conventions = {convention(f) for f in (REFERENCE, *frameworks)}
    return len(conventions) * (1 + len(twin_labels(net, dtype))) + sum(f != REFERENCE for f in frameworks)


def compare_training(problem, optimizer, schedule, frameworks, on_step=None):
    """Train in each framework and compare it with the reference run in that framework's convention.

    on_step(name, t) is called after each step of each run (a progress bar).
    """
    on_step = on_step or (lambda name, t: None)
    envelopes = {}
    for name in sorted({convention(f) for f in (REFERENCE, *frameworks)}):
        envelopes[name] = measure_envelope(problem, optimizer.in_convention(name), schedule,
                                           lambda t: on_step(REFERENCE, t))
    report = TrainingReport(optimizer, len(schedule), envelopes)
    for name in frameworks:
        report.outcomes[name] = train_framework(name, problem, optimizer, schedule, envelopes, on_step)
    return report


def train_framework(name, problem, optimizer, schedule, envelopes, on_step=None):
    """One framework's TrainOutcome: unavailable, mismatch when it fails part-way, else judged."""
    net, params, X, Y = problem
    rule = convention(name)
    envelope = envelopes[rule]
    started = time.perf_counter()
    if name == REFERENCE:
        steps = len(envelope.run.losses)
        outcome = TrainOutcome(name, OK, convention=rule, run=envelope.run, envelope=envelope,
                               loss_gap=np.zeros(steps), param_gap=np.zeros(steps), end=envelope.end)
    else:
        try:
            module, info = adapters.load(name, "train")
        except adapters.Unavailable as exc:
            return TrainOutcome(name, UNAVAILABLE, reason=str(exc).removeprefix(f"{name}: "), convention=rule)
        try:
            outcome = follow(name, module.train, problem, optimizer.in_convention(rule), schedule, envelope, on_step)
        except NotImplementedError as exc:  # a combination the framework's API cannot express
            return TrainOutcome(name, UNAVAILABLE, reason=str(exc), convention=rule)
        except Exception as exc:  # the framework failed part-way: no trajectory to follow is a failure
            return TrainOutcome(name, MISMATCH, reason=f"training failed: {one_line(exc)}", convention=rule)
    # the reference's row: the time of its run and its twins' (they run in lockstep)
    outcome.seconds = {"train": envelope.seconds if name == REFERENCE else time.perf_counter() - started}
    outcome.accuracy = accuracy(net, outcome.run.final_params, X, Y)
    if problem.dataset is not None:
        outcome.split_accuracy = {split: accuracy(net, outcome.run.final_params, *problem.dataset.split(split))
                                  for split in ("dev", "test")}
    outcome.final_loss = float(outcome.run.losses[-1])
    return outcome


def follow(name, train, problem, optimizer, schedule, envelope, on_step=None):
    """Run train (a framework's, or any with the same signature) with a reference run in lockstep, and judge it.

    Each time the run reports step t, the reference takes its step t and the distances are kept: memory
    stays flat however many steps there are.  The lockstep reference never stops early by itself: the run's
    own early stopping is judged against the envelope's reference run (judge).
    """
    net, params, X, Y = problem
    schedule = as_schedule(schedule, X.shape[0])
    planned = len(schedule)
    reference = Stepper(net, params, X, Y, optimizer, schedule.like(stopping=None))
    loss_gap, param_gap = np.full(planned, np.nan), np.full(planned, np.nan)
    end = EndState(net, X, Y, planned)
    limit = envelope.tolerance.param
    first = {}  # the first step outside the tolerance: how its update compares with the reference's

    def step(t, J, params_after):
        if t != reference.t + 1 or t > planned:
            raise ValueError(f"step {t} reported after step {reference.t} (of {planned})")
        before = reference.params
        J_ref = reference.step()
        loss_gap[t - 1] = abs(float(J) - J_ref)
        param_gap[t - 1] = distance(params_after, reference.params)
        end.record(t, float(J), params_after)
        if not first and t <= len(limit) and not param_gap[t - 1] <= limit[t - 1]:
            first.update(step=t, ratio=update_ratio(before, params_after, reference.params))
        if on_step:
            on_step(name, t)

    run = train(net, params, X, Y, optimizer, schedule, step)
    outcome = judge(name, run, reference.t, loss_gap[:reference.t], param_gap[:reference.t], end, envelope)
    if outcome.failed_step is not None and first.get("step") == outcome.failed_step:
        outcome.hint = step_hint(first["step"], first["ratio"], optimizer, schedule.steps_per_epoch)
    return outcome


def update_ratio(before, after, after_ref):
    """(r, residual): the run's update at a step as r × the reference's from the same parameters, r by least squares
    over every W and b, and how far it is from that (max|ΔP − r ΔP_ref| / max|ΔP_ref|; 0: the same direction)."""
    flat = lambda params: np.concatenate([np.ravel(P).astype(np.float64) for layer in params for P in layer])  # noqa: E731
    start = flat(before)
    delta, delta_ref = flat(after) - start, flat(after_ref) - start
    size = float(np.dot(delta_ref, delta_ref))
    if not size or not np.all(np.isfinite(delta)):
        return None, None
    r = float(np.dot(delta, delta_ref)) / size
    return r, float(np.max(np.abs(delta - r * delta_ref)) / np.max(np.abs(delta_ref)))


def step_hint(t, ratio, optimizer, steps_per_epoch):
    """What the run's update at its first wrong step says: another step size (a learning-rate schedule stepped per
    step instead of per epoch, or another α), or another direction (another gradient or update rule)."""
    r, residual = ratio
    epoch = (t - 1) // steps_per_epoch
    if r is None:
        return f"step {t} (epoch {epoch + 1}) moves the parameters to something not finite"
    if residual > 1e-6:
        return (f"step {t} (epoch {epoch + 1}) moves the parameters in another direction than the reference's (its "
                f"update is {r:.4g} × the reference's plus {residual:.1e} of it elsewhere): another gradient or "
                f"update rule")
    schedule = optimizer.schedule
    if schedule is not None:
        alpha = schedule.rate(optimizer.lr, epoch)
        per_step = schedule.rate(optimizer.lr, t - 1)
        if t > 1 and abs(r - per_step / alpha) <= 1e-6 * abs(per_step / alpha):
            return (f"step {t}'s update is {r:.4g} × the reference's, the learning rate after {t - 1} step{'s' if t > 2 else ''} where the "
                    f"reference takes epoch {epoch + 1}'s (α_e = {alpha:.4g} for every step of an epoch): the schedule "
                    f"is applied per step instead of per epoch")
    return (f"step {t}'s update is {r:.4g} × the reference's, in the same direction: another learning rate "
            f"(the reference's is {optimizer.lr:g}{', on its schedule' if schedule else ''})")


def judge(name, run, reported, loss_gap, param_gap, end, envelope):
    """A TrainOutcome, ok or mismatch: every step before the chaos step within its tolerance (NaN fails), as many
    steps as the reference took (early stopping at the same epoch) unless the run was chaotic by then, and, if the
    run turned chaotic, the end state within what the twins allow."""
    outcome = TrainOutcome(name, OK, convention=envelope.convention, run=run, envelope=envelope,
                           loss_gap=loss_gap, param_gap=param_gap)
    steps = len(envelope.run.losses)
    tol = envelope.tolerance
    if len(run.losses) != reported or not reported:
        outcome.status = MISMATCH
        outcome.reason = f"{min(len(run.losses), reported)} steps reported, {len(run.losses)} J returned"
        return outcome
    compared = min(tol.compared_steps, reported)
    for label, gap, limit, spread in (("max|ΔW|", param_gap, tol.param, envelope.param_spread),
                                      ("|ΔJ|", loss_gap, tol.loss, envelope.loss_spread)):
        outside = np.flatnonzero(~(gap[:compared] <= limit[:compared]))
        if outside.size:
            t = int(outside[0])
            outcome.status, outcome.failed_step = MISMATCH, t + 1
            outcome.reason = (f"{label} {gap[t]:.1e} > {limit[t]:.1e} at step {t + 1} (the reference's twins differ "
                              f"by {spread[t]:.1e} there)")
            return outcome
    if reported != steps and (tol.chaos_step is None or tol.chaos_step > min(reported, steps)):
        outcome.status = MISMATCH
        if envelope.stopped_early is None and reported < envelope.planned:
            outcome.reason = f"{reported} steps reported, expected {steps}"
        else:
            per = envelope.steps_per_epoch
            outcome.reason = (f"stopped after step {reported} (epoch {math.ceil(reported / per)}), the reference after "
                              f"step {steps} (epoch {math.ceil(steps / per)}): early stopping decided otherwise on "
                              f"the same trajectory")
        return outcome
    outcome.end = end.summary()
    if tol.chaos_step is not None:
        (J, acc), (J_ref, acc_ref) = outcome.end, envelope.end
        if not abs(J - J_ref) <= tol.end_loss:
            outcome.status = MISMATCH
            outcome.reason = (f"ends at median J {J:.4f} over the last {envelope.end_steps} steps, the reference at "
                              f"{J_ref:.4f}: |ΔJ| {abs(J - J_ref):.1e} > {tol.end_loss:.1e}, what its twins allow")
        elif not abs(acc - acc_ref) <= tol.end_accuracy:
            outcome.status = MISMATCH
            outcome.reason = (f"ends at median accuracy {100 * acc:.1f}% over the last {envelope.end_steps} steps, the "
                              f"reference at {100 * acc_ref:.1f}%: more than the {100 * tol.end_accuracy:.1f}% its "
                              f"twins allow")
    return outcome
