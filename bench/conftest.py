"""pytest-benchmark suites for batched matmul and the training step, in every framework.

    pytest bench --benchmark-only             measure every case (all frameworks share one process)
    pytest bench --benchmark-only -m torch    one framework alone in its process: what `make bench` does
    pytest bench --benchmark-disable          the smoke run of `make test`: small sizes, each case once

--bench-device cpu|cuda|all (default all; cuda cases skip where no framework finds a device),
--bench-threads N (default: leave every framework at its own default, one thread per core), --bench-tf32.
The timing itself is crosscheck.benchmarks', shared with `crosscheck bench`: see docs/benchmarks.md.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything can import TensorFlow

import pytest  # noqa: E402

from crosscheck import adapters  # noqa: E402
from crosscheck.benchmarks import machine, plan, results, timing, workers  # noqa: E402

try:
    import pytest_benchmark  # noqa: F401
    HAVE_PYTEST_BENCHMARK = True
except ImportError:
    HAVE_PYTEST_BENCHMARK = False



def pytest_addoption(parser):
    group = parser.getgroup("crosscheck bench")
    group.addoption("--bench-device", choices=("cpu", "cuda", "all"), default="all",
                    help="devices to benchmark (default all: cuda cases skip where there is none)")
    group.addoption("--bench-threads", type=int, default=None, metavar="N",
                    help="threads per framework (default: each framework's own, one per core)")
    group.addoption("--bench-tf32", action="store_true", help="let float32 matmuls use TF32 on the GPU")


def pytest_configure(config):
    machine.keep_freed_memory()  # as crosscheck bench's workers do: NumPy's arrays are not paid in page faults


def smoke(config):
    """--benchmark-disable (or no pytest-benchmark): run each case once, on the smallest sizes."""
    return config.getoption("benchmark_disable", default=True) or not HAVE_PYTEST_BENCHMARK


def pytest_generate_tests(metafunc):
    """`case`: the benchmark cases of the module's OP; `step_case`: each framework's lecture train step."""
    config = metafunc.config
    device = config.getoption("bench_device")
    devices = plan.DEVICES if device == "all" else (device,)
    quick = smoke(config)
    if "case" in metafunc.fixturenames:
        cases = plan.plan(devices=devices, ops=(metafunc.module.OP,), quick=quick,
                          shapes=plan.MATMUL_SMOKE if quick else None, configs=("lecture",) if quick else None)
        metafunc.parametrize("case", [case_param(c, quick) for c in cases])
    if "step_case" in metafunc.fixturenames:
        cases = [c for c in plan.plan(devices=devices, ops=("train_step",), dtypes=("float64",), configs=("lecture",))
                 if c["framework"] != "numpy"]
        metafunc.parametrize("step_case", [case_param(c, quick, f"{c['framework']}-{c['device']}-{c['mode']}")
                                           for c in cases])


def case_param(case, quick, label=None):
    """pytest.param with the framework's marker (and gpu), so that -m torch selects one framework."""
    marks = [getattr(pytest.mark, case["framework"])] + ([pytest.mark.gpu] if case["device"] == "cuda" else [])
    if quick and case["framework"] == "torch" and case.get("mode") == "compiled":
        marks.append(pytest.mark.skip(reason="torch.compile takes ~30 s to compile here: measured by make bench"))
    return pytest.param(case, id=label or plan.case_label(case), marks=marks)


def pytest_collection_modifyitems(config, items):
    """Keep each framework's cases together (one runtime warm at a time), leaving other tests in place."""
    def case_of(item):
        params = getattr(getattr(item, "callspec", None), "params", {})
        return params.get("case") or params.get("step_case")

    slots = [i for i, item in enumerate(items) if case_of(item)]
    ordered = sorted((items[i] for i in slots), key=lambda item: plan.TIMED.index(case_of(item)["framework"]))
    for i, item in zip(slots, ordered):
        items[i] = item


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["crosscheck"] = machine.machine_info()


_setups = {}


def _kernel(case, config):
    """(Kernel, the framework's info) for a case, its framework set up once per session and device; skip with
    the reason if it cannot be."""
    key = (case["framework"], case["device"])
    if key not in _setups:
        try:
            _setups[key] = workers.load_kernels(*key, threads=config.getoption("bench_threads"),
                                                tf32=config.getoption("bench_tf32"))
        except adapters.Unavailable as exc:
            _setups[key] = exc
    if isinstance(_setups[key], Exception):
        pytest.skip(str(_setups[key]))
    kernels, info = _setups[key]
    try:
        return workers.make_kernel(kernels, case), info
    except adapters.Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def kernel_for(request):
    """kernel_for(case) -> (Kernel, info), or a skip with the reason the framework or device is unavailable."""
    return lambda case: _kernel(case, request.config)


if HAVE_PYTEST_BENCHMARK:
    @pytest.fixture
    def run_case(benchmark, request):
        """run_case(case) -> the first call's output: measured with crosscheck.benchmarks' rules, or once when disabled."""
        def run(case):
            kernel, info = _kernel(case, request.config)
            if benchmark.disabled:  # pedantic then calls its target once, untimed
                return benchmark.pedantic(lambda: (kernel.call(), kernel.sync())[0])
            plan_ = timing.calibrate(kernel, timing.FULL)
            n = plan_.calls_per_round
            what = "x".join(map(str, case["shape"])) if case["op"] == "batched_matmul" else case["config"]
            benchmark.group = f"{case['op']} {case['device']} {case['dtype']} {what}"
            benchmark.pedantic(timing.RoundOfCalls(kernel, n), iterations=n, rounds=plan_.rounds, warmup_rounds=1)
            stats = benchmark.stats.stats
            benchmark.extra_info.update(results.result_record(case, info, stats.median, plan_.first_call_s, n,
                                                              stats.min, stats.rounds, stats.q1, stats.q3))
            return None
        return run
else:
    @pytest.fixture
    def run_case():
        pytest.skip("pytest-benchmark is not installed (pip install pytest-benchmark)")
