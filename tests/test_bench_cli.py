"""`crosscheck bench`: the JSON it prints, its bad-option lines, how it saves, and the FLOPs it counts.

Only NumPy (the reference) is timed here, on the smallest shapes, so that the file runs in seconds; the
frameworks' kernels are exercised by the smoke run of bench/ (`pytest bench --benchmark-disable`).
"""
import itertools
import json
import math
import os
import re
import statistics
import sys

import numpy as np
import pytest

from crosscheck.adapters.numpy.kernels import reference_step
from crosscheck.benchmarks import machine, plan, results
from crosscheck.cli import main
from crosscheck.reference.files import Exists, write_atomically

SMALL = ["bench", "--quick", "--frameworks", "numpy", "--shapes", "1x300x4x3,2x8x16x4", "--configs", "lecture",
         "--budget", "0.02"]  # 20 ms of rounds per case: the file runs in seconds


@pytest.fixture(scope="module")
def document():
    """One quick --json run with a given peak, shared by the tests that read its output."""
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(SMALL + ["--json", "--peak-gflops", "float32=200,float64=100"])
    assert code == 0
    return json.loads(out.getvalue())


# ---- the JSON document -----------------------------------------------------------------------------

def test_json_has_env_and_results(document):
    assert set(document) >= {"env", "results"}
    env = document["env"]
    for key in ("cpu", "blas", "versions", "frameworks", "threads", "gpus", "warnings", "load_average"):
        assert key in env, f"env lacks {key}"
    assert env["isolated"] is True and env["quick"] is True
    assert "numpy:cpu" in env["frameworks"]


def test_every_result_has_the_documented_keys(document):
    results = document["results"]
    assert {r["op"] for r in results} == {"batched_matmul", "train_step"}
    for r in results:
        for key in ("op", "framework", "device", "dtype", "median_s", "gflops", "pct_peak"):
            assert key in r, f"{r['op']} result lacks {key}"
        assert r["framework"] == "numpy" and r["device"] == "cpu" and r["dtype"] in ("float32", "float64")
        assert r["median_s"] > 0
        if r["op"] == "batched_matmul":
            assert isinstance(r["shape"], list) and len(r["shape"]) == 4 and all(isinstance(n, int) for n in r["shape"])
        else:
            assert r["config"] == "lecture"
    shapes = {tuple(r["shape"]) for r in results if r["op"] == "batched_matmul"}
    assert shapes == {(1, 300, 4, 3), (2, 8, 16, 4)}


def test_gflops_is_flops_over_the_median(document):
    for r in document["results"]:
        assert r["gflops"] == pytest.approx(r["flops"] / r["median_s"] / 1e9, rel=1e-12)


def test_pct_peak_uses_the_given_peak_per_dtype(document):
    for r in document["results"]:
        peak = {"float32": 200, "float64": 100}[r["dtype"]]
        assert r["pct_peak"] == pytest.approx(100 * r["gflops"] / peak, rel=1e-12)


def test_text_report_shows_the_table(cli):
    code, out, err = cli(*SMALL, "--ops", "matmul")
    assert code == 0
    assert "GFLOP/s" in out and "1×300×4×3" in out and "numpy" in out


def test_missing_framework_or_device_is_skipped_with_its_reason(cli):
    code, out, err = cli("bench", "--quick", "--json", "--device", "cuda", "--frameworks", "cupy",
                             "--shapes", "1x8x8x8", "--dtypes", "float32")
    assert code == 2  # nothing measured is not a pass
    doc = json.loads(out)
    assert doc["ok"] is False and doc["error"].startswith("nothing was measured: cupy")
    assert doc["results"] == []
    assert doc["skipped"] and all(s["reason"] for s in doc["skipped"])
    assert err.count("\n") == 1 and "nothing was measured" in err


# ---- bad input: one line, exit code 2, nothing run --------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--shapes", "1x2x3"], ["--shapes", "1x0x4x3"], ["--threads", "0"], ["--threads", "100000"],
    ["--device", "tpu"], ["--peak-gflops", "fast"], ["--peak-gflops", "float8=3"], ["--dtypes", "float16"],
    ["--frameworks", "mxnet"], ["--ops", "conv"], ["--configs", "huge"], ["--save", "/no/such/dir/r.json"],
    ["--frameworks", "cupy"], ["--from", "/no/such/run.json"], ["--from", __file__], ["--json", "--markdown"],
], ids=lambda argv: " ".join(argv))
def test_bad_option_is_one_line_and_exit_2(cli, argv):
    code, out, err = cli("bench", "--quick", *argv)
    assert code == 2
    assert out == "" if "--json" not in argv else json.loads(out) == {"ok": False, "error": err.strip()[19:]}
    assert len(err.strip().splitlines()) == 1 and err.startswith("crosscheck: error:"), err


# ---- saving: atomic, never over an earlier run --------------------------------------------------------

def test_save_writes_json_and_plot_and_never_overwrites(cli, tmp_path):
    pytest.importorskip("matplotlib")
    saved, plot = tmp_path / "run.json", tmp_path / "run.png"
    code, out, err = cli(*SMALL, "--save", str(saved), "--plot", str(plot))
    assert code == 0
    first = saved.read_bytes()
    assert json.loads(first)["results"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.png"]

    code, out, err = cli(*SMALL, "--save", str(saved))
    assert code == 2 and "exists" in err and len(err.strip().splitlines()) == 1
    assert saved.read_bytes() == first

    code, out, err = cli("bench", "--from", str(saved), "--markdown")
    assert code == 0 and "| framework | mode |" in out and "1×300×4×3" in out

    code, out, err = cli(*SMALL, "--ops", "matmul", "--save", str(saved), "--force")
    assert code == 0 and saved.read_bytes() != first
    assert {r["op"] for r in json.loads(saved.read_bytes())["results"]} == {"batched_matmul"}


def test_an_atomic_write_leaves_nothing_behind_when_writing_fails(tmp_path):
    target = tmp_path / "r.json"

    def fails(f):
        f.write(b"half a document")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(str(target), fails, overwrite=False)
    assert list(tmp_path.iterdir()) == []


def test_an_atomic_write_refuses_a_file_that_appeared_meanwhile(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("an earlier run")
    with pytest.raises(Exists):
        write_atomically(str(target), lambda f: f.write(b"new"), overwrite=False)
    assert target.read_text() == "an earlier run"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    write_atomically(str(target), lambda f: f.write(b"new"), overwrite=True)
    assert target.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask, "a saved run is an ordinary file, not mkstemp's 0600"


# ---- FLOPs, counted independently --------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 300, 4, 3), (2, 3, 4, 5), (3, 1, 7, 2)])
def test_matmul_flops_match_a_naive_loop(shape):
    B, M, K, N = shape
    multiply_adds = sum(1 for _ in itertools.product(range(B), range(M), range(N), range(K)))
    assert plan.matmul_flops(shape) == 2 * multiply_adds


class CountingArray(np.ndarray):
    """An ndarray that adds up 2·m·k·n for every matmul it takes part in (and computes as NumPy would)."""
    gemm_flops = 0

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = [np.asarray(x) for x in inputs]
        if out is not None:
            kwargs["out"] = tuple(np.asarray(o) for o in out)
        if ufunc is np.matmul and method == "__call__":
            a, b = plain
            batch = math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
            CountingArray.gemm_flops += 2 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1]
        result = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result.view(CountingArray) if isinstance(result, np.ndarray) else result


@pytest.mark.parametrize("sizes,m", [((2, 4, 3), 300), ((3, 5, 7, 2), 11), ((784, 64, 10), 16)])
def test_train_step_flops_match_the_gemms_the_reference_runs(sizes, m):
    from crosscheck.reference import Network, gaussian_data, init_params
    net = Network(sizes)
    params = [(W.view(CountingArray), b.view(CountingArray)) for W, b in init_params(net, "he", seed=0)]
    X, Y = gaussian_data(net, m, seed=0)
    CountingArray.gemm_flops = 0
    reference_step(net, params, X.view(CountingArray), Y.view(CountingArray), 0.1)
    assert CountingArray.gemm_flops == plan.train_step_flops(sizes, m)


def test_configs_count_what_the_docs_say():
    assert plan.train_step_flops((2, 4, 3), 300) == 2 * 300 * (2 * 4 * 2 + 4 * 3 * 3)
    wide = plan.TRAIN_CONFIGS["wide"]
    assert plan.train_step_flops(wide.sizes, wide.batch) == 2 * 1024 * (784 * 1024 * 2 + 1024 * 1024 * 3 + 1024 * 10 * 3)


# ---- the reference's ratio and the BLAS warnings ------------------------------------------------------

def _step(framework, mode, config, dtype, median):
    return {"op": "train_step", "framework": framework, "mode": mode, "config": config, "dtype": dtype,
            "device": "cpu", "median_s": median}


def test_reference_ratio_is_against_the_fastest_framework_and_judged_at_wide():
    steps = [_step("numpy", "eager", "wide", "float32", 1.1), _step("torch", "eager", "wide", "float32", 1.0),
               _step("jax", "compiled", "wide", "float32", 0.5), _step("numpy", "eager", "lecture", "float32", 3.0),
               _step("jax", "compiled", "lecture", "float32", 1.0)]
    ratios = {q["config"]: q for q in results.reference_ratios(steps)}
    assert ratios["wide"]["ratio"] == pytest.approx(2.2) and ratios["wide"]["fastest"] == "jax compiled"
    assert ratios["wide"]["met"] is False
    assert ratios["lecture"]["ratio"] == pytest.approx(3.0) and ratios["lecture"]["met"] is None


def test_blas_warning_when_a_forced_kernel_is_below_the_cpu():
    avx512 = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]
    forced = {"libraries": [{"internal_api": "openblas", "architecture": "Haswell"}]}
    native = {"libraries": [{"internal_api": "openblas", "architecture": "SkylakeX"}]}
    warnings = machine.blas_warnings(forced, avx512, env={"OPENBLAS_CORETYPE": "Haswell"})
    assert len(warnings) == 1 and "Haswell" in warnings[0] and "OPENBLAS_CORETYPE=Haswell" in warnings[0]
    assert machine.blas_warnings(native, avx512, env={}) == []
    assert machine.blas_warnings(forced, ["avx", "avx2", "fma"], env={}) == []
    assert any("OPENBLAS_L2_SIZE" in w for w in machine.blas_warnings(native, avx512, env={"OPENBLAS_L2_SIZE": "262144"}))


def test_machine_info_names_the_blas_kernel_without_importing_frameworks():
    import sys
    before = set(sys.modules)
    info = machine.machine_info()
    assert not {"torch", "tensorflow", "jax", "cupy"} & (set(sys.modules) - before)
    if "unavailable" not in info["blas"]:
        assert any(lib.get("architecture") for lib in info["blas"]["libraries"] if lib.get("internal_api") == "openblas")
    assert os.cpu_count() == info["cpu"]["logical_cores"]


def test_repeats_keep_each_cases_median_run():
    case = {"op": "batched_matmul", "framework": "numpy", "device": "cpu", "dtype": "float32", "mode": "eager",
            "shape": [1, 2, 3, 4]}
    runs = [{"results": [dict(case, median_s=t)], "skipped": [], "frameworks": {"numpy:cpu": {}}} for t in (3.0, 1.0, 2.0)]
    merged = results.merge_repeats(runs)
    assert [r["median_s"] for r in merged["results"]] == [2.0]
    assert merged["results"][0]["median_s_repeats"] == [3.0, 1.0, 2.0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_benchmark_processes_keep_freed_memory():
    """Rule 9 of docs/benchmarks.md: NumPy's arrays are not paid for in page faults, and the run says so."""
    assert "keeps freed memory" in machine.keep_freed_memory()
    assert "keeps freed memory" in machine.machine_info()["allocator"]


# ---- the timing rules, on a scripted clock ------------------------------------------------------------

class ScriptedClock:
    """perf_counter for crosscheck.benchmarks.timing that moves only when a kernel's call() says so."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    from types import SimpleNamespace

    from crosscheck.benchmarks import timing
    scripted = ScriptedClock()
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=scripted.perf_counter))
    return scripted


def scripted_kernel(clock, duration):
    """A Kernel whose i-th call takes duration(i) seconds on the scripted clock."""
    from crosscheck.adapters.kernel import Kernel
    calls = itertools.count()

    def call():
        clock.now += duration(next(calls))
    return Kernel(call=call)


def every_fourth_call_disturbed(i):
    """10 ms calls, one in four held up by 30 ms: what another job's time slices do to a GEMM."""
    return 0.040 if i % 4 == 3 else 0.010


def test_short_rounds_read_the_median_call_where_long_rounds_read_the_disturbed_mean(clock):
    from crosscheck.benchmarks import timing
    kernel = scripted_kernel(clock, every_fourth_call_disturbed)
    now = timing.measure(kernel, timing.FULL)
    assert now.calls_per_round == 1 and now.median_s == pytest.approx(0.010)
    assert statistics.median(timing.plain_loop(kernel, 1.0)) == pytest.approx(0.010)
    # the rules before issue 14: 7 rounds of at least 100 ms, i.e. 10 or 11 calls, two or three of them disturbed
    old = timing.measure(kernel, timing.TimingRules(budget_s=0, min_rounds=7, round_s=0.1))
    assert old.calls_per_round in (10, 11)
    assert old.median_s >= (9 * 0.010 + 2 * 0.040) / 11 > 0.015  # every round's mean holds two disturbed calls


def test_the_old_rules_replayed_on_one_trace_read_low(clock):
    from bench.fidelity import OLD_FULL, OLD_QUICK, replay
    from crosscheck.benchmarks.timing import FULL, QUICK
    times = [every_fourth_call_disturbed(i) for i in range(2000)]
    old_quick = []
    for start in range(8):  # every phase of the disturbance
        assert replay(times, start, FULL) == pytest.approx(0.010)
        assert replay(times, start, QUICK) == pytest.approx(0.010)
        assert replay(times, start, OLD_FULL) > 0.015  # 10 calls a round: never an undisturbed round
        old_quick.append(replay(times, start, OLD_QUICK))
    # 3 rounds of 2 calls: the median round is disturbed in some phases, never faster than the median call
    assert min(old_quick) == pytest.approx(0.010) and max(old_quick) == pytest.approx(0.025)


@pytest.mark.parametrize("per_call,settings,expected", [
    (2e-6, "FULL", (500, 1000)),    # µs calls: 500 to a 1 ms round, a second's worth of rounds
    (0.010, "FULL", (1, 100)),      # a 1024³ GEMM: one call a round
    (0.5, "FULL", (1, 10)),         # a slow case still gets its minimum of rounds
    (0.010, "QUICK", (1, 20)),
    (0.5, "QUICK", (1, 5)),
])
def test_round_plan(per_call, settings, expected):
    from crosscheck.benchmarks import timing
    assert timing.round_plan(per_call, getattr(timing, settings)) == expected


@pytest.mark.parametrize("pattern,scattered", [((0.010,), False), ((0.010, 0.0105), False), ((0.010, 0.014), True)])
def test_iqr_over_the_rounds_and_the_scattered_flag(clock, pattern, scattered):
    from crosscheck.benchmarks import timing
    timed = timing.measure(scripted_kernel(clock, lambda i: pattern[i % len(pattern)]), timing.QUICK)
    per_call = np.array(timed.per_call_s)
    iqr = np.percentile(per_call, 75) - np.percentile(per_call, 25)
    assert timed.iqr_s == pytest.approx(iqr, abs=1e-15)
    assert timed.scattered is scattered
    assert bool(iqr > 0.1 * np.median(per_call)) is scattered


def test_self_check_of_a_steady_kernel_is_one(clock):
    from crosscheck.benchmarks import timing
    check = timing.self_check(scripted_kernel(clock, every_fourth_call_disturbed), timing.QUICK)
    assert len(check.ratios) == timing.QUICK.self_check_pairs
    assert check.ratio == pytest.approx(1.0) and check.within


def test_self_check_ratio_is_loop_over_harness_per_pair():
    from crosscheck.benchmarks.timing import SelfCheck
    check = SelfCheck(harness_s=[1.0, 2.0, 1.0], loop_s=[1.1, 1.8, 1.2])
    assert check.ratios == pytest.approx([1.1, 0.9, 1.2])
    assert check.ratio == pytest.approx(1.1) and not check.within


# ---- the self-check, the spread and the floor in a run ------------------------------------------------

def test_every_result_has_its_spread(document):
    for r in document["results"]:
        assert r["q1_s"] <= r["median_s"] <= r["q3_s"]
        assert r["iqr_s"] == pytest.approx(r["q3_s"] - r["q1_s"])
        assert r["iqr_pct"] == pytest.approx(100 * r["iqr_s"] / r["median_s"])
        assert r["scattered"] == (r["iqr_s"] > 0.1 * r["median_s"])
        assert r["rounds"] >= 5


def test_the_run_checks_its_harness_against_a_plain_loop(document):
    [check] = document["fidelity"]
    assert check["framework"] == "numpy" and check["op"] == "batched_matmul"
    assert check["dtype"] == "float32" and check["shape"] == [1, 300, 4, 3]  # the largest matmul of SMALL
    assert len(check["ratios"]) == 3
    assert check["ratio"] == pytest.approx(statistics.median(check["ratios"]))
    assert check["within"] == (abs(check["ratio"] - 1) <= 0.05)
    warned = results.fidelity_warnings(document)
    assert bool(warned) != check["within"]
    if warned:
        assert "1x300x4x3" in warned[0]


def test_no_self_check_leaves_it_out(cli):
    code, out, err = cli(*SMALL, "--ops", "matmul", "--json", "--no-self-check", "--budget", "0.01", "--rounds", "3")
    assert code == 0
    doc = json.loads(out)
    assert doc["fidelity"] == [] and doc["env"]["settings"]["min_rounds"] == 3
    assert doc["env"]["settings"]["budget_s"] == 0.01


def test_text_report_shows_spread_and_self_check(cli):
    code, out, err = cli(*SMALL)
    assert code == 0
    assert "IQR" in out and "the harness against a plain loop" in out and "GEMM floor" in out


@pytest.mark.parametrize("shapes,expected", [
    ([(1, 300, 4, 3), (1, 1024, 1024, 1024), (1, 2048, 2048, 2048)], ("batched_matmul", [1, 1024, 1024, 1024])),
    ([(1, 300, 4, 3), (64, 256, 256, 256)], ("batched_matmul", [64, 256, 256, 256])),
    ([], ("train_step", "wide")),
])
def test_representative_case(shapes, expected):
    ops = ("batched_matmul", "train_step") if shapes else ("train_step",)
    cases = plan.plan(frameworks=("torch",), ops=ops, shapes=shapes or None)
    chosen = plan.representative(cases)
    assert chosen["dtype"] == "float32"
    assert (chosen["op"], chosen.get("shape") or chosen["config"]) == expected
    if chosen["op"] == "train_step":
        assert chosen["mode"] == "eager"  # never a torch.compile for the check


def _matmul(framework, dtype, shape, gflops):
    flops = plan.matmul_flops(shape)
    return {"op": "batched_matmul", "framework": framework, "device": "cpu", "dtype": dtype, "mode": "eager",
            "shape": list(shape), "flops": flops, "median_s": flops / gflops / 1e9, "gflops": gflops}


def test_reference_floor_is_its_flops_at_numpys_best_matmul_rate():
    wide = plan.TRAIN_CONFIGS["wide"]
    flops = 2 * 1024 * (784 * 1024 * 2 + 1024 * 1024 * 3 + 1024 * 10 * 3)
    steps = [dict(_step("numpy", "eager", "wide", "float32", 0.060), flops=flops),
             dict(_step("jax", "compiled", "wide", "float32", 0.050), flops=flops)]
    matmuls = [_matmul("numpy", "float32", (1, 1024, 1024, 1024), 150.0),
               _matmul("numpy", "float32", (1, 2048, 2048, 2048), 200.0),
               _matmul("torch", "float32", (1, 2048, 2048, 2048), 300.0),  # another framework's rate is not NumPy's floor
               _matmul("numpy", "float64", (1, 2048, 2048, 2048), 400.0)]  # nor another dtype's
    [q] = results.reference_ratios(steps + matmuls)
    assert plan.train_step_flops(wide.sizes, wide.batch) == flops
    assert q["floor_gflops"] == 200.0 and q["floor_from"] == "numpy-cpu-float32-1x2048x2048x2048"
    assert q["floor_s"] == pytest.approx(9_793_699_840 / 200e9)
    assert q["floor_ratio"] == pytest.approx(0.060 / (9_793_699_840 / 200e9))
    assert q["floor_met"] is (q["floor_ratio"] <= 1.25)
    assert q["ratio"] == pytest.approx(1.2) and q["met"] is False and q["fastest"] == "jax compiled"


def test_reference_floor_without_another_framework():
    flops = plan.train_step_flops((2, 4, 3), 300)
    steps = [dict(_step("numpy", "eager", "lecture", "float64", 1e-4), flops=flops)]
    [q] = results.reference_ratios(steps + [_matmul("numpy", "float64", (1, 300, 4, 3), 2.0)])
    assert q["floor_s"] == pytest.approx(flops / 2e9) and q["ratio"] is None and q["floor_met"] is None
    assert results.reference_ratios(steps) == []  # neither a floor nor another framework: nothing to say


def test_repeats_pool_the_self_checks_and_flag_disagreeing_runs():
    case = {"op": "batched_matmul", "framework": "numpy", "device": "cpu", "dtype": "float32", "mode": "eager",
            "shape": [1, 2, 3, 4]}
    check = lambda ratios: {"framework": "numpy", "device": "cpu", "ratios": ratios, "limit": 0.05,  # noqa: E731
                            "ratio": statistics.median(ratios), "within": True}
    runs = [{"results": [dict(case, median_s=t, scattered=False)], "skipped": [], "frameworks": {},
             "fidelity": [check(q)]} for t, q in ((1.0, [1.0, 1.0, 1.0]), (2.0, [0.8, 0.8, 0.8]), (1.5, [1.0, 1.0, 1.0]))]
    merged = results.merge_repeats(runs)
    [pooled] = merged["fidelity"]
    assert pooled["ratios"] == [1.0, 1.0, 1.0, 0.8, 0.8, 0.8, 1.0, 1.0, 1.0] and pooled["ratio"] == 1.0
    [r] = merged["results"]
    assert r["median_s"] == 1.5 and r["scattered"] is True  # the runs' IQR, 0.5, is a third of 1.5
    assert r["runs_iqr_pct"] == pytest.approx(100 / 3)


def test_plain_loop_is_a_stopwatch_of_its_own():
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "bench.plain_loop", "numpy", "float64", "2x8x16x4", "0.05", "--times"],
                          cwd=root, capture_output=True, text=True, check=True)
    line = json.loads(done.stdout)
    assert line["calls"] == len(line["times"]) >= 5
    assert line["median_s"] == pytest.approx(statistics.median(line["times"]))
    assert line["gflops"] == pytest.approx(2 * 2 * 8 * 16 * 4 / line["median_s"] / 1e9)
    source = (root / "bench" / "plain_loop.py").read_text()
    assert not re.search(r"^\s*(from|import)\s+(crosscheck|adapters|reference|bench)\b", source, re.M), \
        "the stopwatch must not share code with the harness it checks"
