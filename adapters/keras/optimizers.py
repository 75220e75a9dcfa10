"""Keras's optimizers for reference.optim's, every hyperparameter given, in the keras convention — used by
model.fit (adapters/keras/train.py) and by TensorFlow's GradientTape loop (adapters/tensorflow/train.py).

Two roundings to float32 a float64 run must avoid: Keras keeps α in a variable of its floatx (float32 by
default), so floatx is set to the run's dtype for the whole run; and it makes a float32 tensor of a
Python float μ, β1, β2 before casting it to the weights' dtype, so those are handed over as np.float64 —
and so are α, γ, r and the floor of a learning-rate schedule, which Keras's schedules turn into tensors too.

A learning-rate schedule is Keras's own LearningRateSchedule (ExponentialDecay, InverseTimeDecay, CosineDecay),
called on the epoch ⌊iterations / S⌋ instead of the step (PerEpoch): the reference changes α between epochs.
Clipping is global_clipnorm, the norm of all the gradients together (clipnorm would clip each tensor alone).
"""
import contextlib

import keras
import numpy as np


def keras_optimizer(optimizer, steps_per_epoch=1):
    """A keras.optimizers optimizer for a reference.optim.Optimizer in Keras's convention."""
    if optimizer.convention != "keras":
        raise ValueError(f"Keras optimizers run the keras convention, not {optimizer.convention!r}")
    # np.float64, not float: Keras makes a tensor of a Python float in float32 before casting it (μ, β, λ)
    h, lr = {k: np.float64(v) for k, v in optimizer.hyper.items()}, learning_rate(optimizer, steps_per_epoch)
    clip = {"global_clipnorm": optimizer.clip} if optimizer.clip else {}  # a Python float: taken in the gradients' dtype
    if optimizer.name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, **clip)
    if optimizer.name == "momentum":
        return keras.optimizers.SGD(learning_rate=lr, momentum=h["mu"], **clip)
    if optimizer.name == "adam":
        return keras.optimizers.Adam(learning_rate=lr, beta_1=h["beta1"], beta_2=h["beta2"], epsilon=h["eps"], **clip)
    if optimizer.name == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=h["weight_decay"], beta_1=h["beta1"],
                                      beta_2=h["beta2"], epsilon=h["eps"], **clip)
    return keras.optimizers.RMSprop(learning_rate=lr, rho=h["rho"], epsilon=h["eps"], **clip)


def learning_rate(optimizer, steps_per_epoch):
    """α, or Keras's LearningRateSchedule for the reference's LRSchedule, called on the epoch."""
    schedule, lr = optimizer.schedule, np.float64(optimizer.lr)
    if schedule is None:
        return optimizer.lr
    schedules = keras.optimizers.schedules
    f = np.float64(schedule.factor)
    by_epoch = {"step": lambda: schedules.ExponentialDecay(lr, schedule.every, f, staircase=True),
                "exponential": lambda: schedules.ExponentialDecay(lr, 1, f),
                "inverse": lambda: schedules.InverseTimeDecay(lr, schedule.every, f, staircase=True),
                "cosine": lambda: schedules.CosineDecay(lr, schedule.epochs, alpha=np.float64(schedule.floor))}
    return per_epoch(by_epoch[schedule.name](), steps_per_epoch)


def per_epoch(schedule, steps_per_epoch):
    """A LearningRateSchedule that hands `schedule` the epoch ⌊step / S⌋: Keras counts steps, the reference epochs."""

    class PerEpoch(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return schedule(keras.ops.floor_divide(step, steps_per_epoch))

        def get_config(self):
            return {"schedule": keras.optimizers.schedules.serialize(schedule), "steps_per_epoch": steps_per_epoch}

    return PerEpoch()


@contextlib.contextmanager
def floatx(dtype):
    """Keras's floatx set to dtype for the duration (it decides the dtype of the optimizer's α)."""
    saved = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(saved)


# what each Keras optimizer's update reads (the rest of its config: names, EMA and loss-scaling switches)
UPDATE_FIELDS = ("learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "amsgrad", "rho", "centered",
                 "weight_decay", "clipnorm", "global_clipnorm", "clipvalue")


def hyperparameters(opt, layers=()):
    """What Keras itself holds, read back from its objects: the optimizer's get_config() (a learning-rate schedule's
    own config within it), and BatchNormalization's momentum and epsilon."""
    config = opt.get_config()
    arguments = {k: _plain(config[k]) for k in UPDATE_FIELDS if k in config and config[k] is not None}
    ran = {"optimizer": f"keras.optimizers.{type(opt).__name__}", "arguments": arguments}
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    if norms:
        ran["batch_norm"] = {"layer": "keras.layers.BatchNormalization", "momentum": _plain(norms[0].momentum),
                             "epsilon": _plain(norms[0].epsilon)}
    return ran


def _plain(value):
    """A config value as JSON has it: numbers as Python numbers, a schedule's config as a dict."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
