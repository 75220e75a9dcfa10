"""The grading benchmark's smoke run (`pytest bench --benchmark-disable`, part of `make test`): a class of a few
generated submissions graded as bench/grading.py grades a hundred; the figures are printed, never asserted.

    python -m bench.grading          the benchmark itself: 100 submissions, --jobs 2
"""
from bench import grading as bench


def test_a_small_generated_class_is_graded_with_every_row_and_its_figures(capsys):
    figures, results = bench.run(n=12, jobs=2, timeout=1.0, out=print, bugs=4)
    kinds = {r.name: r.status for r in results}
    assert len(results) == figures["submissions"] == 12 and figures["per_second"] > 0
    # four catalogued bugs, each misbehaving kind once, two correct ones: a row each
    assert sum(name.startswith("bug") for name in kinds) == figures["bugs"] == 4
    assert {kinds[f"z-{kind}-0.py"] for kind in ("hangs", "segfaults", "exits", "floods")} == \
        {"timeout", "crashed", "exit", "output"}
    assert all(status == "ok" for name, status in kinds.items() if name.startswith("correct"))
    assert figures["worker_peak_mb_max"] < 768
    assert "submissions/s" in capsys.readouterr().out
