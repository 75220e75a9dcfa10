"""TensorFlow: the lecture's tensors from tf.GradientTape, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      tf.matmul with the lecture's W (n_in, n_out)
    Zhat[l] = norm(Z[l])           ops.normalize: tf.nn.moments and tf.nn.batch_normalization (or the running
                                   averages), then Ztilde = Zhat γ + β
    A[l] = g(Z[l])                 ops.hidden: tf.nn.relu, tf.sigmoid, tf.tanh, leaky ReLU written out
    Adrop[l] = A[l] ⊙ D[l] / p     ops.dropout, the mask handed in
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (tf.nn.softmax_cross_entropy_with_logits, …), ops.l2_term
    dT   = m · ∂J/∂T for T in Z, A, …;  ∂J/∂T for T in W, b, γ, β     (tape.gradient, then to_lecture_convention)
"""
import numpy as np
import tensorflow as tf

from crosscheck.reference import Trace, backward_names, check_inputs, forward_names, input_names, to_lecture_convention

from . import ops, place


def backprop(net, params, X, Y, device="cpu", masks=None):
    """One forward and backward pass under a GradientTape: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y, masks)
    m = X.shape[0]

    with tf.device(place(device)):
        named = {"X": tf.constant(X), "Y": tf.constant(Y)}  # lecture name -> tensor
        with tf.GradientTape() as tape:  # records every op below, so Z and A can be gradient sources too
            A = named["X"]
            for l, layer in enumerate(params, start=1):
                # W (n_in, n_out), b, γ, β (1, n_out): watched as variables
                v = {name: tf.Variable(value) for name, value in zip(net.layer_names(l), layer)}
                named.update({f"{name}{l}": value for name, value in v.items()})
                if net.normalized(l):
                    Z = tf.matmul(A, v["W"])
                    Zhat, mu, var = ops.normalize(net, Z, None if net.training else (v["rmu"], v["rvar"]))
                    Ztilde = Zhat * v["gamma"] + v["beta"]
                    named.update({f"Z{l}": Z, f"Zhat{l}": Zhat, f"Ztilde{l}": Ztilde})
                    if net.training:
                        named.update({f"mu{l}": mu, f"var{l}": var})
                    A = ops.hidden(net, Ztilde)
                else:
                    Z = named[f"Z{l}"] = tf.matmul(A, v["W"]) + v["b"]
                    A = ops.hidden(net, Z) if l < net.L else ops.output(net, Z)
                named[f"A{l}"] = A
                if net.dropout(l):
                    named[f"D{l}"] = tf.constant(masks[l - 1])
                    A = named[f"Adrop{l}"] = ops.dropout(net, A, named[f"D{l}"])
            weights = [named[f"W{l}"] for l in range(1, net.L + 1)]
            # from the logits Z[L], not from A[L]: finite for Z = ±1e4
            J = named["J"] = ops.loss(net, Z, named["Y"]) + ops.l2_term(net, weights, m)

        grad_names = backward_names(net)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
        grads = tape.gradient(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": "tensorflow", "version": tf.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net) + forward_names(net):
        trace[name] = np.asarray(named[name])  # not .numpy(): a scalar J would come back as np.float64, not an array
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, np.asarray(grad), m)
    return trace
