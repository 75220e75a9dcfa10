"""Training in TensorFlow: tf.Variables set from the reference, a GradientTape, a Keras optimizer.

    with tf.GradientTape() as tape:
        Z[l] = A[l-1] W[l] + b[l];  A[l] = g(Z[l])               row-major as the lecture: no transpose
        J    = softmax_cross_entropy(Y, Z[L])  (+ (c/2) Σ‖W‖²)   −(1/m) Σ Y log softmax(Z[L])
    grads = tape.gradient(J, [W1, b1, …]);  optimizer.apply_gradients(zip(grads, …))

Two roundings to float32 a float64 run must avoid: Keras keeps α in a variable of its floatx (float32 by
default), so floatx is set to the run's dtype for the whole run; and it makes a float32 tensor of a
Python float μ, β1, β2 before casting it to the weights' dtype, so those are handed over as np.float64.
tensorflow and keras are imported inside the functions only, so importing this module imports neither.
"""
import contextlib

import numpy as np

from reference.regularization import l2_coefficient
from reference.train import Run

from . import before_tensorflow

NAME = "tensorflow"
CONVENTION = "keras"


def setup():
    before_tensorflow()
    import tensorflow as tf
    import keras
    return {"version": f"tensorflow {tf.__version__}, keras {keras.__version__}"}


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in TensorFlow: a Run with J per step and the parameters after it."""
    import tensorflow as tf

    with floatx(X.dtype.name):
        return _train(tf, net, params, X, Y, optimizer, schedule, on_step)


def _train(tf, net, params, X, Y, optimizer, schedule, on_step):
    variables = [tf.Variable(value) for W, b in params for value in (W, b)]
    opt = keras_optimizer(optimizer)
    opt.build(variables)

    @tf.function(reduce_retracing=True)
    def step(X, Y):
        with tf.GradientTape() as tape:
            A = X
            for l in range(1, net.L + 1):
                W, b = variables[2 * l - 2], variables[2 * l - 1]
                Z = A @ W + b
                A = hidden(net, Z) if l < net.L else Z
            J = loss(net, Z, Y) + l2_term(net, variables[::2], tf.shape(X)[0])
        grads = tape.gradient(J, variables)
        opt.apply_gradients(zip(grads, variables))
        return J

    losses, history = [], []
    for t, rows in enumerate(schedule, start=1):
        J = step(tf.constant(X[rows]), tf.constant(Y[rows]))
        losses.append(float(J))
        values = [v.numpy() for v in variables]
        history.append(list(zip(values[::2], values[1::2])))
        if on_step:
            on_step(t)
    return Run(NAME, np.array(losses), history)


def hidden(net, Z):
    import tensorflow as tf
    if net.activation == "leaky_relu":  # not tf.nn.leaky_relu: it keeps its slope as a float32 attribute
        return tf.where(Z > 0, Z, net.leaky_slope * Z)
    return {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh, "identity": tf.identity}[net.activation](Z)


def loss(net, Z, Y):
    """The reference's J, from the logits Z[L]; each a mean over the m rows."""
    import tensorflow as tf
    if net.loss == "softmax-ce":
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=Y, logits=Z))
    m = tf.cast(tf.shape(Z)[0], Z.dtype)
    if net.loss == "sigmoid-bce":
        return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=Y, logits=Z)) / m
    return tf.reduce_sum(tf.square(Z - Y)) / (2 * m)


def l2_term(net, weights, m):
    """(c/2) Σ‖W‖² over the weights (not the biases), c from the network's L2 convention."""
    import tensorflow as tf
    if not net.l2:
        return 0
    if net.l2_convention == "course":  # c = λ/m depends on the batch's m
        c = net.l2 / tf.cast(m, weights[0].dtype)
    else:
        c = l2_coefficient(net.l2, net.l2_convention, 1)
    return c / 2 * tf.add_n([tf.reduce_sum(tf.square(W)) for W in weights])


def keras_optimizer(optimizer):
    """A keras.optimizers optimizer for a reference.optim.Optimizer in Keras's convention, every hyperparameter given."""
    import keras
    if optimizer.convention != CONVENTION:
        raise ValueError(f"Keras optimizers run the keras convention, not {optimizer.convention!r}")
    # np.float64, not float: Keras makes a tensor of a Python float in float32 before casting it (μ, β, λ)
    h, lr = {k: np.float64(v) for k, v in optimizer.hyper.items()}, optimizer.lr
    if optimizer.name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    if optimizer.name == "momentum":
        return keras.optimizers.SGD(learning_rate=lr, momentum=h["mu"])
    if optimizer.name == "adam":
        return keras.optimizers.Adam(learning_rate=lr, beta_1=h["beta1"], beta_2=h["beta2"], epsilon=h["eps"])
    if optimizer.name == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=h["weight_decay"], beta_1=h["beta1"],
                                      beta_2=h["beta2"], epsilon=h["eps"])
    return keras.optimizers.RMSprop(learning_rate=lr, rho=h["rho"], epsilon=h["eps"])


@contextlib.contextmanager
def floatx(dtype):
    """Keras's floatx set to dtype for the duration (it decides the dtype of the optimizer's α)."""
    import keras
    saved = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(saved)
