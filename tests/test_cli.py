"""The `crosscheck` command as a user meets it: exit codes, JSON, saved files, and one line per bad input."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crosscheck.reference import Network, Trace, backprop, computed_names, init_params, make_data

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_correct_implementation_passes(cli):
    code, out, _ = cli("--frameworks", "none", "--impl", str(EXAMPLES / "my_backprop.py"))
    assert code == 0 and "✓ all 12 tensors agree" in out


def test_wrong_implementation_is_caught_at_its_first_wrong_tensor(cli):
    code, out, _ = cli("compare", "--frameworks", "none", "--impl", str(EXAMPLES / "wrong_backprop.py"))
    assert code == 1
    assert "first divergence: impl dW2 (4, 3)" in out and "1/m is missing" in out


def test_json_document(cli):
    code, out, _ = cli("compare", "--frameworks", "none", "--impl", str(EXAMPLES / "wrong_backprop.py"),
                       "--json")
    document = json.loads(out)
    assert code == 1 and document["ok"] is False
    assert set(document) >= {"ok", "config", "frameworks", "comparisons", "first_divergence"}
    assert document["config"]["layers"] == [2, 4, 3] and document["config"]["dtype"] == "float64"
    assert document["frameworks"]["impl"]["status"] == "mismatch"
    assert document["first_divergence"]["framework"] == "impl" and document["first_divergence"]["tensor"] == "dW2"
    rows = document["comparisons"]
    assert [r["tensor"] for r in rows] == computed_names(2)
    for row in rows:
        assert set(row) >= {"framework", "tensor", "shape", "max_abs", "max_rel", "tolerance", "ok"}
    dW2 = next(r for r in rows if r["tensor"] == "dW2")
    assert dW2["ok"] is False and dW2["shape"] == [4, 3] and dW2["max_rel"] == pytest.approx(299, rel=1e-9)


def test_unavailable_framework_is_reported_and_the_run_goes_on(cli, monkeypatch):
    from crosscheck import adapters
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if it were not installed
    monkeypatch.setattr(adapters, "_loaded", {})
    code, out, _ = cli("--frameworks", "torch", "--impl", str(EXAMPLES / "my_backprop.py"), "--json")
    document = json.loads(out)
    assert code == 0
    assert document["frameworks"]["torch"]["status"] == "unavailable"
    assert document["frameworks"]["torch"]["reason"].startswith("torch: import of torch halted")


def test_save_writes_every_tensor_and_the_config(cli, tmp_path):
    path = tmp_path / "lecture.npz"
    code, _, _ = cli("--frameworks", "none", "--save", str(path), "--seed", "4")
    assert code == 0
    saved = Trace.load(path)
    net = Network((2, 4, 3))
    X, Y = make_data(net, seed=4)
    expected = backprop(net, init_params(net, seed=4), X, Y)
    assert list(saved.keys()) == list(expected.keys())
    for name in expected.keys():
        np.testing.assert_array_equal(saved[name], expected[name])
    assert saved.meta["config"]["seed"] == 4 and saved.meta["config"]["layers"] == [2, 4, 3]
    assert os.listdir(tmp_path) == ["lecture.npz"]  # no temporary file left behind


def test_params_and_data_files_round_trip(cli, tmp_path):
    net = Network((3, 5, 2))
    params = init_params(net, "he", seed=1)
    X, Y = make_data(net, batch=11, seed=1)
    np.savez(tmp_path / "p.npz", W1=params[0][0], b1=params[0][1].ravel(), W2=params[1][0], b2=params[1][1])
    np.savez(tmp_path / "d.npz", X=X, y=Y.argmax(axis=1))
    code, out, _ = cli("--frameworks", "none", "--params", str(tmp_path / "p.npz"),
                       "--data", str(tmp_path / "d.npz"), "--save", str(tmp_path / "t.npz"), "--json")
    assert code == 0 and json.loads(out)["config"]["layers"] == [3, 5, 2]
    saved = Trace.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(saved["Y"], Y)
    np.testing.assert_array_equal(saved["dW1"], backprop(net, params, X, Y)["dW1"])


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, dict):
        np.savez(path, **content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


W1, b1, W2, b2 = np.ones((2, 4)), np.zeros(4), np.ones((4, 3)), np.zeros(3)
X2 = np.zeros((5, 2))

BAD = {
    "layers not numbers": (["--layers", "2,x,3"], "--layers"),
    "one size": (["--layers", "3"], "at least two"),
    "zero size": (["--layers", "2,0,3"], "positive"),
    "unknown activation": (["--activation", "relu6"], "invalid choice"),
    "unknown loss": (["--loss", "hinge"], "invalid choice"),
    "dtype": (["--dtype", "float16"], "invalid choice"),
    "batch 0": (["--batch", "0"], "positive integer"),
    "negative l2": (["--l2", "-1"], ">= 0"),
    "unknown framework": (["--frameworks", "torch,mxnet"], "mxnet"),
    "unknown subcommand option": (["--bogus"], "unrecognized"),
    "softmax with one output": (["--layers", "2,4,1"], "softmax-ce needs"),
    "params missing": (["--params", "{tmp}/nope.npz"], "no such file"),
    "params corrupt": (["--params", "@corrupt.npz"], "not a readable .npz"),
    "params empty": (["--params", "@empty.npz"], "not a readable .npz"),
    "params a directory": (["--params", "{tmp}"], "directory"),
    "params NaN": (["--params", "@nan.npz"], "W2 contains NaN"),
    "params do not chain": (["--params", "@chain.npz"], "does not chain"),
    "params without bias": (["--params", "@nobias.npz"], "no bias b2"),
    "params integer": (["--params", "@int.npz"], "dtype"),
    "params vs layers": (["--params", "@good_params.npz", "--layers", "2,5,3"], "disagrees"),
    "data without X": (["--data", "@noX.npz"], "no array named X"),
    "data without targets": (["--data", "@noY.npz"], "needs targets"),
    "data labels out of range": (["--data", "@labels.npz"], "out of range"),
    "data not one-hot": (["--data", "@soft.npz"], "not one-hot"),
    "data NaN": (["--data", "@nanX.npz"], "NaN"),
    "data integer X": (["--data", "@intX.npz"], "dtype"),
    "data rows differ": (["--data", "@rows.npz"], "rows"),
    "data wrong features": (["--data", "@features.npz"], "features"),
    "impl missing": (["--impl", "{tmp}/nope.py"], "no such file"),
    "impl syntax error": (["--impl", "@syntax.py"], "syntax.py:3: syntax error"),
    "impl without backprop": (["--impl", "@empty.py"], "defines no function backprop"),
    "impl import error": (["--impl", "@importerror.py"], "importerror.py:1: importing it raised ModuleNotFoundError"),
    "impl raises": (["--impl", "@raises.py"], "raises.py:4: your backprop raised ZeroDivisionError"),
    "impl returns a list": (["--impl", "@list.py"], "must return a dict"),
    "impl timeout zero": (["--impl", "@list.py", "--timeout", "0"], "expected a number > 0"),
    "impl memory not a number": (["--impl", "@list.py", "--memory", "lots"], "expected a positive integer"),
    "impl not a function": (["--impl", "@notafunction.py"], "backprop is not a function"),
    "save into a missing directory": (["--save", "{tmp}/no/such/dir/x.npz"], "does not exist"),
}

FILES = {
    "corrupt.npz": b"this is not a zip archive",
    "empty.npz": b"",
    "nan.npz": dict(W1=W1, b1=b1, W2=W2 * np.nan, b2=b2),
    "chain.npz": dict(W1=W1, b1=b1, W2=np.ones((5, 3)), b2=b2),
    "nobias.npz": dict(W1=W1, b1=b1, W2=W2),
    "int.npz": dict(W1=W1.astype(int), b1=b1, W2=W2, b2=b2),
    "good_params.npz": dict(W1=W1, b1=b1, W2=W2, b2=b2),
    "noX.npz": dict(Y=np.eye(3)),
    "noY.npz": dict(X=X2),
    "labels.npz": dict(X=X2, y=np.array([0, 1, 2, 3, 0])),
    "soft.npz": dict(X=X2, Y=np.full((5, 3), 1 / 3)),
    "nanX.npz": dict(X=X2 * np.nan, y=np.zeros(5, int)),
    "intX.npz": dict(X=X2.astype(int), y=np.zeros(5, int)),
    "rows.npz": dict(X=X2, y=np.zeros(4, int)),
    "features.npz": dict(X=np.zeros((5, 3)), y=np.zeros(5, int)),
    "syntax.py": "import numpy as np\n\ndef backprop(X, Y, params:\n    return {}\n",
    "empty.py": "x = 1\n",
    "importerror.py": "import no_such_module_anywhere\n",
    "raises.py": "import numpy as np\n\ndef backprop(X, Y, params, activation='relu'):\n    return 1 / 0\n",
    "list.py": "def backprop(X, Y, params, activation='relu'):\n    return []\n",
    "notafunction.py": "backprop = 3\n",
}


@pytest.mark.parametrize("argv, message", list(BAD.values()), ids=list(BAD))
def test_bad_input_is_one_line_and_exit_2(argv, message, cli, tmp_path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    argv = [_write(tmp_path, a[1:], FILES[a[1:]]) if a.startswith("@") else a for a in argv]
    before = set(os.listdir(tmp_path))
    save = tmp_path / "out.npz"
    extra = [] if "--save" in argv else ["--save", str(save)]
    code, out, err = cli("compare", "--frameworks", "none", *argv, *extra)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crosscheck: error: "), err
    assert message in lines[0]
    assert "Traceback" not in err
    assert set(os.listdir(tmp_path)) == before  # nothing written


def test_gradcheck_json(cli):
    code, out, _ = cli("gradcheck", "--json")
    document = json.loads(out)
    assert code == 0 and document["ok"] is True and document["max_rel_error"] <= 1e-7
    assert len(document["results"]) == 5 * 3 * 4  # activations × losses × (W1, b1, W2, b2)
    assert set(document["results"][0]) >= {"activation", "loss", "param", "rel_error"}


def test_gradcheck_table(cli):
    code, out, _ = cli("gradcheck", "--activation", "tanh", "--loss", "mse", "--layers", "3,5,5,2")
    assert code == 0 and "tanh" in out and "W3" in out and "✓ max relative error" in out


def test_runs_from_a_bare_source_checkout():
    """`python -m crosscheck` with nothing on the path but the checkout (the GPU machine runs it so)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    done = subprocess.run([sys.executable, "-m", "crosscheck", "--frameworks", "none", "--layers", "2,3,3"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "crosscheck · 2-3-3 relu softmax-ce" in done.stdout
    done = subprocess.run([sys.executable, "-m", "crosscheck", "--layers", "nope"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_gradcheck_fails_a_wrong_backward_pass(cli, monkeypatch):
    import crosscheck.reference.layers as layers
    original = layers.affine_backward

    def doubled_db(dZ, cache, want_dA_prev=True):
        dA_prev, dW, db = original(dZ, cache, want_dA_prev)
        return dA_prev, dW, 2 * db

    monkeypatch.setattr(layers, "affine_backward", doubled_db)
    code, out, _ = cli("gradcheck", "--activation", "relu", "--loss", "mse", "--json")
    document = json.loads(out)
    assert code == 1 and document["ok"] is False and document["max_rel_error"] > 0.1
    assert {r["param"] for r in document["results"] if r["rel_error"] > 1e-7} == {"b1", "b2"}


# ---- the next lecture's layers in compare: --keep-prob, --batch-norm, --inference -------------------------

@pytest.mark.parametrize("argv, present, absent", [
    (["--keep-prob", "0.8"], ["Adrop1", "dAdrop1", "db1"], ["Zhat1"]),
    (["--batch-norm"], ["mu1", "var1", "Zhat1", "Ztilde1", "dZtilde1", "dgamma1", "dbeta1", "dZhat1"], ["db1", "Adrop1"]),
    (["--batch-norm", "--keep-prob", "0.5", "--inference"], ["Zhat1", "dgamma1"], ["mu1", "Adrop1"]),
], ids=["dropout", "batch-norm", "inference"])
def test_compare_checks_every_tensor_of_dropout_and_batch_norm(cli, argv, present, absent):
    code, out, err = cli("compare", *argv, "--frameworks", "torch", "--json")
    document = json.loads(out)
    checked = {c["tensor"] for c in document["comparisons"]}
    assert code == 0, err
    assert set(present) <= checked and not set(absent) & checked
    assert all(c["ok"] for c in document["comparisons"] if c["framework"] == "torch" and c["ok"] is not None)


def test_the_catalogues_correct_code_passes_with_dropout_and_batch_norm_in_its_worker(cli):
    """--impl runs the file in a worker process: the masks, γ, β and the running averages travel there too."""
    code, out, err = cli("compare", "--keep-prob", "0.8", "--batch-norm", "--impl", "crosscheck/bugs/steps.py",
                         "--frameworks", "none", "--probe", "lecture,biases")
    assert code == 0, out + err
    assert "✓ all 21 tensors agree" in out  # 10 forward (mu, var, Zhat, Ztilde, Adrop among them), 11 backward


@pytest.mark.parametrize("argv, message", [
    (["--batch-norm", "--impl", "examples/dls_deep_nn.py", "--style", "dls"], "--style dls: checks the lecture's plain"),
    (["--keep-prob", "2"], "expected a number in (0, 1]"),
], ids=["dls-with-batch-norm", "keep-prob"])
def test_bad_next_lecture_options_in_compare_are_exit_2(cli, argv, message):
    code, out, err = cli("compare", *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
