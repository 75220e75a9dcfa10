"""Optimizers in NumPy, next to the lecture's update W ← W − α dW, in each framework's own convention.

Legend:  P  one parameter tensor (a W[l] or a b[l])    g = dP  its gradient    t = 1, 2, …  the step
         α  the learning rate                          s  the tensor's optimizer state (starts at 0)

The frameworks agree on SGD and disagree on the rest.  Each rule below is one framework's update,
written as that framework computes it; which one to run is chosen by name (the convention):

| optimizer | convention     | the update                                                       | defaults                |
|-----------|----------------|------------------------------------------------------------------|-------------------------|
| sgd       | all            | P ← P − α g                                                      |                         |
| momentum  | torch, optax   | v ← μ v + g;            P ← P − α v                              | μ 0.9                   |
| momentum  | keras          | v ← μ v − α g;          P ← P + v                                | μ 0.9                   |
| momentum  | course         | v ← μ v + (1 − μ) g;    P ← P − α v                              | μ 0.9                   |
| adam      | torch, optax   | m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;                      | β1 0.9, β2 0.999, ε 1e-8 |
|           |                | P ← P − α m̂ / (√v̂ + ε),   m̂ = m / (1−β1ᵗ),  v̂ = v / (1−β2ᵗ)     |                         |
| adam      | keras          | the same m, v;  P ← P − α √(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε)          | β1 0.9, β2 0.999, ε 1e-7 |
|           |                | (ε before the bias correction: ε·√(1−β2ᵗ) in torch's terms)      |                         |
| adamw     | torch          | P ← P (1 − α λ), then torch's Adam step  (decoupled weight decay) | λ 0.01 (and Adam's)      |
| adamw     | keras          | P ← P − P λ α, then Keras's Adam step                            | λ 0.004 (and Adam's)     |
| adamw     | optax          | P ← P − α (m̂ / (√v̂ + ε) + λ P)                                   | λ 1e-4 (and Adam's)      |
| rmsprop   | torch          | s ← ρ s + (1−ρ) g²;   P ← P − α g / (√s + ε)                     | ρ 0.99, ε 1e-8          |
| rmsprop   | keras          | s ← ρ s + (1−ρ) g²;   P ← P − α g / √(s + ε)                     | ρ 0.9,  ε 1e-7          |
| rmsprop   | optax          | s ← ρ s + (1−ρ) g²;   P ← P − α g / √(s + ε)                     | ρ 0.9,  ε 1e-8          |

torch calls ρ `alpha` for RMSprop, optax calls it `decay`; every rule here says ρ.  AdamW's λ decays
every parameter, biases included, as all three frameworks do by default; it is apart from the L2 term
of J (reference.regularization), which the gradient carries and Adam rescales.  μ, β1, β2, ρ and ε
are never left to a framework's default: every framework is given the values written here.
"""
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")


# ---- the update rules: (P, g, s, t, hyper) -> new P, filling in s ------------------------------

def sgd(P, g, s, t, h):
    """P ← P − α g: the lecture's update."""
    return P - h["lr"] * g


def momentum_torch(P, g, s, t, h):
    """v ← μ v + g;  P ← P − α v."""
    s["v"] = h["mu"] * s["v"] + g
    return P - h["lr"] * s["v"]


def momentum_keras(P, g, s, t, h):
    """v ← μ v − α g;  P ← P + v   (the learning rate lives inside the velocity)."""
    s["v"] = s["v"] * h["mu"] - g * h["lr"]
    return P + s["v"]


def momentum_course(P, g, s, t, h):
    """v ← μ v + (1 − μ) g;  P ← P − α v   (an average of the gradients, not their sum)."""
    s["v"] = h["mu"] * s["v"] + (1 - h["mu"]) * g
    return P - h["lr"] * s["v"]


def adam_torch(P, g, s, t, h):
    """m, v: running means of g and g²;  P ← P − α m̂ / (√v̂ + ε)."""
    return P - h["lr"] * adam_direction(g, s, t, h)


def adam_direction(g, s, t, h):
    """m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  the direction m̂ / (√v̂ + ε)."""
    b1, b2 = h["beta1"], h["beta2"]
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1 ** t)
    v_hat = s["v"] / (1 - b2 ** t)
    return m_hat / (np.sqrt(v_hat) + h["eps"])


def adam_keras(P, g, s, t, h):
    """The same m, v;  P ← P − α √(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε)."""
    real = P.dtype.type                     # Keras computes βᵗ and α in the weights' dtype (torch in Python floats)
    b1, b2 = h["beta1"], h["beta2"]
    alpha = real(h["lr"]) * np.sqrt(1 - real(b2) ** real(t)) / (1 - real(b1) ** real(t))
    s["m"] = s["m"] + (g - s["m"]) * (1 - b1)
    s["v"] = s["v"] + (g * g - s["v"]) * (1 - b2)
    return P - s["m"] * alpha / (np.sqrt(s["v"]) + h["eps"])


def adamw_torch(P, g, s, t, h):
    """P ← P (1 − α λ), then Adam's step: the decay is decoupled from g (and from m, v)."""
    return adam_torch(P * (1 - h["lr"] * h["weight_decay"]), g, s, t, h)


def adamw_keras(P, g, s, t, h):
    """P ← P − P λ α, then Keras's Adam step."""
    return adam_keras(P - P * h["weight_decay"] * h["lr"], g, s, t, h)


def adamw_optax(P, g, s, t, h):
    """P ← P − α (m̂ / (√v̂ + ε) + λ P): optax adds the decay to Adam's direction, then scales by α."""
    return P - h["lr"] * (adam_direction(g, s, t, h) + h["weight_decay"] * P)


def rmsprop_torch(P, g, s, t, h):
    """s ← ρ s + (1−ρ) g²;  P ← P − α g / (√s + ε)."""
    s["s"] = h["rho"] * s["s"] + (1 - h["rho"]) * g * g
    return P - h["lr"] * g / (np.sqrt(s["s"]) + h["eps"])


def rmsprop_keras(P, g, s, t, h):
    """s ← ρ s + (1−ρ) g²;  P ← P − α g / √(s + ε)   (ε inside the square root)."""
    s["s"] = h["rho"] * s["s"] + (1 - h["rho"]) * g * g
    return P - h["lr"] * g / np.sqrt(s["s"] + h["eps"])


# (optimizer, convention) -> (rule, default hyperparameters)
RULES = {
    ("sgd", "torch"): (sgd, {}),
    ("sgd", "keras"): (sgd, {}),
    ("sgd", "optax"): (sgd, {}),
    ("momentum", "torch"): (momentum_torch, {"mu": 0.9}),
    ("momentum", "optax"): (momentum_torch, {"mu": 0.9}),
    ("momentum", "keras"): (momentum_keras, {"mu": 0.9}),
    ("momentum", "course"): (momentum_course, {"mu": 0.9}),
    ("adam", "torch"): (adam_torch, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ("adam", "optax"): (adam_torch, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ("adam", "keras"): (adam_keras, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-7}),
    ("adamw", "torch"): (adamw_torch, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}),
    ("adamw", "keras"): (adamw_keras, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "weight_decay": 0.004}),
    ("adamw", "optax"): (adamw_optax, {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-4}),
    ("rmsprop", "torch"): (rmsprop_torch, {"rho": 0.99, "eps": 1e-8}),
    ("rmsprop", "keras"): (rmsprop_keras, {"rho": 0.9, "eps": 1e-7}),
    ("rmsprop", "optax"): (rmsprop_keras, {"rho": 0.9, "eps": 1e-8}),
}
CONVENTIONS = tuple(dict.fromkeys(convention for _, convention in RULES))


@dataclass(frozen=True)
class Optimizer:
    """Which update, in which framework's convention, with every hyperparameter spelled out.

    name        sgd, momentum, adam or rmsprop
    lr          the learning rate α
    convention  torch, keras, optax (or course for momentum): whose formula and whose defaults
    hyper       overrides of the defaults: mu, beta1, beta2, eps, rho, weight_decay
    """

    name: str
    lr: float
    convention: str = "torch"
    hyper: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.name!r}; choose one of {', '.join(OPTIMIZERS)}")
        if (self.name, self.convention) not in RULES:
            known = [c for n, c in RULES if n == self.name]
            raise InputError(f"{self.name} has no {self.convention!r} convention; choose one of {', '.join(known)}")
        if not np.isfinite(self.lr) or self.lr <= 0:
            raise InputError(f"learning rate must be a finite number > 0, got {self.lr!r}")
        defaults = RULES[self.name, self.convention][1]
        unknown = set(self.hyper) - set(defaults)
        if unknown:
            raise InputError(f"{self.name} takes no {', '.join(sorted(unknown))} (it takes: {', '.join(defaults) or 'nothing'})")
        object.__setattr__(self, "hyper", {**defaults, **self.hyper})

    def in_convention(self, convention):
        """The same optimizer and learning rate in another framework's convention (its defaults)."""
        return Optimizer(self.name, self.lr, convention)

    def describe(self):
        extra = ", ".join(f"{k}={v:g}" for k, v in self.hyper.items())
        return f"{self.name} α={self.lr:g}" + (f" ({self.convention}: {extra})" if extra else "")


class Updater:
    """An optimizer at work on one network's parameters: holds the state and the step count t."""

    def __init__(self, optimizer, params):
        self.rule = RULES[optimizer.name, optimizer.convention][0]
        self.hyper = {"lr": optimizer.lr, **optimizer.hyper}
        self.t = 0
        # one state per tensor; every buffer starts at zero, shaped and typed like its tensor
        self.state = [({k: np.zeros_like(W) for k in "mvs"}, {k: np.zeros_like(b) for k in "mvs"})
                      for W, b in params]

    def step(self, params, grads):
        """New [(W1, b1), …] from the old and the gradients [(dW1, db1), …]."""
        self.t += 1
        return [(self.rule(W, dW, sW, self.t, self.hyper), self.rule(b, db, sb, self.t, self.hyper))
                for (W, b), (dW, db), (sW, sb) in zip(params, grads, self.state)]
