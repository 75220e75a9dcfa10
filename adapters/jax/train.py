"""Training in JAX: the loss as a function of the parameters, jax.value_and_grad, an optax update.

    J(params, X, Y)        = ops.loss(ops.logits(params, X), Y)  (+ ops.l2_term)
    J, grads               = jax.value_and_grad(J)(params, Xb, Yb)
    updates, state         = tx.update(grads, state, params)  tx = optax.sgd / adam / adamw / rmsprop
    params                 = optax.apply_updates(params, updates)

Without optax the same updates are written out below (write_out).  The parameters are the
reference's [(W, b), …] as they are: Z = A W + b needs no transpose.
"""
import jax
import jax.numpy as jnp
import numpy as np

from reference.train import Run

from . import ops


def cost(net, params, X, Y):
    """J of a batch as a function of the parameters: what jax.grad differentiates."""
    return ops.loss(net, ops.logits(net, params, X), Y) + ops.l2_term(net, [W for W, _ in params], X.shape[0])


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in JAX: a Run with J per step and the final parameters;
    on_step(t, J, params) after each step with the parameters as NumPy arrays."""
    init, update = transformation(optimizer)

    @jax.jit
    def step(params, state, X, Y):
        J, grads = jax.value_and_grad(lambda p: cost(net, p, X, Y))(params)
        updates, state = update(grads, state, params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
        return params, state, J

    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
    state = init(params)
    losses = []
    for t, rows in enumerate(schedule, start=1):
        params, state, J = step(params, state, X[rows], Y[rows])
        losses.append(float(J))
        if on_step:
            on_step(t, losses[-1], as_numpy(params))
    return Run("jax", np.array(losses), as_numpy(params))


def as_numpy(params):
    return [(np.asarray(W), np.asarray(b)) for W, b in params]


def transformation(optimizer):
    """(init, update) of optax's optimizer in optax's convention, every hyperparameter given; else write_out."""
    if optimizer.convention != "optax":
        raise ValueError(f"jax runs the optax convention, not {optimizer.convention!r}")
    try:
        import optax
    except ImportError:
        return write_out(optimizer)
    h, lr = optimizer.hyper, optimizer.lr
    tx = {"sgd": lambda: optax.sgd(lr),
          "momentum": lambda: optax.sgd(lr, momentum=h["mu"]),
          "adam": lambda: optax.adam(lr, b1=h["beta1"], b2=h["beta2"], eps=h["eps"]),
          "adamw": lambda: optax.adamw(lr, b1=h["beta1"], b2=h["beta2"], eps=h["eps"], weight_decay=h["weight_decay"]),
          "rmsprop": lambda: optax.rmsprop(lr, decay=h["rho"], eps=h["eps"])}[optimizer.name]()
    return tx.init, tx.update


def write_out(optimizer):
    """The updates of reference.optim in optax's convention, in jax.numpy, for when optax is missing."""
    h, lr, name = optimizer.hyper, optimizer.lr, optimizer.name
    tree = jax.tree_util.tree_map

    def init(params):
        zeros = tree(jnp.zeros_like, params)
        return {"t": 0, "m": zeros, "v": zeros}

    def update(g, s, params=None):
        t = s["t"] + 1
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
