"""Real data, offline: the digits and breast-cancer sets from scikit-learn's bundled files, a stratified seeded
split that is disjoint and complete, inputs standardized on the training rows only, --data NAME in compare
and train, bad input; and the 64-32-10 net on the digits to ≥ 95 % test accuracy in the reference and Keras."""
import json
import sys

import numpy as np
import pytest

from crosscheck.reference import InputError, Network, init_params
from crosscheck.reference.data import DATASETS, dataset_layers, load_dataset, make_dataset, stratified_split
from crosscheck.reference.optim import Optimizer
from crosscheck.reference.train import batch_schedule, train


def needs_sklearn():
    return pytest.importorskip("sklearn", reason="the named data sets need scikit-learn (the 'data' extra)")


def class_counts(y, rows, K):
    return np.bincount(y[rows], minlength=K)


# ---- the split -----------------------------------------------------------------------------------------

UNEVEN = np.repeat(np.arange(4), [50, 23, 7, 120])  # four classes of very different sizes, in blocks


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_the_split_is_stratified_disjoint_and_complete(seed):
    rows = stratified_split(UNEVEN, (0.6, 0.2, 0.2), seed)
    together = np.concatenate([rows["train"], rows["dev"], rows["test"]])
    assert sorted(together) == list(range(len(UNEVEN)))            # every row once: complete and disjoint
    for k, n in enumerate([50, 23, 7, 120]):                        # per class, counted here, not by the code
        test, dev = int(0.2 * n + 0.5), int(0.2 * n + 0.5)
        assert class_counts(UNEVEN, rows["test"], 4)[k] == test
        assert class_counts(UNEVEN, rows["dev"], 4)[k] == dev
        assert class_counts(UNEVEN, rows["train"], 4)[k] == n - test - dev


def test_the_split_is_seeded():
    first, again, other = (stratified_split(UNEVEN, seed=s) for s in (3, 3, 4))
    assert all(np.array_equal(first[s], again[s]) for s in first)
    assert not np.array_equal(first["dev"], other["dev"])


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.6, 0.3, 0.2), (0.8, 0.2, 0.0)])
def test_bad_fractions_are_refused(fractions):
    with pytest.raises(InputError, match="fractions"):
        stratified_split(UNEVEN, fractions)


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_named_sets_split_stratified_into_all_their_rows(name):
    needs_sklearn()
    import sklearn.datasets
    info = DATASETS[name]
    bunch = getattr(sklearn.datasets, info.loader)()
    loss = "softmax-ce"
    data = load_dataset(name, Network(dataset_layers(name, loss), loss=loss), seed=5)
    m = len(bunch.target)
    rows = np.concatenate([data.rows[s] for s in ("train", "dev", "test")])
    assert sorted(rows) == list(range(m))
    whole = np.bincount(bunch.target) / m
    for split in ("train", "dev", "test"):
        share = np.bincount(bunch.target[data.rows[split]], minlength=info.classes) / len(data.rows[split])
        # stratified: each class's share of the split is its share of the whole, up to one row's rounding
        assert np.all(np.abs(share - whole) <= 1.0 / len(data.rows[split]) + 1e-12), (split, share, whole)
        assert np.array_equal(data.y[split], bunch.target[data.rows[split]])
        assert np.array_equal(np.argmax(data.Y[split], axis=1), data.y[split])
        # raw() gives back the values as stored (the digits' pixels 0..16)
        np.testing.assert_allclose(data.raw(split), bunch.data[data.rows[split]], atol=1e-9)
    assert data.X["train"].shape[1] == info.features and len(data.classes) == info.classes


# ---- standardization on the training rows only -----------------------------------------------------------

def test_standardization_uses_the_training_rows_only():
    """Dev and test rows shifted far away: statistics taken over all rows would move the training split's."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    X = rng.normal(3.0, 2.0, (200, 3))
    rows = stratified_split(y, seed=0)
    held_out = np.concatenate([rows["dev"], rows["test"]])
    X[held_out] += 1000.0
    net = Network((3, 4, 2))
    data = make_dataset(net, X, y, "shifted", seed=0)
    train_rows = X[rows["train"]]
    mean, std = train_rows.mean(axis=0), train_rows.std(axis=0)
    np.testing.assert_allclose(data.X["train"].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.X["train"].std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(data.X["dev"], (X[rows["dev"]] - mean) / std, rtol=1e-12)
    assert np.all(data.X["test"] > 100)  # still far away: their shift did not leak into μ


def test_a_constant_column_is_only_centred_and_the_dtype_is_as_asked():
    y = np.repeat([0, 1, 2], 10)
    X = np.c_[np.arange(30.0), np.full(30, 7.0)]
    data = make_dataset(Network((2, 4, 3)), X, y, "flat", dtype="float32")
    assert all(data.X[s].dtype == np.float32 and data.Y[s].dtype == np.float32 for s in ("train", "dev", "test"))
    assert np.all(data.X["dev"][:, 1] == 0) and np.all(np.isfinite(data.X["dev"]))


# ---- --data NAME on the command line --------------------------------------------------------------------

def test_compare_on_the_digits_checks_the_training_split_and_says_so(cli):
    needs_sklearn()
    code, out, err = cli("compare", "--data", "digits", "--frameworks", "none", "--json")
    config = json.loads(out)["config"]
    assert code == 0, err
    assert config["data"] == "digits, training split" and config["layers"] == [64, 32, 10]
    assert config["batch"] == config["split"]["train"] == 1079
    assert (config["split"]["dev"], config["split"]["test"], config["split"]["seed"]) == (359, 359, 0)
    code, out, _ = cli("compare", "--data", "digits", "--frameworks", "none")
    assert "m = 1079 (digits, training split)" in out


def test_train_on_breast_cancer_with_one_sigmoid_output(cli):
    needs_sklearn()
    code, out, err = cli("train", "--data", "breast-cancer", "--loss", "sigmoid-bce", "--frameworks",
                         "numpy-reference", "--epochs", "20", "--init", "he", "--json")
    document = json.loads(out)
    assert code == 0, err
    assert document["config"]["layers"] == [30, 32, 1] and document["config"]["examples"] == 343
    assert document["frameworks"]["numpy-reference"]["accuracy"] > 0.9


@pytest.mark.parametrize("argv, message", [
    (["--data", "digit"], "no such file, and no data set of that name; choose one of digits, breast-cancer"),
    (["--data", "digits", "--loss", "mse"], "digits has 10 classes: it needs softmax-ce with 10 outputs, not mse"),
    (["--data", "digits", "--loss", "sigmoid-bce"], "digits has 10 classes: it needs softmax-ce with 10 outputs"),
    (["--data", "breast-cancer", "--layers", "30,8,3"],
     "breast-cancer has 2 classes: it needs softmax-ce with 2 outputs or sigmoid-bce with 1"),
    (["--data", "digits", "--layers", "2,4,10"], "digits has 64 inputs per example; the network takes 2"),
], ids=["unknown-name", "mse", "sigmoid-bce-on-10-classes", "3-outputs-for-2-classes", "inputs"])
def test_bad_data_is_one_line_and_exit_2(cli, argv, message):
    if "digit" != argv[1]:
        needs_sklearn()
    for command in ("compare", "train"):
        code, out, err = cli(command, *argv, "--frameworks", "none")
        assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err


def test_a_missing_scikit_learn_is_one_clear_line(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn…` now fails as if it were not installed
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    for argv in (["compare", "--data", "digits"], ["train", "--data", "breast-cancer"], ["tune"], ["analyze"]):
        code, out, err = cli(*argv)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "is read from scikit-learn's bundled files: pip install 'backprop-crosscheck[data]'" in err


# ---- the 64-32-10 net on the digits, in the reference and in Keras -----------------------------------------

DIGITS_RUN = dict(lr=0.3, epochs=30, batch_size=64, init="he", seed=0)  # the README's numbers
TARGET = 0.95


def digits_problem():
    net = Network((64, 32, 10))
    data = load_dataset("digits", net, seed=DIGITS_RUN["seed"])
    params = init_params(net, DIGITS_RUN["init"], DIGITS_RUN["seed"])
    schedule = batch_schedule(data.X["train"].shape[0], DIGITS_RUN["batch_size"], DIGITS_RUN["epochs"], DIGITS_RUN["seed"])
    return net, data, params, schedule


def accuracy_by_hand(net, params, X, y):
    """The share of rows whose largest logit is the label, written out here (not reference.train.accuracy)."""
    (W1, b1), (W2, b2) = params
    Z2 = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    return float(np.mean(np.argmax(Z2, axis=1) == y))


@pytest.mark.keras
def test_the_digits_net_reaches_95_percent_on_test_in_the_reference_and_in_keras_from_one_start():
    needs_sklearn()
    from crosscheck import adapters
    net, data, params, schedule = digits_problem()
    X, Y = data.split("train")
    run = train(net, params, X, Y, Optimizer("sgd", DIGITS_RUN["lr"]), schedule)
    reference_test = accuracy_by_hand(net, run.final_params, data.X["test"], data.y["test"])
    assert reference_test >= TARGET, f"reference: {reference_test:.1%} on test"
    try:
        keras, _ = adapters.load("keras", "train")
    except adapters.Unavailable as exc:
        pytest.skip(str(exc))
    twin = keras.train(net, params, X, Y, Optimizer("sgd", DIGITS_RUN["lr"], "keras"), schedule)
    keras_test = accuracy_by_hand(net, twin.final_params, data.X["test"], data.y["test"])
    assert keras_test >= TARGET, f"keras: {keras_test:.1%} on test"
    gap = max(np.max(np.abs(P - Q)) for pair, pair2 in zip(run.final_params, twin.final_params) for P, Q in zip(pair, pair2))
    scale = max(np.max(np.abs(P)) for pair in run.final_params for P in pair)
    assert gap <= 1e-10 * scale, f"keras's final weights are {gap:.1e} from the reference's"
    assert keras_test == reference_test
    print(f"digits 64-32-10, {len(schedule)} steps: test accuracy reference {reference_test:.2%}, keras {keras_test:.2%}, "
          f"max|ΔW| {gap:.1e}")
