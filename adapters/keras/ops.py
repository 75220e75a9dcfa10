"""Keras's pieces of the lecture's network, written once: the check and model.fit both use these.

    Z[l] = A[l-1] W[l] + b[l]      keras.layers.Dense: its kernel is the lecture's W (n_in, n_out), its bias b (n_out,)
    A[l] = g(Z[l])                 keras.layers.Activation(activation(net))
    J    = mean over rows of per_example_loss(Y, Z[L])   keras.losses.categorical_crossentropy(from_logits=True), …
         + (c/2) Σ‖W‖²             exact_l2(c / 2) as each Dense's kernel_regularizer
    Ztilde = γ Zhat + β            keras.layers.BatchNormalization(momentum=β, epsilon=ε): normalization(net)
    Adrop = A ⊙ D / p              SharedMaskDropout: the mask is a model input (keras.layers.Dropout draws its own)
"""
import keras
import numpy as np

# the output layer's activation, by the reference's loss name; in training it lives inside the loss
OUTPUTS = {"softmax-ce": "softmax", "sigmoid-bce": "sigmoid", "mse": "linear"}


def activation(net):
    """g by Keras's name; leaky ReLU written out, since Keras's LeakyReLU keeps its slope in float32
    (tf.nn.leaky_relu's attribute), 1e-10 off in a float64 run."""
    if net.activation == "leaky_relu":
        return lambda Z: keras.ops.where(Z > 0, Z, net.leaky_slope * Z)
    return {"identity": "linear"}.get(net.activation, net.activation)


def exact_l2(lam):
    """keras.regularizers.L2(λ), λ Σ‖W‖², without its detour through float32: L2 casts λ from a float32
    tensor to W's dtype, which moves a float64 run by λ's float32 rounding (1e-9 of λ = 0.01)."""

    class ExactL2(keras.regularizers.L2):
        def __call__(self, W):
            return keras.ops.sum(keras.ops.square(W)) * np.asarray(self.l2, dtype=W.dtype)

    return ExactL2(lam)


def normalization(net, dtype, **options):
    """keras.layers.BatchNormalization with the network's β as Keras's momentum (the weight of the moving average:
    torch's momentum means the opposite) and its ε (Keras's default is 1e-3).  Keras keeps the moving average of
    the biased variance."""
    return keras.layers.BatchNormalization(momentum=net.bn_momentum, epsilon=net.bn_eps, dtype=dtype, **options)


class SharedMaskDropout(keras.layers.Layer):
    """Inverted dropout with the mask handed in: called on [A, D], A ⊙ D / keep_prob in training, A at inference —
    keras.layers.Dropout(rate = 1 − keep_prob) does the same with a mask of its own."""

    def __init__(self, keep_prob, **kwargs):
        super().__init__(**kwargs)
        self.keep_prob = keep_prob

    def call(self, inputs, training=None):
        A, D = inputs
        return A * D / self.keep_prob if training else A


def model(net, dtype="float64", c=0.0):
    """The network as a Keras model of the logits Z[L]: Dense (use_bias=False before batch norm),
    BatchNormalization, Activation, SharedMaskDropout, …  With dropout its inputs are [X, D1, …, D(L−1)]."""
    if not net.keep_prob < 1:
        return sequential(net, dtype, c)
    regularizer = exact_l2(c / 2) if c else None
    X = keras.Input((net.sizes[0],), dtype=dtype)
    masks = [keras.Input((n,), dtype=dtype) for n in net.sizes[1:-1]]
    A = X
    for l, n_out in enumerate(net.sizes[1:], start=1):
        A = keras.layers.Dense(n_out, use_bias=not net.normalized(l), kernel_regularizer=regularizer, dtype=dtype)(A)
        if net.normalized(l):
            A = normalization(net, dtype)(A)
        if l < net.L:
            A = keras.layers.Activation(activation(net), dtype=dtype)(A)
            A = SharedMaskDropout(net.keep_prob, dtype=dtype)([A, masks[l - 1]])
    return keras.Model([X, *masks], A)


def sequential(net, dtype="float64", c=0.0, with_output=False):
    """Dense, Activation, …, Dense (and the output's Activation with_output) in dtype, (c/2)‖W‖² on each kernel.

    Without the output activation the model returns the logits Z[L]: what the losses below take.
    """
    regularizer = exact_l2(c / 2) if c else None  # Keras's L2(λ) adds λ Σ‖W‖²: λ = c/2
    model = keras.Sequential([keras.Input((net.sizes[0],), dtype=dtype)])
    for l, n_out in enumerate(net.sizes[1:], start=1):
        model.add(keras.layers.Dense(n_out, use_bias=not net.normalized(l), kernel_regularizer=regularizer, dtype=dtype))
        if net.normalized(l):
            model.add(normalization(net, dtype))
        if l < net.L:
            model.add(keras.layers.Activation(activation(net), dtype=dtype))
        elif with_output:
            model.add(keras.layers.Activation(OUTPUTS[net.loss], dtype=dtype))
    return model


def per_example_loss(net):
    """The reference's loss of each row, from the logits Z[L]: (Y, Z) -> (m,).  model.fit averages it over a batch.

    Keras averages its losses over the outputs where the reference sums them: binary cross-entropy is
    multiplied by the number of outputs k, the mean squared error Σ(Z − Y)²/k by k/2.
    """
    k = net.sizes[-1]
    if net.loss == "softmax-ce":
        return lambda Y, Z: keras.losses.categorical_crossentropy(Y, Z, from_logits=True)
    if net.loss == "sigmoid-bce":
        return lambda Y, Z: keras.losses.binary_crossentropy(Y, Z, from_logits=True) * k
    return lambda Y, Z: keras.losses.mean_squared_error(Y, Z) * (k / 2)


def loss(net, Z, Y):
    """The reference's J (without L2): the mean over the rows of per_example_loss."""
    return keras.ops.mean(per_example_loss(net)(Y, Z))
