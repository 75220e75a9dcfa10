"""`crosscheck bench`: the JSON it prints, its bad-option lines, how it saves, and the FLOPs it counts.

Only NumPy (the reference) is timed here, on the smallest shapes, so that the file runs in seconds; the
frameworks' kernels are exercised by the smoke run of bench/ (`pytest bench --benchmark-disable`).
"""
import itertools
import json
import math
import os
import sys

import numpy as np
import pytest

from adapters.numpy.kernels import reference_step
from crosscheck.benchmarks import machine, plan, results
from crosscheck.cli import main
from reference.files import Exists, write_atomically

SMALL = ["bench", "--quick", "--frameworks", "numpy", "--shapes", "1x300x4x3,2x8x16x4", "--configs", "lecture"]


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
    code, out, err = cli(*SMALL[:-2], "--ops", "matmul")
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
    from reference import Network, gaussian_data, init_params
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
