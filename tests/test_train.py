"""Training: the reference's optimizers and batch order, every framework's run against it step for step,
the spiral really learnt; the trajectory policy (the reference's twins, chaos, runs that are wrong and must
fail); memory flat in the number of steps.  `crosscheck train` as a user meets it is tests/test_train_cli.py."""
import dataclasses
import sys
import tracemalloc

import numpy as np
import pytest

from crosscheck import adapters
from crosscheck.course import training
from crosscheck.engine import tolerance
from crosscheck.engine.problem import Problem
from crosscheck.reference import InputError, Network, backprop, init_params, make_data
from crosscheck.reference.optim import OPTIMIZERS, RULES, SCHEDULES, LRSchedule, Optimizer, Updater, clip_scale
from crosscheck.reference.train import (
    EarlyStopping,
    Patience,
    Run,
    Schedule,
    Stepper,
    accuracy,
    batch_schedule,
    gradients,
    is_full_batch,
    train,
)

FRAMEWORK_ROLE = "train"  # conftest.py parametrizes `framework` over the frameworks that train; `trainer` is its module
LR = {"sgd": 0.5, "momentum": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01}


def assert_follows(train_function, net, params, X, Y, optimizer, schedule, label):
    """The judgement of crosscheck train — the reference's twins, then the run followed step by step in
    lockstep with a reference run — and a failure that says where the run left the envelope."""
    __tracebackhide__ = True
    problem = Problem(net, params, X, Y)
    envelope = training.measure_envelope(problem, optimizer, schedule)
    outcome = training.follow(label, train_function, problem, optimizer, schedule, envelope)
    if outcome.status != "ok":
        pytest.fail(f"{label}: {outcome.reason}")
    return outcome


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
    assert run.losses[-1] < 0.6 * run.losses[0] and len(run.losses) == 100


def test_train_reports_every_step_and_keeps_only_the_last_parameters(spiral_net):
    """on_step(t, J, params) after each step; the Run holds J per step and the final parameters, nothing else."""
    X, Y = make_data(spiral_net)
    params, schedule, optimizer = init_params(spiral_net, "he", 0), batch_schedule(300, 64, 2), Optimizer("adam", 0.01)
    seen = []
    run = train(spiral_net, params, X, Y, optimizer, schedule, lambda t, J, P: seen.append((t, J, P)))
    assert [t for t, _, _ in seen] == list(range(1, 11)) and [J for _, J, _ in seen] == list(run.losses)
    assert run.final_params is seen[-1][2] and not hasattr(run, "history")
    stepper = Stepper(spiral_net, params, X, Y, optimizer, schedule)  # the same walk, one step at a time
    for t, J, P in seen:
        assert stepper.step() == J and stepper.t == t
        for (W, b), (W_seen, b_seen) in zip(stepper.params, P):
            np.testing.assert_array_equal(W, W_seen)
            np.testing.assert_array_equal(b, b_seen)


# ---- every framework on the reference's trajectory -------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_trajectory_matches_the_reference(framework, trainer, optimizer, dtype, spiral_net):
    """50 mini-batch steps (B = 64: four full batches and one of 44 per epoch) from the same start."""
    X, Y = make_data(spiral_net, dtype=dtype)
    params = init_params(spiral_net, "he", 0, dtype)
    schedule = batch_schedule(300, 64, 10, seed=0)
    opt = Optimizer(optimizer, LR[optimizer], training.convention(framework))
    reported = []

    def train_noting_the_dtypes(net, params, X, Y, optimizer, schedule, on_step):
        def step(t, J, P):
            reported.append({p.dtype for pair in P for p in pair})
            on_step(t, J, P)
        return trainer.train(net, params, X, Y, optimizer, schedule, step)

    result = assert_follows(train_noting_the_dtypes, spiral_net, params, X, Y, opt, schedule,
                            f"{framework} {dtype} {optimizer}")
    assert len(result.run.losses) == len(schedule) == 50 and reported == [{np.dtype(dtype)}] * 50
    assert all(p.dtype == np.dtype(dtype) for pair in result.run.final_params for p in pair)
    # every step compared: 50 steps of these runs are far from chaos
    assert result.chaos_step is None and np.all(np.isfinite(result.param_gap))
    scale = result.envelope.scale
    if dtype == "float64":  # measured ≤ 4.4e-16 of the weights' size over 50 steps, whatever the optimizer
        assert result.max_param_divergence <= 1e-13 * scale
    # and the tolerance is rounding-sized: a few hundred ulps of the weights, not a fraction of them
    assert result.param_tolerance <= 1e3 * np.finfo(dtype).eps * scale


@pytest.mark.parametrize("convention", ["keras", "course", "weight-decay"])
def test_l2_conventions_follow_the_reference(framework, trainer, convention):
    net = Network((2, 8, 3), l2=1e-2, l2_convention=convention)
    X, Y = make_data(net)
    params = init_params(net, "he", 1)
    opt = Optimizer("sgd", 0.5, training.convention(framework))
    assert_follows(trainer.train, net, params, X, Y, opt, batch_schedule(300, None, 20), f"{framework} L2 {convention}")


def test_a_2_100_3_relu_net_learns_the_spiral_in_every_framework(framework, trainer):
    """Full-batch descent, α = 1, He init, 200 steps: ≥ 95% of the training points (the reference gets 98%)."""
    net = Network((2, 100, 3))
    X, Y = make_data(net)
    params = init_params(net, "he", 0)
    opt = Optimizer("sgd", 1.0, training.convention(framework))
    result = assert_follows(trainer.train, net, params, X, Y, opt, batch_schedule(300, None, 200), f"{framework} 2-100-3")
    assert accuracy(net, result.run.final_params, X, Y) >= 0.95


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
    assert_follows(trainer.train, net, params, X, Y, opt, batch_schedule(60, 20, 4, seed=2), f"{framework} {net.describe()}")


@pytest.mark.jax
@pytest.mark.parametrize("framework", ["jax"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_jax_without_optax_writes_the_updates_out(trainer, optimizer, monkeypatch, spiral_net):
    monkeypatch.setitem(sys.modules, "optax", None)  # import optax now raises ImportError
    X, Y = make_data(spiral_net)
    params = init_params(spiral_net, "he", 0)
    opt = Optimizer(optimizer, LR[optimizer], "optax")
    assert_follows(trainer.train, spiral_net, params, X, Y, opt, batch_schedule(300, 100, 4), f"jax without optax {optimizer}")


# ---- the trajectory policy: the reference's twins, the envelope, chaos ------------------------------

@pytest.mark.parametrize("stacked", [True, False], ids=["one-stack", "apart"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_twin_is_the_reference_rounded_otherwise(dtype, stacked, monkeypatch):
    """The twin starts where the reference starts (every nonzero entry one ulp up or down, zeros kept), in another
    order of inputs, hidden units and rows, and stays within rounding of it; stacked with the reference or apart, the
    reference's run is bitwise the plain Stepper's."""
    monkeypatch.setattr(training, "STACK_BYTES", training.STACK_BYTES if stacked else 0)
    net = Network((2, 5, 4, 3))
    X, Y = make_data(net, dtype=dtype)
    params = init_params(net, "he", 0, dtype)
    schedule, optimizer = batch_schedule(300, 64, 1), Optimizer("sgd", 0.5)
    pair = training.twins(Problem(net, params, X, Y), optimizer, schedule)
    assert pair.stacked == stacked
    inputs, *hidden = pair.orders
    assert sorted(inputs) == [0, 1] and [sorted(order) for order in hidden] == [list(range(5)), list(range(4))]
    twin = pair.copy(1)
    np.testing.assert_array_equal(pair.copy(0)[0][0], params[0][0])
    for (W, b), (W0, b0), rows, columns in zip(twin, params, pair.orders, hidden + [np.arange(3)]):
        # read back in the reference's order: W[l] rows by the units feeding in, columns (and b) by its own units
        W, b = W[np.argsort(rows)][:, np.argsort(columns)], b[:, np.argsort(columns)]
        for P, P0 in ((W, W0), (b, b0)):
            moved = P != P0
            assert P.dtype == P0.dtype and np.array_equal(moved, P0 != 0)   # every nonzero entry, no zero
            up, down = np.nextafter(P0, np.inf), np.nextafter(P0, -np.inf)
            assert np.all(((P == up) | (P == down))[moved])
        assert (W > W0).any() and (W < W0).any()  # at random: up and down
    eps = np.finfo(dtype).eps
    assert pair.spread() <= eps * training.magnitude(params)   # one ulp, read back exactly
    reference = Stepper(net, params, X, Y, optimizer, schedule)
    spreads = []
    for _ in schedule:
        J_ref, J_twin = pair.step()
        assert J_ref == reference.step() and training.distance(pair.copy(0), reference.params) == 0
        spreads.append(pair.spread())
        assert 0 < spreads[-1] <= 100 * eps * training.magnitude(reference.params)


def test_the_tolerance_follows_the_twins_and_stops_at_the_chaos_step():
    """tol(t) = 30 · max(e_1 … e_t) + 16 ε √t max(s_1 … s_t), and no step compared once e_t > 1e-4 · max|W|."""
    eps = np.finfo(np.float64).eps
    spread = np.array([0.0, 3e-16, 1e-16, 2e-14, 4e-4, 6e-4, 1e-3])
    scale = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 4.0])
    tol = tolerance.trajectory_tolerance(spread, spread / 10, scale, scale, "float64")
    expected = [30 * max(spread[:t]) + 16 * eps * np.sqrt(t) * max(scale[:t]) for t in range(1, 8)]
    np.testing.assert_allclose(tol.param, expected, rtol=1e-15)
    assert tol.chaos_step == 6 and tol.compared_steps == 5        # 6e-4 > 1e-4 · 5 at step 6
    assert max(tol.param[:5]) <= 3e-3 * 5 + 16 * eps * np.sqrt(5) * 5  # never of the order of the weights
    with_nan = tolerance.trajectory_tolerance(np.array([0.0, np.nan, 0.0]), np.zeros(3), np.ones(3), np.ones(3), "float64")
    assert with_nan.chaos_step == 2                                  # a reference that blew up is no envelope


def test_the_end_state_allowance_is_what_the_twins_show_or_what_the_end_itself_moves():
    eps = np.finfo(float).eps
    J, accuracy_ = tolerance.end_tolerance((0.25, 0.99), [(0.2501, 0.99), (0.2497, 0.98)], (0.001, 0.02), "float64", 300)
    assert J == pytest.approx(30 * 0.0003 + 16 * eps * 0.25, rel=1e-12)   # 30 × the twins' spread …
    assert accuracy_ == pytest.approx(0.3 + 1 / 300, rel=1e-12)
    J, accuracy_ = tolerance.end_tolerance((0.25, 0.99), [(0.25001, 0.99)], (0.001, 0.02), "float64", 300)
    assert J == pytest.approx(0.001 + 16 * eps * 0.25, rel=1e-12)         # … or J's own interquartile range there
    assert accuracy_ == pytest.approx(0.02 + 1 / 300, rel=1e-12)


# ---- runs that are wrong must fail, in both dtypes; runs rounded otherwise must not ------------------

def lr_times_0_8(net, params, X, Y, optimizer, schedule, on_step):
    return train(net, params, X, Y, dataclasses.replace(optimizer, lr=0.8 * optimizer.lr), schedule, on_step)


def l2_left_out(net, params, X, Y, optimizer, schedule, on_step):
    return train(dataclasses.replace(net, l2=0.0), params, X, Y, optimizer, schedule, on_step)


def l2_times_10(net, params, X, Y, optimizer, schedule, on_step):
    return train(dataclasses.replace(net, l2=10 * net.l2), params, X, Y, optimizer, schedule, on_step)


def tanh_for_relu(net, params, X, Y, optimizer, schedule, on_step):
    return train(dataclasses.replace(net, activation="tanh"), params, X, Y, optimizer, schedule, on_step)


def frozen_weights(net, params, X, Y, optimizer, schedule, on_step):
    """Reports the start after every step, with the start's J: an optimizer that never stepped."""
    J = Stepper(net, params, X, Y, optimizer, schedule).step()
    for t in range(1, len(schedule) + 1):
        on_step(t, J, params)
    return Run("frozen", np.full(len(schedule), J), params)


def reordered(net, params, X, Y, optimizer, schedule, on_step):
    """A correct run rounded otherwise than any twin: rows reversed and hidden units permuted at once, and in
    float32 each step computed in float64 and rounded back."""
    order = np.random.default_rng(7).permutation(net.sizes[1])
    undo = np.argsort(order)

    def permute(params, order):
        (W1, b1), (W2, b2) = params
        return [(W1[:, order], b1[:, order]), (W2[order], b2)]

    def step(t, J, P):
        P = permute(P, undo)
        on_step(t, J, [(W.astype(X.dtype), b.astype(X.dtype)) for W, b in P])

    wide = np.float64
    run = train(net, [(W.astype(wide), b.astype(wide)) for W, b in permute(params, order)], X.astype(wide), Y.astype(wide),
                optimizer, [rows[::-1] for rows in schedule], step) if X.dtype == np.float32 else \
        train(net, permute(params, order), X, Y, optimizer, [rows[::-1] for rows in schedule], step)
    return Run("reordered", run.losses, permute(run.final_params, undo))


WRONG = {"lr-x0.8": lr_times_0_8, "no-L2": l2_left_out, "L2-x10": l2_times_10, "tanh-for-relu": tanh_for_relu,
         "frozen-weights": frozen_weights}
# the spiral recipe (2-100-3, α = 1, λ = 0.0005), and the same on the lecture's 2-4-3; 300 steps cross the
# float32 chaos step of the recipe (about step 90), 100 steps show the rest
NETS = {"recipe": (2, 100, 3), "lecture": (2, 4, 3)}
_envelopes = {}


def recipe_problem(net_name, dtype, optimizer=None, epochs=None):
    """(problem, optimizer, schedule, envelope) with the envelope measured once per test session."""
    net = Network(NETS[net_name], l2=0.0005)
    X, Y = make_data(net, dtype=dtype)
    problem = Problem(net, init_params(net, "lecture", 0, dtype), X, Y)
    optimizer = optimizer or Optimizer("sgd", 1.0)
    epochs = epochs or (300 if (net_name, dtype) == ("recipe", "float32") else 100)
    schedule = batch_schedule(300, None, epochs)
    key = (net_name, dtype, optimizer.describe(), optimizer.convention, epochs)
    if key not in _envelopes:
        _envelopes[key] = training.measure_envelope(problem, optimizer, schedule)
    return problem, optimizer, schedule, _envelopes[key]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("net_name", NETS)
@pytest.mark.parametrize("wrong", WRONG)
def test_a_wrong_run_leaves_the_envelope(wrong, net_name, dtype):
    problem, optimizer, schedule, envelope = recipe_problem(net_name, dtype)
    outcome = training.follow(wrong, WRONG[wrong], problem, optimizer, schedule, envelope)
    assert outcome.status == "mismatch", f"{wrong} passed: max|ΔW| {outcome.max_param_divergence:.1e}"
    assert " at step 1 " in outcome.reason, outcome.reason  # off by a fraction of a step from the first one


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("net_name", NETS)
def test_a_run_rounded_otherwise_stays_inside(net_name, dtype):
    problem, optimizer, schedule, envelope = recipe_problem(net_name, dtype)
    outcome = training.follow("reordered", reordered, problem, optimizer, schedule, envelope)
    assert outcome.status == "ok", outcome.reason
    if net_name == "recipe" and dtype == "float32":  # chaotic within 300 steps: judged at the end, and it ends inside
        assert envelope.tolerance.chaos_step < 300 and outcome.end is not None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("expected, ran", [("torch", "course"), ("course", "torch"), ("torch", "keras")],
                         ids=["course-for-torch", "torch-for-course", "keras-for-torch"])
def test_momentum_in_another_form(expected, ran, dtype):
    """The course's v ← μv + (1 − μ)g is another walk than torch's and fails; Keras's v ← μv − αg is torch's
    walk written otherwise (at a constant α) and passes."""
    problem, optimizer, schedule, envelope = recipe_problem("lecture", dtype, Optimizer("momentum", 0.1, expected), 100)

    def other_form(net, params, X, Y, optimizer, schedule, on_step):
        return train(net, params, X, Y, Optimizer("momentum", optimizer.lr, ran), schedule, on_step)

    outcome = training.follow(ran, other_form, problem, optimizer, schedule, envelope)
    assert outcome.status == ("ok" if ran == "keras" else "mismatch"), outcome.reason


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, expected, ran", [("adam", "torch", "keras"), ("rmsprop", "torch", "keras")],
                         ids=["adam", "rmsprop"])
def test_an_optimizer_in_another_frameworks_convention_fails(name, expected, ran, dtype):
    problem, optimizer, schedule, envelope = recipe_problem("lecture", dtype, Optimizer(name, 0.01, expected), 100)

    def other_convention(net, params, X, Y, optimizer, schedule, on_step):
        return train(net, params, X, Y, Optimizer(name, optimizer.lr, ran), schedule, on_step)

    outcome = training.follow(ran, other_convention, problem, optimizer, schedule, envelope)
    assert outcome.status == "mismatch", f"{name} in {ran}'s convention passed as {expected}'s"


# ---- memory: flat in the number of steps ----------------------------------------------------------

def test_comparing_a_run_keeps_no_parameters_of_past_steps():
    """The envelope and a followed run of a 2-1000-3 net (6,003 parameters, 48 KB a step): tracemalloc's peak
    at 440 steps is that of 220 — keeping every step's parameters would add 220 × 3 × 48 KB ≈ 32 MB.  (What a run
    keeps for its end state is END_SAMPLES + 1 sets of parameters at most, as many at 220 steps as at 440.)"""
    net = Network((2, 1000, 3))
    X, Y = make_data(net, 30)
    problem = Problem(net, init_params(net, "he", 0), X, Y)

    def peak(steps):
        schedule, optimizer = batch_schedule(30, None, steps), Optimizer("sgd", 0.1)
        tracemalloc.start()
        try:
            envelope = training.measure_envelope(problem, optimizer, schedule)
            outcome = training.follow("reference", train, problem, optimizer, schedule, envelope)
            return tracemalloc.get_traced_memory()[1], outcome
        finally:
            tracemalloc.stop()

    (short, _), (long, outcome) = peak(220), peak(440)
    assert outcome.status == "ok" and len(outcome.param_gap) == 440
    assert long - short < 1_000_000, f"peak {short / 1e6:.1f} MB at 220 steps, {long / 1e6:.1f} MB at 440"


# ---- the next lecture's optimisation: schedules, clipping, early stopping, with dropout and batch norm ---------

SCHEDULE_CASES = {"step": LRSchedule("step", 0.5, 2), "exponential": LRSchedule("exponential", 0.7),
                  "inverse": LRSchedule("inverse", 0.5), "cosine": LRSchedule("cosine", epochs=4, floor=0.1)}


def test_the_schedules_are_the_formulas_stated():
    """α_e for e = 0 … 4, computed here from the formulas of reference/optim.py's table."""
    lr, e = 0.3, np.arange(5)
    expected = {"step": lr * 0.5 ** (e // 2), "exponential": lr * 0.7 ** e, "inverse": lr / (1 + 0.5 * e),
                "cosine": lr * (0.1 + 0.9 * (1 + np.cos(np.pi * np.minimum(e, 4) / 4)) / 2)}
    for name, schedule in SCHEDULE_CASES.items():
        np.testing.assert_allclose([schedule.rate(lr, int(k)) for k in e], expected[name], rtol=1e-15, err_msg=name)
    assert set(SCHEDULES) == {"constant", *SCHEDULE_CASES}


def test_the_reference_changes_alpha_between_epochs_never_within_one():
    """SGD on a constant gradient g = 1: each step moves W by α of its epoch; 3 steps an epoch."""
    W = np.zeros((1, 1))
    updater = Updater(Optimizer("sgd", 1.0, schedule=LRSchedule("exponential", 0.5)), [(W, W)], steps_per_epoch=3)
    moves, params = [], [(W, W)]
    for _ in range(7):
        after = updater.step(params, [(np.ones((1, 1)), np.ones((1, 1)))])
        moves.append(float(params[0][0][0, 0] - after[0][0][0, 0]))
        params = after
    assert moves == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_clipping_rescales_by_the_global_norm_in_each_conventions_words():
    """‖g‖ = 10 over two tensors (6 and 8) clipped to c = 1: every framework's own formula, and the result's norm."""
    assert clip_scale(10.0, 1.0, "torch") == 1 / (10 + 1e-6) and clip_scale(0.5, 1.0, "torch") == 1.0
    assert clip_scale(10.0, 1.0, "keras") == 1.0 * min(1 / 10, 1.0) and clip_scale(10.0, 1.0, "optax") is None
    grads = [(np.array([[6.0]]), np.array([[8.0]]))]
    for convention in ("torch", "keras", "optax"):
        updater = Updater(Optimizer("sgd", 1.0, convention, clip=1.0), [(np.zeros((1, 1)), np.zeros((1, 1)))])
        (dW, db), = updater.clipped(grads)
        assert np.hypot(dW[0, 0], db[0, 0]) == pytest.approx(1.0, rel=1e-6) and dW[0, 0] / db[0, 0] == pytest.approx(0.75)


def test_early_stopping_is_patience_epochs_without_a_lower_dev_J():
    """Keras's EarlyStopping rule: the lowest J so far improves, `patience` epochs in a row without it stop."""
    watcher = Patience(2)
    assert [watcher.update(J) for J in (3.0, 2.0, 2.5, 2.0)] == [False, False, False, True]  # 2.0 is no lower than 2.0
    assert watcher.stopped_epoch == 4
    watcher = Patience(2)
    assert [watcher.update(J) for J in (1.0, 0.9, 0.95, 0.8, 0.85, 0.85)] == [False] * 5 + [True]  # 0.8 resets the wait
    with pytest.raises(InputError, match="patience"):
        EarlyStopping(0, np.zeros((1, 2)), np.zeros((1, 3)))


@pytest.mark.parametrize("name", SCHEDULE_CASES)
def test_each_framework_runs_the_schedule_in_its_own_scheduler(framework, trainer, name):
    """4 epochs of 3 mini-batches: torch.optim.lr_scheduler stepped per epoch, Keras's LearningRateSchedule and optax's
    schedules on the epoch — every step against the reference's α_e."""
    net = Network((2, 5, 3))
    X, Y = make_data(net, 90, seed=1)
    opt = Optimizer("sgd", 0.5, training.convention(framework), schedule=SCHEDULE_CASES[name])
    assert_follows(trainer.train, net, init_params(net, "he", 1), X, Y, opt, batch_schedule(90, 32, 4, seed=1),
                   f"{framework} {name}")


def next_lecture_run(dtype):
    """2-8-6-3 with batch norm and dropout (keep_prob 0.8), Adam α = 0.1 halved every 3 epochs, gradients clipped to
    a global norm of 0.5 (their norm reaches 1.5), early stopping on a dev set with patience 1: it stops after
    epoch 4 of 10, in every convention and both dtypes (measured)."""
    net = Network((2, 8, 6, 3), batch_norm=True, keep_prob=0.8)
    X, Y = make_data(net, 300, seed=0, dtype=dtype)
    stopping = EarlyStopping(1, *make_data(net, 60, seed=5, dtype=dtype))
    optimizer = Optimizer("adam", 0.1, schedule=LRSchedule("step", 0.5, 3), clip=0.5)
    return net, init_params(net, "he", 0, dtype), X, Y, optimizer, batch_schedule(300, 64, 10, 0, stopping)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dropout_batch_norm_a_schedule_clipping_and_early_stopping_follow_the_reference(framework, trainer, dtype):
    net, params, X, Y, optimizer, schedule = next_lecture_run(dtype)
    optimizer = optimizer.in_convention(training.convention(framework))
    result = assert_follows(trainer.train, net, params, X, Y, optimizer, schedule, f"{framework} {dtype}")
    assert result.steps == len(result.envelope.run.losses) == 20 < len(schedule)   # stopped after epoch 4, as the reference
    assert result.chaos_step is None and result.stopped_epoch == 4
    final = result.run.final_params[0]
    assert len(final) == 5 and np.all(final[4] != 1)  # (W, γ, β, μ_run, σ²_run): the running averages moved, and were compared
    norms = [np.sqrt(sum(np.sum(g ** 2) for layer in gradients(net, params, X[rows], Y[rows],
                                                                schedule.masks(net, t, dtype))[1] for g in layer))
             for t, rows in enumerate(schedule[:5], start=1)]
    assert max(norms) > optimizer.clip  # clipping acts in this run


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batch_norms_running_variance_in_the_other_convention_fails(dtype):
    """torch averages the unbiased σ² · m/(m − 1), Keras the biased σ²: one for the other is off at step 1."""
    net, params, X, Y, optimizer, schedule = next_lecture_run(dtype)
    problem = Problem(net, params, X, Y)
    envelope = training.measure_envelope(problem, optimizer, schedule)

    def keras_running_variance(net, params, X, Y, optimizer, schedule, on_step):
        return train(net, params, X, Y, optimizer.in_convention("keras"), schedule, on_step)

    outcome = training.follow("biased", keras_running_variance, problem, optimizer, schedule, envelope)
    assert outcome.status == "mismatch" and outcome.failed_step == 1, outcome.reason


def test_a_run_that_does_not_stop_early_fails():
    net, params, X, Y, optimizer, schedule = next_lecture_run("float64")
    problem = Problem(net, params, X, Y)
    envelope = training.measure_envelope(problem, optimizer, schedule)

    def never_stops(net, params, X, Y, optimizer, schedule, on_step):
        return train(net, params, X, Y, optimizer, schedule.like(stopping=None), on_step)

    outcome = training.follow("never", never_stops, problem, optimizer, schedule, envelope)
    assert outcome.status == "mismatch" and "stopped after step 50 (epoch 10), the reference after step 20 (epoch 4)" \
        in outcome.reason


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_schedule_stepped_per_step_fails_at_step_2_and_says_so(dtype):
    net = Network((2, 6, 3))
    X, Y = make_data(net, 90, seed=1, dtype=dtype)
    problem = Problem(net, init_params(net, "he", 1, dtype), X, Y)
    optimizer, schedule = Optimizer("sgd", 0.5, schedule=LRSchedule("exponential", 0.7)), batch_schedule(90, 32, 4, 1)
    envelope = training.measure_envelope(problem, optimizer, schedule)

    def per_step(net, params, X, Y, optimizer, schedule, on_step):  # every step its own epoch
        return train(net, params, X, Y, optimizer, Schedule(list(schedule), schedule.m, len(schedule), schedule.seed),
                     on_step)

    outcome = training.follow("per-step", per_step, problem, optimizer, schedule, envelope)
    assert outcome.status == "mismatch" and outcome.failed_step == 2
    assert "0.7 × the reference's" in outcome.hint and "per step instead of per epoch" in outcome.hint


@pytest.mark.jax
@pytest.mark.parametrize("framework", ["jax"])
def test_jax_without_optax_writes_schedules_and_clipping_out(trainer, monkeypatch, spiral_net):
    """With optax missing, each schedule and clipping by the global norm, as written out, follow the reference: four
    epochs of three steps (every schedule changes α within them), gradients whose norm is well above the clip."""
    monkeypatch.setitem(sys.modules, "optax", None)
    X, Y = make_data(spiral_net)
    params = init_params(spiral_net, "he", 0)
    gradients = backprop(spiral_net, params, X, Y)
    norm = np.sqrt(sum(np.sum(gradients[f"{kind}{l}"] ** 2) for kind in ("dW", "db") for l in (1, 2)))
    assert norm > 2 * 0.2  # the case is what it says: clipping acts
    for name, lr_schedule in SCHEDULE_CASES.items():
        opt = Optimizer("adam", 0.1, "optax", schedule=lr_schedule, clip=0.2)
        assert_follows(trainer.train, spiral_net, params, X, Y, opt, batch_schedule(300, 100, 4),
                       f"jax without optax, {name}")
