"""Keras 3 (TensorFlow backend): the lecture's network as Dense + Activation layers, differentiated by a tape.

    Z[l] = A[l-1] W[l] + b[l]      keras.layers.Dense: its kernel is the lecture's W (n_in, n_out), its bias b (n_out,)
    A[l] = g(Z[l])                 keras.layers.Activation("relu" | "sigmoid" | "tanh" | "linear" | …)
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     keras.losses.…(from_logits=True), kernel_regularizer (c/2)‖W‖²
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b      (the layers called one by one under
                                                              tf.GradientTape, then to_lecture_convention)
"""
import os

from reference import Trace, backward_names, check_inputs, forward_names, input_names, l2_coefficient
from reference import to_lecture_convention

from . import before_tensorflow, bridge

NAME = "keras"
keras = tf = None  # imported by setup(), so that importing this module does not import Keras
_info = None

# loss name -> (output activation, keras loss on the logits, its factor to the reference's J).
# Keras means over the output axis as well as over the m examples, where the reference sums over the
# k outputs: binary cross-entropy is J/k, and mean squared error Σ(Z − Y)²/(mk) is 2J/k.
OUTPUT_LOSSES = {
    "softmax-ce": ("softmax", lambda dtype: keras.losses.CategoricalCrossentropy(from_logits=True, dtype=dtype),
                   lambda k: 1),
    "sigmoid-bce": ("sigmoid", lambda dtype: keras.losses.BinaryCrossentropy(from_logits=True, dtype=dtype),
                    lambda k: k),
    "mse": ("linear", lambda dtype: keras.losses.MeanSquaredError(dtype=dtype),
            lambda k: k / 2),
}


def setup():
    """Import Keras on TensorFlow, turn TF32 off; {"version", "device", "threads", "precision"}."""
    global keras, tf, _info
    before_tensorflow()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # read once, when Keras is first imported
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"the keras adapter needs the TensorFlow backend, not {keras.backend.backend()} "
                           "(set KERAS_BACKEND=tensorflow)")
    wants_cuda = os.environ.get("CROSSCHECK_DEVICE", "cpu") == "cuda"
    device = "cuda" if wants_cuda and tf.config.list_physical_devices("GPU") else "cpu"
    # TF32 would round float32 matmuls on a GPU to a 10-bit mantissa: keep float32 a real float32
    tf.config.experimental.enable_tensor_float_32_execution(False)
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()  # 0: TF uses every core
    _info = {"version": keras.__version__, "device": device, "threads": threads,
             "precision": f"input dtype, TF32 off, backend tensorflow {tf.__version__}"}
    return dict(_info)


def build_model(net, dtype, c):
    """keras.Sequential: Dense (Z[l]) and Activation (A[l]) layers in turn, in dtype, with L2 on the kernels."""
    layers = [keras.Input((net.sizes[0],), dtype=dtype)]
    for l, n in enumerate(net.sizes[1:], start=1):
        regularizer = bridge.exact_l2(c / 2) if c else None  # (c/2)‖W‖², as keras.regularizers.L2(c/2) adds
        g = bridge.keras_activation(net) if l < net.L else OUTPUT_LOSSES[net.loss][0]
        layers += [keras.layers.Dense(n, kernel_regularizer=regularizer, dtype=dtype, name=f"Z{l}"),
                   keras.layers.Activation(g, dtype=dtype, name=f"A{l}")]
    return keras.Sequential(layers)


def backprop(net, params, X, Y):
    """One forward pass layer by layer and one tape.gradient: a Trace with reference.backprop's names and convention."""
    if _info is None:
        setup()
    dtype = check_inputs(net, params, X, Y)
    m = X.shape[0]
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0
    _, make_loss, factor = OUTPUT_LOSSES[net.loss]
    loss = make_loss(dtype.name)

    with tf.device("/GPU:0" if _info["device"] == "cuda" else "/CPU:0"):
        model = build_model(net, dtype.name, c)
        model.set_weights(bridge.keras_weights(params))  # [W1, b1, …]: the kernel as it is, b as (n_out,)
        dense, activation = model.layers[0::2], model.layers[1::2]
        named = {"X": tf.constant(X), "Y": tf.constant(Y)}  # lecture name -> tensor
        with tf.GradientTape() as tape:  # records every layer call, so Z and A can be gradient sources too
            A = named["X"]
            for l in range(1, net.L + 1):
                Z = dense[l - 1](A)
                A = activation[l - 1](Z)
                named.update({f"W{l}": dense[l - 1].kernel, f"b{l}": dense[l - 1].bias, f"Z{l}": Z, f"A{l}": A})
            J = loss(named["Y"], Z) * factor(net.sizes[-1])  # from the logits Z[L]: finite for Z = ±1e4
            if c:
                J = J + tf.add_n(model.losses)  # the kernel regularizers' (c/2)‖W[l]‖², computed on the tape
        named["J"] = J

        grad_names = backward_names(net.L)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
        grads = tape.gradient(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": NAME, "version": _info["version"], "dtype": dtype.name, "device": _info["device"]})
    for name in input_names(net.L) + forward_names(net.L):
        trace[name] = keras.ops.convert_to_numpy(named[name])
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, keras.ops.convert_to_numpy(grad), m)
    for l in range(1, net.L + 1):
        trace[f"b{l}"], trace[f"db{l}"] = trace[f"b{l}"].reshape(1, -1), trace[f"db{l}"].reshape(1, -1)  # (1, n_out)
    return trace
