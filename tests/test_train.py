"""Training: the reference's optimizers and batch order, every framework's run against it step for step,
the spiral really learnt.  `crosscheck train` as a user meets it is tests/test_train_cli.py."""
import sys

import numpy as np
import pytest

import adapters
from crosscheck import training
from reference import InputError, Network, init_params, make_data
from reference.optim import OPTIMIZERS, RULES, Optimizer, Updater
from reference.train import accuracy, batch_schedule, is_full_batch, train

FRAMEWORK_ROLE = "train"  # conftest.py parametrizes `framework` over the frameworks that train; `trainer` is its module
LR = {"sgd": 0.5, "momentum": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01}


def assert_same_trajectory(run, reference, own_drift, dtype, label):
    """Every step's J and every W, b within the policy of crosscheck train; the message names the worst step."""
    __tracebackhide__ = True
    result = training.judge(run, reference, own_drift, dtype)
    if result.status != "ok":
        step = int(np.nanargmax(result.param_gap)) + 1 if result.param_gap is not None else "?"
        pytest.fail(f"{label}: {result.reason} (worst at step {step} of {len(reference.losses)})")
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
    for framework in (adapters.REFERENCE, *adapters.having("train")):
        optimizer = Optimizer(name, 0.01, training.convention(framework))
        assert set(optimizer.hyper) == set(RULES[name, training.convention(framework)][1]), framework


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
    assert run.losses[-1] < 0.6 * run.losses[0] and len(run.history) == 100


# ---- every framework on the reference's trajectory -------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_trajectory_matches_the_reference(framework, trainer, optimizer, dtype, spiral_net):
    """50 mini-batch steps (B = 64: four full batches and one of 44 per epoch) from the same start."""
    X, Y = make_data(spiral_net, dtype=dtype)
    params = init_params(spiral_net, "he", 0, dtype)
    schedule = batch_schedule(300, 64, 10, seed=0)
    opt = Optimizer(optimizer, LR[optimizer], training.convention(framework))
    reference = train(spiral_net, params, X, Y, opt, schedule)
    own_drift = training.float32_spread(spiral_net, params, X, Y, opt, schedule, reference) if dtype == "float32" else None
    run = trainer.train(spiral_net, params, X, Y, opt, schedule)
    assert len(run.losses) == len(schedule) == 50
    assert all(p.dtype == np.dtype(dtype) for pair in run.final_params for p in pair)
    result = assert_same_trajectory(run, reference, own_drift, dtype, f"{framework} {dtype} {optimizer}")
    if dtype == "float64":  # measured ≤ 4.4e-16 of the weights' size over 50 steps, whatever the optimizer
        scale = max(np.max(np.abs(p)) for after in reference.history for pair in after for p in pair)
        assert result.max_param_divergence <= 1e-13 * scale


@pytest.mark.parametrize("convention", ["keras", "course", "weight-decay"])
def test_l2_conventions_follow_the_reference(framework, trainer, convention):
    net = Network((2, 8, 3), l2=1e-2, l2_convention=convention)
    X, Y = make_data(net)
    params = init_params(net, "he", 1)
    opt = Optimizer("sgd", 0.5, training.convention(framework))
    schedule = batch_schedule(300, None, 20)
    reference = train(net, params, X, Y, opt, schedule)
    assert_same_trajectory(trainer.train(net, params, X, Y, opt, schedule), reference, None, "float64",
                           f"{framework} L2 {convention}")


def test_a_2_100_3_relu_net_learns_the_spiral_in_every_framework(framework, trainer):
    """Full-batch descent, α = 1, He init, 200 steps: ≥ 95% of the training points (the reference gets 98%)."""
    net = Network((2, 100, 3))
    X, Y = make_data(net)
    params = init_params(net, "he", 0)
    opt = Optimizer("sgd", 1.0, training.convention(framework))
    schedule = batch_schedule(300, None, 200)
    run = trainer.train(net, params, X, Y, opt, schedule)
    assert accuracy(net, run.final_params, X, Y) >= 0.95
    assert_same_trajectory(run, train(net, params, X, Y, opt, schedule), None, "float64", f"{framework} 2-100-3")


@pytest.mark.keras
@pytest.mark.parametrize("framework", ["keras"])
def test_keras_says_so_when_the_courses_l2_cannot_be_one_regularizer(trainer):
    net = Network((2, 4, 3), l2=1e-2, l2_convention="course")   # λ/m, and m is 64 or 44
    X, Y = make_data(net)
    with pytest.raises(NotImplementedError, match="batches of different sizes"):
        trainer.train(net, init_params(net), X, Y, Optimizer("sgd", 0.1, "keras"), batch_schedule(300, 64, 1))


@pytest.mark.parametrize("sizes, activation, loss", [
    ((2, 5, 1), "tanh", "sigmoid-bce"), ((3, 5, 2), "leaky_relu", "mse"),
    ((2, 5, 3), "sigmoid", "softmax-ce"), ((2, 5, 6, 4), "identity", "sigmoid-bce"),
], ids=["tanh-bce-1-output", "leaky-mse", "sigmoid-ce", "deep-identity-bce-4-outputs"])
def test_every_activation_and_loss_trains_the_same(framework, trainer, sizes, activation, loss):
    net = Network(sizes, activation=activation, loss=loss, leaky_slope=0.1)
    X, Y = make_data(net, 60, seed=2)
    params = init_params(net, "glorot", 2)
    opt = Optimizer("momentum", 0.1, training.convention(framework))
    schedule = batch_schedule(60, 20, 4, seed=2)
    assert_same_trajectory(trainer.train(net, params, X, Y, opt, schedule), train(net, params, X, Y, opt, schedule),
                           None, "float64", f"{framework} {net.describe()}")


@pytest.mark.jax
@pytest.mark.parametrize("framework", ["jax"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_jax_without_optax_writes_the_updates_out(trainer, optimizer, monkeypatch, spiral_net):
    monkeypatch.setitem(sys.modules, "optax", None)  # import optax now raises ImportError
    X, Y = make_data(spiral_net)
    params = init_params(spiral_net, "he", 0)
    opt = Optimizer(optimizer, LR[optimizer], "optax")
    schedule = batch_schedule(300, 100, 4)
    assert_same_trajectory(trainer.train(spiral_net, params, X, Y, opt, schedule), train(spiral_net, params, X, Y, opt, schedule),
                           None, "float64", f"jax without optax {optimizer}")
