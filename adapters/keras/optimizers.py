"""Keras's optimizers for reference.optim's, every hyperparameter given, in the keras convention — used by
model.fit (adapters/keras/train.py) and by TensorFlow's GradientTape loop (adapters/tensorflow/train.py).

Two roundings to float32 a float64 run must avoid: Keras keeps α in a variable of its floatx (float32 by
default), so floatx is set to the run's dtype for the whole run; and it makes a float32 tensor of a
Python float μ, β1, β2 before casting it to the weights' dtype, so those are handed over as np.float64.
"""
import contextlib

import keras
import numpy as np


def keras_optimizer(optimizer):
    """A keras.optimizers optimizer for a reference.optim.Optimizer in Keras's convention."""
    if optimizer.convention != "keras":
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
    saved = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(saved)
