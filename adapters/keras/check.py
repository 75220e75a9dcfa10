"""Keras 3 (TensorFlow backend): the lecture's network as Dense + Activation layers, differentiated by a tape.

    Z[l] = A[l-1] W[l] + b[l]      keras.layers.Dense: its kernel is the lecture's W (n_in, n_out), its bias b (n_out,)
    Zhat[l] = norm(Z[l])           keras.layers.BatchNormalization(center=False, scale=False) called with training=
                                   True (batch statistics) or False (its moving averages, set to rmu, rvar); then
                                   Ztilde = Zhat γ + β; μ, σ² by keras.ops.moments
    A[l] = g(Z[l])                 keras.layers.Activation("relu" | "sigmoid" | "tanh" | "linear" | …)
    Adrop[l] = A[l] ⊙ D[l] / p     the mask handed in
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (keras.losses.…, from_logits=True), the kernel regularizers
    dT   = m · ∂J/∂T for T in Z, A, …;  ∂J/∂T for T in W, b, γ, β     (the layers called one by one under
                                                              tf.GradientTape, then to_lecture_convention)
"""
import keras
import numpy as np
import tensorflow as tf

from crosscheck.adapters.tensorflow import place
from crosscheck.reference import (
    Trace,
    backward_names,
    check_inputs,
    forward_names,
    input_names,
    l2_coefficient,
    to_lecture_convention,
)

from . import ops


def backprop(net, params, X, Y, device="cpu", masks=None):
    """One forward pass layer by layer and one tape.gradient: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y, masks)
    m = X.shape[0]
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0
    regularizer = ops.exact_l2(c / 2) if c else None  # Keras's L2(λ) adds λ Σ‖W‖²: λ = c/2

    with tf.device(place(device)):
        named = {"X": tf.constant(X), "Y": tf.constant(Y)}  # lecture name -> tensor
        layers = []
        for l, layer in enumerate(params, start=1):
            dense = keras.layers.Dense(net.sizes[l], use_bias=not net.normalized(l), kernel_regularizer=regularizer,
                                       dtype=dtype.name)
            dense.build((None, net.sizes[l - 1]))
            dense.set_weights([np.array(layer[0])] + ([] if net.normalized(l) else [np.asarray(layer[1]).reshape(-1)]))
            norm = None
            if net.normalized(l):
                norm = ops.normalization(net, dtype.name, center=False, scale=False)
                norm.build((None, net.sizes[l]))
                norm.set_weights([np.asarray(layer[3]).reshape(-1), np.asarray(layer[4]).reshape(-1)])  # rmu, rvar
            g = keras.layers.Activation(ops.activation(net) if l < net.L else ops.OUTPUTS[net.loss], dtype=dtype.name)
            layers.append((dense, norm, g))
        with tf.GradientTape() as tape:  # records every layer call, so Z and A can be gradient sources too
            A = named["X"]
            for l, (dense, norm, g) in enumerate(layers, start=1):
                Z = dense(A)
                named.update({f"W{l}": dense.kernel, f"Z{l}": Z})
                if norm is not None:
                    gamma, beta = (tf.Variable(np.asarray(v)) for v in params[l - 1][1:3])
                    Zhat = norm(Z, training=net.training)
                    Ztilde = Zhat * gamma + beta
                    named.update({f"gamma{l}": gamma, f"beta{l}": beta, f"Zhat{l}": Zhat, f"Ztilde{l}": Ztilde})
                    if net.training:
                        named[f"mu{l}"], named[f"var{l}"] = keras.ops.moments(Z, axes=[0], keepdims=True)
                    else:
                        named[f"rmu{l}"], named[f"rvar{l}"] = (tf.constant(v) for v in params[l - 1][3:5])
                    A = g(Ztilde)
                else:
                    named[f"b{l}"] = dense.bias
                    A = g(Z)
                named[f"A{l}"] = A
                if net.dropout(l):
                    D = named[f"D{l}"] = tf.constant(masks[l - 1])
                    A = named[f"Adrop{l}"] = A * D / net.keep_prob
            J = ops.loss(net, Z, named["Y"])  # from the logits Z[L]: finite for Z = ±1e4
            if c:
                J = J + tf.add_n([loss for dense, _, _ in layers for loss in dense.losses])  # (c/2)‖W[l]‖², on the tape
        named["J"] = J

        grad_names = backward_names(net)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
        grads = tape.gradient(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": "keras", "version": keras.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net) + forward_names(net):
        trace[name] = keras.ops.convert_to_numpy(named[name])
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, keras.ops.convert_to_numpy(grad), m)
    for name in trace.keys():
        if name[:1] == "b" or name[:2] == "db":
            trace[name] = trace[name].reshape(1, -1)  # (1, n_out), as the lecture's b
    return trace
