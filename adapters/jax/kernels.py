"""What `crosscheck bench` times in JAX: a batched matmul (jax.jit), and one training step.

    matmul        a jitted jnp.matmul on the device (precision: setup's jax_default_matmul_precision)
    train_step    jax.grad of ops.loss(ops.logits(…)), then W ← W − α dW by tree_map — eager, or the whole
                  step jax.jit'ed with the parameters donated
"""
import jax
import jax.numpy as jnp
import numpy as np

from crosscheck.adapters.kernel import Kernel, matmul_inputs

from . import find_device, ops


def matmul(case):
    where = find_device(case["device"])
    a, b = (jax.device_put(jnp.asarray(x, dtype=getattr(jnp, case["dtype"])), where)
            for x in matmul_inputs(case["shape"], case["dtype"]))
    jax.block_until_ready((a, b))
    product = jax.jit(lambda a, b: jnp.matmul(a, b))
    held = []  # this round's results: one wait for all of them at the end of the round

    def call():
        out = product(a, b)
        held.append(out)
        return out

    def sync():
        jax.block_until_ready(held)
        held.clear()

    B, M, _, N = case["shape"]
    out_bytes = B * M * N * np.dtype(np.float32 if case["dtype"] != "float64" else np.float64).itemsize
    return Kernel(call=call, sync=sync, max_calls=max(1, (256 << 20) // out_bytes))


def train_step(case, problem):
    net, lr = problem.net, problem.lr
    put = lambda x: jax.device_put(jnp.asarray(x), find_device(case["device"]))  # noqa: E731
    state = [[(put(W), put(b)) for W, b in problem.params]]
    X, Y = put(problem.X), put(problem.Y)

    def step(params, X, Y):
        grads = jax.grad(lambda p: ops.loss(net, ops.logits(net, p, X), Y))(params)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    if case["mode"] == "compiled":
        step = jax.jit(step, donate_argnums=0)

    def call():
        state[0] = step(state[0], X, Y)

    return Kernel(call=call, sync=lambda: jax.block_until_ready(state[0]),
                  read=lambda: [(np.asarray(W), np.asarray(b)) for W, b in state[0]])
