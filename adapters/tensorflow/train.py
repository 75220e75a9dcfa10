"""Training in TensorFlow: tf.Variables set from the reference, a GradientTape, a Keras optimizer.

    with tf.GradientTape() as tape:
        Z[L] = ops.logits(X)                                     row-major as the lecture: no transpose
        J    = ops.loss(Z[L], Y)  (+ ops.l2_term)                −(1/m) Σ Y log softmax(Z[L])
    grads = tape.gradient(J, [W1, b1, …]);  optimizer.apply_gradients(zip(grads, …))

The optimizer is Keras's (adapters/keras/optimizers.py), in a float64 run without a detour through float32.
"""
import numpy as np
import tensorflow as tf

from adapters.keras.optimizers import floatx, keras_optimizer
from reference.train import Run

from . import ops


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in TensorFlow: a Run with J per step and the final parameters;
    on_step(t, J, params) after each step with the parameters as NumPy arrays."""
    with floatx(X.dtype.name):  # Keras holds α in a variable of floatx: the run's dtype, not float32
        variables = [tf.Variable(value) for W, b in params for value in (W, b)]
        opt = keras_optimizer(optimizer)
        opt.build(variables)
        step = tf.function(step_function(net, variables, opt), reduce_retracing=True)
        losses = []
        for t, rows in enumerate(schedule, start=1):
            J = step(tf.constant(X[rows]), tf.constant(Y[rows]))
            losses.append(float(J))
            if on_step:
                on_step(t, losses[-1], as_numpy(variables))
    return Run("tensorflow", np.array(losses), as_numpy(variables))


def as_numpy(variables):
    """[(W1, b1), …] from the variables [W1, b1, …]."""
    values = [v.numpy() for v in variables]
    return list(zip(values[::2], values[1::2]))


def step_function(net, variables, opt):
    """One step on a batch: J and its gradient by the tape, then the optimizer's update; returns J."""
    def step(X, Y):
        with tf.GradientTape() as tape:
            J = ops.loss(net, ops.logits(net, variables, X), Y) + ops.l2_term(net, variables[::2], tf.shape(X)[0])
        grads = tape.gradient(J, variables)
        opt.apply_gradients(zip(grads, variables))
        return J
    return step
