"""Training the lecture's network: gradient descent, full-batch or mini-batch, in a fixed, seeded order.

Legend:  m  examples    B  batch size    t  the step (one batch, one update)

    for each step t, with rows r_t of X (the schedule):
        Z, A   = forward(X[r_t])                  the lecture's forward pass
        J_t    = cost(Z[L], Y[r_t])                recorded before the update
        dW, db = backward(...)                    the lecture's backward pass (1/m with m = |r_t|)
        W, b   ← update(W, b, dW, db)             W ← W − α dW for SGD; see reference.optim

The schedule — which rows each step sees — is made once, here, and every framework is handed the
same one, so that all of them see the same batches in the same order.
"""
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .network import backward, check_inputs, cost, forward
from .optim import Updater


@dataclass
class Run:
    """One training run: J on each step's batch (before its update) and the parameters after the last step.

    losses        (steps,) float64
    final_params  [(W1, b1), …, (WL, bL)] after the last step

    A run keeps no parameters of the steps in between: whoever needs them (crosscheck.training compares
    every step) takes them from on_step as the run goes, so that memory stays flat in the number of steps.
    """

    framework: str
    losses: np.ndarray
    final_params: list
    meta: dict = field(default_factory=dict)


def batch_schedule(m, batch_size=None, epochs=1, seed=0):
    """The rows of every step, in order: a list of index arrays, one per step.

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
        return [np.arange(m)] * epochs
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(epochs):
        order = rng.permutation(m)
        steps += [order[start:start + batch_size] for start in range(0, m, batch_size)]
    return steps


def is_full_batch(schedule, m):
    """True when every step takes all m rows in their order (what batch_schedule makes for B >= m)."""
    everything = np.arange(m)
    return all(rows is everything or np.array_equal(rows, everything) for rows in schedule)


def gradients(net, params, X, Y):
    """J, [(dW1, db1), …] and Z[L] for one batch: the lecture's forward and backward pass."""
    Zs, As, caches = forward(net, params, X)
    J = cost(net, params, Zs[-1], Y)
    grads = dict(backward(net, params, As, caches, Y))
    return J, [(grads[f"dW{l}"], grads[f"db{l}"]) for l in range(1, net.L + 1)], Zs[-1]


class Stepper:
    """The reference's training one step at a time: what train() runs, and what a comparison advances in
    lockstep with another run (crosscheck.training).

        stepper = Stepper(net, params, X, Y, optimizer, schedule)
        J = stepper.step()          J of step t's batch; stepper.params are the parameters after step t

    stepper.logit_scale is max|Z[L]| of the last step's batch: J's rounding scales with it, not with J
    (J = mean of log Σ exp Z − Z_y, differences of numbers of the size of Z).
    """

    def __init__(self, net, params, X, Y, optimizer, schedule):
        check_inputs(net, params, X, Y)
        self.net, self.X, self.Y, self.schedule = net, X, Y, schedule
        self.params = params
        self.updater = Updater(optimizer, params)
        self.t, self.logit_scale = 0, 0.0

    def step(self):
        """Step t + 1: J on its batch, then the update; returns J (a float)."""
        rows = self.schedule[self.t]
        J, grads, Z = gradients(self.net, self.params, self.X[rows], self.Y[rows])
        self.params = self.updater.step(self.params, grads)
        self.logit_scale = float(np.max(np.abs(Z)))
        self.t += 1
        return float(J)


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """Run the schedule with the optimizer; a Run with J per step and the parameters after the last step.

    on_step(t, J, params)  called after each step t = 1, 2, … with that step's J and the parameters after it,
                           [(W1, b1), …] (the same call every framework's train() makes)
    """
    stepper = Stepper(net, params, X, Y, optimizer, schedule)
    losses = []
    for t in range(1, len(schedule) + 1):
        J = stepper.step()
        losses.append(J)
        if on_step:
            on_step(t, J, stepper.params)
    return Run("numpy-reference", np.array(losses), stepper.params, {"optimizer": optimizer.describe()})


def predict(net, params, X):
    """The predicted class of each row: argmax of A[L] (for one sigmoid output: A[L] > 1/2)."""
    _, As, _ = forward(net, params, X)
    A = As[-1]
    return (A[:, 0] > 0.5).astype(int) if A.shape[1] == 1 else np.argmax(A, axis=1)


def accuracy(net, params, X, Y):
    """The fraction of rows whose predicted class is the target's (argmax of Y, or Y > 1/2)."""
    labels = (Y[:, 0] > 0.5).astype(int) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
    return float(np.mean(predict(net, params, X) == labels))
