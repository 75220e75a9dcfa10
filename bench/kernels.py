"""The timed operations, written once per framework: a batched matmul and one training step.

    setup(framework, device, threads, tf32) -> info     import the framework (only here), pin its threads and
                                                        precision; {"version", "threads", "blas", "precision", …}
    make(case, tf32) -> Kernel                          build the inputs on the device, return the operation

A Kernel's call() runs the operation once and may return before the device is done; sync() waits for all
the calls so far.  Everything call() touches exists before it is first called: no copies, no dtype
conversions, no allocation of inputs inside the timed region.

Every training step is the same network, from the same initial parameters, on the same data, with the
same plain SGD update W ← W − α dW; only the way the gradients are found differs (the lecture's backward
pass in NumPy, autodiff elsewhere).  A missing framework or device raises Unavailable with the reason.
"""
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from crosscheck.benchmarking import blas_info, describe_blas, train_problem, usable_cores


class Unavailable(Exception):
    """The framework, device or dtype cannot run here; the message says why."""


@dataclass
class Kernel:
    call: Callable[[], object]          # the operation, once (may return before the device is done)
    sync: Callable[[], None]            # wait for every call so far: once per timed round
    read: Callable[[], list] = None     # train steps: the current parameters as NumPy [(W, b), …]
    max_calls: int = None               # calls per round this kernel can hold results for (jax)


def _nothing():
    pass


def _inputs(shape, seed=0):
    """Random (not zero) float32 A (B, M, K) and B (B, K, N): two distinct buffers."""
    B, M, K, N = shape
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, M, K), dtype=np.float32), rng.standard_normal((B, K, N), dtype=np.float32)


def inputs_as(shape, dtype):
    """float32/float64 inputs drawn in that dtype; half types drawn in float32 and converted by the caller."""
    a, b = _inputs(shape)
    return (a, b) if dtype in ("float32", "bfloat16", "float16") else (a.astype(dtype), b.astype(dtype))


def _import(name):
    try:
        return __import__(name)
    except ImportError as exc:
        raise Unavailable(f"{name} is not installed ({exc})") from None


# ---- numpy: the reference ------------------------------------------------------------------------------

def reference_step(net, params, X, Y, lr):
    """One training step of the reference: forward, cost, the lecture's backward, then W ← W − α dW.

    params [(W, b), …] are updated in place; returns J (before the step).
    """
    from reference import backward, cost, forward
    Zs, As, caches = forward(net, params, X)
    J = cost(net, params, Zs[-1], Y)
    grads = {name: g for name, g in backward(net, params, As, caches, Y) if name[:2] in ("dW", "db")}
    for l, (W, b) in enumerate(params, start=1):
        W -= lr * grads[f"dW{l}"]
        b -= lr * grads[f"db{l}"]
    return J


def _numpy_setup(device, threads, tf32):
    if device != "cpu":
        raise Unavailable("numpy runs on the CPU only")
    global _numpy_limits
    try:
        from threadpoolctl import threadpool_limits
        _numpy_limits = threadpool_limits(threads, user_api="blas") if threads else None
    except ImportError:
        pass  # the worker process set OPENBLAS_NUM_THREADS before NumPy started
    info = blas_info()
    blas_threads = [lib["num_threads"] for lib in info.get("libraries", []) if lib.get("user_api") == "blas"]
    return {"version": np.__version__, "threads": blas_threads[0] if blas_threads else threads,
            "blas": describe_blas(info), "precision": "ieee", "tf32": None, "device_name": "cpu"}


_numpy_limits = None


def _numpy_matmul(case):
    a, b = inputs_as(case["shape"], case["dtype"])
    return Kernel(call=lambda: a @ b, sync=_nothing)


def _numpy_train_step(case):
    net, params, X, Y, _, lr = train_problem(case["config"], case["dtype"])
    return Kernel(call=lambda: reference_step(net, params, X, Y, lr), sync=_nothing,
                  read=lambda: [(W.copy(), b.copy()) for W, b in params])


# ---- torch --------------------------------------------------------------------------------------------

def _torch_setup(device, threads, tf32):
    torch = _import("torch")
    if device == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise Unavailable(f"torch {torch.__version__} ({build}) finds no CUDA device")
    if threads and device == "cpu":
        torch.set_num_threads(threads)
    # "high" lets float32 matmuls use TF32 on the GPU; "highest" keeps IEEE float32 (the CPU always gets it)
    torch.set_float32_matmul_precision("high" if tf32 and device == "cuda" else "highest")
    if device == "cuda":
        blas = f"cuBLAS (CUDA {torch.version.cuda})"
        name = torch.cuda.get_device_name(0)
    else:
        config = torch.__config__.show()
        found = [part.split("=")[1] for part in config.replace(",", " ").split() if part.startswith("BLAS_INFO=")]
        capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")()
        blas = f"{found[0] if found else 'unknown BLAS'}, ATen CPU capability {capability}"
        name = "cpu"
    return {"version": torch.__version__, "threads": torch.get_num_threads() if device == "cpu" else None,
            "blas": blas, "precision": ("tf32" if tf32 else "ieee") if device == "cuda" else "ieee",
            "tf32": tf32 if device == "cuda" else None, "device_name": name}


def _torch_sync(torch, device):
    return torch.cuda.synchronize if device == "cuda" else _nothing


def _torch_matmul(case):
    import torch
    a, b = (torch.from_numpy(x).to(case["device"], getattr(torch, case["dtype"])) for x in inputs_as(case["shape"], case["dtype"]))
    return Kernel(call=lambda: a @ b, sync=_torch_sync(torch, case["device"]))


def _torch_train_step(case):
    import torch
    import torch.nn.functional as F
    net, params, X, _, y, lr = train_problem(case["config"], case["dtype"])
    device = case["device"]
    Ws = [torch.from_numpy(W).to(device).requires_grad_() for W, _ in params]
    bs = [torch.from_numpy(b).to(device).requires_grad_() for _, b in params]
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    optimizer = torch.optim.SGD([p for pair in zip(Ws, bs) for p in pair], lr=lr)

    def loss_fn(X, y):
        A = X
        for l, (W, b) in enumerate(zip(Ws, bs), start=1):
            Z = A @ W + b
            A = torch.relu(Z) if l < len(Ws) else Z
        return F.cross_entropy(Z, y)

    if case["mode"] == "compiled":
        loss_fn = torch.compile(loss_fn)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(Xt, yt)
        loss.backward()
        optimizer.step()

    return Kernel(call=step, sync=_torch_sync(torch, device),
                  read=lambda: [(W.detach().cpu().numpy().copy(), b.detach().cpu().numpy().copy()) for W, b in zip(Ws, bs)])


# ---- tensorflow ---------------------------------------------------------------------------------------

def _tf_setup(device, threads, tf32):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = _import("tensorflow")
    if device == "cuda" and not tf.config.list_physical_devices("GPU"):
        raise Unavailable(f"tensorflow {tf.__version__} finds no GPU")
    if threads and device == "cpu":
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # the runtime had started already (another test in this process): reported as it is
    tf.config.experimental.enable_tensor_float_32_execution(bool(tf32))
    intra = tf.config.threading.get_intra_op_parallelism_threads() or usable_cores()
    if device == "cuda":
        blas, name = "cuBLAS (TensorFlow's)", tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0]).get("device_name")
    else:
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
        blas, name = ("oneDNN (float32) / Eigen" if onednn else "Eigen") + f", TF_ENABLE_ONEDNN_OPTS={int(onednn)}", "cpu"
    return {"version": tf.__version__, "threads": intra if device == "cpu" else None, "blas": blas,
            "precision": ("tf32" if tf32 else "ieee") if device == "cuda" else "ieee",
            "tf32": bool(tf32) if device == "cuda" else None, "device_name": name}


def _tf_device(device):
    return "/GPU:0" if device == "cuda" else "/CPU:0"


def _tf_sync(tf, device):
    return tf.test.experimental.sync_devices if device == "cuda" else _nothing


def _tf_matmul(case):
    import tensorflow as tf
    where = _tf_device(case["device"])
    with tf.device(where):
        a, b = (tf.cast(tf.constant(x), getattr(tf, case["dtype"])) for x in inputs_as(case["shape"], case["dtype"]))

    def call():
        with tf.device(where):
            return tf.linalg.matmul(a, b)

    return Kernel(call=call, sync=_tf_sync(tf, case["device"]))


def _tf_train_step(case):
    import tensorflow as tf
    net, params, X, _, y, lr = train_problem(case["config"], case["dtype"])
    where = _tf_device(case["device"])
    with tf.device(where):
        Ws = [tf.Variable(W) for W, _ in params]
        bs = [tf.Variable(b) for _, b in params]
        Xt, yt = tf.constant(X), tf.constant(y)
    variables = [v for pair in zip(Ws, bs) for v in pair]

    def step():
        with tf.GradientTape() as tape:
            A = Xt
            for l, (W, b) in enumerate(zip(Ws, bs), start=1):
                Z = tf.matmul(A, W) + b
                A = tf.nn.relu(Z) if l < len(Ws) else Z
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yt, logits=Z))
        for v, g in zip(variables, tape.gradient(loss, variables)):
            v.assign_sub(lr * g)

    if case["mode"] == "compiled":
        step = tf.function(step)

    def call():
        with tf.device(where):
            step()

    return Kernel(call=call, sync=_tf_sync(tf, case["device"]),
                  read=lambda: [(W.numpy(), b.numpy()) for W, b in zip(Ws, bs)])


# ---- jax ----------------------------------------------------------------------------------------------

def _jax_device(jax, device):
    if device == "cpu":
        return jax.devices("cpu")[0]
    for platform in ("cuda", "gpu"):
        try:
            return jax.devices(platform)[0]
        except RuntimeError:
            pass
    found = ", ".join(sorted({d.platform for d in jax.devices()}))
    raise Unavailable(f"jax {jax.__version__} finds no CUDA device (platforms: {found})")


def _jax_setup(device, threads, tf32):
    jax = _import("jax")
    jax.config.update("jax_enable_x64", True)  # float64 exists only with this; explicit dtypes everywhere
    where = _jax_device(jax, device)
    return {"version": jax.__version__,
            "threads": usable_cores() if device == "cpu" else None,  # XLA:CPU: one thread per schedulable core
            "blas": "XLA:GPU (cuBLAS)" if device == "cuda" else "XLA:CPU (its own GEMM choice)",
            "precision": ("tf32" if tf32 else "ieee") if device == "cuda" else "ieee",
            "tf32": tf32 if device == "cuda" else None,
            "device_name": getattr(where, "device_kind", str(where)) if device == "cuda" else "cpu"}


def _jax_precision(jax, tf32):
    # DEFAULT lets an f32 dot use TF32 on the GPU; HIGHEST keeps it IEEE float32.  No effect on the CPU.
    return jax.lax.Precision.DEFAULT if tf32 else jax.lax.Precision.HIGHEST


def _jax_matmul(case, tf32=False):
    import jax
    import jax.numpy as jnp
    where = _jax_device(jax, case["device"])
    a, b = (jax.device_put(jnp.asarray(x, dtype=getattr(jnp, case["dtype"])), where) for x in inputs_as(case["shape"], case["dtype"]))
    jax.block_until_ready((a, b))
    matmul = jax.jit(lambda a, b: jnp.matmul(a, b, precision=_jax_precision(jax, tf32)))
    held = []  # this round's results: one wait for all of them at the end of the round

    def call():
        out = matmul(a, b)
        held.append(out)
        return out

    def sync():
        jax.block_until_ready(held)
        held.clear()

    B, M, _, N = case["shape"]
    out_bytes = B * M * N * np.dtype(np.float32 if case["dtype"] != "float64" else np.float64).itemsize
    return Kernel(call=call, sync=sync, max_calls=max(1, (256 << 20) // out_bytes))


def _jax_train_step(case, tf32=False):
    import jax
    import jax.numpy as jnp
    net, params, X, Y, _, lr = train_problem(case["config"], case["dtype"])
    where = _jax_device(jax, case["device"])
    precision = _jax_precision(jax, tf32)
    put = lambda x: jax.device_put(jnp.asarray(x), where)  # noqa: E731
    state = [[(put(W), put(b)) for W, b in params]]
    Xd, Yd = put(X), put(Y)

    def loss_fn(params, X, Y):
        A = X
        for l, (W, b) in enumerate(params, start=1):
            Z = jnp.dot(A, W, precision=precision) + b
            A = jax.nn.relu(Z) if l < len(params) else Z
        return -jnp.sum(Y * jax.nn.log_softmax(Z)) / X.shape[0]

    def step(params, X, Y):
        grads = jax.grad(loss_fn)(params, X, Y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    if case["mode"] == "compiled":
        step = jax.jit(step, donate_argnums=0)

    def call():
        state[0] = step(state[0], Xd, Yd)

    return Kernel(call=call, sync=lambda: jax.block_until_ready(state[0]),
                  read=lambda: [(np.asarray(W), np.asarray(b)) for W, b in state[0]])


# ---- cupy ---------------------------------------------------------------------------------------------

def _cupy_setup(device, threads, tf32):
    if device != "cuda":
        raise Unavailable("cupy runs on CUDA devices only")
    os.environ["CUPY_TF32"] = "1" if tf32 else "0"  # read when cupy is imported
    cupy = _import("cupy")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise Unavailable(f"cupy {cupy.__version__} finds no CUDA device ({str(exc).splitlines()[0]})") from None
    if count == 0:
        raise Unavailable(f"cupy {cupy.__version__} finds no CUDA device")
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return {"version": cupy.__version__, "threads": None,
            "blas": f"cuBLAS (CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()})",
            "precision": "tf32" if os.environ.get("CUPY_TF32") == "1" else "ieee", "tf32": tf32,
            "device_name": name.decode() if isinstance(name, bytes) else str(name)}


def _cupy_matmul(case):
    import cupy
    if case["dtype"] == "bfloat16":
        raise Unavailable("cupy has no bfloat16")
    a, b = (cupy.asarray(x).astype(case["dtype"]) for x in inputs_as(case["shape"], case["dtype"]))
    stream = cupy.cuda.get_current_stream()
    stream.synchronize()
    return Kernel(call=lambda: a @ b, sync=stream.synchronize)


# ---- the registry -------------------------------------------------------------------------------------

SETUP = {"numpy": _numpy_setup, "torch": _torch_setup, "tensorflow": _tf_setup, "jax": _jax_setup, "cupy": _cupy_setup}
MATMUL = {"numpy": _numpy_matmul, "torch": _torch_matmul, "tensorflow": _tf_matmul, "jax": _jax_matmul, "cupy": _cupy_matmul}
TRAIN_STEP = {"numpy": _numpy_train_step, "torch": _torch_train_step, "tensorflow": _tf_train_step, "jax": _jax_train_step}


def setup(framework, device, threads=None, tf32=False):
    """Import and configure a framework for a device; its info, or Unavailable with the reason."""
    try:
        return SETUP[framework](device, threads, tf32)
    except Unavailable:
        raise
    except Exception as exc:  # a framework that imports but cannot start
        raise Unavailable(f"{framework}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def make(case, tf32=False):
    """The Kernel for one case (see crosscheck.benchmarking.plan); set up its framework first."""
    table = MATMUL if case["op"] == "batched_matmul" else TRAIN_STEP
    if case["framework"] not in table:
        raise Unavailable(f"{case['framework']} has no {case['op']}")
    maker = table[case["framework"]]
    return maker(case, tf32=tf32) if case["framework"] == "jax" else maker(case)
