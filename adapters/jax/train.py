"""Training in JAX: the loss as a function of the parameters, jax.value_and_grad, an optax update.

    J(params, X, Y)        = ops.loss(ops.forward(params, X), Y)  (+ ops.l2_term)
    J, grads               = jax.value_and_grad(J)(params, Xb, Yb)
    updates, state         = tx.update(grads, state, params)  tx = optax.sgd / adam / adamw / rmsprop,
                                                              after optax.clip_by_global_norm(c) when clipping,
                                                              α an optax schedule of the epoch ⌊count / S⌋
    params                 = optax.apply_updates(params, updates)
    running                = β running + (1 − β) batch statistics    batch norm (flax's convention: biased σ²)

Without optax the same updates are written out below (write_out).  The parameters are the
reference's [(W, b), …] as they are: Z = A W + b needs no transpose.  After each epoch, with early stopping,
J on the dev split in an inference pass decides whether to go on (reference.train.EarlyStopping).
"""
import jax
import jax.numpy as jnp
import numpy as np

from crosscheck.reference.train import Run, as_schedule

from . import ops


def cost(net, params, X, Y, masks=None, running=None):
    """J of a batch as a function of the parameters (what jax.grad differentiates), and the batch statistics."""
    Z, statistics = ops.forward(net, params, X, masks, running)
    return ops.loss(net, Z, Y) + ops.l2_term(net, [layer[0] for layer in params], X.shape[0]), statistics


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in JAX: a Run with J per step and the final parameters;
    on_step(t, J, params) after each step with the parameters as NumPy arrays."""
    schedule = as_schedule(schedule, X.shape[0])
    init, update = transformation(optimizer, schedule.steps_per_epoch)
    beta = net.bn_momentum

    @jax.jit
    def step(params, running, state, X, Y, masks):
        (J, statistics), grads = jax.value_and_grad(lambda p: cost(net, p, X, Y, masks), has_aux=True)(params)
        updates, state = update(grads, state, params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
        running = [None if stats is None else tuple(r * beta + s * (1 - beta) for r, s in zip(averages, stats))
                   for averages, stats in zip(running, statistics)]
        return params, running, state, J

    @jax.jit
    def dev_cost(params, running, X, Y):
        return cost(net.inference(), params, X, Y, running=running)[0]

    learnt = [tuple(jnp.asarray(P) for P in layer[:net.learnt(l)]) for l, layer in enumerate(params, start=1)]
    running = [tuple(jnp.asarray(P) for P in layer[net.learnt(l):]) or None for l, layer in enumerate(params, start=1)]
    state = init(learnt)
    stopping = schedule.stopping
    patience = stopping.watcher() if stopping else None
    losses = []
    for t, rows in enumerate(schedule, start=1):
        learnt, running, state, J = step(learnt, running, state, X[rows], Y[rows], schedule.masks(net, t, X.dtype))
        losses.append(float(J))
        if on_step:
            on_step(t, losses[-1], as_numpy(learnt, running))
        if patience and schedule.end_of_epoch(t) and patience.update(float(dev_cost(learnt, running, stopping.X,
                                                                                        stopping.Y))):
            break
    return Run("jax", np.array(losses), as_numpy(learnt, running),
               {"hyperparameters": hyperparameters(optimizer, net)})


def as_numpy(params, running=None):
    return [tuple(np.asarray(P) for P in layer + (averages or ())) for layer, averages
            in zip(params, running or [None] * len(params))]


def transformation(optimizer, steps_per_epoch=1):
    """(init, update) of optax's optimizer in optax's convention, every hyperparameter given — its learning rate an
    optax schedule of the epoch, clip_by_global_norm chained before it; else write_out."""
    if optimizer.convention != "optax":
        raise ValueError(f"jax runs the optax convention, not {optimizer.convention!r}")
    try:
        import optax
    except ImportError:
        return write_out(optimizer, steps_per_epoch)
    name, arguments = optax_call(optimizer)
    tx = getattr(optax, name)(learning_rate(optimizer, steps_per_epoch, optax), **arguments)
    if optimizer.clip:
        tx = optax.chain(optax.clip_by_global_norm(optimizer.clip), tx)
    return tx.init, tx.update


def optax_call(optimizer):
    """(the optax function, its arguments besides the learning rate) for a reference.optim.Optimizer."""
    h, name = optimizer.hyper, optimizer.name
    if name in ("sgd", "momentum"):
        return "sgd", {"momentum": h["mu"]} if name == "momentum" else {}
    if name == "rmsprop":
        return "rmsprop", {"decay": h["rho"], "eps": h["eps"]}
    adam = {"b1": h["beta1"], "b2": h["beta2"], "eps": h["eps"]}
    return name, {**adam, "weight_decay": h["weight_decay"]} if name == "adamw" else adam


def hyperparameters(optimizer, net):
    """What optax ran with: an optax transformation keeps no readable settings, so its call's arguments, completed
    with the defaults of the function's own signature (eps_root, eps_in_sqrt, …); written out without optax."""
    try:
        import optax
    except ImportError:
        return {"optimizer": f"written out ({optimizer.name}, optax's convention)",
                "arguments": {"learning_rate": optimizer.lr, **optimizer.hyper}}
    import inspect
    name, arguments = optax_call(optimizer)
    defaults = {k: p.default for k, p in inspect.signature(getattr(optax, name)).parameters.items()
                if isinstance(p.default, (bool, int, float)) and not isinstance(p.default, type)}
    ran = {"optimizer": f"optax.{name}", "arguments": {"learning_rate": optimizer.lr, **defaults, **arguments}}
    if optimizer.clip:
        ran["clip"] = {"call": "optax.clip_by_global_norm", "max_norm": optimizer.clip}
    if net.batch_norm:  # written out with flax's convention: β the running average's weight, the biased σ²
        ran["batch_norm"] = {"written out": "μ_run ← β μ_run + (1 − β) μ", "beta": net.bn_momentum,
                             "epsilon": net.bn_eps}
    return ran


def learning_rate(optimizer, steps_per_epoch, optax=None):
    """α, or a function of optax's step count: the reference's LRSchedule on the epoch ⌊count / S⌋ — optax's own
    schedules where it has one (exponential_decay, cosine_decay_schedule), 1/t written out (optax has none)."""
    schedule, lr = optimizer.schedule, optimizer.lr
    if schedule is None:
        return lr
    f = schedule.factor
    if optax is not None and schedule.name != "inverse":
        by_epoch = {"step": lambda: optax.exponential_decay(lr, schedule.every, f, staircase=True),
                    "exponential": lambda: optax.exponential_decay(lr, 1, f),
                    "cosine": lambda: optax.cosine_decay_schedule(lr, schedule.epochs, schedule.floor)}[schedule.name]()
    else:
        def by_epoch(epoch):
            return schedule.rate(lr, epoch) if isinstance(epoch, int) else {
                "step": lambda: lr * f ** jnp.floor_divide(epoch, schedule.every),
                "exponential": lambda: lr * f ** epoch,
                "inverse": lambda: lr / (1 + f * jnp.floor_divide(epoch, schedule.every)),
                "cosine": lambda: lr * (schedule.floor + (1 - schedule.floor) * (
                    1 + jnp.cos(jnp.pi * jnp.minimum(epoch, schedule.epochs) / schedule.epochs)) / 2)}[schedule.name]()
    # the epoch as int64: optax divides the count by its transition steps, and JAX makes int32 / int a float32 — a
    # detour through float32 that would move a float64 run's α by 1e-9 of itself (optax casts α to the update's dtype)
    return lambda count: by_epoch(jnp.floor_divide(jnp.asarray(count, jnp.int64), steps_per_epoch))


def write_out(optimizer, steps_per_epoch=1):
    """The updates of reference.optim in optax's convention, in jax.numpy, for when optax is missing."""
    h, name = optimizer.hyper, optimizer.name
    rate = learning_rate(optimizer, steps_per_epoch)
    tree = jax.tree_util.tree_map

    def init(params):
        zeros = tree(jnp.zeros_like, params)
        return {"t": 0, "m": zeros, "v": zeros}

    def update(g, s, params=None):
        t = s["t"] + 1
        lr = rate(s["t"]) if callable(rate) else rate  # optax's count before this step: 0, 1, …
        if optimizer.clip:  # optax.clip_by_global_norm: g if ‖g‖ < c, else g / ‖g‖ · c
            norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(g)))
            g = tree(lambda x: jnp.where(norm < optimizer.clip, x, x / norm * optimizer.clip), g)
        if name == "sgd":
            return tree(lambda g: -lr * g, g), {**s, "t": t}
        if name == "momentum":
            v = tree(lambda g, v: g + h["mu"] * v, g, s["v"])
            return tree(lambda v: -lr * v, v), {**s, "t": t, "v": v}
        if name == "rmsprop":
            v = tree(lambda g, v: h["rho"] * v + (1 - h["rho"]) * g * g, g, s["v"])
            return tree(lambda g, v: -lr * g / jnp.sqrt(v + h["eps"]), g, v), {**s, "t": t, "v": v}
        b1, b2 = h["beta1"], h["beta2"]
        m = tree(lambda g, m: b1 * m + (1 - b1) * g, g, s["m"])
        v = tree(lambda g, v: b2 * v + (1 - b2) * g * g, g, s["v"])
        direction = tree(lambda m, v: (m / (1 - b1 ** t)) / (jnp.sqrt(v / (1 - b2 ** t)) + h["eps"]), m, v)
        if name == "adamw":
            direction = tree(lambda d, p: d + h["weight_decay"] * p, direction, params)
        return tree(lambda d: -lr * d, direction), {"t": t, "m": m, "v": v}

    return init, update
