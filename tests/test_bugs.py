"""The classic-bug catalogue: the suite's proof that its checks can fail.

Every catalogued mistake must be caught at the tensor the catalogue predicts, with a hint; the correct
implementation it is a mutation of must pass — on each bug's network and across activations, losses, depths.
"""
import dataclasses
import json
import warnings
from pathlib import Path

import pytest

from crosscheck import bugs
from crosscheck.bugs import BUGS, STEPS, Bug, Scenario, catalogue, check_impl, markdown, run_bug, steps
from crosscheck.reference import computed_names
from crosscheck.student.isolated import Isolated

ROOT = Path(__file__).resolve().parents[1]
JSON_KEYS = {"bug", "detected", "first_divergence", "expected_first", "probe", "hint"}


@pytest.fixture(scope="module")
def outcomes():
    """Every bug through the engine once (with its control run), by name."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # deliberate overflows must be silenced, not leak as warnings
        return {bug.name: run_bug(bug) for bug in BUGS}


def per_bug(test):
    return pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])(test)


# ---- the catalogue is data, each entry a small mutation ---------------------------------------------

def test_catalogue_has_the_classic_kinds():
    assert len(BUGS) >= 10
    assert len({bug.name for bug in BUGS}) == len(BUGS)
    replaced = {step for bug in BUGS for step in bug.mutation}
    # 1/m, db's sum and keepdims, dA's transpose, the ReLU mask, σ/tanh on Z, the softmax shift, the loop index
    assert {"dW", "db", "dA_prev", "relu_backward", "sigmoid_backward", "tanh_backward", "softmax",
            "backward_layers", "layer_below", "dZ_output"} <= replaced


@per_bug
def test_bug_is_a_small_mutation_of_the_correct_code(bug):
    assert 1 <= len(bug.mutation) <= 2, "a bug replaces one or two steps, not the implementation"
    for step, wrong in bug.mutation.items():
        assert step in STEPS, f"{bug.name} replaces {step!r}, which is not a step"
        assert wrong is not STEPS[step]
    if bug.trains:  # a training loop's mistake shows at a step of the run
        assert bug.expected.startswith("step ") and int(bug.expected.split()[1]) >= 1
    else:
        net = bug.scenario.build(bug.probe).net
        assert bug.expected in computed_names(net), f"{bug.expected} is not a tensor of {bug.scenario.describe()}"
    assert bug.title and bug.breaks and bug.why


# ---- each bug is caught where the catalogue says, with a hint -----------------------------------

@per_bug
def test_bug_is_detected_at_the_predicted_tensor(bug, outcomes):
    outcome = outcomes[bug.name]
    assert outcome.detected, f"{bug.name}: not detected — every tensor agrees with the reference"
    assert outcome.first_divergence == bug.expected, (
        f"{bug.name}: first divergence {outcome.first_divergence}, the catalogue predicts {bug.expected} "
        f"(hint: {outcome.hint})")


@per_bug
def test_bug_gets_a_hint_naming_its_cause(bug, outcomes):
    hint = outcomes[bug.name].hint
    assert hint and hint.strip(), f"{bug.name}: no hint at the first divergence"
    if bug.hint_says:
        assert bug.hint_says in hint, f"{bug.name}: hint {hint!r} does not say {bug.hint_says!r}"


@per_bug
def test_correct_code_passes_on_the_bugs_network(bug, outcomes):
    outcome = outcomes[bug.name]
    assert outcome.control_ok, f"correct code diverges at {outcome.control_divergence} on {bug.scenario.describe()}"
    assert outcome.ok


@per_bug
def test_bug_is_detected_in_float32_too(bug):
    """float32's tolerance is looser; every mistake is still far outside it."""
    scenario = dataclasses.replace(bug.scenario, dtype="float32")
    if bug.trains:
        assert f"step {catalogue.check_training(bug.backprop(), scenario).failed_step}" == bug.expected
        assert catalogue.check_training(steps.make_train(None), scenario).status == "ok"
        return
    result = check_impl(bug.backprop(), scenario, probe=bug.probe)
    assert result.first_divergence and result.first_divergence.tensor == bug.expected
    assert check_impl(steps.make_backprop(None, scenario.layout), scenario, probe=bug.probe).ok


def test_missing_1_over_m_hint_says_1_over_m(outcomes):
    assert "1/m" in outcomes["dW-without-1-over-m"].hint
    assert "1/m" in outcomes["db-without-1-over-m"].hint


# ---- the correct implementation passes everywhere -------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("layers", [(2, 3), (2, 4, 3), (3, 5, 4, 2)], ids=["1-layer", "2-layer", "3-layer"])
@pytest.mark.parametrize("loss", ["softmax-ce", "sigmoid-bce", "mse"])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "identity"])
def test_correct_implementation_passes(activation, loss, layers, dtype):
    result = check_impl(bugs.backprop, Scenario(layers=layers, activation=activation, loss=loss, init="he",
                                                batch=64, seed=3, dtype=dtype))
    assert result.ok, f"{result.first_divergence.tensor}: {result.first_divergence.hint}"
    assert all(c.ok for c in result.comparisons), "the correct code returns every lecture tensor"


def test_the_correct_steps_file_is_itself_an_impl_file():
    with Isolated(steps.__file__) as impl:  # as `crosscheck compare --impl` runs it: in a worker process
        assert check_impl(impl, Scenario()).ok


def test_a_bug_that_changes_nothing_is_reported_as_missed(monkeypatch, cli):
    def same_dW(A_prev, dZ, m):
        return (A_prev.T @ dZ) / m

    harmless = Bug("harmless", "a no-op", "dW[l] = A[l-1]ᵀ · dZ[l] / m", "dW2", {"dW": same_dW}, "nothing")
    monkeypatch.setattr(bugs, "BUGS", (harmless,))
    monkeypatch.setattr(bugs, "BY_NAME", {"harmless": harmless})
    code, out, _ = cli("bugs", "--json")
    assert code == 1 and json.loads(out) == [
        {"bug": "harmless", "detected": False, "first_divergence": None, "expected_first": "dW2", "probe": "lecture",
         "hint": None}]
    code, out, _ = cli("bugs")
    assert code == 1 and "✗ harmless: not detected" in out


def test_a_bug_caught_at_another_tensor_fails_the_command(monkeypatch, cli):
    wrong_prediction = Bug("mispredicted", "sign", "dZ[L] = A[L] − Y", "dW2", dict(BUGS[3].mutation), "x")
    monkeypatch.setattr(bugs, "BUGS", (wrong_prediction,))
    monkeypatch.setattr(bugs, "BY_NAME", {"mispredicted": wrong_prediction})
    code, out, _ = cli("bugs")
    assert code == 1 and "first diverges at dZ2, the catalogue predicts dW2" in out


# ---- the command ---------------------------------------------------------------------------------

def test_bugs_json(cli):
    code, out, _ = cli("bugs", "--json")
    assert code == 0
    document = json.loads(out)
    assert isinstance(document, list) and [entry["bug"] for entry in document] == [bug.name for bug in BUGS]
    for entry, bug in zip(document, BUGS):
        assert set(entry) == JSON_KEYS
        assert entry["detected"] is True and entry["first_divergence"] == entry["expected_first"] == bug.expected
        assert isinstance(entry["hint"], str) and entry["hint"]


def test_bugs_table(cli):
    code, out, _ = cli("bugs")
    assert code == 0
    for bug in BUGS:
        assert bug.name in out and bug.breaks in out
    assert "✓ all" in out and "\x1b[" not in out  # no colour when not on a terminal


def test_bugs_selected_by_name_and_shown(cli):
    code, out, _ = cli("bugs", "dA-without-transpose", "--show")
    assert code == 0
    assert "first divergence: dA-without-transpose dA2" in out and "transpose is missing" in out


def test_bugs_list(cli):
    code, out, _ = cli("bugs", "--list")
    assert code == 0
    assert all(bug.name in out for bug in BUGS)


@pytest.mark.parametrize("argv", [["bugs", "no-such-bug"], ["bugs", "--json", "--markdown"]],
                         ids=["unknown-bug", "json-and-markdown"])
def test_bugs_bad_input_is_one_line_and_exit_2(argv, cli):
    code, out, err = cli(*argv)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert out == "" if "--json" not in argv else json.loads(out)["ok"] is False  # --json: one JSON document


# ---- the docs page ------------------------------------------------------------------------------

def test_docs_page_is_current(cli):
    page = ROOT / bugs.DOC_PATH
    assert page.exists(), f"{bugs.DOC_PATH} is missing: crosscheck bugs --markdown > {bugs.DOC_PATH}"
    code, out, _ = cli("bugs", "--markdown")
    assert code == 0 and out == page.read_text(encoding="utf-8"), (
        f"{bugs.DOC_PATH} is out of date with the catalogue or the engine's hints: "
        f"regenerate it with `crosscheck bugs --markdown > {bugs.DOC_PATH}`")


def test_docs_page_shows_every_bug_and_its_code(outcomes):
    page = markdown(list(outcomes.values()))
    for bug in BUGS:
        assert f". {bug.title}\n" in page and bug.breaks in page
        for step, wrong in bug.mutation.items():
            assert bugs.step_source(wrong, step) in page
    assert "return A_prev.T @ dZ / m" in page and "return A_prev.T @ dZ\n" in page


def test_step_source_is_the_code_that_runs():
    assert bugs.step_source(steps.dW) == "def dW(A_prev, dZ, m):\n    return A_prev.T @ dZ / m"
    assert bugs.step_source(catalogue.dW_without_1_over_m, "dW") == "def dW(A_prev, dZ, m):\n    return A_prev.T @ dZ"


def test_overflow_bug_leaks_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = run_bug(bugs.BY_NAME["softmax-without-max-shift"])
    assert outcome.first_divergence == "A2" and "NaN or inf" in outcome.hint


@pytest.mark.parametrize("bug", [bug for bug in BUGS if not bug.trains], ids=[bug.name for bug in BUGS if not bug.trains])
def test_bug_is_still_caught_with_many_rows(bug):
    """The tolerance grows with the terms a sum adds up (30 000 rows); every catalogued mistake is still far outside it.
    (A training loop's mistake is judged by the trajectory policy, on its own run.)"""
    scenario = dataclasses.replace(bug.scenario, batch=30000)
    result = check_impl(bug.backprop(), scenario, probe=bug.probe)
    assert result.first_divergence and result.first_divergence.tensor == bug.expected
