"""CuPy: NumPy's interface on a CUDA device.  It has no autodiff, so it is timed (kernels.py) but not checked."""
import os

from crosscheck.adapters import Unavailable
from crosscheck.reference.errors import one_line


def setup(device="cpu", threads=None, tf32=False, exact=True):
    """Import CuPy with TF32 set (CUPY_TF32 is read at import) and find a CUDA device."""
    if device != "cuda":
        raise Unavailable("cupy runs on CUDA devices only")
    os.environ["CUPY_TF32"] = "1" if tf32 else "0"
    try:
        import cupy
    except ImportError as exc:
        raise Unavailable(f"cupy is not installed ({exc})") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise Unavailable(f"cupy {cupy.__version__} finds no CUDA device ({one_line(exc)})") from None
    if count == 0:
        raise Unavailable(f"cupy {cupy.__version__} finds no CUDA device")
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return {"version": cupy.__version__, "device": "cuda", "device_name": name.decode() if isinstance(name, bytes) else str(name),
            "threads": None, "precision": f"input dtype, TF32 {'on' if tf32 else 'off'}",
            "blas": f"cuBLAS (CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()})", "tf32": bool(tf32)}
