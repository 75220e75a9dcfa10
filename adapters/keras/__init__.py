"""Keras 3 on TensorFlow, next to the lecture: ops.py (Dense and Activation layers, the losses, an exact L2
regularizer), check.py (the layers called one by one under a GradientTape), train.py (model.fit),
optimizers.py (Keras's optimizers, also used by TensorFlow's training), bridge.py (weights in and out).

Importing this package imports no framework: setup() does.
"""
import os

from crosscheck.adapters import tensorflow


def setup(device="cpu", threads=None, tf32=False, exact=True):
    """TensorFlow's set-up (adapters/tensorflow), then Keras on the TensorFlow backend."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # read once, when Keras is first imported
    info = tensorflow.setup(device=device, threads=threads, tf32=tf32, exact=exact)
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"the keras adapter needs the TensorFlow backend, not {keras.backend.backend()} "
                           "(set KERAS_BACKEND=tensorflow)")
    return {**info, "version": keras.__version__,
            "precision": f"{info['precision'].replace(', oneDNN off', '')}, backend tensorflow {info['version']}"}
