"""PyTorch, next to the lecture: ops.py (g, the output and its loss, the L2 term), check.py (the lecture's
tensors by torch.autograd), train.py (torch.optim on an nn.Sequential), kernels.py (what the benchmark
times), bridge.py (the one transpose between the lecture's W and nn.Linear's weight).

Importing this package imports no framework: setup() does.
"""
from crosscheck.adapters import Unavailable


def setup(device="cpu", threads=None, tf32=False, exact=True):
    """Import torch and pin what changes its numbers: the device, the threads, TF32 (off unless tf32)."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise Unavailable(f"torch {torch.__version__} ({build}) finds no CUDA device")
    if threads and device == "cpu":
        torch.set_num_threads(threads)
    # TF32 rounds float32 matmuls on a GPU to a 10-bit mantissa: float32 stays IEEE float32 unless asked
    torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
    torch.backends.cudnn.allow_tf32 = bool(tf32)
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    if device == "cuda":
        blas, name = f"cuBLAS (CUDA {torch.version.cuda})", torch.cuda.get_device_name(0)
    else:
        config = torch.__config__.show().replace(",", " ").split()
        found = [part.split("=", 1)[1] for part in config if part.startswith("BLAS_INFO=")]
        capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")()
        blas, name = f"{found[0] if found else 'unknown BLAS'}, ATen CPU capability {capability}", "cpu"
    return {"version": torch.__version__, "device": device, "device_name": name,
            "threads": torch.get_num_threads() if device == "cpu" else None,
            "precision": f"input dtype, TF32 {'on' if tf32 else 'off'}", "blas": blas, "tf32": bool(tf32)}
