"""backprop-crosscheck: the engine that compares Traces, and the `crosscheck` command.

    import crosscheck
    crosscheck.check(backprop)        # crosscheck.api.check: a Report that prints, renders in Jupyter and can raise

Importing crosscheck imports nothing but this file: `check` and `Report` load crosscheck.api (NumPy and the
engine) on first use, and no framework is imported until a check asks for one.

The name `crosscheck.check` is the API's function.  The engine's module of the same name (crosscheck/check.py)
is imported as usual — `from crosscheck.check import run_check` — but never takes the package attribute.
"""
import sys
import types

__version__ = "0.1.0"
__all__ = ["check", "Report"]


def __getattr__(name):  # PEP 562: the API loads on first use, so that `import crosscheck` stays free
    if name in __all__:
        from . import api
        globals().update(check=api.check, Report=api.Report)  # from now on plain attributes
        return getattr(api, name)
    raise AttributeError(f"module 'crosscheck' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])


class _Package(types.ModuleType):
    """The package, except that importing the submodule crosscheck.check does not rebind crosscheck.check."""

    def __setattr__(self, name, value):
        if name == "check" and isinstance(value, types.ModuleType):
            return  # the module stays in sys.modules["crosscheck.check"], where imports find it
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
