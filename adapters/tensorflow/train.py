"""Training in TensorFlow: tf.Variables set from the reference, a GradientTape, a Keras optimizer.

    with tf.GradientTape() as tape:
        Z[L] = ops.forward(X)                                    row-major as the lecture: no transpose
        J    = ops.loss(Z[L], Y)  (+ ops.l2_term)                −(1/m) Σ Y log softmax(Z[L])
    grads = tape.gradient(J, [W1, b1, …]);  optimizer.apply_gradients(zip(grads, …))
    μ_run.assign(β μ_run + (1 − β) μ), …                         batch norm's running averages (Keras's convention)

The optimizer is Keras's (adapters/keras/optimizers.py: its learning-rate schedule and global_clipnorm), in a
float64 run without a detour through float32.  After each epoch, with early stopping, J on the dev split in
an inference pass (the running averages, no dropout) decides whether to go on (reference.train.EarlyStopping).
"""
import numpy as np
import tensorflow as tf

from crosscheck.adapters.keras.optimizers import floatx, hyperparameters, keras_optimizer
from crosscheck.reference.train import Run, as_schedule

from . import ops


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in TensorFlow: a Run with J per step and the final parameters;
    on_step(t, J, params) after each step with the parameters as NumPy arrays."""
    schedule = as_schedule(schedule, X.shape[0])
    with floatx(X.dtype.name):  # Keras holds α in a variable of floatx: the run's dtype, not float32
        layers = [[tf.Variable(value) for value in layer[:net.learnt(l)]] for l, layer in enumerate(params, start=1)]
        running = [[tf.Variable(value, trainable=False) for value in layer[net.learnt(l):]] or None
                   for l, layer in enumerate(params, start=1)]
        variables = [v for layer in layers for v in layer]
        opt = keras_optimizer(optimizer, schedule.steps_per_epoch)
        opt.build(variables)
        ran_with = hyperparameters(opt)
        if net.batch_norm:  # written out with Keras's convention: β the running average's weight (ops.forward)
            ran_with["batch_norm"] = {"written out": "μ_run ← β μ_run + (1 − β) μ", "beta": net.bn_momentum,
                                      "epsilon": net.bn_eps}
        step = tf.function(step_function(net, layers, running, opt), reduce_retracing=True)
        stopping = schedule.stopping
        patience = stopping.watcher() if stopping else None
        losses = []
        for t, rows in enumerate(schedule, start=1):
            masks = schedule.masks(net, t, X.dtype)
            J = step(tf.constant(X[rows]), tf.constant(Y[rows]), [tf.constant(D) for D in masks] if masks else [])
            losses.append(float(J))
            if on_step:
                on_step(t, losses[-1], as_numpy(layers, running))
            if patience and schedule.end_of_epoch(t) and patience.update(dev_cost(net, layers, running, stopping,
                                                                                   len(schedule[0]))):
                break
    return Run("tensorflow", np.array(losses), as_numpy(layers, running), {"hyperparameters": ran_with})


def as_numpy(layers, running):
    """[(W1, b1), …] ((W, γ, β, μ_run, σ²_run) for a batch-norm layer) from the variables."""
    return [tuple(v.numpy() for v in layer + (stats or [])) for layer, stats in zip(layers, running)]


def dev_cost(net, layers, running, stopping, batch_rows):
    """J on the dev split in an inference pass, with the L2 term as Keras's val_loss has it (this loop runs Keras's
    convention): under the course's λ/(2m), m the training batch's rows (reference.train.MONITORED_L2)."""
    Z, _ = ops.forward(net, layers, tf.constant(stopping.X), running=[tuple(r) if r else None for r in running])
    weights = [layer[0] for layer in layers]
    return float(ops.loss(net, Z, tf.constant(stopping.Y)) + ops.l2_term(net, weights, batch_rows))


def step_function(net, layers, running, opt):
    """One step on a batch: J and its gradient by the tape, the optimizer's update, the running averages; returns J."""
    variables = [v for layer in layers for v in layer]

    def step(X, Y, masks):
        with tf.GradientTape() as tape:
            Z, statistics = ops.forward(net, layers, X, _by_layer(net, masks))
            J = ops.loss(net, Z, Y) + ops.l2_term(net, [layer[0] for layer in layers], tf.shape(X)[0])
        grads = tape.gradient(J, variables)
        opt.apply_gradients(zip(grads, variables))
        for stats, averages in zip(statistics, running):
            if stats is not None:  # Keras's convention: the biased σ², weighted by 1 − β
                beta = tf.constant(net.bn_momentum, averages[0].dtype)
                for average, value in zip(averages, stats):
                    average.assign(average * beta + tf.reshape(value, average.shape) * (1 - beta))
        return J
    return step


def _by_layer(net, masks):
    """The masks as ops.forward takes them: [D1, …, D(L−1)] (None without dropout)."""
    return list(masks) if masks else None
