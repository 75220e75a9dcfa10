"""Shared pytest set-up: quiet TensorFlow, one marker per framework, the framework parametrization, the
`cli` and `adapter` fixtures.

A test that takes `framework` runs once per framework of adapters.FRAMEWORKS with a check role (or, when its
module sets FRAMEWORK_ROLE, with that role), under the framework's marker, so that -m torch and -k torch
select it; one whose framework is missing is skipped with the reason the import gave.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any test module can import TensorFlow


def _share_the_cores():
    """Under pytest-xdist each worker's thread pools (BLAS, OpenMP, TensorFlow, XLA) get its share of the cores,
    set before any framework starts its pools: the workers already use every core, and pools of all the cores in
    each would only wait on one another.  Nothing tested depends on the thread count; `make bench` runs without it."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers < 2:
        return
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                 "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, threads)
    if threads == "1":
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()


_share_the_cores()

import pytest  # noqa: E402

from crosscheck import adapters  # noqa: E402

# pytester: the pytest plugin (crosscheck/pytest_plugin.py) is tested by running pytest inside a test
pytest_plugins = ["pytester"]


def pytest_configure(config):
    for name in adapters.FRAMEWORKS:
        config.addinivalue_line("markers", f"{name}: needs {name} (skipped with the reason when it is missing)")


def pytest_collection_modifyitems(config, items):
    """The long tests first (marked slow): spread over the workers of `make test -n auto` they end with the rest,
    not after it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_generate_tests(metafunc):
    """Parametrize `framework` over the frameworks with the module's FRAMEWORK_ROLE (default: check)."""
    if "framework" in metafunc.fixturenames and not _parametrized(metafunc, "framework"):
        role = getattr(metafunc.module, "FRAMEWORK_ROLE", "check")
        metafunc.parametrize("framework", [pytest.param(name, id=name, marks=getattr(pytest.mark, name))
                                           for name in adapters.having(role)])


def _parametrized(metafunc, name):
    return any(name in mark.args[0] for mark in metafunc.definition.iter_markers("parametrize"))


def loaded(framework, role="check"):
    """The framework's role module, or skip the test with the reason the framework is unavailable."""
    try:
        module, _info = adapters.load(framework, role)
    except adapters.Unavailable as exc:
        pytest.skip(str(exc))
    return module


@pytest.fixture
def adapter(framework):
    """The framework's check module (backprop → Trace), or a skip with the reason."""
    return loaded(framework, "check")


@pytest.fixture
def trainer(framework):
    """The framework's training module (train → Run), or a skip with the reason."""
    return loaded(framework, "train")


@pytest.fixture
def cli(capsys):
    """cli("compare", "--json", …) -> (exit code, stdout, stderr): the command as a user runs it, in this process."""
    from crosscheck.cli import main

    def run(*argv):
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def spiral_file(tmp_path_factory):
    """The lecture's 3-arm spiral as a file of X and y labels: a data set that needs no scikit-learn."""
    import numpy as np

    from crosscheck.reference.data import spiral
    X, y = spiral(100, 3, seed=1)
    path = tmp_path_factory.mktemp("data") / "spiral.npz"
    np.savez(path, X=X, y=y)
    return str(path)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The project's wheel, as `pip wheel` builds it from the checkout: built once per test run, for every xdist
    worker (the first builds it under a lock, the others wait and reuse it)."""
    import fcntl
    import subprocess
    import sys
    from pathlib import Path
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder, beside the workers'
    folder = shared / "wheel"
    folder.mkdir(exist_ok=True)
    with open(shared / "wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not list(folder.glob("*.whl")):
            subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "wheel", "--no-deps",
                            "--no-build-isolation", "-w", folder, Path(__file__).resolve().parent],
                           check=True, capture_output=True)
    (built,) = folder.glob("*.whl")
    return built
