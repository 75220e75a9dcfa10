"""backprop-crosscheck: the lecture's network in NumPy, checked tensor by tensor against every framework and
against a student's own backprop.

    import crosscheck
    crosscheck.check(backprop)        # a Report that prints, renders in Jupyter and can raise

Importing crosscheck imports nothing but this file: `check` and `Report` load crosscheck.classroom.api (NumPy and
the engine) on first use, and no framework is imported until a check asks for one.

Every module this project installs lives under the name `crosscheck`: the repository's reference/ and adapters/
are crosscheck.reference and crosscheck.adapters (pyproject.toml maps them there in a wheel), so that a student's
own reference.py or adapters/ can never shadow them.
"""
import os

__version__ = "0.2.0"
__all__ = ["check", "Report", "__version__"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT = os.path.dirname(_HERE)
if not os.path.isdir(os.path.join(_HERE, "reference")) and os.path.isfile(os.path.join(_CHECKOUT, "reference", "network.py")):
    # a source checkout (or an editable install of one): reference/ and adapters/ sit beside crosscheck/
    __path__.append(_CHECKOUT)


def __getattr__(name):  # PEP 562: the API loads on first use, so that `import crosscheck` stays free
    if name in ("check", "Report"):
        from .classroom import api
        globals().update(check=api.check, Report=api.Report)  # from now on plain attributes
        return getattr(api, name)
    raise AttributeError(f"module 'crosscheck' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), "check", "Report"])
