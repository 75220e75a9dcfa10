"""bench/train_cost.py: the plain loop it times is the same training as the reference's, its report prints both
figures, and docs/benchmarks.md's table is the saved run's (python -m bench.train_cost --save …, --markdown)."""
import json
from pathlib import Path

import numpy as np
import pytest

from bench import train_cost

ROOT = Path(__file__).resolve().parents[1]
SAVED = ROOT / "docs" / "bench-train-cost.json"


@pytest.mark.parametrize("config", list(train_cost.CONFIGS))
@pytest.mark.parametrize("dtype", train_cost.DTYPES)
def test_the_plain_loop_trains_as_the_reference_does(config, dtype):
    """Like against like: 20 steps of the loop and of the reference side end within rounding of each other."""
    problem = train_cost.problem(config, dtype)
    losses, final = train_cost.plain_loop(problem.X, problem.Y, problem.params, train_cost.LR, 20)
    run = train_cost.reference_side(problem, 20).reference_run
    scale = max(float(np.max(np.abs(P))) for layer in run.final_params for P in layer)
    gap = max(float(np.max(np.abs(P - Q))) for layer, ref in zip(final, run.final_params) for P, Q in zip(layer, ref))
    assert gap <= 100 * np.finfo(dtype).eps * scale
    np.testing.assert_allclose(losses, run.losses, rtol=100 * np.finfo(dtype).eps)


def test_the_report_prints_both_figures(capsys):
    pytest.importorskip("threadpoolctl")
    assert train_cost.main(["--configs", "lecture", "--dtypes", "float64", "--steps", "20", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "plain loop" in out and "reference side" in out and "ratio" in out


def test_docs_benchmarks_shows_the_saved_run():
    document = json.loads(SAVED.read_text())
    assert {(c["config"], c["dtype"]) for c in document["cases"]} == {(c, d) for c in train_cost.CONFIGS
                                                                      for d in train_cost.DTYPES}
    assert train_cost.markdown(document) in (ROOT / "docs" / "benchmarks.md").read_text()
    for case in document["cases"]:
        assert case["ratio_cpu"] == pytest.approx(case["reference_cpu_s"] / case["plain_cpu_s"])
