"""The next lecture's conventions in crosscheck train, tune and analyze, each against numbers computed here or by
the frameworks themselves: batch norm's one-row last batch, the course's 1/t decay with its time_interval and the
options a schedule ignores, the hyperparameters each framework ran with, a ReLU unit at its kink, each class's error
rate, and the test split looked at only when asked."""
import inspect
import json

import numpy as np
import pytest

from crosscheck.course import training
from crosscheck.engine.problem import Problem
from crosscheck.reference import InputError, Network, init_params, make_data
from crosscheck.reference.optim import LRSchedule, Optimizer
from crosscheck.reference.train import Stepper, batch_schedule, running_averages, train

FRAMEWORK_ROLE = "train"


# ---- batch norm's last batch of one row --------------------------------------------------------------------

def test_a_one_row_last_batch_is_one_line_exit_2_naming_batch_sizes_that_work(cli):
    """The issue's command: 301 = 3 × 100 + 1.  99 and 101 leave no batch of one row, 100 does (counted here)."""
    code, out, err = cli("train", "--batch-norm", "--examples", "301", "--batch-size", "100", "--epochs", "1",
                         "--frameworks", "numpy-reference", "--json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False and len(err.strip().splitlines()) == 1
    assert document["refused"] == ["numpy-reference"] and document["batch_sizes"] == [99, 101]
    assert 301 % 100 == 1 and all(301 % b not in (0, 1) for b in document["batch_sizes"])
    assert "batch sizes that work here are 99, 101 or full" in document["error"]
    code, out, err = cli("train", "--batch-norm", "--examples", "301", "--batch-size", "100", "--epochs", "1",
                         "--frameworks", "numpy-reference,keras")
    assert code == 2 and out == "" and "or leave numpy-reference out (keras normalizes a row of one" in err


@pytest.mark.torch
def test_torch_refuses_a_batch_of_one_row_in_training_as_stated():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(3, dtype=torch.float64).train()(torch.ones(1, 3, dtype=torch.float64))
    net = Network((2, 4, 3), batch_norm=True)
    averages = [(np.zeros((1, 4)), np.ones((1, 4))), ()]
    with pytest.raises(InputError, match="two rows or more"):
        running_averages(net, averages, [(np.zeros((1, 4)), np.zeros((1, 4))), None], 1, "torch")


@pytest.mark.keras
def test_keras_normalizes_a_row_of_one_as_the_reference_does_in_its_convention():
    """Keras's BatchNormalization on one row: Ẑ = 0 (σ² = 0), the running averages move towards the row and 0."""
    keras = pytest.importorskip("keras")
    row = np.array([[0.3, -1.2, 2.0]])
    layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype="float64")
    layer.build((None, 3))
    layer.moving_mean.assign(np.array([0.1, 0.2, 0.3]))
    layer.moving_variance.assign(np.array([1.0, 2.0, 3.0]))
    out = np.asarray(layer(row, training=True))
    np.testing.assert_array_equal(out, np.zeros((1, 3)))  # γ = 1, β = 0: Ẑ itself
    net = Network((2, 3, 2), batch_norm=True, bn_momentum=0.9)
    [(rmu, rvar), _] = running_averages(net, [(np.array([[0.1, 0.2, 0.3]]), np.array([[1.0, 2.0, 3.0]])), ()],
                                        [(row, np.zeros((1, 3))), None], 1, "keras")
    np.testing.assert_allclose(rmu[0], np.asarray(layer.moving_mean), rtol=1e-15)
    np.testing.assert_allclose(rvar[0], np.asarray(layer.moving_variance), rtol=1e-15)


@pytest.mark.parametrize("framework", ["keras", "tensorflow", "jax"])
def test_keras_tensorflow_and_jax_train_on_a_last_batch_of_one_row(framework, trainer):
    net = Network((2, 5, 3), batch_norm=True)
    X, Y = make_data(net, 31, seed=4)
    problem = Problem(net, init_params(net, "he", 4), X, Y)
    optimizer, schedule = Optimizer("sgd", 0.2, training.convention(framework)), batch_schedule(31, 10, 2, seed=4)
    assert [len(rows) for rows in schedule] == [10, 10, 10, 1] * 2
    envelope = training.measure_envelope(problem, optimizer, schedule)
    outcome = training.follow(framework, trainer.train, problem, optimizer, schedule, envelope)
    assert outcome.status == "ok", outcome.reason


# ---- the course's 1/t decay with time_interval, and the options a schedule ignores ---------------------------

def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """The course's (DLS course 2, week 2), as the notebook writes it."""
    return learning_rate0 / (1 + decay_rate * np.floor(epoch_num / time_interval))


@pytest.mark.keras
def test_inverse_decay_every_k_epochs_is_the_courses_and_keras_staircase():
    keras = pytest.importorskip("keras")
    schedule = LRSchedule("inverse", 0.3, 4)
    decay = keras.optimizers.schedules.InverseTimeDecay(0.5, 4, 0.3, staircase=True)
    for epoch in range(13):
        assert schedule.rate(0.5, epoch) == pytest.approx(schedule_lr_decay(0.5, epoch, 0.3, 4), rel=1e-15)
        assert schedule.rate(0.5, epoch) == pytest.approx(float(decay(epoch)), rel=1e-6)   # Keras: float32
    assert LRSchedule("inverse", 0.3).rate(0.5, 3) == pytest.approx(0.5 / (1 + 0.9), rel=1e-15)  # k = 1: every epoch


def test_each_framework_runs_the_staircase_inverse_decay(framework, trainer):
    """4 epochs of 3 mini-batches, α/(1 + 0.5·⌊e/2⌋): torch's LambdaLR, Keras's InverseTimeDecay(staircase=True),
    written out in JAX — every step against the reference's α_e."""
    net = Network((2, 5, 3))
    X, Y = make_data(net, 90, seed=1)
    optimizer = Optimizer("sgd", 0.5, training.convention(framework), schedule=LRSchedule("inverse", 0.5, 2))
    problem, schedule = Problem(net, init_params(net, "he", 1), X, Y), batch_schedule(90, 32, 4, seed=1)
    envelope = training.measure_envelope(problem, optimizer, schedule)
    outcome = training.follow(framework, trainer.train, problem, optimizer, schedule, envelope)
    assert outcome.status == "ok", outcome.reason


@pytest.mark.parametrize("argv, message", [
    (["--schedule", "exponential", "--decay-every", "3"], "--schedule exponential ignores --decay-every"),
    (["--schedule", "step", "--lr-floor", "0.1"], "--schedule step ignores --lr-floor"),
    (["--schedule", "cosine", "--decay", "0.3"], "--schedule cosine ignores --decay"),
    (["--decay", "0.3"], "--schedule constant ignores --decay (a constant α takes none)"),
], ids=["every-for-exponential", "floor-for-step", "decay-for-cosine", "decay-without-schedule"])
def test_an_option_the_schedule_ignores_is_one_line_and_exit_2(cli, argv, message):
    code, out, err = cli("train", *argv, "--epochs", "2")
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err


def test_the_schedule_refuses_what_its_formula_does_not_use():
    with pytest.raises(InputError, match="the exponential schedule takes no every"):
        LRSchedule("exponential", 0.5, 3)
    assert LRSchedule("inverse", 0.2, 5).describe() == "1/t decay α/(1 + 0.2·⌊epoch/5⌋)"


def test_the_inverse_decays_time_interval_on_the_command_line(cli):
    code, out, err = cli("train", "--schedule", "inverse", "--decay", "0.5", "--decay-every", "3", "--epochs", "7",
                         "--frameworks", "numpy-reference", "--json")
    assert code == 0, err
    assert json.loads(out)["config"]["schedule"] == "1/t decay α/(1 + 0.5·⌊epoch/3⌋)"


# ---- the hyperparameters each framework ran with -----------------------------------------------------------------

def defaults(callable_):
    return {name: p.default for name, p in inspect.signature(callable_).parameters.items()}


def test_train_states_each_frameworks_hyperparameters_as_it_ran(cli):
    """RMSprop: torch's ρ (alpha) and ε outside the root, Keras's ρ and ε inside it, optax's decay and eps — each
    the framework's own default, read here from its class; the reference's in each convention the same."""
    code, out, err = cli("train", "--optimizer", "rmsprop", "--epochs", "2", "--json")
    assert code == 0, err
    frameworks = json.loads(out)["frameworks"]
    ran = {name: f["hyperparameters"] for name, f in frameworks.items() if f["status"] != "unavailable"}
    reference = ran["numpy-reference"]
    assert reference["optimizer"] == "reference.optim.rmsprop_torch"
    if "torch" in ran:
        import torch
        torch_defaults = defaults(torch.optim.RMSprop)
        assert ran["torch"]["optimizer"] == "torch.optim.RMSprop"
        assert ran["torch"]["arguments"]["alpha"] == torch_defaults["alpha"] == reference["arguments"]["rho"]
        assert ran["torch"]["arguments"]["eps"] == torch_defaults["eps"] == reference["arguments"]["eps"]
    for keras_side in ("keras", "tensorflow"):
        if keras_side in ran:
            import keras
            keras_defaults = defaults(keras.optimizers.RMSprop)
            arguments = ran[keras_side]["arguments"]
            assert ran[keras_side]["optimizer"] == "keras.optimizers.RMSprop"
            assert (arguments["rho"], arguments["epsilon"]) == (keras_defaults["rho"], keras_defaults["epsilon"])
    if "jax" in ran:
        import optax
        arguments = ran["jax"]["arguments"]
        assert (arguments["decay"], arguments["eps"]) == (defaults(optax.rmsprop)["decay"], defaults(optax.rmsprop)["eps"])
        assert arguments["eps_in_sqrt"] is True
    code, out, _ = cli("train", "--optimizer", "rmsprop", "--epochs", "2", "--frameworks", "numpy-reference,torch")
    assert "hyperparameters as each ran them:" in out and "reference.optim.rmsprop_torch(lr=0.01, rho=0.99, eps=1e-08)" in out
    assert "sgd α=0.3" in cli("train", "--epochs", "2", "--frameworks", "numpy-reference")[1].splitlines()[0]


@pytest.mark.torch
def test_batch_norm_momentum_as_torch_and_keras_hold_it(cli):
    code, out, err = cli("train", "--batch-norm", "--bn-momentum", "0.8", "--epochs", "1", "--frameworks",
                         "torch,keras", "--json")
    assert code == 0, err
    frameworks = json.loads(out)["frameworks"]
    assert frameworks["torch"]["hyperparameters"]["batch_norm"]["momentum"] == pytest.approx(0.2)   # 1 − β
    if frameworks["keras"]["status"] != "unavailable":
        assert frameworks["keras"]["hyperparameters"]["batch_norm"]["momentum"] == pytest.approx(0.8)  # β


def test_the_course_l2_with_mini_batches_is_said(cli):
    code, out, _ = cli("train", "--l2", "0.1", "--l2-convention", "course", "--batch-size", "64", "--epochs", "1",
                       "--frameworks", "numpy-reference")
    assert code == 0 and f"{300 / 64:.1f}× what full-batch descent on the 300 rows applies" in out


# ---- a unit at ReLU's kink ----------------------------------------------------------------------------------

def rounded_from_float64(net, params, X, Y, optimizer, schedule, on_step):
    """A correct float32 run rounded otherwise than the twin: each step computed in float64, rounded to float32."""
    wide = [tuple(P.astype(np.float64) for P in layer) for layer in params]
    stepper = Stepper(net, wide, X.astype(np.float64), Y.astype(np.float64), optimizer, schedule)
    losses = []
    while not stepper.done:
        J = stepper.step()
        narrowed = [tuple(P.astype(np.float32) for P in layer) for layer in stepper.params]
        stepper.flat = stepper.layout.flatten(narrowed).astype(np.float64)  # the float32 parameters go on
        stepper.params = [tuple(P.astype(np.float64) for P in layer) for layer in narrowed]
        losses.append(J)
        on_step(stepper.t, J, narrowed)
    from crosscheck.reference.train import Run
    return Run("rounded", np.array(losses), narrowed)


def test_a_framework_that_puts_a_unit_on_the_other_side_of_relus_kink_is_followed():
    """The spiral recipe in float32 (2-100-3, α = 1, λ = 0.0005): before step 92 one example's unit 3 sits at
    Z = +1.4e-7 in the float32 reference, and on the other side of 0 in the run rounded from float64 (both computed
    here by hand from each run's own parameters).  That run's step 92 is the reference's with the unit switched: the
    reference takes it too, and the comparison goes on, step for step."""
    net = Network((2, 100, 3), l2=0.0005)
    X, Y = make_data(net, dtype="float32")
    params, optimizer = init_params(net, "lecture", 0, "float32"), Optimizer("sgd", 1.0)
    schedule = batch_schedule(300, None, 120)
    problem = Problem(net, params, X, Y)
    envelope = training.measure_envelope(problem, optimizer, schedule)
    outcome = training.follow("rounded", rounded_from_float64, problem, optimizer, schedule, envelope)
    assert outcome.status == "ok", outcome.reason
    [switch] = outcome.switches
    [unit] = switch["units"]
    assert switch["step"] == 92 and (unit["layer"], unit["row"], unit["unit"]) == (1, 136, 2)
    kept = {}
    rounded_from_float64(net, params, X, Y, optimizer, batch_schedule(300, None, 91),
                         lambda t, J, P: kept.update(params=P))
    reference = train(net, params, X, Y, optimizer, batch_schedule(300, None, 91)).final_params
    x = X[136].astype(np.float64)
    Z = {name: x @ np.asarray(P[0][0][:, 2], np.float64) + float(P[0][1][0, 2])
         for name, P in (("reference", reference), ("rounded", kept["params"]))}
    assert Z["reference"] > 0 > Z["rounded"] and abs(Z["reference"] - Z["rounded"]) < unit["reach"]
    terms = np.abs(x) @ np.abs(np.asarray(reference[0][0][:, 2], np.float64)) + abs(float(reference[0][1][0, 2]))
    assert abs(unit["Z"] - Z["reference"]) <= 4 * np.finfo(np.float32).eps * terms   # the float32 sum's rounding
    assert outcome.param_gap[91] <= envelope.tolerance.param[91]   # the switched step, within the tolerance
    compared = envelope.tolerance.compared_steps
    assert np.all(outcome.param_gap[:compared] <= envelope.tolerance.param[:compared])


# ---- analyze: each class's error rate; the test split only when asked -------------------------------------------

def test_analyze_gives_each_classs_error_rate_from_the_confusion_matrix(cli, tmp_path):
    """The digits' default run: recomputed here from the saved parameters, class by class — digit 8 wrong 14.3 % of
    the time on dev, as the issue has it."""
    pytest.importorskip("sklearn")
    saved = tmp_path / "digits.npz"
    code, out, err = cli("analyze", "--save-params", saved, "--json")
    assert code == 0, err
    document = json.loads(out)
    from crosscheck.reference.data import load_dataset
    data = load_dataset("digits", Network((64, 32, 10)), seed=0)
    weights = np.load(saved)
    Z = np.maximum(data.X["dev"] @ weights["W1"] + weights["b1"], 0) @ weights["W2"] + weights["b2"]
    predicted, true = np.argmax(Z, axis=1), data.y["dev"]
    for k, entry in enumerate(document["class_errors"]):
        mine = true == k
        assert entry["examples"] == mine.sum() and entry["wrong"] == np.sum(predicted[mine] != k)
        assert entry["error"] == pytest.approx(np.mean(predicted[mine] != k), rel=1e-12)
    assert round(100 * document["class_errors"][8]["error"], 1) == 14.3
    code, out, _ = cli("analyze", "--params", saved)
    row = next(line for line in out.splitlines() if line.startswith("8 "))
    assert row.rstrip().endswith("14.3%")


def test_analyze_looks_at_the_test_split_only_when_asked(cli, spiral_file):
    argv = ["analyze", "--data", spiral_file, "--layers", "2,8,3", "--epochs", "20", "--batch-size", "full"]
    code, out, _ = cli(*argv, "--json")
    document = json.loads(out)
    assert code == 0 and set(document["errors"]) == {"train", "dev"} and document["dev_test_gap"] is None
    assert document["test"] is False
    code, out, _ = cli(*argv)
    assert "test: not looked at (--test)" in out and "dev → test" not in out
    code, out, _ = cli(*argv, "--test", "--json")
    document = json.loads(out)
    assert set(document["errors"]) == {"train", "dev", "test"}
    assert document["dev_test_gap"] == pytest.approx(document["errors"]["test"] - document["errors"]["dev"])


def test_train_looks_at_the_test_split_only_when_asked(cli):
    pytest.importorskip("sklearn")
    argv = ["train", "--data", "digits", "--init", "he", "--epochs", "2", "--batch-size", "256", "--frameworks",
            "numpy-reference"]
    code, out, _ = cli(*argv, "--json")
    entry = json.loads(out)["frameworks"]["numpy-reference"]
    assert code == 0 and entry["test_accuracy"] is None and entry["dev_accuracy"] > 0
    code, out, _ = cli(*argv)
    assert "test acc" not in out and "(test: not looked at, --test)" in out
    code, out, _ = cli(*argv, "--test", "--json")
    assert json.loads(out)["frameworks"]["numpy-reference"]["test_accuracy"] > 0
    code, _, err = cli("train", "--test", "--epochs", "1")
    assert code == 2 and "--test measures a data set's test split" in err
