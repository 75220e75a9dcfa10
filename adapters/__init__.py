"""Adapters: the lecture's tensors computed by each framework's own autodiff, returned as a Trace.

Every adapter module has the same three names:

    NAME                      the framework's name on the command line ("torch", "tensorflow", …)
    setup() -> dict           imports the framework (lazily: only here) and pins its precision;
                              returns {"version", "device", "threads", "precision"}; raises on failure
    backprop(net, params, X, Y) -> Trace
                              the same record as reference.backprop, in the lecture's convention

Frameworks are imported only when an adapter is loaded, so everything else runs without them.
"""
import importlib
import os

# framework name -> module that adapts it
MODULES = {
    "torch": "adapters.torch_autograd",
    "tensorflow": "adapters.tf_tape",
    "jax": "adapters.jax_vjp",
    "keras": "adapters.keras_layers",
}
FRAMEWORKS = tuple(MODULES)

# TensorFlow reads these once, at import: set them before any adapter can import it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def before_tensorflow():
    """Call before importing TensorFlow for a check or a training run (not for a benchmark).

    TF_ENABLE_ONEDNN_OPTS=0 runs TF's own Eigen kernels rather than oneDNN's re-ordered float32 ones —
    the kernels a check should look at — and stops TF printing a banner about them at import that
    TF_CPP_MIN_LOG_LEVEL does not silence.  A value the user set is kept.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


class Unavailable(Exception):
    """A framework that is not installed or fails to import; the message says why."""


_loaded = {}


def load(name):
    """The adapter module for a framework, set up once; Unavailable with the reason if it cannot be."""
    if name not in MODULES:
        raise KeyError(f"unknown framework {name!r}; choose from {', '.join(FRAMEWORKS)}")
    if name not in _loaded:
        try:
            module = importlib.import_module(MODULES[name])
            info = module.setup()
        except Exception as exc:  # ImportError, or a framework that imports but cannot start
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            _loaded[name] = Unavailable(f"{name}: {reason}")
        else:
            _loaded[name] = (module, info)
    result = _loaded[name]
    if isinstance(result, Unavailable):
        raise result
    return result
