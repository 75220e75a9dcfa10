"""Training with Keras's model.fit: a Sequential of Dense and Activation layers, weights set from the reference.

    model = Sequential([Input((n0,)), Dense(n1), Activation(g), …, Dense(nL)])    the last Dense is linear
    model.compile(optimizer, loss=CategoricalCrossentropy(from_logits=True))      softmax inside the loss
    model.fit(X, Y, batch_size=B, shuffle=False, …)                               the reference's batch order

Why from_logits: CategoricalCrossentropy on softmax probabilities clips them to [ε, 1 − ε] (ε = 1e-7)
and takes their log, which is not the lecture's J near a confident prediction; on the logits it is
exactly −(1/m) Σ Y log softmax(Z).  Predictions take the softmax separately (reference.train.predict).

The batch order: fit is never allowed to shuffle; it is given the rows in the order the reference's
schedule visits them (every epoch's permutation, one after the other) with the schedule's batch size,
so its k-th batch is the reference's k-th batch.  When B does not divide m, each epoch ends in a
smaller batch that fit would not cut by itself; then fit is handed the batches through a PyDataset.
Dense kernels are (n_in, n_out), the lecture's layout; adapters.bridge only drops the bias's row axis.
keras is imported inside the functions only, so importing this module imports no framework.
"""
import numpy as np

from reference.regularization import l2_coefficient
from reference.train import Run

from . import before_tensorflow, bridge
from .bridge import exact_l2, keras_activation
from .tf_train import floatx, keras_optimizer

NAME = "keras"
CONVENTION = "keras"


def setup():
    before_tensorflow()
    import keras
    return {"version": f"keras {keras.__version__} ({keras.backend.backend()})"}


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, with model.fit: a Run with J per step and the parameters after it."""
    with floatx(X.dtype.name):  # see adapters.tf_train: α, μ, β must not pass through float32
        return _train(net, params, X, Y, optimizer, schedule, on_step)


def _train(net, params, X, Y, optimizer, schedule, on_step):
    batch_size = max(len(rows) for rows in schedule)
    model = sequential(net, l2_per_batch(net, schedule), X.dtype.name)
    model.set_weights(bridge.keras_weights(params))
    model.compile(optimizer=keras_optimizer(optimizer), loss=keras_loss(net))
    steps = recorder(model, on_step)
    if all(len(rows) == batch_size for rows in schedule[:-1]):
        rows = np.concatenate(schedule)   # every batch but the last is full: the rows in order, cut by fit
        model.fit(X[rows], Y[rows], batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[steps])
    else:                                 # each epoch ends in a smaller batch: hand fit the batches themselves
        model.fit(batches(X, Y, schedule), epochs=1, shuffle=False, verbose=0, callbacks=[steps])
    return Run(NAME, np.array(steps.losses), steps.history)


def sequential(net, l2=0.0, dtype="float64"):
    """Dense, Activation, …, Dense — the last Dense linear (its softmax belongs to the loss)."""
    import keras
    regularizer = exact_l2(l2 / 2) if l2 else None   # Keras's L2(λ) adds λ Σ‖W‖²: λ = c/2
    model = keras.Sequential([keras.Input((net.sizes[0],), dtype=dtype)])
    for l, n_out in enumerate(net.sizes[1:], start=1):
        model.add(keras.layers.Dense(n_out, kernel_regularizer=regularizer, dtype=dtype))
        if l < net.L:
            model.add(keras.layers.Activation(keras_activation(net), dtype=dtype))
    return model


def keras_loss(net):
    """Keras's loss for the reference's J; each is a per-row loss that fit averages over the batch."""
    import keras
    from keras import ops
    if net.loss == "softmax-ce":
        return keras.losses.CategoricalCrossentropy(from_logits=True)
    if net.loss == "sigmoid-bce":
        return lambda Y, Z: ops.sum(ops.logaddexp(ops.zeros_like(Z), Z) - Y * Z, axis=-1)
    return lambda Y, Z: ops.sum(ops.square(Z - Y), axis=-1) / 2


def l2_per_batch(net, schedule):
    """The c of (c/2) Σ‖W‖²: a Keras regularizer holds one number, so under the course's λ/m every batch needs the same m."""
    if not net.l2:
        return 0.0
    sizes = {len(rows) for rows in schedule}
    if net.l2_convention == "course" and len(sizes) > 1:
        raise NotImplementedError("the course's L2 (λ/m) with batches of different sizes is no single Keras regularizer")
    return l2_coefficient(net.l2, net.l2_convention, sizes.pop())


def batches(X, Y, schedule):
    """A keras.utils.PyDataset whose i-th item is the reference's i-th batch."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return len(schedule)

        def __getitem__(self, i):
            return X[schedule[i]], Y[schedule[i]]

    return Batches()


def recorder(model, on_step):
    """A Keras callback that keeps J and the weights after every step.

    fit reports J as a mean over the epoch so far; resetting the mean before each batch makes the
    reported value that batch's J.
    """
    import keras

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses, self.history = [], []

        def on_train_batch_begin(self, batch, logs=None):
            for metric in model.metrics:
                metric.reset_state()

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))
            self.history.append(bridge.params_from_keras_weights(model.get_weights()))
            if on_step:
                on_step(len(self.losses))

    return Recorder()
