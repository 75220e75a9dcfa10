"""TensorFlow: the lecture's tensors from tf.GradientTape, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      tf.matmul with the lecture's W (n_in, n_out)
    A[l] = g(Z[l])                 ops.hidden: tf.nn.relu, tf.sigmoid, tf.tanh, leaky ReLU written out
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (tf.nn.softmax_cross_entropy_with_logits, …), ops.l2_term
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b      (tape.gradient, then to_lecture_convention)
"""
import numpy as np
import tensorflow as tf

from reference import Trace, backward_names, check_inputs, forward_names, input_names, to_lecture_convention

from . import ops, place


def backprop(net, params, X, Y, device="cpu"):
    """One forward and backward pass under a GradientTape: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y)
    m = X.shape[0]

    with tf.device(place(device)):
        named = {"X": tf.constant(X), "Y": tf.constant(Y)}  # lecture name -> tensor
        with tf.GradientTape() as tape:  # records every op below, so Z and A can be gradient sources too
            A = named["X"]
            for l, (W, b) in enumerate(params, start=1):
                W, b = tf.Variable(W), tf.Variable(b)  # W (n_in, n_out), b (1, n_out): watched as variables
                Z = tf.matmul(A, W) + b
                A = ops.hidden(net, Z) if l < net.L else ops.output(net, Z)
                named.update({f"W{l}": W, f"b{l}": b, f"Z{l}": Z, f"A{l}": A})
            weights = [named[f"W{l}"] for l in range(1, net.L + 1)]
            # from the logits Z[L], not from A[L]: finite for Z = ±1e4
            J = named["J"] = ops.loss(net, Z, named["Y"]) + ops.l2_term(net, weights, m)

        grad_names = backward_names(net.L)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
        grads = tape.gradient(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": "tensorflow", "version": tf.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net.L) + forward_names(net.L):
        trace[name] = np.asarray(named[name])  # not .numpy(): a scalar J would come back as np.float64, not an array
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, np.asarray(grad), m)
    return trace
