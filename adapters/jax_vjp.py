"""JAX: the lecture's tensors from one jax.vjp of J, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      jnp.matmul with the lecture's W (n_in, n_out)
    A[l] = g(Z[l])                 jax.nn.relu, jnp.where (leaky), jax.nn.sigmoid, jnp.tanh
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     jax.nn.log_softmax, jax.nn.softplus (see OUTPUT_LOSSES)
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b      (jax.vjp, then to_lecture_convention)

JAX differentiates functions, not tensors: to get ∂J/∂Z and ∂J/∂A, J is written as a function of zero
arrays added to every Z and A (Z + 0 is Z, and ∂J/∂0 there is ∂J/∂Z).
"""
import functools
import os

import numpy as np

from reference import Trace, backward_names, check_inputs, forward_names, input_names, l2_coefficient
from reference import to_lecture_convention

NAME = "jax"
jax = jnp = None  # imported by setup(), so that importing this module does not import JAX
_info = None
_device = None

# hidden activation g, by the reference's name
ACTIVATIONS = {
    "relu": lambda Z, net: jax.nn.relu(Z),
    # not jax.nn.leaky_relu: it branches on Z >= 0, so g'(0) = 1; the lecture, torch and TF take g'(0) = slope
    "leaky_relu": lambda Z, net: jnp.where(Z > 0, Z, net.leaky_slope * Z),
    "sigmoid": lambda Z, net: jax.nn.sigmoid(Z),
    "tanh": lambda Z, net: jnp.tanh(Z),
    "identity": lambda Z, net: Z,
}
# loss name -> (output A[L] = f(Z[L]), J from the logits Z[L] with the reference's 1/m); JAX has no loss
# functions of its own (optax has, but is optional here), so J is written on jax.nn's stable log_softmax / softplus
OUTPUT_LOSSES = {
    "softmax-ce": (lambda Z: jax.nn.softmax(Z, axis=1),
                   lambda Z, Y: -jnp.sum(Y * jax.nn.log_softmax(Z, axis=1)) / Z.shape[0]),
    "sigmoid-bce": (lambda Z: jax.nn.sigmoid(Z),
                    lambda Z, Y: jnp.sum(jax.nn.softplus(Z) - Y * Z) / Z.shape[0]),  # −[Y log A + (1−Y) log(1−A)]
    "mse": (lambda Z: Z,
            lambda Z, Y: jnp.sum((Z - Y) ** 2) / (2 * Z.shape[0])),
}


def setup():
    """Import JAX, enable float64, pick the device; {"version", "device", "threads", "precision"}."""
    global jax, jnp, _info, _device
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # without it JAX computes "float64" silently in float32
    jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 / bf16 passes on a GPU
    wants_cuda = os.environ.get("CROSSCHECK_DEVICE", "cpu") == "cuda"
    gpus = [d for d in jax.devices() if d.platform == "gpu"] if wants_cuda else []
    _device = gpus[0] if gpus else jax.devices("cpu")[0]
    _info = {"version": jax.__version__, "device": "cuda" if gpus else "cpu", "threads": os.cpu_count(),
             "precision": "input dtype, x64 on, matmul highest"}
    return dict(_info)


def backprop(net, params, X, Y):
    """One forward pass and one vjp of J: a Trace with reference.backprop's names and convention."""
    if _info is None:
        setup()
    dtype = check_inputs(net, params, X, Y)
    m = X.shape[0]
    sources = {}  # the arrays J is differentiated against; device_put, not jnp.asarray, which compiles a copy
    for l, (W, b) in enumerate(params, start=1):
        sources[f"W{l}"], sources[f"b{l}"] = W, b  # W (n_in, n_out), b (1, n_out)
        sources[f"Z{l}"] = np.zeros((m, net.sizes[l]), dtype)
        if l < net.L:  # A[L] is not on the path to J (J is computed from the logits): no dA[L]
            sources[f"A{l}"] = np.zeros((m, net.sizes[l]), dtype)
    X, Y, sources = jax.device_put((X, Y, sources), _device)
    J, named, grads = forward_and_backward(net)(sources, X, Y)
    named["J"] = J

    trace = Trace(meta={"framework": NAME, "version": _info["version"], "dtype": dtype.name, "device": _info["device"]})
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
    g = ACTIVATIONS[net.activation]
    output, loss = OUTPUT_LOSSES[net.loss]

    def cost(sources, X, Y):
        """J from sources {W1, b1, …, and a zero array for each Z and A}; also every named tensor."""
        named = {"X": X, "Y": Y}
        A = X
        for l in range(1, net.L + 1):
            Z = A @ sources[f"W{l}"] + sources[f"b{l}"] + sources[f"Z{l}"]  # + 0: the handle for ∂J/∂Z
            A = g(Z, net) + sources[f"A{l}"] if l < net.L else output(Z)  # + 0: the handle for ∂J/∂A
            named.update({f"W{l}": sources[f"W{l}"], f"b{l}": sources[f"b{l}"], f"Z{l}": Z, f"A{l}": A})
        J = loss(Z, Y)  # from the logits Z[L], not from A[L]: finite for Z = ±1e4
        if net.l2:
            c = l2_coefficient(net.l2, net.l2_convention, X.shape[0])
            J = J + c / 2 * sum(jnp.sum(sources[f"W{l}"] ** 2) for l in range(1, net.L + 1))
        return J, named

    @jax.jit
    def run(sources, X, Y):
        J, pullback, named = jax.vjp(lambda s: cost(s, X, Y), sources, has_aux=True)
        (grads,) = pullback(jnp.ones_like(J))  # dJ/dJ = 1: the gradient of J w.r.t. every source
        return J, named, grads

    return run
