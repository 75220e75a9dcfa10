"""crosscheck analyze: the errors, the bias and variance reading, the confusion matrix and the surest mistakes
against computations written out here; --params and --save-params; the pictures; bad input."""
import json

import numpy as np
import pytest

from crosscheck.course.analysis import analyze, confusion_matrix, probabilities
from crosscheck.engine.problem import build_problem
from crosscheck.reference import Network, init_params
from crosscheck.reference.data import make_dataset
from crosscheck.reference.optim import Optimizer
from crosscheck.reference.train import batch_schedule, train


@pytest.fixture(scope="module")
def trained(spiral_file):
    """A 2-8-3 net trained briefly on the split spiral: it makes mistakes, some of them confident."""
    problem = build_problem(layers=(2, 8, 3), data=spiral_file, init="he", split_files=True)
    net, params, X, Y = problem
    run = train(net, params, X, Y, Optimizer("sgd", 0.5), batch_schedule(X.shape[0], None, 150))
    return net, run.final_params, problem.dataset


def by_hand(params, X):
    """Softmax probabilities of a one-hidden-layer ReLU net, written out here."""
    (W1, b1), (W2, b2) = params
    Z = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def test_the_confusion_matrix_against_a_loop():
    rng = np.random.default_rng(0)
    true, predicted = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    expected = np.zeros((4, 4), int)
    for t, p in zip(true, predicted):
        expected[t][p] += 1
    assert np.array_equal(confusion_matrix(true, predicted, 4), expected)


def test_the_errors_and_the_reading_against_an_independent_count(trained):
    net, params, data = trained
    analysis = analyze(net, params, data, target_error=0.02, split="dev", show=5, test=True)
    for split in ("train", "dev", "test"):
        wrong = sum(int(np.argmax(p) != label) for p, label in zip(by_hand(params, data.X[split]), data.y[split]))
        assert analysis.wrong[split] == wrong and analysis.errors[split] == wrong / len(data.y[split])
    e = analysis.errors
    assert analysis.avoidable_bias == e["train"] - 0.02 and analysis.variance == e["dev"] - e["train"]
    assert analysis.dev_test_gap == e["test"] - e["dev"]
    assert analysis.focus == ("bias" if e["train"] - 0.02 >= e["dev"] - e["train"] else "variance")
    assert analysis.wrong["dev"] > 0, "the fixture should make mistakes on dev"


def test_the_confusion_matrix_and_the_surest_mistakes_on_the_split(trained):
    net, params, data = trained
    analysis = analyze(net, params, data, split="test", show=100)
    P = by_hand(params, data.X["test"])
    predicted = np.argmax(P, axis=1)
    expected = np.zeros((3, 3), int)
    for t, p in zip(data.y["test"], predicted):
        expected[t][p] += 1
    assert np.array_equal(analysis.confusion, expected)
    wrong = [r for r in range(len(predicted)) if predicted[r] != data.y["test"][r]]
    assert sorted(c.row for c in analysis.confused) == wrong      # every mistake, with show ≥ their number
    surest = sorted(wrong, key=lambda r: -P[r, predicted[r]])
    assert [c.row for c in analysis.confused] == surest
    for c in analysis.confused:
        assert c.index == data.rows["test"][c.row] and c.true == data.y["test"][c.row]
        assert c.p_predicted == pytest.approx(P[c.row, c.predicted], rel=1e-12)
        assert c.p_true == pytest.approx(P[c.row, c.true], rel=1e-12)
    pairs = analysis.pairs(n=100)
    assert sum(n for _, _, n in pairs) == len(wrong) and all(expected[i][j] == n for i, j, n in pairs)
    assert len(analyze(net, params, data, split="test", show=2).confused) == min(2, len(wrong))


def test_one_sigmoid_output_has_two_class_probabilities():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 3)), np.repeat([0, 1], 30)
    net = Network((3, 4, 1), loss="sigmoid-bce")
    params = init_params(net, "he", 1)
    P = probabilities(net, params, X)
    (W1, b1), (W2, b2) = params
    A = 1 / (1 + np.exp(-(np.maximum(X @ W1 + b1, 0) @ W2 + b2)))
    np.testing.assert_allclose(P, np.c_[1 - A, A], rtol=1e-12)
    data = make_dataset(net, X, y, "coins")
    analysis = analyze(net, params, data)
    assert analysis.confusion.shape == (2, 2) and analysis.confusion.sum() == data.sizes()["dev"]


def test_the_json_document_and_a_params_round_trip(cli, spiral_file, tmp_path):
    saved = tmp_path / "trained.npz"
    argv = ["analyze", "--data", spiral_file, "--layers", "2,16,3", "--epochs", "40", "--batch-size", "full"]
    code, out, err = cli(*argv, "--save-params", saved, "--json", "--target-error", "1.5%")
    first = json.loads(out)
    assert code == 0, err
    assert first["target_error"] == 0.015 and first["config"]["trained"]["epochs"] == 40 and first["saved_params"] == str(saved)
    assert first["avoidable_bias"] == pytest.approx(first["errors"]["train"] - 0.015)
    assert np.array(first["confusion"]).sum() == first["sizes"]["dev"]
    code, out, err = cli("analyze", "--data", spiral_file, "--params", saved, "--json", "--target-error", "1.5")
    again = json.loads(out)
    assert code == 0 and again["config"]["trained"] == {"params": str(saved)}, err
    assert again["errors"] == first["errors"] and again["confusion"] == first["confusion"]


def test_the_report_reads_like_the_course(cli, spiral_file):
    code, out, _ = cli("analyze", "--data", spiral_file, "--layers", "2,8,3", "--epochs", "30", "--target-error", "5")
    assert code == 0
    for text in ("avoidable bias", "train error − target", "variance", "dev error − train error",
                 "← the larger: work on this first", "confusion matrix on dev", "most confidently"):
        assert text in out


@pytest.mark.parametrize("name, extra", [("digits", []), ("breast-cancer", ["--loss", "sigmoid-bce"])])
def test_the_pictures(cli, tmp_path, name, extra):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    plot = tmp_path / "analysis.png"
    code, out, err = cli("analyze", "--data", name, *extra, "--epochs", "5", "--plot", plot)
    assert code == 0 and f"plot: {plot}" in out, err
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and [p.name for p in tmp_path.iterdir()] == ["analysis.png"]


@pytest.mark.parametrize("argv, message", [
    (["--target-error", "100"], "a percentage below 100"),
    (["--target-error", "-1"], "a finite number >= 0"),
    (["--loss", "mse"], "classification loss, not mse"),
    (["--split", "holdout"], "invalid choice"),
    (["--params", "{params}", "--save-params", "{out}"], "--save-params writes the parameters trained here"),
    (["--params", "{wrong_params}"], "the network takes 4"),
    (["--plot", "x.jpg"], "must end in .png"),
], ids=["target-100", "target-negative", "mse", "split", "save-with-params", "params-mismatch", "plot-type"])
def test_bad_input_is_one_line_and_exit_2(cli, spiral_file, tmp_path, argv, message):
    np.savez(tmp_path / "params.npz", **{"W1": np.ones((2, 4)), "b1": np.zeros(4), "W2": np.ones((4, 3)), "b2": np.zeros(3)})
    np.savez(tmp_path / "wrong.npz", **{"W1": np.ones((4, 4)), "b1": np.zeros(4), "W2": np.ones((4, 3)), "b2": np.zeros(3)})
    argv = [a.format(params=tmp_path / "params.npz", out=tmp_path / "out.npz", wrong_params=tmp_path / "wrong.npz")
            for a in argv]
    code, out, err = cli("analyze", "--data", spiral_file, *argv)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out.npz").exists()
