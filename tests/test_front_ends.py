"""One runner, four front ends: `crosscheck compare --impl`, crosscheck.check, the pytest plugin's battery and
`crosscheck grade` present the same Run (crosscheck.student.runner), so the same file gets the same verdict and
the same status on every probe in each — whatever the file does: agree, differ, fail only at three layers, raise
on a later probe, leave out a required tensor.

The files are written here, each a small change of examples/my_backprop.py (the lecture's backprop), and each
change's effect on each probe is stated independently below (EXPECTED), not read from the code under test."""
import json
import re
import shutil
from pathlib import Path

import pytest

import crosscheck
from crosscheck.engine.probes import PROBES

ROOT = Path(__file__).resolve().parents[1]
CORRECT = (ROOT / "examples" / "my_backprop.py").read_text()
RUN = [name for name in PROBES if name != "l2"]  # the lecture's backprop takes no λ: l2 is never run

FILES = {
    "correct": CORRECT,
    # the 1/m left out of dW (but not db): every probe but m = 1 (where m is 1) differs
    "wrong": CORRECT.replace('out[f"dW{l}"] = A_prev.T @ dZ / m', 'out[f"dW{l}"] = A_prev.T @ dZ'),
    # right for two layers, wrong from three: dA always through the last layer's W, a shape error at depth 3
    "deeper": CORRECT.replace("dA = dZ @ W.T", "dA = dZ @ params[-1][0].T if L == 2 else dZ @ params[1][0].T"),
    # a reshape that hard-codes the lecture's m = 300: it raises whenever m is not 300
    "later": CORRECT.replace("dZ = A - Y ", "dZ = (A - Y).reshape(300, -1) "),
    # db1 never returned: a required gradient missing on every probe
    "missing": CORRECT.replace('out[f"db{l}"] = np.sum(dZ, axis=0, keepdims=True) / m',
                               'out[f"db{l}"] = np.sum(dZ, axis=0, keepdims=True) / m\n        '
                               'out.pop("db1", None)'),
}
EXPECTED = {  # probe -> ok, mismatch or failed; each file's verdict is ok exactly when every probe is
    "correct": dict.fromkeys(RUN, "ok"),
    "wrong": {name: "ok" if name == "m1" else "mismatch" for name in RUN},
    "deeper": {name: "failed" if name == "deeper" else "ok" for name in RUN},
    "later": {name: "failed" if name in ("odd-m", "m1") else "ok" for name in RUN},  # the probes with m ≠ 300
    "missing": dict.fromkeys(RUN, "mismatch"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("front-ends")
    for name, source in FILES.items():
        assert source != CORRECT or name == "correct", f"{name}: the change did not apply"
        (folder / f"{name}.py").write_text(source)
    return folder


@pytest.mark.parametrize("name", FILES)
def test_compare_the_api_the_plugin_and_grade_agree_probe_by_probe(name, folder, cli, pytester, monkeypatch):
    path = folder / f"{name}.py"
    expected = EXPECTED[name]
    verdict = all(status == "ok" for status in expected.values())

    # crosscheck compare --impl --json
    code, out, err = cli("compare", "--frameworks", "none", "--impl", path, "--json")
    document = json.loads(out)
    compare = {p["name"]: p["status"] for p in document["probes"]}
    assert code == (0 if verdict else 1), err
    assert document["ok"] is verdict and compare == expected

    # crosscheck.check(path)
    report = crosscheck.check(str(path))
    assert report.ok is verdict and {r.probe.name: r.status for r in report.run.results} == expected

    # crosscheck grade: the probe's tests all pass, or say the code failed on it, or lose points
    code, out, err = cli("grade", path, "--json")
    graded = json.loads(out)["submissions"][0]
    by_probe = {}
    for test in graded["tests"]:
        probe = test["name"].split(" · ")[0]
        if probe not in expected:  # a probe the code cannot be asked (l2: it takes no λ): not run, as in compare
            assert "not run on this probe" in test["output"] and (test["score"] == test["max_score"]) is verdict
            continue
        status = ("failed" if "your code failed on this probe" in test["output"] else
                  "ok" if test["score"] >= test["max_score"] else "mismatch")
        by_probe[probe] = status if by_probe.get(probe, "ok") == "ok" else by_probe[probe]
    assert by_probe == expected
    assert (graded["score"] == graded["max_score"]) is verdict and (graded["status"] == "ok") is verdict

    # the pytest plugin's battery (last: pytest inside this test takes over the capture the cli fixture reads): one
    # item per probe × tensor; a probe is ok when none of its items fails, and failed when its items say the
    # implementation failed on it
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    shutil.copy(path, pytester.path / path.name)
    recorded = pytester.inline_run("-p", "crosscheck.classroom.pytest_plugin", "-p", "no:cacheprovider",
                                   "--crosscheck-impl", str(pytester.path / path.name))
    plugin = {}
    for item in recorded.getreports("pytest_runtest_logreport"):
        if item.when != "call" and not (item.when == "setup" and item.skipped):
            continue
        probe = re.match(r".*::(\w[\w-]*?)(?:-(?:d?[A-Za-z]\d+|J))?$", item.nodeid).group(1)
        if item.failed:
            failed = "the implementation failed" in str(item.longrepr)
            plugin[probe] = "failed" if failed else plugin.get(probe) if plugin.get(probe) == "failed" else "mismatch"
        else:
            plugin.setdefault(probe, "ok")
    plugin.pop("l2", None)  # the probe that does not apply: one skipped item
    assert plugin == expected
