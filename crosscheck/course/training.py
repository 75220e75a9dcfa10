"""The training comparison: the same network, start, batches and optimizer in the reference and in each
framework, every step's J and parameters compared with the reference run in that framework's convention,
within what the reference's own twin shows (crosscheck.tolerance, "Trajectories").

    report = compare_training(problem, optimizer, schedule, frameworks=("numpy-reference", "torch"))
    report.outcomes["torch"].status, .max_param_divergence, .tolerance.chaos_step, …

Memory stays flat in the number of steps: nothing keeps a step's parameters past that step (the end state
keeps END_SAMPLES + 1 sets at most, whatever the number of steps).  The twin runs in lockstep with the
reference (measure_envelope), and each framework's run is followed by a reference run of its own, advanced
one step each time the framework reports one (follow); what is kept per step is a handful of distances.
"""
import contextlib
import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from crosscheck import adapters
from crosscheck.adapters import FRAMEWORKS, REFERENCE
from crosscheck.engine.status import MISMATCH, OK, UNAVAILABLE, Outcome
from crosscheck.engine.tolerance import END_FRACTION, TrajectoryTolerance, end_tolerance, gamma, trajectory_tolerance
from crosscheck.reference import forward
from crosscheck.reference.errors import one_line
from crosscheck.reference.optim import CLIP_CONVENTIONS, RULES
from crosscheck.reference.train import RUNNING_VARIANCE, Run, Schedule, Stepper, accuracy, as_schedule

TWIN = "rounded otherwise"   # the twin: rows reversed, start nudged one ulp, inputs and hidden units permuted
END_SAMPLES = 21  # the end state's accuracy is read at this many steps of the last tenth (J at every one of them)
STACK_BYTES = 3 << 19  # the reference and its twin step as one stack while a step's largest array is at most this


def convention(name):
    """The optimizer convention a framework's run follows (the reference's own is numpy's)."""
    return FRAMEWORKS["numpy" if name == REFERENCE else name].convention


def nudged(params, rng):
    """Every nonzero entry of every tensor moved to the next float, up or down at random; zeros stay."""
    def nudge(P):
        direction = np.full_like(P, np.inf)
        direction[rng.random(P.shape) < 0.5] = -np.inf
        return np.where(P != 0, np.nextafter(P, direction), P)
    return [tuple(nudge(P) for P in layer) for layer in params]


def permuted(params, orders):
    """The inputs in orders[0] (W1's rows) and hidden layer l's units in orders[l]: W[l]'s columns and its vectors (b,
    or γ, β, μ_run, σ²_run), W[l + 1]'s rows; the outputs stay."""
    out = []
    for l, (W, *vectors) in enumerate(params):
        columns = orders[l + 1] if l + 1 < len(orders) else slice(None)
        out.append((W[orders[l]][:, columns], *(v[:, columns] for v in vectors)))
    return out


def once(make):
    """make(rows), made once per array of rows: a full-batch schedule hands over the same array every step."""
    made = {}

    def get(rows):
        if id(rows) not in made:
            made[id(rows)] = (rows, make(rows))  # rows kept alive: its id stays its own
        return made[id(rows)][1]
    return get


def twins(problem, optimizer, schedule, seed=0):
    """The reference's twin: the same run, the same mathematics, other roundings — a Lockstep of the two.

    Each batch's rows in reverse order (other roundings in every sum over rows: dW, db, J), the inputs and each hidden
    layer's units in another order (W's rows and columns, b, the next W's rows: other roundings in every sum over
    units, Z = A W and dA = dZ Wᵀ, and so in A − Y), and the start nudged one ulp (every nonzero entry of every W and
    b to the next float, up or down at random: a batch of one row has nothing to reverse and a net of one input and
    no hidden layer nothing to permute, and this twin still differs).  Zeros stay: every framework starts from the
    same exact zeros, and the float after 0 is a subnormal that would move an input at the origin off ReLU's kink —
    not rounding.  An optimizer with a state (momentum's velocity, Adam's m and v, RMSprop's s) takes its step in
    float64, rounded back to the run's dtype: in a float32 run every framework's optimizer rounds its state its own
    way (torch in Python floats, Keras in the weights' dtype), and Adam's m/√v magnifies it where v is small — the
    twin's rounds as little as it can (in a float64 run it is the reference's arithmetic; SGD has no state, and its
    one rounding a step is the twin's own).  One twin, in the run's dtype: rounding of the kind any correct
    implementation makes, everywhere at once.  The steps no twin can foresee — a unit within rounding of ReLU's
    kink, which another run may switch — are told apart when a framework leaves the envelope there (follow,
    switched_step).
    """
    return Lockstep(problem, optimizer, as_schedule(schedule, problem.X.shape[0]), seed)


class Lockstep:
    """The reference run (copy 0) and its twin (copy 1), stepped together.

    While a step's arrays are small, NumPy's per-call overhead is most of a step, and the two run as one stack (one
    call for both: reference.train.Stepper with a leading axis of two copies, which computes each copy exactly as a
    run of its own would).  Past STACK_BYTES per array a call's work dominates, and two copies side by side only
    crowd the cache: each then steps alone.
    """

    def __init__(self, problem, optimizer, schedule, seed=0):
        net, params, X, Y = problem
        self.net = net
        rng = np.random.default_rng(seed)
        self.orders = [rng.permutation(n) for n in net.sizes[:-1]]  # the inputs' order, then each hidden layer's
        twin = permuted(nudged(params, rng), self.orders)
        unit_orders = self.orders[1:]
        widest = max(len(rows) for rows in schedule) * max(net.sizes) * X.dtype.itemsize
        self.stacked = widest <= STACK_BYTES
        wide = optimizer.name != "sgd"  # the twin's optimizer state (Adam's m, v; RMSprop's s; a velocity) in float64
        if self.stacked:
            stack = [tuple(np.stack(pair) for pair in zip(*layers)) for layers in zip(params, twin)]
            both = once(lambda rows: np.stack([rows, rows[::-1]]))
            copies = [np.stack([np.arange(len(order)), order]) for order in unit_orders]
            steps = Schedule([both(rows) for rows in schedule], schedule.m, schedule.epochs, schedule.seed,
                             schedule.stopping, copies)
            self.steppers = [Stepper(net, stack, np.stack([X, X[:, self.orders[0]]]), Y, optimizer, steps,
                                     wide=(1,) if wide else ())]
        else:
            backwards = once(lambda rows: rows[::-1])
            steps = Schedule([backwards(rows) for rows in schedule], schedule.m, schedule.epochs, schedule.seed, None,
                             unit_orders)
            self.steppers = [Stepper(net, params, X, Y, optimizer, schedule),
                             Stepper(net, twin, X[:, self.orders[0]], Y, optimizer, steps, wide=(0,) if wide else ())]
        # where each of the reference's learnt entries sits in the twin's vector, and its running averages' columns
        layout = self.steppers[0].layout
        labels = layout.unflatten(np.arange(layout.ends[-1]))
        self.back = np.argsort(layout.flatten(permuted(labels, self.orders)))
        self.undo = [np.argsort(order) for order in unit_orders]

    @property
    def reference(self):
        """The Stepper whose copy 0 is the reference's run: its t, done, patience, logit_scale."""
        return self.steppers[0]

    def step(self):
        """Both runs one step on: (J_ref, J_twin)."""
        if self.stacked:
            J_ref, J_twin = self.steppers[0].step().tolist()
            return J_ref, J_twin
        return self.steppers[0].step(), self.steppers[1].step()

    def copy(self, i):
        """Copy i's parameters after the last step ([(W1, b1), …] of the reference for 0, of the twin for 1)."""
        return self.steppers[0].copy(i) if self.stacked else self.steppers[i].params

    def logit_scale(self):
        """max|Z[L]| of the reference's last batch."""
        return self.steppers[0].logit_scale.item(0)

    def _flats(self):
        """(the reference's vector of learnt parameters, the twin's)."""
        if self.stacked:
            flat = self.steppers[0].flat
            return flat[0], flat[1]
        return self.steppers[0].flat, self.steppers[1].flat

    def _running(self, i):
        """Copy i's running averages: [(μ_run, σ²_run) or () per layer]."""
        if self.stacked:
            return [tuple(r[i] for r in averages) for averages in self.steppers[0].running]
        return self.steppers[i].running

    def spread(self):
        """max|P_twin − P_ref| over every W and b (γ, β, μ_run, σ²_run) after the last step, NaN if any is NaN."""
        ref, twin = self._flats()
        worst = np.abs(twin[self.back] - ref).max()
        if self.net.batch_norm:
            for l, (ref, twin) in enumerate(zip(self._running(0), self._running(1))):
                for r, r_twin in zip(ref, twin):  # np.maximum keeps a NaN
                    worst = np.maximum(worst, np.abs(r_twin[:, self.undo[l]] - r).max())
        return float(worst)

    def scale(self):
        """max|P_ref| over every W and b (γ, β, μ_run, σ²_run)."""
        worst = np.abs(self._flats()[0]).max()
        if self.net.batch_norm:
            for averages in self._running(0):
                for r in averages:
                    worst = np.maximum(worst, np.abs(r).max())
        return float(worst)

    def record(self, ends, t, J):
        """Each copy's step into its EndState."""
        for i, (end, J_i) in enumerate(zip(ends, J)):
            stepper = self.steppers[0 if self.stacked else i]
            end.record(t, J_i, stepper.params, i if self.stacked else None)


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
    """A run's end state, kept as it goes: J at every step of its last tenth, and the parameters at about END_SAMPLES
    of those steps (every stride-th step, and the last); summary() gives the medians of J and of the training accuracy.

    The accuracy is read from the kept parameters when summary() asks for it — only for a run whose end is judged
    (a chaotic one) — so that a run pays nothing per step for it, and memory holds at most END_SAMPLES + 1 sets of
    parameters whatever the number of steps.  The last tenth is of the steps planned (the schedule's); a run that
    early stopping ends sooner is summarised over as many steps before its own end.
    """

    def __init__(self, net, X, Y, steps, early=True):
        self.net, self.X, self.Y = net, X, Y
        self.window = max(1, math.ceil(steps * END_FRACTION))
        # without early stopping the run ends at its planned step: nothing before its last tenth is kept
        self.first = 1 if early else steps - self.window + 1
        self.stride = max(1, self.window // (END_SAMPLES - 1))
        self.losses = deque(maxlen=self.window)
        self.kept = deque(maxlen=self.window // self.stride + 1)   # (t, parameters)
        self.last = None                                            # (t, parameters, copy) of the last step seen
        self._accuracies = {}

    def record(self, t, J, params, copy=None):
        """Step t's J and the parameters after it (copy i of a stack's, with copy=i)."""
        self.last = (t, params, copy)
        if t < self.first:
            return
        self.losses.append(J)
        if t % self.stride == 0:  # a copy: a framework may hand over arrays it goes on updating
            self.kept.append((t, self._parameters(params, copy, np.array)))

    @staticmethod
    def _parameters(params, copy, take=lambda P: P):
        return [tuple(take(P if copy is None else P[copy]) for P in layer) for layer in params]

    def _accuracy(self, t, params):
        if t not in self._accuracies:
            self._accuracies[t] = accuracy(self.net, params, self.X, self.Y)
        return self._accuracies[t]

    @property
    def accuracies(self):
        """The accuracies at the kept steps of the last tenth, the last step's included."""
        t_last, params, copy = self.last
        kept = [(t, P) for t, P in self.kept if t > t_last - self.window and t != t_last]
        return [self._accuracy(t, P) for t, P in kept + [(t_last, self._parameters(params, copy))]]

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
    """The reference run in one convention and what its twin shows, step by step (scalars only)."""

    convention: str
    run: Run                   # the reference's run: J per step, final parameters
    param_spread: np.ndarray   # per step: max|P_twin − P_ref|
    loss_spread: np.ndarray    # per step: |J_twin − J_ref|
    param_scale: np.ndarray    # per step: max|P_ref| after the step
    ends: list                 # the reference's EndState and the twin's
    tolerance: TrajectoryTolerance
    seconds: float = None      # how long the reference and its twin took
    planned: int = None        # the steps the schedule has (early stopping may have ended the run before)
    steps_per_epoch: int = 1
    examples: int = None       # the rows the accuracy is measured on
    dtype: str = "float64"

    @property
    def end(self):
        """(median J, median accuracy) of the reference's last tenth of the steps (read when first asked)."""
        return self.summaries()[0]

    @property
    def twin_ends(self):
        return self.summaries()[1:]

    def summaries(self):
        if not hasattr(self, "_summaries"):
            self._summaries = [end.summary() for end in self.ends]
        return self._summaries

    def end_tolerance(self):
        """(J allowance, accuracy allowance) of the end state: what the twin allows (crosscheck.tolerance)."""
        tol = self.tolerance
        if tol.end_loss is None:
            tol.end_loss, tol.end_accuracy = end_tolerance(self.end, self.twin_ends, self.ends[0].spread(),
                                                           self.dtype, self.examples)
        return tol.end_loss, tol.end_accuracy

    @property
    def end_steps(self):
        """How many steps the last tenth is."""
        return self.ends[0].steps

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
        """The most the twin ever differs from the reference in any W or b."""
        return float(np.max(self.param_spread))


def reference_hyperparameters(optimizer, net):
    """What the reference ran with in a convention, in the same words as the frameworks' (adapters' Run.meta)."""
    ran = {"optimizer": f"reference.optim.{RULES[optimizer.name, optimizer.convention][0].__name__}",
           "arguments": {"lr": optimizer.lr, **optimizer.hyper}}
    if optimizer.schedule:
        ran["schedule"] = optimizer.schedule.describe()
    if optimizer.clip:
        ran["clip"] = {"convention": CLIP_CONVENTIONS[optimizer.convention], "max_norm": optimizer.clip}
    if net.batch_norm:
        ran["batch_norm"] = {"beta": net.bn_momentum, "eps": net.bn_eps,
                             "running variance": RUNNING_VARIANCE[optimizer.convention]}
    return ran


def measure_envelope(problem, optimizer, schedule, on_step=None):
    """The reference run and its twin in lockstep: an Envelope with its tolerances (crosscheck.tolerance).

    on_step(t) after each step of each of the two runs (a progress bar).
    """
    net, params, X, Y = problem
    on_step = on_step or (lambda t: None)
    started = time.perf_counter()
    schedule = as_schedule(schedule, X.shape[0])
    planned = len(schedule)
    pair = twins(problem, optimizer, schedule)
    reference = pair.reference
    ends = [EndState(net, X, Y, planned, schedule.stopping is not None) for _ in range(2)]
    losses, loss_spread, loss_scale, param_spread, param_scale = (np.empty(planned) for _ in range(5))
    while not reference.done:  # the schedule, or until early stopping ends the reference's run
        J_ref, J_twin = pair.step()
        t = reference.t
        losses[t - 1] = J_ref
        pair.record(ends, t, (J_ref, J_twin))
        loss_spread[t - 1], param_spread[t - 1] = abs(J_twin - J_ref), pair.spread()
        param_scale[t - 1] = pair.scale()
        loss_scale[t - 1] = max(abs(J_ref), pair.logit_scale())
        on_step(t)
        on_step(t)
    steps = reference.t
    losses, loss_spread, loss_scale, param_spread, param_scale = (a[:steps] for a in (
        losses, loss_spread, loss_scale, param_spread, param_scale))
    tolerance = trajectory_tolerance(param_spread, loss_spread, param_scale, loss_scale, X.dtype)
    meta = {"optimizer": optimizer.describe(), "hyperparameters": reference_hyperparameters(optimizer, net)}
    if reference.patience:
        meta["stopped_epoch"] = reference.patience.stopped_epoch
    run = Run(REFERENCE, losses, pair.copy(0), meta)
    envelope = Envelope(optimizer.convention, run, param_spread, loss_spread, param_scale, ends, tolerance,
                        time.perf_counter() - started, planned, schedule.steps_per_epoch, X.shape[0], X.dtype.name)
    if tolerance.chaos_step is not None:
        envelope.end_tolerance()
    return envelope


@dataclass
class TrainOutcome(Outcome):
    """One framework's run against the reference's: every step before the chaos step, and the end state."""

    convention: str = None
    run: Run = None
    envelope: Envelope = None        # the reference run in this convention and its twin's spread
    loss_gap: np.ndarray = None      # per step: |J − J_ref|
    param_gap: np.ndarray = None     # per step: max|P − P_ref| over every W and b
    end: tuple = None                # (median J, median accuracy) over the last tenth of the steps
    final_loss: float = None
    accuracy: float = None           # on the training data, in an inference pass
    split_accuracy: dict = None      # {"dev": …} when the data set was split ("test" too when asked for)
    failed_step: int = None          # the first step outside the tolerance
    hint: str = None                 # what the update at that step says (step_hint)
    switches: list = field(default_factory=list)  # steps taken with a unit on ReLU's kink switched (follow)

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
                "hyperparameters": self.run.meta.get("hyperparameters") if self.run is not None else None,
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
                "switched": [{"step": s["step"], "units": [{k: u[k] for k in ("layer", "row", "unit", "Z", "reach")}
                                                           for u in s["units"]]} for s in self.switches],
                "compared_steps": tol.compared_steps if compared else None,
                "param_scale": self.envelope.scale if self.envelope else None,
                "end_state": self._end_json() if compared and self.end is not None else None}

    def _end_json(self):
        (J, acc), (J_ref, acc_ref) = self.end, self.envelope.end
        return {"steps": self.envelope.end_steps, "median_J": J, "median_J_reference": J_ref,
                "median_accuracy": acc, "median_accuracy_reference": acc_ref}


@dataclass
class TrainingReport:
    optimizer: object                 # reference.optim.Optimizer
    steps: int
    envelopes: dict                   # convention -> Envelope: the reference's run in it and its twin's spread
    outcomes: dict = field(default_factory=dict)  # name -> TrainOutcome

    @property
    def ok(self):
        return not any(o.status == MISMATCH for o in self.outcomes.values())

    @property
    def reference_run(self):
        """The reference's run in the numpy-reference row's convention (or the first measured, without that row)."""
        return self.envelopes.get(convention(REFERENCE), next(iter(self.envelopes.values()))).run


def one_row_refused(net, schedule, frameworks):
    """The frameworks that cannot train on these batches: with batch norm, a batch of one row — torch's BatchNorm1d
    refuses it in training (its running variance is unbiased, σ²·m/(m − 1)), and so does the reference in torch's
    convention; Keras (and TensorFlow and JAX, in its convention) normalize a row of one, σ² = 0.  [] when none."""
    if not net.batch_norm or all(len(rows) > 1 for rows in schedule):
        return []
    return [f for f in frameworks if RUNNING_VARIANCE[convention(f)] == "unbiased"]


def batch_sizes_near(m, batch_size, count=2):
    """Batch sizes next to batch_size whose epochs of m rows end in no batch of one row (nearest below, then above)."""
    works = lambda b: 1 < b < m and m % b != 1  # noqa: E731
    below = [b for b in range(batch_size - 1, 1, -1) if works(b)][:count // 2 or 1]
    above = [b for b in range(batch_size + 1, m) if works(b)][:count - len(below)]
    return sorted(below + above)


def conventions_of(frameworks):
    """The optimizer conventions the reference runs in for these frameworks (the numpy-reference row's alone when
    there is none), sorted."""
    return sorted({convention(f) for f in frameworks or (REFERENCE,)})


def runs_to_do(frameworks, net, dtype):
    """How many runs of the schedule compare_training makes (for a progress bar): the reference and its
    twin in each convention, then each framework (its lockstep reference is counted with it)."""
    return len(conventions_of(frameworks)) * 2 + sum(f != REFERENCE for f in frameworks)


@contextlib.contextmanager
def one_blas_thread():
    """NumPy's BLAS on one thread while the reference trains (threadpoolctl, when installed; else as it is).

    A training step's products are small — Z2 = A1 W2 sums 1,000 terms for 3 outputs — and a second BLAS thread
    only waits for its share, or on a busy machine spins against other processes: the issue's 2-1000-3 run took
    21 s on two threads and 3.1 s on one here, under load.  torch's run sets its own threads (adapters/torch).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def compare_training(problem, optimizer, schedule, frameworks, on_step=None, splits=("dev",)):
    """Train in each framework and compare it with the reference run in that framework's convention.

    on_step(name, t) is called after each step of each run (a progress bar).  splits: the data set's splits each
    framework's accuracy is measured on besides the training rows (the test split only when asked for).
    """
    with one_blas_thread():
        return _compare_training(problem, optimizer, schedule, frameworks, on_step, splits)


def _compare_training(problem, optimizer, schedule, frameworks, on_step, splits):
    on_step = on_step or (lambda name, t: None)
    envelopes = {}
    for name in conventions_of(frameworks):
        envelopes[name] = measure_envelope(problem, optimizer.in_convention(name), schedule,
                                           lambda t: on_step(REFERENCE, t))
    report = TrainingReport(optimizer, len(schedule), envelopes)
    for name in frameworks:
        report.outcomes[name] = train_framework(name, problem, optimizer, schedule, envelopes, on_step, splits)
    return report


def train_framework(name, problem, optimizer, schedule, envelopes, on_step=None, splits=("dev",)):
    """One framework's TrainOutcome: unavailable, mismatch when it fails part-way, else judged."""
    net, params, X, Y = problem
    rule = convention(name)
    envelope = envelopes[rule]
    started = time.perf_counter()
    if name == REFERENCE:
        steps = len(envelope.run.losses)
        outcome = TrainOutcome(name, OK, convention=rule, run=envelope.run, envelope=envelope,
                               loss_gap=np.zeros(steps), param_gap=np.zeros(steps),
                               end=envelope.end if envelope.tolerance.chaos_step is not None else None)
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
    # the reference's row: the time of its run and its twin's (they run in lockstep)
    outcome.seconds = {"train": envelope.seconds if name == REFERENCE else time.perf_counter() - started}
    outcome.accuracy = accuracy(net, outcome.run.final_params, X, Y)
    if problem.dataset is not None:
        outcome.split_accuracy = {split: accuracy(net, outcome.run.final_params, *problem.dataset.split(split))
                                  for split in splits}
    outcome.final_loss = float(outcome.run.losses[-1])
    return outcome


def follow(name, train, problem, optimizer, schedule, envelope, on_step=None):
    """Run train (a framework's, or any with the same signature) with a reference run in lockstep, and judge it.

    Each time the run reports step t, the reference takes its step t and the distances are kept: memory
    stays flat however many steps there are.  The lockstep reference never stops early by itself: the run's
    own early stopping is judged against the envelope's reference run (judge).

    A step where the run lands outside the tolerance while a hidden unit of the batch sits within rounding of ReLU's
    kink (near_kink) is taken again with that unit switched — counted on the kink's other side, as another run's
    rounding may put it.  If the run's step is that one, the reference goes on from there (the switch is reported,
    and every later step is still compared); no twin can foresee which way another run rounds such a unit.
    """
    net, params, X, Y = problem
    schedule = as_schedule(schedule, X.shape[0])
    planned = len(schedule)
    reference = Stepper(net, params, X, Y, optimizer, schedule.like(stopping=None))
    loss_gap, param_gap = np.full(planned, np.nan), np.full(planned, np.nan)
    end = EndState(net, X, Y, planned, schedule.stopping is not None or envelope.stopped_early is not None)
    limit = envelope.tolerance.param
    first, switches = {}, []  # the first step outside the tolerance (how its update compares); the units switched

    def step(t, J, params_after):
        if t != reference.t + 1 or t > planned:
            raise ValueError(f"step {t} reported after step {reference.t} (of {planned})")
        before = reference.state()
        J_ref = reference.step()
        loss_gap[t - 1] = abs(float(J) - J_ref)
        param_gap[t - 1] = distance(params_after, reference.params)
        if not first and t <= len(limit) and not param_gap[t - 1] <= limit[t - 1]:  # until the run first fails
            switch = switched_step(reference, before, schedule, t, params_after, param_gap[t - 2] if t > 1 else 0.0,
                                   limit[t - 1])
            if switch:
                switches.append(switch)
                param_gap[t - 1] = switch["distance"]
            else:
                first.update(step=t, ratio=update_ratio(before[3], params_after, reference.params))
        end.record(t, float(J), params_after)
        if on_step:
            on_step(name, t)

    run = train(net, params, X, Y, optimizer, schedule, step)
    outcome = judge(name, run, reference.t, loss_gap[:reference.t], param_gap[:reference.t], end, envelope)
    outcome.switches = switches
    if outcome.failed_step is not None and first.get("step") == outcome.failed_step:
        outcome.hint = step_hint(first["step"], first["ratio"], optimizer, schedule.steps_per_epoch)
    return outcome


def switched_step(reference, before, schedule, t, params_after, within, tolerance, most=4):
    """Step t again from `before` with hidden units on ReLU's kink switched, if that is the run's step: then the
    reference stays there and the switch is returned ({"step", "units": [near_kink's, …], "distance"}); else the
    reference is as it was after its own step t, and None.

    within: how far the run's parameters were from the reference's before the step (what moves its Z).  Tried: each
    subset of the `most` units nearest the kink (relative to their reach), then all of them at once.
    """
    net = reference.net
    rows = schedule[t - 1]
    units = near_kink(net, before[3], reference.X[rows], schedule.masks(net, t, reference.X.dtype), within)
    if not units:
        return None
    nearest = units[:most]
    subsets = [[u for k, u in enumerate(nearest) if mask >> k & 1] for mask in range(1, 1 << len(nearest))]
    subsets.sort(key=len)
    after = reference.state()
    for tried in subsets + ([units] if len(units) > most else []):
        reference.restore(before)
        reference.step([(u["layer"], u["row"], u["unit"]) for u in tried])
        gap = distance(params_after, reference.params)
        if gap <= tolerance:
            return {"step": t, "units": tried, "distance": gap}
    reference.restore(after)
    return None


def near_kink(net, params, X, masks, within):
    """The hidden units of the batch another correct run may put on the other side of their activation's kink, nearest
    first: [{"layer", "row", "unit", "Z", "reach"}] ([] without ReLU or leaky ReLU).

    A unit of ReLU at Z = 1e-7 is a coin flip for a run whose Z is a little off: which side it lands on switches its
    gradient (dZ = dA or 0).  Another run's parameters `within` of these (max|ΔP|) move Z by up to
    (Σ_k |A_prev,k| + 1)·within, and its sum rounds otherwise, by up to 2γ_n·(|A_prev|·|W| + |b|); a Z within that
    reach of 0 may switch.  With batch norm, g sees Z̃ = γ (Z − μ)/σ + β: the reach scaled by |γ|/σ (twice: μ
    moves too), plus γ's and β's own.  A Z of exactly 0 out of exact zeros (reach 0) is every run's.
    """
    if net.activation not in ("relu", "leaky_relu"):
        return []
    _, As, caches = forward(net, params, X, masks)
    eps = float(np.finfo(X.dtype).eps)
    found, A_prev = [], np.abs(np.asarray(X, np.float64))
    for l in range(1, net.L):
        layer, named = params[l - 1], caches[l - 1]["named"]
        W = np.abs(np.asarray(layer[0], np.float64))
        terms = A_prev @ W + (0.0 if net.normalized(l) else np.abs(np.asarray(layer[1], np.float64)))
        reach = (A_prev.sum(axis=1, keepdims=True) + 1) * within + 2 * gamma(W.shape[0] + 1, eps / 2) * terms
        if net.normalized(l):
            Z = np.asarray(named[f"Ztilde{l}"], np.float64)
            scale = np.abs(np.asarray(layer[1], np.float64)) / np.sqrt(np.asarray(named[f"var{l}"], np.float64)
                                                                       + net.bn_eps)
            reach = 2 * scale * reach + within * (np.abs(np.asarray(named[f"Zhat{l}"], np.float64)) + 1)
        else:
            Z = np.asarray(named[f"Z{l}"], np.float64)
        for row, unit in np.argwhere(np.abs(Z) < reach):
            found.append({"layer": l, "row": int(row), "unit": int(unit), "Z": float(Z[row, unit]),
                          "reach": float(reach[row, unit])})
        A_prev = np.abs(np.asarray(As[l - 1], np.float64))
    return sorted(found, key=lambda u: abs(u["Z"]) / u["reach"])


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
            steps = f"{t - 1} step{'s' if t > 2 else ''}"
            return (f"step {t}'s update is {r:.4g} × the reference's, the learning rate after {steps} where the "
                    f"reference takes epoch {epoch + 1}'s (α_e = {alpha:.4g} for every step of an epoch): the schedule "
                    f"is applied per step instead of per epoch")
    return (f"step {t}'s update is {r:.4g} × the reference's, in the same direction: another learning rate "
            f"(the reference's is {optimizer.lr:g}{', on its schedule' if schedule else ''})")


def judge(name, run, reported, loss_gap, param_gap, end, envelope):
    """A TrainOutcome, ok or mismatch: every step before the chaos step within its tolerance (NaN fails), as many
    steps as the reference took (early stopping at the same epoch) unless the run was chaotic by then, and, if the
    run turned chaotic, the end state within what the twin allows."""
    outcome = TrainOutcome(name, OK, convention=envelope.convention, run=run, envelope=envelope,
                           loss_gap=loss_gap, param_gap=param_gap)
    steps = len(envelope.run.losses)
    tol = envelope.tolerance
    if len(run.losses) != reported or not reported:
        outcome.status = MISMATCH
        outcome.reason = f"{min(len(run.losses), reported)} steps reported, {len(run.losses)} J returned"
        return outcome
    compared = min(tol.compared_steps, reported)
    outside = [(int(np.flatnonzero(~(gap[:compared] <= limit[:compared]))[0]), label, gap, limit, spread)
               for label, gap, limit, spread in (("max|ΔW|", param_gap, tol.param, envelope.param_spread),
                                                 ("|ΔJ|", loss_gap, tol.loss, envelope.loss_spread))
               if not np.all(gap[:compared] <= limit[:compared])]
    if outside:
        t, label, gap, limit, spread = min(outside, key=lambda o: o[0])
        outcome.status, outcome.failed_step = MISMATCH, t + 1
        outcome.reason = (f"{label} {gap[t]:.1e} > {limit[t]:.1e} at step {t + 1} (the reference's twin differs "
                          f"by {spread[t]:.1e} there)")
        return outcome
    parted = tol.chaos_step
    if reported != steps and (parted is None or parted > min(reported, steps)):
        outcome.status = MISMATCH
        if envelope.stopped_early is None and reported < envelope.planned:
            outcome.reason = f"{reported} steps reported, expected {steps}"
        else:
            per = envelope.steps_per_epoch
            outcome.reason = (f"stopped after step {reported} (epoch {math.ceil(reported / per)}), the reference after "
                              f"step {steps} (epoch {math.ceil(steps / per)}): early stopping decided otherwise on "
                              f"the same trajectory")
        return outcome
    if parted is not None:
        outcome.end = end.summary()
        (J, acc), (J_ref, acc_ref) = outcome.end, envelope.end
        end_loss, end_accuracy = envelope.end_tolerance()
        if not abs(J - J_ref) <= end_loss:
            outcome.status = MISMATCH
            outcome.reason = (f"ends at median J {J:.4f} over the last {envelope.end_steps} steps, the reference at "
                              f"{J_ref:.4f}: |ΔJ| {abs(J - J_ref):.1e} > {end_loss:.1e}, what its twin allows")
        elif not abs(acc - acc_ref) <= end_accuracy:
            outcome.status = MISMATCH
            outcome.reason = (f"ends at median accuracy {100 * acc:.1f}% over the last {envelope.end_steps} steps, the "
                              f"reference at {100 * acc_ref:.1f}%: more than the {100 * end_accuracy:.1f}% its "
                              f"twin allows")
    return outcome
