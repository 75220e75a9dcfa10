"""A stopwatch to hold the harness against: back-to-back calls of one batched matmul, each timed on its own.

    python -m bench.plain_loop numpy float32 1x1024x1024x1024 [seconds] [--times]   ->  one JSON line on stdout

Deliberately nothing from this project: no worker, no thread pinning, no allocator rule, no Kernel, no
crosscheck.benchmarks.timing — the few lines anyone would write to time `a @ b` (NumPy, torch), a jitted
`jnp.matmul` waited for with block_until_ready (JAX dispatches asynchronously, even on the CPU), or
`tf.linalg.matmul`.  Every call is timed alone with its sync, for `seconds` after one second of warm-up, and
the figure is the median call (--times adds every call's time, for bench/fidelity.py's estimators).
bench/fidelity.py runs it in a fresh process, alternating with the harness.
"""
import json
import statistics
import sys
import time


def inputs(shape, dtype):
    import numpy as np
    B, M, K, N = shape
    rng = np.random.default_rng(1)  # not the harness's seed: the figure must not depend on the draw
    return rng.standard_normal((B, M, K)).astype(dtype), rng.standard_normal((B, K, N)).astype(dtype)


def numpy_call(a, b):
    return lambda: a @ b


def torch_call(a, b):
    import torch
    a, b = torch.from_numpy(a), torch.from_numpy(b)
    return lambda: a @ b


def jax_call(a, b):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    a, b = jnp.asarray(a), jnp.asarray(b)
    product = jax.jit(jnp.matmul)
    return lambda: product(a, b).block_until_ready()


def tensorflow_call(a, b):
    import tensorflow as tf
    a, b = tf.constant(a), tf.constant(b)
    return lambda: tf.linalg.matmul(a, b)


CALLS = {"numpy": numpy_call, "torch": torch_call, "jax": jax_call, "tensorflow": tensorflow_call}


def main(argv):
    keep_times = "--times" in argv
    argv = [a for a in argv if a != "--times"]
    framework, dtype, shape = argv[0], argv[1], tuple(int(n) for n in argv[2].split("x"))
    seconds = float(argv[3]) if len(argv) > 3 else 3.0
    call = CALLS[framework](*inputs(shape, dtype))
    end = time.perf_counter() + 1.0
    while time.perf_counter() < end:  # warm-up: compile, fill the thread pools and the allocator
        call()
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    B, M, K, N = shape
    median = statistics.median(times)
    print(json.dumps({"framework": framework, "dtype": dtype, "shape": list(shape), "median_s": median,
                      "calls": len(times), "gflops": 2 * B * M * K * N / median / 1e9}
                     | ({"times": times} if keep_times else {})))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
