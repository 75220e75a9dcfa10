"""What `crosscheck bench` times in CuPy: a batched matmul on the GPU (no train step: CuPy has no autodiff)."""
import cupy

from crosscheck.adapters import Unavailable
from crosscheck.adapters.kernel import Kernel, matmul_inputs


def matmul(case):
    if case["dtype"] == "bfloat16":
        raise Unavailable("cupy has no bfloat16")
    a, b = (cupy.asarray(x).astype(case["dtype"]) for x in matmul_inputs(case["shape"], case["dtype"]))
    stream = cupy.cuda.get_current_stream()
    stream.synchronize()
    return Kernel(call=lambda: a @ b, sync=stream.synchronize)
