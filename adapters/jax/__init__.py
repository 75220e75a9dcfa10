"""JAX, next to the lecture: ops.py (g, the output and its loss, the L2 term, the logits), check.py (the
lecture's tensors from one jax.vjp), train.py (jax.value_and_grad and an optax update), kernels.py (what
the benchmark times).  The parameters are the reference's arrays as they are: Z = A W + b, no transpose.

Importing this package imports no framework: setup() does.
"""
from crosscheck.adapters import Unavailable, usable_cores


def setup(device="cpu", threads=None, tf32=False, exact=True):
    """Import JAX, turn float64 on, pin the matmul precision (IEEE float32 unless tf32), find the device."""
    import jax

    jax.config.update("jax_enable_x64", True)  # without it JAX computes "float64" silently in float32
    jax.config.update("jax_default_matmul_precision", "default" if tf32 else "highest")  # no TF32 / bf16 passes
    where = find_device(device)
    return {"version": jax.__version__, "device": device,
            "device_name": getattr(where, "device_kind", str(where)) if device == "cuda" else "cpu",
            "threads": usable_cores() if device == "cpu" else None,  # XLA:CPU: one thread per schedulable core
            "precision": f"input dtype, x64 on, matmul {'default (TF32)' if tf32 else 'highest'}",
            "blas": "XLA:GPU (cuBLAS)" if device == "cuda" else "XLA:CPU (its own GEMM choice)", "tf32": bool(tf32)}


def find_device(device):
    """The jax.Device for "cpu" or "cuda"; Unavailable when JAX sees no GPU."""
    import jax

    if device == "cpu":
        return jax.devices("cpu")[0]
    for platform in ("cuda", "gpu"):
        try:
            return jax.devices(platform)[0]
        except RuntimeError:
            pass
    found = ", ".join(sorted({d.platform for d in jax.devices()}))
    raise Unavailable(f"jax {jax.__version__} finds no CUDA device (platforms: {found})")
