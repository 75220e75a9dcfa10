"""Training the lecture's network: gradient descent, full-batch or mini-batch, in a fixed, seeded order.

Legend:  m  examples    B  batch size    t  the step (one batch, one update)    S  steps per epoch    e  the epoch

    for each step t, with rows r_t of X (the schedule):
        Z, A   = forward(X[r_t], D_t)              the lecture's forward pass (D_t: step t's dropout masks)
        J_t    = cost(Z[L], Y[r_t])                recorded before the update
        dW, db = backward(...)                    the lecture's backward pass (1/m with m = |r_t|)
        W, b   ← update(W, b, dW, db)             W ← W − α_e dW for SGD; see reference.optim
        μ_run, σ²_run ← the batch's μ, σ²         batch norm's running averages (RUNNING_VARIANCE)
    after each epoch's last step: early stopping on the dev split (EarlyStopping)

The schedule — which rows each step sees, with which dropout masks, for how many epochs, and when to stop —
is made once, here, and every framework is handed the same one, so that all of them see the same batches in
the same order with the same masks.
"""
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import InputError
from .network import backward, check_inputs, cost, dropout_masks, forward
from .optim import Layout, Updater

# batch norm's running variance: which variance of the batch each framework averages.  Every framework normalizes
# with the biased σ² = Σ (Z − μ)² / m; torch.nn.BatchNorm1d keeps the running average of the unbiased one,
# σ² · m / (m − 1), Keras's BatchNormalization (and flax's, which the written-out JAX follows) of the biased one.
RUNNING_VARIANCE = {"torch": "unbiased", "keras": "biased", "optax": "biased", "course": "biased"}

# early stopping's J_dev under the course's λ/(2m): the m of its L2 term in each convention (EarlyStopping)
MONITORED_L2 = {"keras": "training batch", "torch": "dev split", "optax": "dev split", "course": "dev split"}


@dataclass
class Run:
    """One training run: J on each step's batch (before its update) and the parameters after the last step.

    losses        (steps,) float64: as many as were taken (early stopping may end a run before its schedule)
    final_params  [(W1, b1), …, (WL, bL)] after the last step (a batch-norm layer's (W, γ, β, μ_run, σ²_run))

    A run keeps no parameters of the steps in between: whoever needs them (crosscheck.training compares
    every step) takes them from on_step as the run goes, so that memory stays flat in the number of steps.
    """

    framework: str
    losses: np.ndarray
    final_params: list
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EarlyStopping:
    """Early stopping on a dev split, the rule every framework follows (Keras's EarlyStopping callback is this rule):

    after each epoch, J_dev = J on (X_dev, Y_dev) in an inference pass (no dropout, batch norm's running averages),
    with its L2 term — Keras's val_loss.  An epoch improves when J_dev is lower than the lowest so far; after
    `patience` epochs in a row without improvement, training stops (the parameters are those of the last step,
    not the best epoch's: restore_best_weights=False).

    Which L2 term: under the course's λ/(2m) the m differs by framework (MONITORED_L2).  Keras's val_loss adds the
    model's regularization losses, whose coefficient was fixed for the training batches when the model was built:
    λ/(2·m_batch), m_batch the training batch's rows (m_train for full-batch descent).  torch and JAX have no early
    stopping of their own; their loops here — like the course's compute_cost handed the dev set — take the dev
    split's: λ/(2·m_dev).  The reference in each convention watches what that convention's frameworks watch.
    """

    patience: int
    X: np.ndarray
    Y: np.ndarray

    def __post_init__(self):
        if isinstance(self.patience, bool) or not isinstance(self.patience, (int, np.integer)) or self.patience <= 0:
            raise InputError(f"early stopping's patience must be a positive number of epochs, got {self.patience!r}")

    def watcher(self):
        return Patience(self.patience)


class Patience:
    """The rule's state: update(J_dev) after each epoch, True when training stops there."""

    def __init__(self, patience):
        self.patience, self.best, self.wait, self.stopped_epoch = patience, np.inf, 0, None
        self.epoch = 0

    def update(self, J_dev):
        self.epoch += 1
        self.wait += 1
        if J_dev < self.best:
            self.best, self.wait = J_dev, 0
            return False
        if self.wait >= self.patience:
            self.stopped_epoch = self.epoch
            return True
        return False


class Schedule(list):
    """The rows of every step, in order — a list of index arrays, one per step — and what comes with them:

    epochs, steps_per_epoch   S steps make an epoch (the learning-rate schedule and early stopping count epochs)
    m                         the examples the rows index (the dropout masks are drawn for all of them); a stack of
                              copies (reference.layers) takes (k, B) rows per step, each copy its own order
    seed                      step t's dropout masks come from a generator seeded by (seed, t)
    stopping                  an EarlyStopping, or None
    unit_orders               per hidden layer, the order of its units in a twin (n,), or per copy of a stack (k, n):
                              the masks' columns follow them
    """

    def __init__(self, steps, m, epochs=1, seed=0, stopping=None, unit_orders=None):
        super().__init__(steps)
        self.m, self.epochs, self.seed, self.stopping = m, epochs, seed, stopping
        self.steps_per_epoch = max(1, len(self) // epochs)
        self.unit_orders = unit_orders

    def masks(self, net, t, dtype="float64"):
        """[D1, …, D(L−1)] for step t (1, 2, …), or None without dropout.

        Each example has its own mask row at step t, drawn for all m examples and then taken for the step's rows:
        the same batch in another row order takes the same masks in that order.
        """
        masks = dropout_masks(net, len(self[t - 1]), [self.seed, t], dtype, rows=self[t - 1], examples=self.m)
        if masks is not None and self.unit_orders is not None:  # a twin with its hidden units in another order
            masks = [D[..., order] if order.ndim == 1 else np.take_along_axis(D, order[:, np.newaxis, :], axis=-1)
                     for D, order in zip(masks, self.unit_orders)]
        return masks

    def end_of_epoch(self, t):
        """Whether step t is its epoch's last."""
        return t % self.steps_per_epoch == 0 or t == len(self)

    def like(self, steps=None, stopping="same", unit_orders=None):
        """The same schedule with other rows per step, without early stopping, or with the units in other orders."""
        return Schedule(self if steps is None else steps, self.m, self.epochs, self.seed,
                        self.stopping if stopping == "same" else stopping,
                        unit_orders if unit_orders is not None else self.unit_orders)


def batch_schedule(m, batch_size=None, epochs=1, seed=0, stopping=None):
    """The rows of every step, in order: a Schedule, one index array per step.

    Full batch (batch_size None or >= m): each epoch is one step over rows 0..m−1 in their order.
    Mini-batch: each epoch draws a permutation of the m rows from one generator seeded once, and
    cuts it into consecutive batches of batch_size (the last one smaller when B does not divide m).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs <= 0:
        raise InputError(f"epochs must be a positive integer, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size <= 0):
        raise InputError(f"batch size must be a positive integer, got {batch_size!r}")
    if batch_size is None or batch_size >= m:
        return Schedule([np.arange(m)] * epochs, m, epochs, seed, stopping)
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(epochs):
        order = rng.permutation(m)
        steps += [order[start:start + batch_size] for start in range(0, m, batch_size)]
    return Schedule(steps, m, epochs, seed, stopping)


def as_schedule(schedule, m):
    """A Schedule for a plain list of row arrays (one epoch of all its steps, no masks' seed beyond 0)."""
    return schedule if isinstance(schedule, Schedule) else Schedule(schedule, m, 1)


def is_full_batch(schedule, m):
    """True when every step takes all m rows in their order (what batch_schedule makes for B >= m)."""
    everything = np.arange(m)
    return all(rows is everything or np.array_equal(rows, everything) for rows in schedule)


def gradients(net, params, X, Y, masks=None, switched=()):
    """J, the gradients [(dW1, db1), …] (dW, dgamma, dbeta for a batch-norm layer), Z[L], and the batch statistics
    [(μ, σ²) or None per layer] of one batch: the lecture's forward and backward pass.

    switched: [(l, row, unit)] hidden units of ReLU (or leaky ReLU) counted on the other side of the kink in the
    backward pass, g'(Z) as if Z had the other sign — what another run's rounding may do to a unit at Z ≈ 0
    (crosscheck.training asks for it when a framework's step is that one).
    """
    Zs, As, caches = forward(net, params, X, masks, Y, overwrite=True)
    for l, row, unit in switched:  # g's cache holds what its backward reads the side from: A (ReLU), (Z, slope) (leaky)
        cache = caches[l - 1]
        side, *rest = cache["g"] if isinstance(cache["g"], tuple) else (cache["g"],)
        side = side.copy()
        side[row, unit] = -side[row, unit] if side[row, unit] else np.finfo(side.dtype).tiny
        cache["g"] = (side, *rest) if rest else side
    J = cost(net, params, Zs[-1], Y, caches[-1]["loss"])
    grads = dict(backward(net, params, As, caches, Y, overwrite=True))
    learnt = [[grads[f"d{name}{l}"] for name in net.layer_names(l)[:net.learnt(l)]] for l in range(1, net.L + 1)]
    statistics = [(c["named"][f"mu{l}"], c["named"][f"var{l}"]) if f"mu{l}" in c["named"] else None
                  for l, c in enumerate(caches, start=1)]
    return J, learnt, Zs[-1], statistics


def running_averages(net, running, statistics, m, convention):
    """Batch norm's μ_run, σ²_run after a step, in a framework's convention (β = net.bn_momentum):

        keras, optax:  μ_run ← β μ_run + (1 − β) μ,        σ²_run ← β σ²_run + (1 − β) σ²
        torch:         the same with p = 1 − β (torch's momentum) and σ² · m / (m − 1), the unbiased variance

    running is [(μ_run, σ²_run) or () per layer], statistics the batch's [(μ, σ²) or None per layer].
    """
    out = []
    for averages, stats in zip(running, statistics):
        if stats is None:
            out.append(averages)
            continue
        rmu, rvar = averages
        mu, var = stats
        real = rmu.dtype.type
        if RUNNING_VARIANCE[convention] == "unbiased" and m < 2:
            raise InputError(f"batch norm in {convention}'s convention needs two rows or more in a batch: its running "
                             f"variance is the unbiased σ²·m/(m − 1), and torch's BatchNorm1d refuses a batch of one in "
                             f"training")
        if RUNNING_VARIANCE[convention] == "unbiased":
            p = real(1 - net.bn_momentum)
            rmu, rvar = p * mu + (1 - p) * rmu, p * (var * real(m / (m - 1))) + (1 - p) * rvar
        else:
            b = real(net.bn_momentum)
            rmu, rvar = rmu * b + mu * (1 - b), rvar * b + var * (1 - b)
        out.append((rmu, rvar))
    return out


class Stepper:
    """The reference's training one step at a time: what train() runs, and what a comparison advances in
    lockstep with another run (crosscheck.training).

        stepper = Stepper(net, params, X, Y, optimizer, schedule)
        J = stepper.step()          J of step t's batch; stepper.params are the parameters after step t
        stepper.done                the schedule is over, or early stopping ended it after step t

    stepper.logit_scale is max|Z[L]| of the last step's batch: J's rounding scales with it, not with J
    (J = mean of log Σ exp Z − Z_y, differences of numbers of the size of Z).

    A stack of k copies steps the same way (crosscheck.training's reference and twin, one NumPy call for both):
    every parameter (k, …), the schedule's rows (k, B) per step (each copy its own order of the same rows), and
    J, logit_scale one per copy; early stopping is decided by copy 0's dev J.  The learnt tensors live in one
    vector per copy, stepper.flat (…, N) (reference.optim.Layout), the running averages beside it.  wide: the copies
    (0 for a run of its own) whose optimizer step is computed in float64 and rounded back (reference.optim.Updater).
    """

    def __init__(self, net, params, X, Y, optimizer, schedule, wide=()):
        if not net.training:
            raise InputError("training runs a training pass: the network must not be in inference mode")
        self.lead = lead = np.shape(params[0][0])[:-2]
        first = [tuple(np.asarray(P)[(0,) * len(lead)] for P in layer) for layer in params]
        check_inputs(replace(net, keep_prob=1.0), first, X[(0,) * (X.ndim - 2)], Y)  # the masks: the schedule's
        # X may hold each copy's own (the twin's inputs in another order): copy i reads row r as X[i, r]
        self.copies = (np.arange(X.shape[0]).reshape(-1, 1),) if X.ndim == 3 else ()
        schedule = as_schedule(schedule, X.shape[0])
        self.net, self.X, self.Y, self.schedule, self.optimizer = net, X, Y, schedule, optimizer
        learnt = [layer[:net.learnt(l)] for l, layer in enumerate(params, start=1)]
        self.layout = Layout(learnt)
        self.flat = self.layout.flatten(learnt)
        self.running = [tuple(layer[net.learnt(l):]) for l, layer in enumerate(params, start=1)]
        self.params = params
        self.updater = Updater(optimizer, params, schedule.steps_per_epoch, wide)
        self.t, self.logit_scale = 0, 0.0
        self.rows = self.batch = None
        self.patience = schedule.stopping.watcher() if schedule.stopping else None
        # the m of early stopping's λ/(2m) when it is the training batch's (MONITORED_L2), else None: the dev split's
        training_batch = MONITORED_L2.get(optimizer.convention) == "training batch"
        self.monitored_l2 = np.shape(schedule[0])[-1] if training_batch and len(schedule) else None
        self.stopped = False

    @property
    def done(self):
        return self.stopped or self.t >= len(self.schedule)

    def step(self, switched=()):
        """Step t + 1: J on its batch, then the update; returns J (a float; one per copy of a stack).

        switched: hidden units counted on the other side of ReLU's kink in this step's backward pass (gradients).
        """
        rows = self.schedule[self.t]
        if rows is not self.rows:  # a full-batch schedule hands over the same rows every step: one batch for all
            self.rows, self.batch = rows, (self.X[(*self.copies, rows)], self.Y[rows])
        masks = self.schedule.masks(self.net, self.t + 1, self.X.dtype)
        J, grads, Z, statistics = gradients(self.net, self.params, *self.batch, masks, switched)
        self.flat = self.updater.update(self.flat, self.layout.flatten(grads))
        if any(statistics):
            self.running = running_averages(self.net, self.running, statistics, rows.shape[-1],
                                            self.optimizer.convention)
        self.params = [learnt + running for learnt, running in zip(self.layout.unflatten(self.flat), self.running)]
        self.logit_scale = np.abs(Z).max(axis=(-2, -1))
        self.t += 1
        if self.patience and self.schedule.end_of_epoch(self.t):
            stopping = self.schedule.stopping
            self.stopped = self.patience.update(evaluate(self.net, self.copy(0), stopping.X, stopping.Y,
                                                         self.monitored_l2))
        return J if np.ndim(J) else float(J)

    def state(self):
        """Where the run stands, for restore(): every array is replaced by a step, never changed in place."""
        updater = self.updater
        return (self.t, self.flat, self.running, self.params, self.logit_scale, self.stopped, updater.t,
                dict(updater.state) if updater.state is not None else None)

    def restore(self, state):
        """Back to where state() was taken (the early-stopping watcher aside)."""
        (self.t, self.flat, self.running, self.params, self.logit_scale, self.stopped, self.updater.t,
         saved) = state
        self.updater.state = dict(saved) if saved is not None else None

    def copy(self, i):
        """Copy i's parameters of a stack (the parameters themselves without one)."""
        return self.params if not self.lead else [tuple(P[i] for P in layer) for layer in self.params]


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """Run the schedule with the optimizer; a Run with J per step and the parameters after the last step.

    on_step(t, J, params)  called after each step t = 1, 2, … with that step's J and the parameters after it,
                           [(W1, b1), …] (the same call every framework's train() makes)
    """
    stepper = Stepper(net, params, X, Y, optimizer, schedule)
    losses = []
    while not stepper.done:
        J = stepper.step()
        losses.append(J)
        if on_step:
            on_step(stepper.t, J, stepper.params)
    meta = {"optimizer": optimizer.describe()}
    if stepper.patience:
        meta["stopped_epoch"] = stepper.patience.stopped_epoch
    return Run("numpy-reference", np.array(losses), stepper.params, meta)


def evaluate(net, params, X, Y, l2_examples=None):
    """J on (X, Y) in an inference pass, with the L2 term: what early stopping watches (Keras's val_loss).

    l2_examples: the m of the course's λ/(2m) when it is not X's rows (Keras: the training batch's; MONITORED_L2).
    """
    net = net.inference()
    Zs, _, _ = forward(net, params, X)
    return float(cost(net, params, Zs[-1], Y, l2_examples=l2_examples))


def predict(net, params, X):
    """The predicted class of each row in an inference pass: argmax of A[L] (for one sigmoid output: A[L] > 1/2)."""
    _, As, _ = forward(net.inference(), params, X)
    A = As[-1]
    return (A[..., 0] > 0.5).astype(int) if A.shape[-1] == 1 else np.argmax(A, axis=-1)


def accuracy(net, params, X, Y):
    """The fraction of rows whose predicted class is the target's (argmax of Y, or Y > 1/2); one per copy of a
    stack of parameters (reference.layers), X and Y shared."""
    labels = (Y[:, 0] > 0.5).astype(int) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
    hits = np.mean(predict(net, params, X) == labels, axis=-1)
    return hits if np.ndim(hits) else float(hits)
