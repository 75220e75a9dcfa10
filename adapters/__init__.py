"""Adapters: the lecture's network in each framework, one folder per framework, listed once below.

    adapters/<name>/__init__.py   setup(): import the framework (only here, only when asked), pin its
                                  precision, threads and device; say what it is running on
    adapters/<name>/ops.py        the framework's pieces of the network, written once: g, the output and
                                  its loss, the L2 term
    adapters/<name>/check.py      backprop(net, params, X, Y, device) -> Trace, by the framework's autodiff
    adapters/<name>/train.py      train(net, params, X, Y, optimizer, schedule, on_step) -> Run
    adapters/<name>/kernels.py    matmul(case), train_step(case, problem): what `crosscheck bench` times

A framework has the roles its folder has.  Importing this package, or a framework's package, imports
no framework: that happens in setup() and in the role modules, which load() imports after it.
Adding a framework is adding its folder and one entry to FRAMEWORKS.
"""
import importlib
import os
from dataclasses import dataclass, field

from crosscheck.reference.errors import one_line

ROLES = ("check", "train", "kernels")

# TensorFlow reads this once, at import: set it before anything can import TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@dataclass(frozen=True)
class Framework:
    """One framework: what its folder holds, how it trains and is timed, how it is drawn."""

    name: str                      # its name on the command line, and its folder adapters/<name>
    roles: tuple                   # which of check, train, kernels its folder has
    convention: str = None         # whose optimizer formulas its training follows (reference.optim.RULES)
    devices: tuple = ("cpu",)      # where its kernels run
    modes: tuple = ("eager",)      # how its train step is timed: eager and/or compiled (none: it has no train step)
    compiler: str = None           # what compiled means for it
    matmul_mode: str = "eager"     # how its batched matmul is called: eager, or jit
    quick_mode: str = "eager"      # the one train-step mode `crosscheck bench --quick` times
    style: dict = field(default_factory=dict)  # its line in the plots (matplotlib keywords)
    install: str = None            # what installs it: an extra of this package (pyproject.toml), else a pip name

    @property
    def package(self):
        return f"crosscheck.adapters.{self.name}"

    @property
    def pip(self):
        """The pip command that installs it, as a missing framework's message says it."""
        if self.install is None:
            return None
        return f"pip install {self.install}" if self.install.startswith("cupy") else \
            f"pip install 'backprop-crosscheck[{self.install}]'"


FRAMEWORKS = {f.name: f for f in (
    Framework("numpy", ("kernels",), convention="torch",  # the reference itself: its training runs torch's formulas
              style=dict(color="0.6", lw=5, alpha=0.5)),
    Framework("torch", ("check", "train", "kernels"), convention="torch", devices=("cpu", "cuda"),
              modes=("eager", "compiled"), compiler="torch.compile", style=dict(color="tab:red", lw=1.6),
              install="torch"),
    Framework("tensorflow", ("check", "train", "kernels"), convention="keras", devices=("cpu", "cuda"),
              modes=("eager", "compiled"), compiler="tf.function", quick_mode="compiled",
              style=dict(color="tab:orange", lw=1.6, ls="--"), install="tensorflow"),
    Framework("jax", ("check", "train", "kernels"), convention="optax", devices=("cpu", "cuda"),
              modes=("eager", "compiled"), compiler="jax.jit", matmul_mode="jit", quick_mode="compiled",
              style=dict(color="tab:blue", lw=1.6, ls=":"), install="jax"),
    Framework("keras", ("check", "train"), convention="keras", devices=("cpu", "cuda"),
              style=dict(color="tab:green", lw=1.6, ls="-."), install="tensorflow"),  # keras 3 runs on TensorFlow here
    Framework("cupy", ("kernels",), devices=("cuda",), modes=(), style=dict(color="tab:purple", lw=1.6),
              install="cupy-cuda12x"),  # no autodiff: a matmul, no train step
)}

# the reference's own training run, as `crosscheck train` names it: NumPy, in numpy's convention
REFERENCE = "numpy-reference"


def having(role):
    """The names of the frameworks whose folder has a role module, in registry order."""
    return tuple(name for name, framework in FRAMEWORKS.items() if role in framework.roles)


class Unavailable(Exception):
    """A framework (or a device) that is not installed or cannot start; the message says why."""


def usable_cores():
    """The cores this process may run on (its affinity), which is what every framework's pool sizes to."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def setup(name, device="cpu", threads=None, tf32=False, exact=True):
    """Import a framework and configure it: its info {version, device, device_name, threads, precision,
    blas, tf32}, or Unavailable with the reason.

    exact=True is for checks and training runs (IEEE float32, the framework's own reference kernels);
    exact=False for benchmarks (the kernels a user gets by default).
    """
    try:
        package = importlib.import_module(FRAMEWORKS[name].package)
        return package.setup(device=device, threads=threads, tf32=tf32, exact=exact)
    except Unavailable:
        raise
    except ImportError as exc:  # not installed: say how to install it
        pip = FRAMEWORKS[name].pip
        raise Unavailable(f"{name}: {exc}" + (f" ({pip})" if pip else "")) from None
    except Exception as exc:  # a framework that imports but cannot start
        raise Unavailable(f"{name}: {one_line(exc)}") from None


_loaded = {}


def load(name, role="check"):
    """(role module, info) for a framework, set up once per process for exact work.

    The device is the CPU unless CROSSCHECK_DEVICE=cuda asks for a GPU and the framework finds one.
    Raises KeyError for an unknown name or role, Unavailable (cached) when the framework cannot load.
    """
    if name not in FRAMEWORKS or role not in FRAMEWORKS[name].roles:
        raise KeyError(f"no framework {name!r} with a {role} role; choose from {', '.join(having(role))}")
    if (name, role) not in _loaded:
        try:
            info = _exact_setup(name)
            module = importlib.import_module(f"{FRAMEWORKS[name].package}.{role}")
        except Unavailable as exc:
            _loaded[name, role] = exc
        except Exception as exc:  # the role module itself fails to import
            _loaded[name, role] = Unavailable(f"{name}: {one_line(exc)}")
        else:
            _loaded[name, role] = (module, info)
    result = _loaded[name, role]
    if isinstance(result, Unavailable):
        raise result
    return result


def _exact_setup(name):
    if os.environ.get("CROSSCHECK_DEVICE", "cpu") == "cuda" and "cuda" in FRAMEWORKS[name].devices:
        try:
            return setup(name, device="cuda")
        except Unavailable:
            pass  # no GPU seen: the check runs on the CPU, and its report says so
    return setup(name, device="cpu")
