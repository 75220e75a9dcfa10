"""Training with Keras's model.fit: a Sequential of Dense and Activation layers, weights set from the reference.

    model = ops.sequential(net)       Input((n0,)), Dense(n1), Activation(g), …, Dense(nL): the last Dense linear
    model.compile(optimizer, loss=ops.per_example_loss(net))    on the logits: softmax inside the loss
    model.fit(X, Y, batch_size=B, shuffle=False, …)             the reference's batch order

Why the logits: CategoricalCrossentropy on softmax probabilities clips them to [ε, 1 − ε] (ε = 1e-7)
and takes their log, which is not the lecture's J near a confident prediction; from_logits=True is
exactly −(1/m) Σ Y log softmax(Z).  Predictions take the softmax separately (reference.train.predict).

The batch order: fit is never allowed to shuffle; it is given the rows in the order the reference's
schedule visits them (every epoch's permutation, one after the other) with the schedule's batch size,
so its k-th batch is the reference's k-th batch.  When B does not divide m, each epoch ends in a
smaller batch that fit would not cut by itself; then fit is handed the batches through a PyDataset —
as it is with dropout (each batch comes with its masks, inputs of the model: ops.model) and with early
stopping (fit runs epoch by epoch, and keras.callbacks.EarlyStopping watches val_loss on the dev split: J
in an inference pass with its L2 term, the rule of reference.train.EarlyStopping).
"""
import keras
import numpy as np

from crosscheck.reference.regularization import l2_coefficient
from crosscheck.reference.train import Run, as_schedule

from . import bridge, ops
from .optimizers import floatx, hyperparameters, keras_optimizer


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, with model.fit: a Run with J per step and the final parameters;
    on_step(t, J, params) after each step (from fit's callback) with the parameters in the lecture's layout."""
    schedule = as_schedule(schedule, X.shape[0])
    with floatx(X.dtype.name):  # see optimizers.py: α, μ, β must not pass through float32
        batch_size = max(len(rows) for rows in schedule)
        model = ops.model(net, X.dtype.name, l2_per_batch(net, schedule))
        model.set_weights(bridge.keras_weights(params))
        model.compile(optimizer=keras_optimizer(optimizer, schedule.steps_per_epoch), loss=ops.per_example_loss(net))
        steps = recorder(model, on_step, net)
        stopping = schedule.stopping
        if stopping is not None or net.keep_prob < 1:  # epoch by epoch, each batch with its masks
            callbacks = [steps]
            validation = None
            if stopping is not None:
                callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=stopping.patience,
                                                               min_delta=0, restore_best_weights=False))
                validation = (inputs(net, stopping.X), stopping.Y)
            model.fit(batches(X, Y, schedule, net), epochs=schedule.epochs, steps_per_epoch=schedule.steps_per_epoch,
                      shuffle=False, verbose=0, callbacks=callbacks, validation_data=validation,
                      validation_batch_size=len(stopping.X) if stopping else None)
        elif all(len(rows) == batch_size for rows in schedule[:-1]):
            rows = np.concatenate(schedule)   # every batch but the last is full: the rows in order, cut by fit
            model.fit(X[rows], Y[rows], batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[steps])
        else:                                 # each epoch ends in a smaller batch: hand fit the batches themselves
            model.fit(batches(X, Y, schedule, net), epochs=1, steps_per_epoch=len(schedule), shuffle=False, verbose=0,
                      callbacks=[steps])
        final = bridge.params_from_keras_weights(model.get_weights(), net)
        ran_with = hyperparameters(model.optimizer, model.layers)
    return Run("keras", np.array(steps.losses), final, {"hyperparameters": ran_with})


def inputs(net, X, masks=None):
    """The model's inputs: X, or with dropout [X, D1, …] (masks of ones where none are given: an inference pass)."""
    if not net.keep_prob < 1:
        return X
    return (X, *(masks or [np.ones((X.shape[0], n), X.dtype) for n in net.sizes[1:-1]]))


def l2_per_batch(net, schedule):
    """The c of (c/2) Σ‖W‖²: a Keras regularizer holds one number, so under the course's λ/m every batch needs the same m."""
    if not net.l2:
        return 0.0
    sizes = {len(rows) for rows in schedule}
    if net.l2_convention == "course" and len(sizes) > 1:
        raise NotImplementedError("the course's L2 (λ/m) with batches of different sizes is no single Keras regularizer")
    return l2_coefficient(net.l2, net.l2_convention, sizes.pop())


def batches(X, Y, schedule, net):
    """A keras.utils.PyDataset whose i-th item is the reference's i-th batch, with its masks.

    It has no length (num_batches None): fit is told the steps per epoch and reads on from one epoch into the
    next, so the i-th item fit asks for is the run's step i + 1 — however far ahead tf.data prefetches.
    """

    class Batches(keras.utils.PyDataset):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, i):
            t = min(i, len(schedule) - 1) + 1  # read-ahead past the last step gets the last batch, never used
            rows = schedule[t - 1]
            return inputs(net, X[rows], schedule.masks(net, t, X.dtype)), Y[rows]

    return Batches()


def recorder(model, on_step, net):
    """A Keras callback that keeps J of every step and hands each step's weights to on_step.

    fit reports J as a mean over the epoch so far; resetting the mean before each batch makes the
    reported value that batch's J.
    """

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_begin(self, batch, logs=None):
            for metric in model.metrics:
                metric.reset_state()

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))
            if on_step:
                on_step(len(self.losses), self.losses[-1], bridge.params_from_keras_weights(model.get_weights(), net))

    return Recorder()
