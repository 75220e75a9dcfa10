"""TensorFlow: the lecture's tensors from tf.GradientTape, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      tf.matmul with the lecture's W (n_in, n_out)
    A[l] = g(Z[l])                 tf.nn.relu, tf.where (leaky), tf.sigmoid, tf.tanh
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     tf.nn.softmax_cross_entropy_with_logits, …, tf.nn.l2_loss
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b      (tape.gradient, then to_lecture_convention)
"""
import os

import numpy as np

from reference import Trace, backward_names, check_inputs, forward_names, input_names, l2_coefficient
from reference import to_lecture_convention

from . import before_tensorflow

NAME = "tensorflow"
tf = None  # imported by setup(), so that importing this module does not import TensorFlow
_info = None

# hidden activation g, by the reference's name
ACTIVATIONS = {
    "relu": lambda Z, net: tf.nn.relu(Z),
    # not tf.nn.leaky_relu: its alpha is a float32 attribute, so float64 would use 0.01 rounded (off by 2e-9)
    "leaky_relu": lambda Z, net: tf.where(Z > 0, Z, net.leaky_slope * Z),
    "sigmoid": lambda Z, net: tf.sigmoid(Z),
    "tanh": lambda Z, net: tf.tanh(Z),
    "identity": lambda Z, net: Z,
}
# loss name -> (output A[L] = f(Z[L]), J from the logits Z[L] with the reference's 1/m)
OUTPUT_LOSSES = {
    "softmax-ce": (lambda Z: tf.nn.softmax(Z),
                   lambda Z, Y: tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=Y, logits=Z))),
    "sigmoid-bce": (lambda Z: tf.sigmoid(Z),
                    lambda Z, Y: tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=Y, logits=Z))
                    / Z.shape[0]),
    "mse": (lambda Z: Z,
            lambda Z, Y: tf.nn.l2_loss(Z - Y) / Z.shape[0]),  # l2_loss(T) = Σ T² / 2
}


def setup():
    """Import TensorFlow, pick the device, turn TF32 off; {"version", "device", "threads", "precision"}."""
    global tf, _info
    before_tensorflow()
    import tensorflow as tf

    wants_cuda = os.environ.get("CROSSCHECK_DEVICE", "cpu") == "cuda"
    device = "cuda" if wants_cuda and tf.config.list_physical_devices("GPU") else "cpu"
    # TF32 would round float32 matmuls on a GPU to a 10-bit mantissa: keep float32 a real float32
    tf.config.experimental.enable_tensor_float_32_execution(False)
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()  # 0: TF uses every core
    onednn = "on" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0" else "off"
    _info = {"version": tf.__version__, "device": device, "threads": threads,
             "precision": f"input dtype, TF32 off, oneDNN {onednn}"}
    return dict(_info)


def backprop(net, params, X, Y):
    """One forward and backward pass under a GradientTape: a Trace with reference.backprop's names and convention."""
    if _info is None:
        setup()
    dtype = check_inputs(net, params, X, Y)
    m = X.shape[0]
    g = ACTIVATIONS[net.activation]
    output, loss = OUTPUT_LOSSES[net.loss]

    with tf.device("/GPU:0" if _info["device"] == "cuda" else "/CPU:0"):
        named = {"X": tf.constant(X), "Y": tf.constant(Y)}  # lecture name -> tensor
        with tf.GradientTape() as tape:  # records every op below, so Z and A can be gradient sources too
            A = named["X"]
            for l, (W, b) in enumerate(params, start=1):
                W, b = tf.Variable(W), tf.Variable(b)  # W (n_in, n_out), b (1, n_out): watched as variables
                Z = tf.matmul(A, W) + b
                A = g(Z, net) if l < net.L else output(Z)
                named.update({f"W{l}": W, f"b{l}": b, f"Z{l}": Z, f"A{l}": A})
            J = loss(Z, named["Y"])  # from the logits Z[L], not from A[L]: finite for Z = ±1e4
            if net.l2:
                c = l2_coefficient(net.l2, net.l2_convention, m)
                J = J + c * tf.add_n([tf.nn.l2_loss(named[f"W{l}"]) for l in range(1, net.L + 1)])
        named["J"] = J

        grad_names = backward_names(net.L)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
        grads = tape.gradient(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": NAME, "version": _info["version"], "dtype": dtype.name, "device": _info["device"]})
    for name in input_names(net.L) + forward_names(net.L):
        trace[name] = np.asarray(named[name])  # not .numpy(): a scalar J would come back as np.float64, not an array
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, np.asarray(grad), m)
    return trace
