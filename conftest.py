"""Shared pytest set-up: quiet TensorFlow, framework parameters collected by try-import, seeds.

A test that takes the `framework` fixture runs once per adapter; one whose framework is missing is
skipped with the reason the import gave.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any test module can import TensorFlow

import pytest  # noqa: E402

import adapters  # noqa: E402

ADAPTER_FRAMEWORKS = ("torch", "tensorflow", "jax", "keras")


def framework_params(names=ADAPTER_FRAMEWORKS):
    """pytest.param(name, id=name, marks=[its marker]) for each framework, as -k and -m can select."""
    return [pytest.param(name, id=name, marks=getattr(pytest.mark, name))
            for name in names]


def load_adapter(name):
    """The adapter module, or skip the test with the reason the framework is unavailable."""
    try:
        module, _info = adapters.load(name)
    except adapters.Unavailable as exc:
        pytest.skip(str(exc))
    return module


@pytest.fixture(params=framework_params())
def adapter(request):
    return load_adapter(request.param)
