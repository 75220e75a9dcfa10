"""Hyperparameter search as the course teaches it: random points, the learning rate α and the L2 strength λ
drawn on a log scale (and the hidden width from a list), each trained with the NumPy reference and judged
on the dev split; then the best point trained again in Keras with model.fit, from the same start on the
same batches, to show that it lands on the same result.

    space = SearchSpace(lr=(1e-3, 1.0), l2=(1e-6, 1e-1), widths=(16, 32, 64, 128))
    search = random_search(problem, space, Settings(trials=20, epochs=30, batch_size=64))
    search.best                              the Trial with the best dev accuracy (ties: the lower dev J)
    confirm_in_keras(problem, search, …)     the best Trial again, in Keras and in the reference

Why random and not a grid: of α, λ and the width one usually matters far more than the others, and
n random points try n different values of each, where a grid tries only n^(1/3).  Why a log scale: α =
0.001 and 0.01 are as different as 0.1 and 1; a uniform draw would spend 90 % of its points on [0.1, 1].

Every trial of the same width starts from the same parameters (init_params with the one seed) and sees
the same batches in the same order: trials differ by their hyperparameters alone, not by the luck of
the draw.  Training runs go through reference.train.train and adapters' train(); the Keras confirmation
is crosscheck train's judgement (crosscheck.training: every step within what the reference's twin shows).
"""
import math
from dataclasses import dataclass, field, replace

import numpy as np

from crosscheck import adapters
from crosscheck.course.training import follow, measure_envelope
from crosscheck.engine.problem import Problem
from crosscheck.engine.status import MISMATCH, UNAVAILABLE
from crosscheck.reference import Network, cost, forward, init_params
from crosscheck.reference.errors import InputError, one_line
from crosscheck.reference.optim import Optimizer
from crosscheck.reference.train import accuracy, batch_schedule, train

KERAS = "keras"


@dataclass(frozen=True)
class SearchSpace:
    """Where the search looks: α and λ log-uniform on [lo, hi], the width uniformly from a list."""

    lr: tuple = (1e-3, 1.0)
    l2: tuple = (1e-6, 1e-1)
    widths: tuple = (16, 32, 64, 128)

    def __post_init__(self):
        for name, (lo, hi) in (("learning rate", self.lr), ("L2 strength", self.l2)):
            if not (0 < lo <= hi and math.isfinite(hi)):
                raise InputError(f"{name} range {lo:g}..{hi:g}: need 0 < low <= high, both finite")
        if not self.widths or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w <= 0
                                  for w in self.widths):
            raise InputError(f"hidden widths {list(self.widths)}: need one or more positive integers")

    def sample(self, rng):
        """One point: (α, λ, width).  log10 α ~ U(log10 lo, log10 hi), the same for λ."""
        lr = 10 ** rng.uniform(np.log10(self.lr[0]), np.log10(self.lr[1]))
        l2 = 10 ** rng.uniform(np.log10(self.l2[0]), np.log10(self.l2[1]))
        return float(lr), float(l2), int(self.widths[rng.integers(len(self.widths))])

    def as_json(self):
        return {"lr": list(self.lr), "l2": list(self.l2), "widths": list(self.widths), "scale": "log10-uniform"}


@dataclass(frozen=True)
class Settings:
    """How each trial trains: the optimizer, the epochs and the batch size, the initialization, the seed."""

    trials: int = 20
    optimizer: str = "sgd"
    epochs: int = 30
    batch_size: int = 64       # None: full batch
    init: str = "he"
    seed: int = 0              # the points drawn, the start, the batch order (the split is the Problem's)

    def as_json(self):
        return {"trials": self.trials, "optimizer": self.optimizer, "epochs": self.epochs,
                "batch_size": self.batch_size, "init": self.init, "seed": self.seed}


@dataclass
class Trial:
    """One point of the search and how it trained."""

    index: int                 # 1, 2, … in the order drawn
    lr: float
    l2: float
    width: int
    final_loss: float = None   # J of the last step (its batch, with the L2 term), as the run recorded it
    train_accuracy: float = None
    dev_accuracy: float = None
    dev_loss: float = None     # the data term of J on the dev split (no L2 term: comparable across λ)
    diverged: bool = False     # J or a parameter stopped being finite

    def key(self):
        """What `best` maximizes: the dev accuracy, then the lower dev J; a diverged run never wins."""
        if self.diverged:
            return (-1.0, -math.inf)
        return (self.dev_accuracy, -self.dev_loss)

    def as_json(self):
        return {"trial": self.index, "lr": self.lr, "l2": self.l2, "width": self.width,
                "final_loss": self.final_loss, "train_accuracy": self.train_accuracy,
                "dev_accuracy": self.dev_accuracy, "dev_loss": self.dev_loss, "diverged": self.diverged}


@dataclass
class Search:
    space: SearchSpace
    settings: Settings
    trials: list = field(default_factory=list)

    @property
    def best(self):
        """The Trial with the highest dev accuracy (the lower dev J breaks a tie; then the earlier); None if all diverged."""
        finite = [t for t in self.trials if not t.diverged]
        return max(finite, key=Trial.key) if finite else None


def trial_network(net, width, l2):
    """The problem's network with one hidden layer of `width` units and L2 strength λ."""
    return Network((net.sizes[0], width, net.sizes[-1]), net.activation, net.loss, l2, net.l2_convention,
                   net.leaky_slope)


def check_problem(problem):
    """InputError unless the problem has a dev split and a loss whose predictions are classes."""
    if problem.dataset is None:
        raise InputError("the search is judged on a dev split: give --data a data set's name or an .npz file to split")
    if problem.net.loss == "mse":
        raise InputError("the search is judged by dev accuracy: it needs a classification loss, not mse")


def random_search(problem, space, settings, on_trial=None):
    """Search: settings.trials points drawn from space, each trained with the reference on the training split.

    on_trial(trial) is called after each (a progress bar).
    """
    check_problem(problem)
    rng = np.random.default_rng(settings.seed)
    X, Y = problem.dataset.split("train")
    schedule = batch_schedule(X.shape[0], settings.batch_size, settings.epochs, settings.seed)
    search = Search(space, settings)
    for index in range(1, settings.trials + 1):
        lr, l2, width = space.sample(rng)
        trial = Trial(index, lr, l2, width)
        net = trial_network(problem.net, width, l2)
        params = init_params(net, settings.init, settings.seed, X.dtype.name)
        with np.errstate(all="ignore"):  # a too-large α overflows: that trial diverged, the search goes on
            run = train(net, params, X, Y, Optimizer(settings.optimizer, lr), schedule)
            evaluate(trial, net, run, problem.dataset)
        search.trials.append(trial)
        if on_trial:
            on_trial(trial)
    return search


def evaluate(trial, net, run, dataset):
    """Fill in the trial's final J, training and dev accuracy and dev J from its run."""
    params = run.final_params
    trial.final_loss = float(run.losses[-1])
    trial.diverged = not (np.all(np.isfinite(run.losses)) and all(np.all(np.isfinite(P)) for pair in params for P in pair))
    if trial.diverged:
        return
    trial.train_accuracy = accuracy(net, params, *dataset.split("train"))
    trial.dev_accuracy = accuracy(net, params, *dataset.split("dev"))
    trial.dev_loss = data_loss(net, params, *dataset.split("dev"))


def data_loss(net, params, X, Y):
    """The loss of the network's predictions on (X, Y), without the L2 term."""
    Zs, _, _ = forward(net, params, X)
    return float(cost(replace(net, l2=0.0), params, Zs[-1], Y))


# ---- the best point, again in Keras ------------------------------------------------------------------

@dataclass
class Confirmation:
    """The best point trained twice from one start, by the reference and by Keras's model.fit."""

    status: str                    # ok: Keras lands on the reference's result; mismatch; unavailable
    reason: str = None
    results: dict = field(default_factory=dict)  # "reference" / "keras" -> {final_loss, train/dev/test_accuracy}
    max_loss_divergence: float = None    # max over the steps of |J_keras − J_reference|
    max_param_divergence: float = None   # max over the steps of max|P_keras − P_reference| over every W and b
    loss_tolerance: float = None
    param_tolerance: float = None
    steps: int = 0

    def as_json(self):
        return {"status": self.status, "reason": self.reason, "steps": self.steps, **self.results,
                "max_loss_divergence": self.max_loss_divergence, "max_param_divergence": self.max_param_divergence,
                "loss_tolerance": self.loss_tolerance, "param_tolerance": self.param_tolerance}


def best_setup(problem, search):
    """(network, start, optimizer in Keras's convention, schedule) of the search's best trial."""
    best, settings = search.best, search.settings
    X = problem.dataset.X["train"]
    net = trial_network(problem.net, best.width, best.l2)
    params = init_params(net, settings.init, settings.seed, X.dtype.name)
    optimizer = Optimizer(settings.optimizer, best.lr, adapters.FRAMEWORKS[KERAS].convention)
    schedule = batch_schedule(X.shape[0], settings.batch_size, settings.epochs, settings.seed)
    return net, params, optimizer, schedule


def confirm_in_keras(problem, search):
    """The best trial trained by the reference and by Keras's model.fit from the same start on the same batches.

    The reference runs in Keras's optimizer convention (for SGD every convention is the same walk).  Keras
    lands on the same result when it passes crosscheck train's judgement (crosscheck.training.follow: every
    step's J and W and b within what the reference's twin shows, the end state if the run turns chaotic);
    a missing Keras is said, and the search still stands.
    """
    dataset = problem.dataset
    net, params, optimizer, schedule = best_setup(problem, search)
    X, Y = dataset.split("train")
    start = Problem(net, params, X, Y)
    envelope = measure_envelope(start, optimizer, schedule)  # the reference's run and its twin's
    confirmation = Confirmation(UNAVAILABLE, steps=len(schedule),
                                results={"reference": results_of(net, envelope.run, dataset)})
    try:
        module, _info = adapters.load(KERAS, "train")
    except adapters.Unavailable as exc:
        confirmation.reason = str(exc).removeprefix(f"{KERAS}: ")
        return confirmation
    try:
        outcome = follow(KERAS, module.train, start, optimizer, schedule, envelope)
    except NotImplementedError as exc:  # a combination Keras's API cannot express
        confirmation.reason = str(exc)
        return confirmation
    except Exception as exc:
        confirmation.status, confirmation.reason = MISMATCH, f"training failed: {one_line(exc)}"
        return confirmation
    confirmation.results[KERAS] = results_of(net, outcome.run, dataset)
    confirmation.status, confirmation.reason = outcome.status, outcome.reason
    confirmation.max_loss_divergence, confirmation.max_param_divergence = (outcome.max_loss_divergence,
                                                                           outcome.max_param_divergence)
    confirmation.loss_tolerance, confirmation.param_tolerance = outcome.loss_tolerance, outcome.param_tolerance
    return confirmation


def results_of(net, run, dataset):
    params = run.final_params
    return {"final_loss": float(run.losses[-1]),
            **{f"{split}_accuracy": accuracy(net, params, *dataset.split(split)) for split in ("train", "dev", "test")}}


