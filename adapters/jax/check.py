"""JAX: the lecture's tensors from one jax.vjp of J, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      A @ W with the lecture's W (n_in, n_out)
    A[l] = g(Z[l])                 ops.hidden: jax.nn.relu, jnp.where (leaky), jax.nn.sigmoid, jnp.tanh
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (jax.nn.log_softmax, jax.nn.softplus), ops.l2_term
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b      (jax.vjp, then to_lecture_convention)

JAX differentiates functions, not tensors: to get ∂J/∂Z and ∂J/∂A, J is written as a function of zero
arrays added to every Z and A (Z + 0 is Z, and ∂J/∂0 there is ∂J/∂Z).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from reference import Trace, backward_names, check_inputs, forward_names, input_names, to_lecture_convention

from . import find_device, ops


def backprop(net, params, X, Y, device="cpu"):
    """One forward pass and one vjp of J: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y)
    m = X.shape[0]
    sources = {}  # the arrays J is differentiated against; device_put, not jnp.asarray, which compiles a copy
    for l, (W, b) in enumerate(params, start=1):
        sources[f"W{l}"], sources[f"b{l}"] = W, b  # W (n_in, n_out), b (1, n_out)
        sources[f"Z{l}"] = np.zeros((m, net.sizes[l]), dtype)
        if l < net.L:  # A[L] is not on the path to J (J is computed from the logits): no dA[L]
            sources[f"A{l}"] = np.zeros((m, net.sizes[l]), dtype)
    X, Y, sources = jax.device_put((X, Y, sources), find_device(device))
    J, named, grads = forward_and_backward(net)(sources, X, Y)
    named["J"] = J

    trace = Trace(meta={"framework": "jax", "version": jax.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net.L) + forward_names(net.L):
        trace[name] = jax.device_get(named[name])
    for name in backward_names(net.L):  # dZL, dWL, dbL, dA(L-1), …: the gradient w.r.t. ZL, WL, bL, …
        trace[name] = to_lecture_convention(name, jax.device_get(grads[name[1:]]), m)
    return trace


@functools.lru_cache(maxsize=64)
def forward_and_backward(net):
    """The network's pass as one compiled function: (sources, X, Y) -> (J, named tensors, ∂J/∂sources).

    Compiled once per network (and again per new shape or dtype): run op by op, JAX would compile each
    of the pass's operations separately on first use, which costs seconds.
    """

    def cost(sources, X, Y):
        """J from sources {W1, b1, …, and a zero array for each Z and A}; also every named tensor."""
        named = {"X": X, "Y": Y}
        A = X
        for l in range(1, net.L + 1):
            Z = A @ sources[f"W{l}"] + sources[f"b{l}"] + sources[f"Z{l}"]  # + 0: the handle for ∂J/∂Z
            A = ops.hidden(net, Z) + sources[f"A{l}"] if l < net.L else ops.output(net, Z)  # + 0: the handle for ∂J/∂A
            named.update({f"W{l}": sources[f"W{l}"], f"b{l}": sources[f"b{l}"], f"Z{l}": Z, f"A{l}": A})
        weights = [sources[f"W{l}"] for l in range(1, net.L + 1)]
        J = ops.loss(net, Z, Y) + ops.l2_term(net, weights, X.shape[0])  # from the logits Z[L]: finite for Z = ±1e4
        return J, named

    @jax.jit
    def run(sources, X, Y):
        J, pullback, named = jax.vjp(lambda s: cost(s, X, Y), sources, has_aux=True)
        (grads,) = pullback(jnp.ones_like(J))  # dJ/dJ = 1: the gradient of J w.r.t. every source
        return J, named, grads

    return run
