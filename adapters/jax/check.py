"""JAX: the lecture's tensors from one jax.vjp of J, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      A @ W with the lecture's W (n_in, n_out)
    Zhat[l] = norm(Z[l])           ops.normalize, written out (batch statistics, or the running averages);
                                   Ztilde = Zhat γ + β
    A[l] = g(Z[l])                 ops.hidden: jax.nn.relu, jnp.where (leaky), jax.nn.sigmoid, jnp.tanh
    Adrop[l] = A[l] ⊙ D[l] / p     ops.dropout, the mask handed in
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (jax.nn.log_softmax, jax.nn.softplus), ops.l2_term
    dT   = m · ∂J/∂T for T in Z, A, …;  ∂J/∂T for T in W, b, γ, β      (jax.vjp, then to_lecture_convention)

JAX differentiates functions, not tensors: to get ∂J/∂Z and ∂J/∂A, J is written as a function of zero
arrays added to every Z and A (Z + 0 is Z, and ∂J/∂0 there is ∂J/∂Z).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from crosscheck.reference import Trace, backward_names, check_inputs, forward_names, input_names, to_lecture_convention

from . import find_device, ops


def backprop(net, params, X, Y, device="cpu", masks=None):
    """One forward pass and one vjp of J: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y, masks)
    m = X.shape[0]
    sources, given = {}, {}  # what J is differentiated against; what it only reads (masks, running averages)
    for l, layer in enumerate(params, start=1):
        for name, value in zip(net.layer_names(l), layer):
            (given if name in ("rmu", "rvar") else sources)[f"{name}{l}"] = value
        handles = [f"Z{l}"] + ([f"Zhat{l}", f"Ztilde{l}"] if net.normalized(l) else [])
        if l < net.L:  # A[L] is not on the path to J (J is computed from the logits): no dA[L]
            handles += [f"A{l}"] + ([f"Adrop{l}"] if net.dropout(l) else [])
        for name in handles:
            sources[name] = np.zeros((m, net.sizes[l]), dtype)
        if net.dropout(l):
            given[f"D{l}"] = masks[l - 1]
    # device_put, not jnp.asarray, which compiles a copy
    X, Y, sources, given = jax.device_put((X, Y, sources, given), find_device(device))
    J, named, grads = forward_and_backward(net)(sources, given, X, Y)
    named["J"] = J

    trace = Trace(meta={"framework": "jax", "version": jax.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net) + forward_names(net):
        trace[name] = jax.device_get(named[name])
    for name in backward_names(net):  # dZL, dWL, dbL, dA(L-1), …: the gradient w.r.t. ZL, WL, bL, …
        trace[name] = to_lecture_convention(name, jax.device_get(grads[name[1:]]), m)
    return trace


@functools.lru_cache(maxsize=64)
def forward_and_backward(net):
    """The network's pass as one compiled function: (sources, given, X, Y) -> (J, named tensors, ∂J/∂sources).

    Compiled once per network (and again per new shape or dtype): run op by op, JAX would compile each
    of the pass's operations separately on first use, which costs seconds.
    """

    def cost(sources, given, X, Y):
        """J from sources {W1, b1, …, and a zero array for each Z and A}; also every named tensor."""
        named = {"X": X, "Y": Y, **given}
        A = X
        for l in range(1, net.L + 1):
            s = {name: sources[f"{name}{l}"] for name in net.layer_names(l) if f"{name}{l}" in sources}
            named.update({f"{name}{l}": value for name, value in s.items()})
            if net.normalized(l):
                Z = A @ s["W"] + sources[f"Z{l}"]  # + 0: the handle for ∂J/∂Z (through μ and σ² too)
                running = None if net.training else (given[f"rmu{l}"], given[f"rvar{l}"])
                Zhat, mu, var = ops.normalize(net, Z, running)
                Zhat = Zhat + sources[f"Zhat{l}"]
                Ztilde = Zhat * s["gamma"] + s["beta"] + sources[f"Ztilde{l}"]
                named.update({f"Z{l}": Z, f"Zhat{l}": Zhat, f"Ztilde{l}": Ztilde})
                if net.training:
                    named.update({f"mu{l}": mu, f"var{l}": var})
                A = ops.hidden(net, Ztilde) + sources[f"A{l}"]
            else:
                Z = A @ s["W"] + s["b"] + sources[f"Z{l}"]  # + 0: the handle for ∂J/∂Z
                A = ops.hidden(net, Z) + sources[f"A{l}"] if l < net.L else ops.output(net, Z)  # + 0: ∂J/∂A
                named[f"Z{l}"] = Z
            named[f"A{l}"] = A
            if net.dropout(l):
                A = named[f"Adrop{l}"] = ops.dropout(net, A, given[f"D{l}"]) + sources[f"Adrop{l}"]
        weights = [sources[f"W{l}"] for l in range(1, net.L + 1)]
        J = ops.loss(net, Z, Y) + ops.l2_term(net, weights, X.shape[0])  # from the logits Z[L]: finite for Z = ±1e4
        return J, named

    @jax.jit
    def run(sources, given, X, Y):
        J, pullback, named = jax.vjp(lambda s: cost(s, given, X, Y), sources, has_aux=True)
        (grads,) = pullback(jnp.ones_like(J))  # dJ/dJ = 1: the gradient of J w.r.t. every source
        return J, named, grads

    return run
