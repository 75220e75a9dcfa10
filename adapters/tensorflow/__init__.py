"""TensorFlow, next to the lecture: ops.py (g, the output and its loss, the L2 term), check.py (the lecture's
tensors from a GradientTape), train.py (a GradientTape and a Keras optimizer on tf.Variables), kernels.py
(what the benchmark times).  Row-major like the lecture: W is (n_in, n_out), no transpose anywhere.

Importing this package imports no framework: setup() does.
"""
import os

from crosscheck.adapters import Unavailable, usable_cores


def setup(device="cpu", threads=None, tf32=False, exact=True):
    """Import TensorFlow and pin what changes its numbers: the device, the threads, TF32 (off unless tf32).

    exact: TF_ENABLE_ONEDNN_OPTS=0 (unless the user set it) — TF's own Eigen kernels rather than oneDNN's
    re-ordered float32 ones, the kernels a check should look at; it also stops TF printing a banner about
    them at import, which TF_CPP_MIN_LOG_LEVEL does not silence.  Read once, when TF is first imported.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if exact:
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if device == "cuda" and not gpus:
        raise Unavailable(f"tensorflow {tf.__version__} finds no GPU")
    if threads and device == "cpu":
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # the runtime had started already (another test in this process): reported as it is
    tf.config.experimental.enable_tensor_float_32_execution(bool(tf32))
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    if device == "cuda":
        blas, name = "cuBLAS (TensorFlow's)", tf.config.experimental.get_device_details(gpus[0]).get("device_name")
    else:
        blas, name = ("oneDNN (float32) / Eigen" if onednn else "Eigen") + f", TF_ENABLE_ONEDNN_OPTS={int(onednn)}", "cpu"
    return {"version": tf.__version__, "device": device, "device_name": name,
            "threads": (tf.config.threading.get_intra_op_parallelism_threads() or usable_cores()) if device == "cpu" else None,
            "precision": f"input dtype, TF32 {'on' if tf32 else 'off'}, oneDNN {'on' if onednn else 'off'}",
            "blas": blas, "tf32": bool(tf32)}


def place(device):
    """The tf.device name for "cpu" or "cuda"."""
    return "/GPU:0" if device == "cuda" else "/CPU:0"
