"""Keras 3 (TensorFlow backend): the lecture's network as Dense + Activation layers, differentiated by a tape.

    Z[l] = A[l-1] W[l] + b[l]      keras.layers.Dense: its kernel is the lecture's W (n_in, n_out), its bias b (n_out,)
    A[l] = g(Z[l])                 keras.layers.Activation("relu" | "sigmoid" | "tanh" | "linear" | …)
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (keras.losses.…, from_logits=True), the kernel regularizers
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b      (the layers called one by one under
                                                              tf.GradientTape, then to_lecture_convention)
"""
import keras
import tensorflow as tf

from adapters.tensorflow import place
from reference import (Trace, backward_names, check_inputs, forward_names, input_names, l2_coefficient,
                       to_lecture_convention)

from . import bridge, ops


def backprop(net, params, X, Y, device="cpu"):
    """One forward pass layer by layer and one tape.gradient: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y)
    m = X.shape[0]
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0

    with tf.device(place(device)):
        model = ops.sequential(net, dtype.name, c, with_output=True)
        model.set_weights(bridge.keras_weights(params))  # [W1, b1, …]: the kernel as it is, b as (n_out,)
        dense, activation = model.layers[0::2], model.layers[1::2]
        named = {"X": tf.constant(X), "Y": tf.constant(Y)}  # lecture name -> tensor
        with tf.GradientTape() as tape:  # records every layer call, so Z and A can be gradient sources too
            A = named["X"]
            for l in range(1, net.L + 1):
                Z = dense[l - 1](A)
                A = activation[l - 1](Z)
                named.update({f"W{l}": dense[l - 1].kernel, f"b{l}": dense[l - 1].bias, f"Z{l}": Z, f"A{l}": A})
            J = ops.loss(net, Z, named["Y"])  # from the logits Z[L]: finite for Z = ±1e4
            if c:
                J = J + tf.add_n(model.losses)  # the kernel regularizers' (c/2)‖W[l]‖², computed on the tape
        named["J"] = J

        grad_names = backward_names(net.L)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
        grads = tape.gradient(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": "keras", "version": keras.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net.L) + forward_names(net.L):
        trace[name] = keras.ops.convert_to_numpy(named[name])
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, keras.ops.convert_to_numpy(grad), m)
    for l in range(1, net.L + 1):
        trace[f"b{l}"], trace[f"db{l}"] = trace[f"b{l}"].reshape(1, -1), trace[f"db{l}"].reshape(1, -1)  # (1, n_out)
    return trace
