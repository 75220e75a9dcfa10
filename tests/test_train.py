"""Training: the reference's optimizers and batch order, every framework's run against it step for step,
the spiral really learnt, and `crosscheck train` as a user meets it."""
import json
import sys
import types

import numpy as np
import pytest

from crosscheck import cmd_train
from crosscheck.cli import main
from reference import InputError, Network, init_params, make_data
from reference.optim import FRAMEWORK_CONVENTIONS, OPTIMIZERS, RULES, Optimizer, Updater
from reference.train import Run, accuracy, batch_schedule, is_full_batch, train

TRAIN_FRAMEWORKS = tuple(cmd_train.TRAINERS)
LR = {"sgd": 0.5, "momentum": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01}


def framework_params():
    return [pytest.param(name, id=name, marks=getattr(pytest.mark, name)) for name in TRAIN_FRAMEWORKS]


def trainer(name):
    """The framework's training module, or skip with the reason it is unavailable."""
    try:
        return cmd_train.load_trainer(name)
    except Exception as exc:  # noqa: BLE001 — whatever the import raised is the reason to show
        pytest.skip(f"{name}: {exc}")


def assert_same_trajectory(run, reference, own_drift, dtype, label):
    """Every step's J and every W, b within the policy of crosscheck train; the message names the worst step."""
    __tracebackhide__ = True
    result = cmd_train.judge(run, reference, own_drift, dtype)
    if result["status"] != "ok":
        step = int(np.nanargmax(result["param_gap"])) + 1 if "param_gap" in result else "?"
        pytest.fail(f"{label}: {result['reason']} (worst at step {step} of {len(reference.losses)})")
    return result


@pytest.fixture(scope="module")
def spiral_net():
    """A small ReLU net on the lecture's spiral, He-initialised so that 50 steps move every weight."""
    return Network((2, 16, 3))


# ---- the reference's optimizers --------------------------------------------------------------------

def test_sgd_is_the_lectures_update():
    W, dW = np.array([[1.0, -2.0]]), np.array([[0.5, 0.25]])
    updater = Updater(Optimizer("sgd", 0.1), [(W, np.zeros((1, 2)))])
    [(W1, _)] = updater.step([(W, np.zeros((1, 2)))], [(dW, np.zeros((1, 2)))])
    np.testing.assert_array_equal(W1, W - 0.1 * dW)


@pytest.mark.parametrize("name", ["momentum", "adam", "adamw", "rmsprop"])
def test_every_framework_convention_has_a_rule_and_stated_defaults(name):
    for framework, convention in FRAMEWORK_CONVENTIONS.items():
        optimizer = Optimizer(name, 0.01, convention)
        assert set(optimizer.hyper) == set(RULES[name, convention][1]), framework


def test_torch_and_keras_momentum_are_the_same_walk_written_two_ways():
    """v ← μv + g, P ← P − αv  and  v ← μv − αg, P ← P + v  differ only in rounding at a constant α."""
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((3, 2)), np.zeros((1, 2)))]
    runs = {}
    for convention in ("torch", "keras"):
        updater, p = Updater(Optimizer("momentum", 0.1, convention), params), params
        for _ in range(50):
            p = updater.step(p, [(W, b + 1) for W, b in p])  # the gradient of ½‖W‖² + Σb
        runs[convention] = p[0][0]
    np.testing.assert_allclose(runs["torch"], runs["keras"], rtol=0, atol=1e-13)


def test_the_courses_momentum_is_torchs_with_alpha_scaled_by_one_minus_mu():
    """v ← μv + (1 − μ)g is (1 − μ) times torch's v, so its walk is torch's at α(1 − μ)."""
    rng = np.random.default_rng(2)
    params = [(rng.standard_normal((3, 2)), rng.standard_normal((1, 2)))]
    walks = []
    for optimizer in (Optimizer("momentum", 0.5, "course"), Optimizer("momentum", 0.5 * (1 - 0.9), "torch")):
        updater, p = Updater(optimizer, params), params
        for _ in range(30):
            p = updater.step(p, [(W, b) for W, b in p])  # the gradient of ½‖P‖²
        walks.append(p[0])
    np.testing.assert_allclose(walks[0][0], walks[1][0], rtol=1e-12)
    np.testing.assert_allclose(walks[0][1], walks[1][1], rtol=1e-12)


def test_adam_conventions_differ_only_in_where_epsilon_sits():
    """keras's ε added to √v is torch's ε added to √v̂ = √v/√(1−β2ᵗ), scaled by √(1−β2ᵗ)."""
    rng = np.random.default_rng(1)
    P, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)) * 1e-6  # tiny g: ε matters
    t, eps = 1, 1e-7
    keras = Updater(Optimizer("adam", 0.01, "keras", {"eps": eps}), [(P, P[:1])]).step([(P, P[:1])], [(g, g[:1])])
    torch = Updater(Optimizer("adam", 0.01, "torch", {"eps": eps / np.sqrt(1 - 0.999 ** t)}),
                    [(P, P[:1])]).step([(P, P[:1])], [(g, g[:1])])
    np.testing.assert_allclose(keras[0][0], torch[0][0], rtol=1e-14)
    plain = Updater(Optimizer("adam", 0.01, "torch", {"eps": eps}), [(P, P[:1])]).step([(P, P[:1])], [(g, g[:1])])
    assert np.max(np.abs(plain[0][0] - keras[0][0])) > 1e-4  # and the difference is not small


def test_rmsprop_epsilon_inside_or_outside_the_root():
    P, g = np.array([[1.0]]), np.array([[1e-4]])
    outside = Updater(Optimizer("rmsprop", 1.0, "torch", {"rho": 0.9, "eps": 1e-7}), [(P, P)]).step([(P, P)], [(g, g)])
    inside = Updater(Optimizer("rmsprop", 1.0, "keras"), [(P, P)]).step([(P, P)], [(g, g)])
    s = 0.1 * 1e-8
    assert outside[0][0][0, 0] == pytest.approx(1 - 1e-4 / (np.sqrt(s) + 1e-7), rel=1e-14)
    assert inside[0][0][0, 0] == pytest.approx(1 - 1e-4 / np.sqrt(s + 1e-7), rel=1e-14)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_keep_the_parameters_dtype(name, dtype):
    net = Network((2, 4, 3))
    params = init_params(net, "he", 0, dtype)
    X, Y = make_data(net, 30, dtype=dtype)
    run = train(net, params, X, Y, Optimizer(name, 0.1), batch_schedule(30, 8, 2))
    assert all(p.dtype == np.dtype(dtype) for pair in run.final_params for p in pair)


@pytest.mark.parametrize("bad, message", [
    (dict(name="nesterov", lr=0.1), "unknown optimizer"),
    (dict(name="adam", lr=0.1, convention="course"), "no 'course' convention"),
    (dict(name="adam", lr=0.0), "learning rate"),
    (dict(name="sgd", lr=0.1, hyper={"mu": 0.9}), "sgd takes no mu"),
], ids=["unknown-name", "unknown-convention", "zero-lr", "unknown-hyperparameter"])
def test_bad_optimizer_is_one_clear_error(bad, message):
    with pytest.raises(InputError, match=message):
        Optimizer(**bad)


# ---- the batch order -------------------------------------------------------------------------------

def test_full_batch_schedule_is_every_row_in_order():
    schedule = batch_schedule(10, None, 3)
    assert len(schedule) == 3 and is_full_batch(schedule, 10)
    assert is_full_batch(batch_schedule(10, 10, 2), 10)


def test_minibatch_schedule_is_a_seeded_permutation_per_epoch():
    schedule = batch_schedule(10, 4, 2, seed=3)
    assert [len(rows) for rows in schedule] == [4, 4, 2, 4, 4, 2]
    for epoch in (schedule[:3], schedule[3:]):
        assert sorted(np.concatenate(epoch)) == list(range(10))
    assert not np.array_equal(np.concatenate(schedule[:3]), np.concatenate(schedule[3:]))
    again = batch_schedule(10, 4, 2, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(schedule, again))
    assert not is_full_batch(schedule, 10)


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(batch_size=0), dict(batch_size=2.5)],
                         ids=["zero-epochs", "zero-batch", "fractional-batch"])
def test_bad_schedule_is_one_clear_error(bad):
    with pytest.raises(InputError):
        batch_schedule(10, **{"batch_size": 4, "epochs": 1, **bad})


def test_reference_training_lowers_J(spiral_net):
    X, Y = make_data(spiral_net)
    run = train(spiral_net, init_params(spiral_net, "he", 0), X, Y, Optimizer("sgd", 0.5), batch_schedule(300, None, 100))
    assert run.losses[-1] < 0.6 * run.losses[0] and len(run.params) == 100


# ---- every framework on the reference's trajectory -------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("framework", framework_params())
def test_trajectory_matches_the_reference(framework, optimizer, dtype, spiral_net):
    """50 mini-batch steps (B = 64: four full batches and one of 44 per epoch) from the same start."""
    module = trainer(framework)
    X, Y = make_data(spiral_net, dtype=dtype)
    params = init_params(spiral_net, "he", 0, dtype)
    schedule = batch_schedule(300, 64, 10, seed=0)
    opt = Optimizer(optimizer, LR[optimizer], FRAMEWORK_CONVENTIONS[framework])
    reference = train(spiral_net, params, X, Y, opt, schedule)
    own_drift = cmd_train.float32_spread(spiral_net, params, X, Y, opt, schedule, reference) if dtype == "float32" else None
    run = module.train(spiral_net, params, X, Y, opt, schedule)
    assert len(run.losses) == len(schedule) == 50
    assert all(p.dtype == np.dtype(dtype) for pair in run.final_params for p in pair)
    result = assert_same_trajectory(run, reference, own_drift, dtype, f"{framework} {dtype} {optimizer}")
    if dtype == "float64":  # the issue's figure: ~1e-10 of the parameters' size, whatever the optimizer
        assert result["max_param_divergence"] <= 1e-10 * result["param_tolerance"] / cmd_train.FLOAT64_RTOL


@pytest.mark.parametrize("convention", ["keras", "course", "weight-decay"])
@pytest.mark.parametrize("framework", framework_params())
def test_l2_conventions_follow_the_reference(framework, convention):
    module = trainer(framework)
    net = Network((2, 8, 3), l2=1e-2, l2_convention=convention)
    X, Y = make_data(net)
    params = init_params(net, "he", 1)
    opt = Optimizer("sgd", 0.5, FRAMEWORK_CONVENTIONS[framework])
    schedule = batch_schedule(300, None, 20)
    reference = train(net, params, X, Y, opt, schedule)
    assert_same_trajectory(module.train(net, params, X, Y, opt, schedule), reference, None, "float64",
                           f"{framework} L2 {convention}")


@pytest.mark.parametrize("framework", framework_params())
def test_a_2_100_3_relu_net_learns_the_spiral_in_every_framework(framework):
    """Full-batch descent, α = 1, He init, 200 steps: ≥ 95% of the training points (the reference gets 98%)."""
    module = trainer(framework)
    net = Network((2, 100, 3))
    X, Y = make_data(net)
    params = init_params(net, "he", 0)
    opt = Optimizer("sgd", 1.0, FRAMEWORK_CONVENTIONS[framework])
    schedule = batch_schedule(300, None, 200)
    run = module.train(net, params, X, Y, opt, schedule)
    assert accuracy(net, run.final_params, X, Y) >= 0.95
    assert_same_trajectory(run, train(net, params, X, Y, opt, schedule), None, "float64", f"{framework} 2-100-3")


# ---- crosscheck train --------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = main(["train", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_document(capsys):
    code, out, _ = run_cli(capsys, "--frameworks", "numpy-reference,torch", "--epochs", "5", "--json")
    document = json.loads(out)
    assert code == 0 and document["epochs"] == 5 and document["steps"] == 5 and document["plot"] is None
    assert document["config"]["layers"] == [2, 4, 3] and document["config"]["batch_size"] is None
    assert set(document["frameworks"]) == {"numpy-reference", "torch"}
    for entry in document["frameworks"].values():
        assert set(entry) >= {"status", "final_loss", "accuracy", "max_param_divergence"}
    torch = document["frameworks"]["torch"]
    if torch["status"] != "unavailable":
        assert torch["status"] == "ok" and torch["max_param_divergence"] < 1e-12


def test_table_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "train.png"
    code, out, _ = run_cli(capsys, "--frameworks", "numpy-reference,jax", "--epochs", "20", "--batch-size", "100",
                           "--optimizer", "adam", "--plot", str(plot))
    assert code == 0 and "final J" in out and "numpy-reference" in out and f"plot: {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["train.png"]  # no temporary file left beside it


def test_unavailable_framework_is_reported_and_the_run_goes_on(capsys, monkeypatch):
    monkeypatch.setitem(cmd_train.TRAINERS, "torch", "adapters.does_not_exist")
    code, out, _ = run_cli(capsys, "--frameworks", "numpy-reference,torch", "--epochs", "3", "--json")
    torch = json.loads(out)["frameworks"]["torch"]
    assert code == 0 and torch["status"] == "unavailable" and "No module named" in torch["reason"]


def test_a_framework_off_the_trajectory_is_a_mismatch(capsys, monkeypatch):
    def train_off(net, params, X, Y, optimizer, schedule, on_step=None):
        run = train(net, params, X, Y, optimizer, schedule)
        nudged = [[(W + 1e-6, b) for W, b in after] for after in run.params]
        return Run("nudged", run.losses, nudged)

    fake = types.SimpleNamespace(NAME="torch", setup=lambda: {}, train=train_off)
    monkeypatch.setitem(sys.modules, "tests_fake_trainer", fake)
    monkeypatch.setitem(cmd_train.TRAINERS, "torch", "tests_fake_trainer")
    code, out, _ = run_cli(capsys, "--frameworks", "torch", "--epochs", "3")
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
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_missing_matplotlib_stops_before_training(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    monkeypatch.setattr(cmd_train, "compare_training", lambda *a, **k: pytest.fail("trained before failing"))
    code, _, err = run_cli(capsys, "--plot", str(tmp_path / "x.png"))
    assert code == 2 and "--plot needs matplotlib" in err


@pytest.mark.keras
def test_keras_says_so_when_the_courses_l2_cannot_be_one_regularizer():
    module = trainer("keras")
    net = Network((2, 4, 3), l2=1e-2, l2_convention="course")   # λ/m, and m is 64 or 44
    X, Y = make_data(net)
    with pytest.raises(NotImplementedError, match="batches of different sizes"):
        module.train(net, init_params(net), X, Y, Optimizer("sgd", 0.1, "keras"), batch_schedule(300, 64, 1))


@pytest.mark.parametrize("sizes, activation, loss", [
    ((2, 5, 1), "tanh", "sigmoid-bce"), ((3, 5, 2), "leaky_relu", "mse"),
    ((2, 5, 3), "sigmoid", "softmax-ce"), ((2, 5, 6, 4), "identity", "sigmoid-bce"),
], ids=["tanh-bce-1-output", "leaky-mse", "sigmoid-ce", "deep-identity-bce-4-outputs"])
@pytest.mark.parametrize("framework", framework_params())
def test_every_activation_and_loss_trains_the_same(framework, sizes, activation, loss):
    module = trainer(framework)
    net = Network(sizes, activation=activation, loss=loss, leaky_slope=0.1)
    X, Y = make_data(net, 60, seed=2)
    params = init_params(net, "glorot", 2)
    opt = Optimizer("momentum", 0.1, FRAMEWORK_CONVENTIONS[framework])
    schedule = batch_schedule(60, 20, 4, seed=2)
    assert_same_trajectory(module.train(net, params, X, Y, opt, schedule), train(net, params, X, Y, opt, schedule),
                           None, "float64", f"{framework} {net.describe()}")


@pytest.mark.jax
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_jax_without_optax_writes_the_updates_out(optimizer, monkeypatch, spiral_net):
    module = trainer("jax")
    monkeypatch.setitem(sys.modules, "optax", None)  # import optax now raises ImportError
    X, Y = make_data(spiral_net)
    params = init_params(spiral_net, "he", 0)
    opt = Optimizer(optimizer, LR[optimizer], "optax")
    schedule = batch_schedule(300, 100, 4)
    assert_same_trajectory(module.train(spiral_net, params, X, Y, opt, schedule), train(spiral_net, params, X, Y, opt, schedule),
                           None, "float64", f"jax without optax {optimizer}")


def test_a_framework_that_fails_part_way_is_a_failure_not_a_crash(capsys, monkeypatch):
    def train_broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    fake = types.SimpleNamespace(NAME="jax", setup=lambda: {}, train=train_broken)
    monkeypatch.setitem(sys.modules, "tests_fake_trainer", fake)
    monkeypatch.setitem(cmd_train.TRAINERS, "jax", "tests_fake_trainer")
    code, out, _ = run_cli(capsys, "--frameworks", "numpy-reference,jax", "--epochs", "3")
    assert code == 1 and "training failed: RuntimeError: out of memory" in out


def test_the_progress_bar_counts_every_step_of_every_run(capsys, monkeypatch):
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

    monkeypatch.setattr(cmd_train, "Progress", Counting)
    code, out, _ = run_cli(capsys, "--frameworks", "numpy-reference,jax", "--dtype", "float32", "--epochs", "4")
    if "unavailable" in out:
        pytest.skip("jax is unavailable")
    # two conventions (torch for the reference, optax for jax) × three float32 reference runs, + jax
    assert code == 0 and seen == {"total": 4 * (2 * 3 + 1), "advanced": 4 * (2 * 3 + 1)}
