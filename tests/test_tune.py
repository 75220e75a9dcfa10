"""crosscheck tune: α and λ drawn on a log scale, a seeded and reproducible search that really picks the best dev
accuracy, the best point again in Keras (landing on the reference's result, unavailable, or elsewhere), the
plot under the file policy, bad input."""
import json
import os
import sys
import types

import numpy as np
import pytest

from crosscheck import adapters
from crosscheck.cli import tune as tune_command
from crosscheck.course import tuning
from crosscheck.course.tuning import Search, SearchSpace, Settings, Trial, confirm_in_keras, random_search
from crosscheck.engine.problem import build_problem
from crosscheck.reference import InputError, init_params
from crosscheck.reference.optim import Optimizer
from crosscheck.reference.train import Run, batch_schedule, train

QUICK = ["--trials", "3", "--epochs", "3"]


def spiral_problem(path, seed=0):
    return build_problem(data=path, seed=seed, split_files=True)


def test_lr_and_l2_are_drawn_uniformly_in_their_logarithm():
    space = SearchSpace(lr=(1e-3, 1.0), l2=(1e-6, 1e-2), widths=(8, 16))
    rng = np.random.default_rng(0)
    points = np.array([space.sample(rng) for _ in range(3000)])
    lr, l2, width = points.T
    assert lr.min() >= 1e-3 and lr.max() <= 1.0 and l2.min() >= 1e-6 and l2.max() <= 1e-2
    # a third of the draws in each decade of α, a quarter in each of λ's (uniform in α would put 90 % in [0.1, 1])
    np.testing.assert_allclose(np.histogram(np.log10(lr), bins=[-3, -2, -1, 0])[0] / 3000, 1 / 3, atol=0.03)
    np.testing.assert_allclose(np.histogram(np.log10(l2), bins=[-6, -5, -4, -3, -2])[0] / 3000, 1 / 4, atol=0.03)
    assert set(width) == {8, 16}


def test_the_search_is_reproducible_with_a_seed(spiral_file):
    settings = Settings(trials=4, epochs=5, batch_size=50, seed=3)
    space = SearchSpace(lr=(0.01, 1.0), widths=(8, 16))
    first, again = (random_search(spiral_problem(spiral_file), space, settings) for _ in range(2))
    assert [t.as_json() for t in first.trials] == [t.as_json() for t in again.trials]
    other = random_search(spiral_problem(spiral_file), space, Settings(trials=4, epochs=5, batch_size=50, seed=4))
    assert [t.lr for t in other.trials] != [t.lr for t in first.trials]


def test_each_trial_is_the_run_it_says_and_the_best_is_the_best_dev_accuracy(spiral_file):
    problem = spiral_problem(spiral_file)
    settings = Settings(trials=5, epochs=20, batch_size=None, seed=0)
    search = random_search(problem, SearchSpace(lr=(0.05, 2.0), widths=(4, 16)), settings)
    data = problem.dataset
    for trial in search.trials:  # retrain each point here and count the dev rows right by hand
        net = tuning.trial_network(problem.net, trial.width, trial.l2)
        run = train(net, init_params(net, "he", 0), *data.split("train"), Optimizer("sgd", trial.lr),
                    batch_schedule(data.X["train"].shape[0], None, 20))
        (W1, b1), (W2, b2) = run.final_params
        logits = np.maximum(data.X["dev"] @ W1 + b1, 0) @ W2 + b2
        right = sum(int(np.argmax(row) == label) for row, label in zip(logits, data.y["dev"]))
        assert trial.dev_accuracy == right / len(data.y["dev"])
    best = max(t.dev_accuracy for t in search.trials)
    assert search.best.dev_accuracy == best
    assert search.best.dev_loss == min(t.dev_loss for t in search.trials if t.dev_accuracy == best)


def test_ties_go_to_the_lower_dev_loss_and_a_diverged_run_never_wins():
    search = Search(SearchSpace(), Settings())
    search.trials = [Trial(1, 0.1, 1e-4, 8, dev_accuracy=0.9, dev_loss=0.5),
                     Trial(2, 0.1, 1e-4, 8, dev_accuracy=0.9, dev_loss=0.3),
                     Trial(3, 0.1, 1e-4, 8, dev_accuracy=0.8, dev_loss=0.1),
                     Trial(4, 9.0, 1e-4, 8, diverged=True)]
    assert search.best.index == 2
    search.trials = [Trial(1, 9.0, 1e-4, 8, diverged=True)]
    assert search.best is None


def test_a_diverging_point_is_marked_and_the_search_goes_on(cli, spiral_file):
    code, out, err = cli("tune", "--data", spiral_file, "--lr-range", "1e8,1e9", "--trials", "2", "--epochs", "50",
                         "--batch-size", "full", "--no-keras", "--json")
    document = json.loads(out)
    assert code == 1 and document["best"] is None, err
    assert all(t["diverged"] and t["dev_accuracy"] is None for t in document["trials"])
    code, out, _ = cli("tune", "--data", spiral_file, "--lr-range", "1e8,1e9", "--trials", "2", "--epochs", "50",
                       "--batch-size", "full", "--no-keras")
    assert code == 1 and "✗ every trial diverged" in out


def test_the_json_document(cli, spiral_file):
    code, out, err = cli("tune", "--data", spiral_file, *QUICK, "--no-keras", "--json", "--seed", "2")
    document = json.loads(out)
    assert code == 0, err
    assert [t["trial"] for t in document["trials"]] == [1, 2, 3] and document["keras"] is None
    config = document["config"]
    assert config["data"] == spiral_file and config["seed"] == 2 and config["split"]["seed"] == 2
    assert config["split"]["train"] + config["split"]["dev"] + config["split"]["test"] == 300
    best = max(document["trials"], key=lambda t: (t["dev_accuracy"], -t["dev_loss"]))
    assert document["best"] == best["trial"]


@pytest.mark.keras
def test_the_best_point_lands_on_the_same_result_in_keras(cli, spiral_file):
    code, out, err = cli("tune", "--data", spiral_file, *QUICK, "--json")
    keras = json.loads(out)["keras"]
    if keras["status"] == "unavailable":
        pytest.skip(keras["reason"])
    assert code == 0 and keras["status"] == "ok", err
    assert keras["keras"]["dev_accuracy"] == keras["reference"]["dev_accuracy"]
    assert keras["max_param_divergence"] <= keras["param_tolerance"] <= 1e-9
    code, out, _ = cli("tune", "--data", spiral_file, *QUICK)
    assert "keras (model.fit)" in out and "✓ keras lands on the reference's result" in out


def fake_keras(monkeypatch, train_function):
    real = adapters.load
    fake = types.SimpleNamespace(train=train_function)
    monkeypatch.setattr(adapters, "load",
                        lambda n, role="check": (fake, {}) if (n, role) == ("keras", "train") else real(n, role))


def test_keras_landing_elsewhere_is_exit_1(cli, spiral_file, monkeypatch):
    def train_off(net, params, X, Y, optimizer, schedule, on_step=None):
        run = train(net, params, X, Y, optimizer, schedule,
                    lambda t, J, after: on_step(t, J, [(W + 1e-6, b) for W, b in after]))
        return Run("keras", run.losses, [(W + 1e-6, b) for W, b in run.final_params])

    fake_keras(monkeypatch, train_off)
    code, out, _ = cli("tune", "--data", spiral_file, *QUICK)
    assert code == 1 and "✗ keras lands elsewhere: max|ΔW| 1.0e-06 > " in out and " at step 1 " in out


def test_keras_unavailable_is_said_and_the_search_stands(cli, spiral_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", None)
    monkeypatch.setattr(adapters, "_loaded", {})
    code, out, _ = cli("tune", "--data", spiral_file, *QUICK)
    assert code == 0 and "⚠ keras unavailable" in out and "the search stands" in out and "★ best" in out


def test_float32_confirmation_is_judged_by_the_measured_spread(spiral_file):
    pytest.importorskip("keras")
    problem = build_problem(data=spiral_file, dtype="float32", split_files=True)
    search = random_search(problem, SearchSpace(lr=(0.1, 0.5), widths=(16,)), Settings(trials=2, epochs=10))
    confirmation = confirm_in_keras(problem, search)
    if confirmation.status == "unavailable":
        pytest.skip(confirmation.reason)
    assert confirmation.status == "ok", confirmation.reason
    assert confirmation.param_tolerance > 1e-6  # float32: not the float64 bound


def test_the_plot_is_drawn_under_the_file_policy(cli, spiral_file, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "tune.svg"
    code, out, err = cli("tune", "--data", spiral_file, *QUICK, "--no-keras", "--plot", plot)
    assert code == 0 and f"plot: {plot}" in out and plot.read_bytes().startswith(b"<?xml"), err
    code, out, err = cli("tune", "--data", spiral_file, *QUICK, "--no-keras", "--plot", plot)
    assert code == 2 and out == "" and "--force" in err
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "elsewhere.png")
    code, out, err = cli("tune", "--data", spiral_file, *QUICK, "--no-keras", "--plot", link, "--force")
    assert code == 2 and "symbolic link" in err and not os.path.exists(tmp_path / "elsewhere.png")


def test_a_missing_matplotlib_stops_before_the_search(cli, spiral_file, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(tune_command, "random_search", lambda *a, **k: pytest.fail("searched before failing"))
    code, out, err = cli("tune", "--data", spiral_file, "--plot", tmp_path / "x.png")
    assert code == 2 and out == ""
    assert err.strip() == "crosscheck: error: --plot needs matplotlib: pip install 'backprop-crosscheck[plot]'"


@pytest.mark.parametrize("argv, message", [
    (["--lr-range", "1,0.1"], "the low end must come first"),
    (["--lr-range", "0.1"], "expected LO,HI"),
    (["--l2-range", "0,1"], "expected a number > 0"),
    (["--widths", "16,0"], "expected positive integers"),
    (["--trials", "0"], "positive integer"),
    (["--batch-size", "half"], "positive integer or 'full'"),
    (["--loss", "mse"], "classification loss, not mse"),
    (["--data", "no-such-set"], "no such file, and no data set of that name"),
    (["--plot", "search.txt"], "must end in .png"),
], ids=["lr-order", "lr-one", "l2-zero", "widths", "trials", "batch", "mse", "data", "plot-type"])
def test_bad_input_is_one_line_and_exit_2(cli, spiral_file, argv, message):
    data = [] if "--data" in argv else ["--data", spiral_file]
    code, out, err = cli("tune", *data, *argv, "--no-keras")
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err


def test_a_problem_without_a_dev_split_is_refused():
    with pytest.raises(InputError, match="dev split"):
        random_search(build_problem(), SearchSpace(), Settings(trials=1))
