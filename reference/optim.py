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

Learning-rate schedules (LRSchedule) change α between epochs, never within one: epoch e = 0, 1, … is made of
the steps t = e·S + 1 … (e + 1)·S (S steps per epoch), and all of them use

| schedule    | α_e                                        | torch.optim.lr_scheduler | Keras (on the epoch)         | optax (on the epoch)     |
|-------------|--------------------------------------------|--------------------------|------------------------------|--------------------------|
| constant    | α                                          |                          |                              |                          |
| step        | α · γ^⌊e / k⌋   (γ = factor, k = every)    | StepLR(k, γ)             | ExponentialDecay(α, k, γ, staircase=True) | exponential_decay(α, k, γ, staircase=True) |
| exponential | α · γ^e                                    | ExponentialLR(γ)         | ExponentialDecay(α, 1, γ)    | exponential_decay(α, 1, γ) |
| inverse     | α / (1 + r·⌊e / k⌋)  (1/t, r = factor)     | LambdaLR(1/(1 + r·⌊e/k⌋))| InverseTimeDecay(α, k, r, staircase=True) | written out          |
| cosine      | α (f + (1 − f) (1 + cos(π e / E)) / 2)     | CosineAnnealingLR(E, f·α)| CosineDecay(α, E, alpha=f)   | cosine_decay_schedule(α, E, f) |
|             | (E = epochs, f = floor: α_E = f·α)         |                          |                              |                          |

torch's schedulers count epochs (scheduler.step() after each epoch's last step); Keras's and optax's count
steps, so each is handed the epoch ⌊step / S⌋ instead of the step (adapters).

Gradient clipping by the global norm ‖g‖ = √(Σ over every learnt tensor of Σ g²) — the norm of all of them
together, not one per tensor (Keras's clipnorm is per tensor; global_clipnorm is this one) — rescales every
gradient before the update, each framework in its own words:

| convention | g ←                                   | the framework's call                               |
|------------|---------------------------------------|----------------------------------------------------|
| torch      | g · min(1, c / (‖g‖ + 1e-6))          | torch.nn.utils.clip_grad_norm_(parameters, c)      |
| keras      | g · c · min(1/‖g‖, 1/c)               | keras.optimizers.…(global_clipnorm=c)              |
| optax      | g if ‖g‖ < c, else g / ‖g‖ · c        | optax.clip_by_global_norm(c)                       |
"""
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "exponential", "inverse", "cosine")


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
class LRSchedule:
    """The learning rate of each epoch (see the table above): α_e, held for every step of epoch e = 0, 1, ….

    name    constant, step, exponential, inverse (1/t) or cosine
    factor  γ of step and exponential decay, r of inverse decay (default 0.5)
    every   k: step decay multiplies α by γ every k epochs (default 10); inverse decay takes ⌊e / k⌋ (default 1:
            every epoch) — the course's schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=k)
    epochs  E: cosine anneals from α to floor·α over E epochs
    floor   f of cosine: α_E = f·α (default 0)

    A schedule takes only what its formula uses: giving it another (every for exponential decay, a floor for step
    decay) is an InputError naming it, never a number silently left out.
    """

    name: str = "constant"
    factor: float = None
    every: int = None
    epochs: int = None
    floor: float = None

    def __post_init__(self):
        if self.name not in SCHEDULES:
            raise InputError(f"unknown learning-rate schedule {self.name!r}; choose one of {', '.join(SCHEDULES)}")
        uses = SCHEDULE_OPTIONS[self.name]
        ignored = [name for name in ("factor", "every", "epochs", "floor")
                   if getattr(self, name) is not None and name not in uses]
        if ignored:
            raise InputError(f"the {self.name} schedule takes no {' or '.join(ignored)} (it takes: "
                             f"{', '.join(uses) or 'nothing'})")
        for name, default in SCHEDULE_DEFAULTS.get(self.name, {}).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        if self.name in ("step", "exponential") and not (0 < self.factor <= 1):
            raise InputError(f"{self.name} decay needs a factor γ in (0, 1], got {self.factor!r}")
        if self.name == "inverse" and not (np.isfinite(self.factor) and self.factor >= 0):
            raise InputError(f"1/t decay needs a rate r >= 0, got {self.factor!r}")
        if self.name in ("step", "inverse") and (isinstance(self.every, bool)
                                                 or not isinstance(self.every, (int, np.integer)) or self.every <= 0):
            raise InputError(f"{self.name} decay needs every = a positive number of epochs, got {self.every!r}")
        if self.name == "cosine" and (not isinstance(self.epochs, (int, np.integer)) or self.epochs <= 0
                                      or not (0 <= self.floor <= 1)):
            raise InputError(f"cosine decay needs epochs E > 0 and a floor in [0, 1], got {self.epochs!r}, {self.floor!r}")

    def rate(self, lr, epoch):
        """α_e for epoch e = 0, 1, … (a Python float)."""
        if self.name == "step":
            return lr * self.factor ** (epoch // self.every)
        if self.name == "exponential":
            return lr * self.factor ** epoch
        if self.name == "inverse":
            return lr / (1 + self.factor * (epoch // self.every))
        if self.name == "cosine":
            f = self.floor
            return lr * (f + (1 - f) * (1 + np.cos(np.pi * min(epoch, self.epochs) / self.epochs)) / 2)
        return lr

    def describe(self):
        if self.name == "step":
            return f"step decay ×{self.factor:g} every {self.every} epochs"
        if self.name == "exponential":
            return f"exponential decay ×{self.factor:g} per epoch"
        if self.name == "inverse":
            return (f"1/t decay α/(1 + {self.factor:g}·epoch)" if self.every == 1 else
                    f"1/t decay α/(1 + {self.factor:g}·⌊epoch/{self.every}⌋)")
        if self.name == "cosine":
            return f"cosine over {self.epochs} epochs to {self.floor:g}·α"
        return "constant"


# what each schedule's formula uses, and the defaults of those left out
SCHEDULE_OPTIONS = {"constant": (), "step": ("factor", "every"), "exponential": ("factor",),
                    "inverse": ("factor", "every"), "cosine": ("epochs", "floor")}
SCHEDULE_DEFAULTS = {"step": {"factor": 0.5, "every": 10}, "exponential": {"factor": 0.5},
                     "inverse": {"factor": 0.5, "every": 1}, "cosine": {"floor": 0.0}}


CLIP_CONVENTIONS = {"torch": "torch", "optax": "optax", "keras": "keras", "course": "torch"}


def clip_scale(norm, c, convention):
    """What every gradient is multiplied by, given their global norm ‖g‖ and the threshold c (the table above)."""
    if convention == "keras":
        return c * min(1 / norm, 1 / c) if norm else 1.0
    if convention == "optax":
        return 1.0 if norm < c else None  # None: g / ‖g‖ · c, divided then multiplied as optax does
    return min(1.0, c / (norm + 1e-6))


@dataclass(frozen=True)
class Optimizer:
    """Which update, in which framework's convention, with every hyperparameter spelled out.

    name        sgd, momentum, adam or rmsprop
    lr          the learning rate α (of the first epoch, with a schedule)
    convention  torch, keras, optax (or course for momentum): whose formula and whose defaults
    hyper       overrides of the defaults: mu, beta1, beta2, eps, rho, weight_decay
    schedule    an LRSchedule: α per epoch (None: constant)
    clip        c: every gradient rescaled so that their global norm is at most c (None: no clipping)
    """

    name: str
    lr: float
    convention: str = "torch"
    hyper: dict = field(default_factory=dict)
    schedule: LRSchedule = None
    clip: float = None

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
        if self.clip is not None and not (np.isfinite(self.clip) and self.clip > 0):
            raise InputError(f"the clipping norm must be a number > 0, got {self.clip!r}")
        if self.schedule is not None and self.schedule.name == "constant":
            object.__setattr__(self, "schedule", None)

    def in_convention(self, convention):
        """The same optimizer, learning rate, schedule and clipping in another framework's convention (its defaults)."""
        return Optimizer(self.name, self.lr, convention, schedule=self.schedule, clip=self.clip)

    def headline(self):
        """The optimizer as every framework runs it: name, α, schedule, clipping (each convention's other
        hyperparameters are its own: describe())."""
        text = f"{self.name} α={self.lr:g}"
        if self.schedule:
            text += f", {self.schedule.describe()}"
        if self.clip:
            text += f", clipped to global norm {self.clip:g}"
        return text

    def describe(self):
        extra = ", ".join(f"{k}={v:g}" for k, v in self.hyper.items())
        text = f"{self.name} α={self.lr:g}" + (f" ({self.convention}: {extra})" if extra else "")
        if self.schedule:
            text += f", {self.schedule.describe()}"
        if self.clip:
            text += f", clipped to global norm {self.clip:g}"
        return text


class Layout:
    """Where each learnt tensor of a network sits in one flat vector: how the optimizer sees the parameters.

    Every rule above is element-wise, so it is the same update whether it runs tensor by tensor or once on all of
    them laid end to end (as torch's foreach and optax's tree_map do); one vector makes a step a few NumPy calls,
    and its global norm one sum.  layers are [(W1, b1), …] (or their gradients; W, γ, β for a batch-norm layer),
    each tensor with the same leading axes (a stack of copies, reference.layers) or none.
    """

    def __init__(self, layers):
        self.shapes = [[np.shape(P)[-2:] for P in layer] for layer in layers]
        sizes = [int(np.prod(shape)) for layer in self.shapes for shape in layer]
        self.ends = np.cumsum(sizes).tolist()
        self.starts = [0] + self.ends[:-1]

    def flatten(self, layers):
        """One array (…, N): every tensor's entries in order, each copy of a stack its own row."""
        tensors = [P for layer in layers for P in layer]
        lead = np.shape(tensors[0])[:-2]
        return np.concatenate([P.reshape(*lead, -1) for P in tensors], axis=-1)

    def unflatten(self, flat):
        """The tensors again, as views of flat: [(W1, b1), …]."""
        lead, bounds = flat.shape[:-1], iter(zip(self.starts, self.ends))
        return [tuple(flat[..., a:b].reshape(*lead, *shape) for shape, (a, b) in zip(layer, bounds))
                for layer in self.shapes]


class Updater:
    """An optimizer at work on one network's parameters: holds the state and the step count t.

    Each layer's tuple is (W, b), or (W, gamma, beta, rmu, rvar) for a batch-norm layer: the optimizer updates the
    tensors it has gradients for — W, b or W, γ, β — and passes the rest (the running averages) through.
    steps_per_epoch says which epoch a step is in, for the learning-rate schedule.  update() is the same step on
    the tensors laid end to end in one vector (Layout), what reference.train's Stepper runs.
    """

    def __init__(self, optimizer, params=None, steps_per_epoch=1, wide=()):
        self.rule = RULES[optimizer.name, optimizer.convention][0]
        self.optimizer, self.steps_per_epoch = optimizer, steps_per_epoch
        self.hyper = {"lr": optimizer.lr, **optimizer.hyper}
        self.t = 0
        self.state = None  # m, v, s: each shaped and typed like the vector of parameters, zero before the first step
        # the copies of a stack (0 for one vector) whose step is computed in float64 and rounded back to their dtype:
        # crosscheck's twin of a float32 run rounds its optimizer's arithmetic as little as it can
        self.wide = tuple(wide)

    def step(self, params, grads):
        """New [(W1, b1), …] from the old and the gradients [(dW1, db1), …] (one gradient per learnt tensor)."""
        layout = Layout(grads)
        learnt = layout.unflatten(self.update(layout.flatten([layer[:len(g)] for layer, g in zip(params, grads)]),
                                              layout.flatten(grads)))
        return [new + tuple(layer[len(g):]) for new, layer, g in zip(learnt, params, grads)]

    def update(self, P, g):
        """The step on one vector: P (…, N) the parameters laid end to end (Layout), g their gradient."""
        self.t += 1
        schedule, epoch = self.optimizer.schedule, (self.t - 1) // self.steps_per_epoch
        self.hyper["lr"] = schedule.rate(self.optimizer.lr, epoch) if schedule else self.optimizer.lr
        if self.optimizer.clip:
            g = self.clip(g)
        if not self.wide or P.dtype == np.float64:
            if self.state is None:
                self.state = {k: np.zeros_like(P) for k in "mvs"}
            return self.rule(P, g, self.state, self.t, self.hyper)
        if P.ndim == 1:  # one vector, all of it wide
            if self.state is None:
                self.state = {k: np.zeros(P.shape, np.float64) for k in "mvs"}
            return self.rule(P.astype(np.float64), g.astype(np.float64), self.state, self.t, self.hyper).astype(P.dtype)
        rows, gradients = P.reshape(-1, P.shape[-1]), g.reshape(-1, g.shape[-1])
        if self.state is None:
            self.state = [{k: np.zeros(row.shape, np.float64 if i in self.wide else row.dtype) for k in "mvs"}
                          for i, row in enumerate(rows)]
        out = [self.rule(row.astype(np.float64), g_row.astype(np.float64), s, self.t, self.hyper).astype(P.dtype)
               if i in self.wide else self.rule(row, g_row, s, self.t, self.hyper)
               for i, (row, g_row, s) in enumerate(zip(rows, gradients, self.state))]
        return np.stack(out).reshape(P.shape)

    def clipped(self, grads):
        """Every gradient [(dW1, db1), …] rescaled by the convention's rule so that their global norm is at most c."""
        layout = Layout(grads)
        return layout.unflatten(self.clip(layout.flatten(grads)))

    def clip(self, g):
        """g (…, N) rescaled, each copy of a stack by its own global norm ‖g‖ (summed in float64)."""
        c, convention = self.optimizer.clip, CLIP_CONVENTIONS[self.optimizer.convention]
        norms = np.sqrt(np.sum(np.square(g, dtype=np.float64), axis=-1))
        rows = g.reshape(-1, g.shape[-1])
        out = np.empty_like(rows)
        for row, g_row, norm in zip(out, rows, norms.reshape(-1).tolist()):
            scale = clip_scale(norm, c, convention)
            if scale is None:  # optax: g / ‖g‖ · c
                row[...] = g_row / g.dtype.type(norm) * g.dtype.type(c)
            else:
                row[...] = g_row * g.dtype.type(scale)
        return out.reshape(g.shape)
