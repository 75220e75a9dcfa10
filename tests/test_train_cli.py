"""`crosscheck train` as a user meets it: the table and the JSON, the plot in the format its name asks for,
frameworks that are missing, off the trajectory or failing part-way, bad input."""
import json
import sys
import types

import pytest

import adapters
from crosscheck.cli import train as train_command
from reference.train import Run, train


@pytest.fixture
def run_cli(cli):
    """crosscheck train …"""
    return lambda *argv: cli("train", *argv)


def fake_trainer(monkeypatch, name, train_function):
    """adapters.load gives `name` a training module whose train() is train_function."""
    real = adapters.load
    fake = types.SimpleNamespace(train=train_function)
    monkeypatch.setattr(adapters, "load", lambda n, role="check": (fake, {}) if (n, role) == (name, "train") else real(n, role))


def test_json_document(run_cli):
    code, out, _ = run_cli("--frameworks", "numpy-reference,torch", "--epochs", "5", "--json")
    document = json.loads(out)
    assert code == 0 and document["epochs"] == 5 and document["steps"] == 5 and document["plot"] is None
    assert document["config"]["layers"] == [2, 4, 3] and document["config"]["batch_size"] is None
    assert set(document["frameworks"]) == {"numpy-reference", "torch"}
    for entry in document["frameworks"].values():
        assert set(entry) >= {"status", "final_loss", "accuracy", "max_param_divergence"}
    torch = document["frameworks"]["torch"]
    if torch["status"] != "unavailable":
        assert torch["status"] == "ok" and torch["max_param_divergence"] < 1e-12


def test_table_and_plot(run_cli, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "train.png"
    code, out, _ = run_cli("--frameworks", "numpy-reference,jax", "--epochs", "20", "--batch-size", "100",
                           "--optimizer", "adam", "--plot", str(plot))
    assert code == 0 and "final J" in out and "numpy-reference" in out and f"plot: {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["train.png"]  # no temporary file left beside it


def test_unavailable_framework_is_reported_and_the_run_goes_on(run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if it were not installed
    monkeypatch.setattr(adapters, "_loaded", {})
    fake_trainer(monkeypatch, "jax", train)  # a framework that follows the reference exactly
    code, out, _ = run_cli("--frameworks", "numpy-reference,torch,jax", "--epochs", "3", "--json")
    frameworks = json.loads(out)["frameworks"]
    torch = frameworks["torch"]
    assert code == 0 and torch["status"] == "unavailable" and "import of torch halted" in torch["reason"]
    assert frameworks["jax"]["status"] == "ok"


def test_nothing_compared_when_every_framework_asked_for_is_unavailable(run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(adapters, "_loaded", {})
    code, out, err = run_cli("--frameworks", "numpy-reference,torch", "--epochs", "3", "--json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False and "import of torch halted" in document["error"]
    assert err.count("\n") == 1 and err.startswith("crosscheck: error: nothing was checked")


def test_the_reference_alone_is_what_was_asked_and_not_a_pass(run_cli):
    code, out, _ = run_cli("--frameworks", "numpy-reference", "--epochs", "3")
    verdict = out.strip().splitlines()[-1]
    assert code == 0 and "no framework was compared" in verdict and "✓" not in verdict


def test_a_framework_off_the_trajectory_is_a_mismatch(run_cli, monkeypatch):
    def train_off(net, params, X, Y, optimizer, schedule, on_step=None):
        run = train(net, params, X, Y, optimizer, schedule)
        nudged = [[(W + 1e-6, b) for W, b in after] for after in run.history]
        return Run("nudged", run.losses, nudged)

    fake_trainer(monkeypatch, "torch", train_off)
    code, out, _ = run_cli("--frameworks", "torch", "--epochs", "3")
    assert code == 1 and "✗ torch left the reference's trajectory: max|ΔW| 1.0e-06" in out


@pytest.mark.parametrize("argv, message", [
    (["--optimizer", "lbfgs"], "invalid choice"),
    (["--lr", "0"], "expected a number > 0"),
    (["--epochs", "0"], "positive integer"),
    (["--batch-size", "half"], "positive integer"),
    (["--frameworks", "theano"], "unknown framework"),
    (["--plot", "/no/such/dir/x.png"], "does not exist"),
    (["--plot", "curves.txt"], "must end in .png"),
], ids=["optimizer", "lr", "epochs", "batch-size", "frameworks", "plot-dir", "plot-type"])
def test_bad_input_is_one_line_and_exit_2(run_cli, argv, message):
    code, out, err = run_cli(*argv)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_missing_matplotlib_stops_before_training(run_cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    monkeypatch.setattr(train_command, "compare_training", lambda *a, **k: pytest.fail("trained before failing"))
    code, _, err = run_cli("--plot", str(tmp_path / "x.png"))
    assert code == 2 and "--plot needs matplotlib" in err


def test_a_framework_that_fails_part_way_is_a_failure_not_a_crash(run_cli, monkeypatch):
    def train_broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    fake_trainer(monkeypatch, "jax", train_broken)
    code, out, _ = run_cli("--frameworks", "numpy-reference,jax", "--epochs", "3")
    assert code == 1 and "training failed: RuntimeError: out of memory" in out


def test_the_progress_bar_counts_every_step_of_every_run(run_cli, monkeypatch):
    seen = {}

    class Counting:
        def __init__(self, total, label="", enabled=None):
            seen["total"], seen["advanced"] = total, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def advance(self, what="", step=1):
            seen["advanced"] += step

    monkeypatch.setattr(train_command, "Progress", Counting)
    code, out, _ = run_cli("--frameworks", "numpy-reference,jax", "--dtype", "float32", "--epochs", "4")
    if "unavailable" in out:
        pytest.skip("jax is unavailable")
    # two conventions (torch for the reference, optax for jax) × three float32 reference runs, + jax
    assert code == 0 and seen == {"total": 4 * (2 * 3 + 1), "advanced": 4 * (2 * 3 + 1)}


@pytest.mark.parametrize("extension, magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml"), (".pdf", b"%PDF-")])
def test_the_plot_is_in_the_format_its_name_asks_for(run_cli, tmp_path, extension, magic):
    pytest.importorskip("matplotlib")
    plot = tmp_path / f"train{extension}"
    code, _, _ = run_cli("--frameworks", "numpy-reference", "--epochs", "3", "--plot", plot)
    assert code == 0 and plot.read_bytes().startswith(magic)
