"""The code students actually write: their course's API (--style), their layout, their notebook — checked on
probes like a grader's hidden inputs, never green for a gradient that was not returned, with hints that are
right on real code.  Each file runs through `crosscheck compare --impl` in its worker process."""
import json

import numpy as np
import pytest
from student_files import EXAMPLES, compare, write

from crosscheck.engine.probes import PROBES, make_probes
from crosscheck.engine.problem import Spec
from crosscheck.student.runner import Runner

LECTURE = (EXAMPLES / "my_backprop.py").read_text()


def verdict(out):
    """The verdict's lines: from the ✓ or ✗ line that follows the probe list to the end."""
    lines = out.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith(("✓", "✗")))
    return "\n".join(lines[start:])

def lecture_with_l2(strength, dW, db=None):
    """The lecture's example with an L2 term λ·ΣW² in J under the keyword `strength`, dW and db plus the terms given."""
    source = LECTURE.replace('def backprop(X, Y, params, activation="relu"):',
                             f'def backprop(X, Y, params, activation="relu", {strength}=0.0):')
    source = source.replace('    out["J"] = -np.sum(Y * np.log(A)) / m\n',
                            f'    out["J"] = -np.sum(Y * np.log(A)) / m + {strength} * sum(np.sum(W * W) for W, _ in params)\n')
    source = source.replace('        out[f"dW{l}"] = A_prev.T @ dZ / m\n',
                            f'        out[f"dW{{l}}"] = A_prev.T @ dZ / m + {dW}\n')
    if db:
        source = source.replace('        out[f"db{l}"] = np.sum(dZ, axis=0, keepdims=True) / m\n',
                                f'        out[f"db{{l}}"] = np.sum(dZ, axis=0, keepdims=True) / m + {db}\n')
    return source



# ---- every style and layout end to end: the correct file passes, its wrong twin fails where it should ----

EXAMPLE_PAIRS = {
    "lecture": ("my_backprop.py", "wrong_backprop.py", [], "dW2", "the 1/m is missing"),
    "columns": ("columns_backprop.py", "columns_backprop_wrong.py", ["--layout", "columns"], "db2",
                "summed over the units (axis=0)"),
    "dls": ("dls_deep_nn.py", "dls_deep_nn_wrong.py", ["--style", "dls"], "dW2",
            "dW2 and db2 were not returned — the last layer's gradients are missing"),
    "cs231n FullyConnectedNet": ("cs231n_fc_net.py", "cs231n_fc_net_wrong.py", ["--style", "cs231n"], "db2",
                                 "the bias is regularized"),
    "notebook": ("homework.ipynb", "homework_wrong.ipynb", [], "A2", "probs was changed in place"),
}


@pytest.mark.parametrize("right, wrong, flags, tensor, hint", list(EXAMPLE_PAIRS.values()), ids=list(EXAMPLE_PAIRS))
def test_each_way_in_passes_and_its_wrong_twin_fails_at_the_right_tensor(right, wrong, flags, tensor, hint, cli):
    if right.endswith(".ipynb"):
        pytest.importorskip("nbformat")
    code, out, err = compare(cli, EXAMPLES / right, *flags)
    assert code == 0 and err == "", out + err
    assert verdict(out).startswith("✓")
    code, out, _ = compare(cli, EXAMPLES / wrong, *flags, "--json")
    document = json.loads(out)
    assert code == 1 and document["ok"] is False
    assert document["first_divergence"]["tensor"] == tensor
    assert hint in document["first_divergence"]["hint"]


def test_the_cs231n_two_layer_net_is_checked_without_glue_and_says_it_takes_two_layers(cli):
    code, out, _ = compare(cli, EXAMPLES / "cs231n_fc_net.py", "--style", "cs231n", "--entry", "TwoLayerNet")
    assert code == 0
    assert "deeper      not run: the implementation is written for 2 layers" in out
    assert "✓ impl: 6 of 12 tensors provided, all agree on 8 probes; not provided: Z1 A1 A2 dZ2 dA1 dZ1" in out


def test_the_column_layout_report_shows_shapes_in_the_users_layout(cli):
    code, out, _ = compare(cli, EXAMPLES / "columns_backprop_wrong.py", "--layout", "columns", "--probe", "lecture")
    rows = {line.split()[0]: line for line in out.splitlines() if line[:3] in ("Z1 ", "dW2", "db2")}
    assert "(4, 300)" in rows["Z1"] and "(3, 4)" in rows["dW2"]                 # (n, m) and (n_out, n_in)
    assert "(3, 1)" in rows["db2"] and "shape (1, 300) ✗" in rows["db2"]        # (n_out, 1), and what came back
    assert "✗ first divergence: impl db2 (3, 1)" in out
    assert "np.sum(dZ, axis=1, keepdims=True) / m" in out                        # the column layout's formula


# ---- the three false greens of the issue ----------------------------------------------------------------

def test_a_dls_backward_that_never_returns_the_last_layers_gradients_fails(cli):
    code, out, _ = compare(cli, EXAMPLES / "dls_deep_nn_wrong.py", "--style", "dls", "--probe", "lecture")
    assert code == 1 and "✓" not in verdict(out)
    assert "dW2 (1, 4)" in out and "missing ✗" in out
    assert "dW2 and db2 were not returned — the last layer's gradients are missing" in verdict(out)


def test_a_cs231n_loss_that_regularizes_the_bias_fails_on_the_l2_probe(cli):
    code, out, _ = compare(cli, EXAMPLES / "cs231n_fc_net_wrong.py", "--style", "cs231n", "--json")
    document = json.loads(out)
    by_name = {p["name"]: p for p in document["probes"]}
    assert code == 1 and by_name["lecture"]["ok"] is True and by_name["l2"]["ok"] is False
    assert document["first_divergence"]["probe"] == "l2" and document["first_divergence"]["tensor"] == "db2"
    assert "db2 − the lecture's = 0.1·b2: the bias is regularized" in document["first_divergence"]["hint"]


CS231N_WRAPPER = """
    import numpy as np
    from cs231n_fc_net import TwoLayerNet

    def backprop(X, Y, params, activation="relu"):
        net = TwoLayerNet(X.shape[1], params[0][0].shape[1], Y.shape[1])
        for l, (W, b) in enumerate(params, start=1):
            net.params[f"W{l}"], net.params[f"b{l}"] = W, b.ravel()
        loss, grads = net.loss(X, Y.argmax(axis=1))
        return {"J": loss, **grads}
    """


def test_a_wrapper_returning_the_courses_gradient_names_fails_and_says_how_to_name_them(cli, tmp_path):
    (tmp_path / "cs231n_fc_net.py").write_text((EXAMPLES / "cs231n_fc_net.py").read_text())
    code, out, _ = compare(cli, write(tmp_path, CS231N_WRAPPER), "--probe", "lecture")
    assert code == 1 and "✓" not in verdict(out)
    assert "dW2, db2, dW1 and db1 were not returned — no parameter gradient was returned" in out
    assert "your result has W2, b2, W1, b1: name the gradients dW1, db1, … (or return (loss, grads)" in out


def test_the_same_wrapper_returning_loss_and_grads_passes(cli, tmp_path):
    (tmp_path / "cs231n_fc_net.py").write_text((EXAMPLES / "cs231n_fc_net.py").read_text())
    source = CS231N_WRAPPER.replace('return {"J": loss, **grads}', "return loss, grads")
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "lecture,biases,seed")
    assert code == 0 and "✓ impl: 5 of 12 tensors provided, all agree on 3 probes; not provided: Z1 A1 Z2 A2" in out


# ---- --partial, and what the verdict counts ---------------------------------------------------------

FORWARD_ONLY = """
    import numpy as np

    def backprop(X, Y, params, activation="relu"):
        out, A = {}, X
        for l, (W, b) in enumerate(params, start=1):
            Z = A @ W + b
            A = np.maximum(Z, 0) if l < len(params) else np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
            out[f"Z{l}"], out[f"A{l}"] = Z, A
        return out
    """


def test_a_half_written_implementation_fails_unless_partial(cli, tmp_path):
    path = write(tmp_path, FORWARD_ONLY)
    code, out, _ = compare(cli, path, "--probe", "lecture")
    assert code == 1 and "no parameter gradient was returned" in out and "--partial" in out
    code, out, _ = compare(cli, path, "--probe", "lecture", "--partial")
    assert code == 0
    assert verdict(out) == "✓ impl: 4 of 12 tensors provided, all agree; not provided: J dZ2 dW2 db2 dA1 dZ1 dW1 db1"


# ---- probes ---------------------------------------------------------------------------------------------

def test_every_probe_has_a_stable_name_and_changes_one_thing():
    spec = Spec(layers=(2, 4, 3), batch=300, seed=0, init="lecture")
    probes, skipped = make_probes(spec)
    assert [p.name for p in probes] == list(PROBES) and skipped == {}
    by_name = {p.name: p.problem for p in probes}
    base = by_name["lecture"]
    assert all(np.all(b == 0) for _, b in base.params) and base.X.shape == (300, 2) and base.net.l2 == 0
    assert all(np.all(b != 0) for _, b in by_name["biases"].params)
    assert np.array_equal(by_name["biases"].params[0][0], base.params[0][0])
    assert np.std(by_name["he"].params[0][0]) > 10 * np.std(base.params[0][0])
    sizes = by_name["non-square"].net.sizes
    assert sizes[0] == 2 and sizes[-1] == 3 and len(set(sizes)) == len(sizes) and sizes != base.net.sizes
    assert by_name["odd-m"].X.shape[0] == 7 and by_name["m1"].X.shape[0] == 1
    assert not np.array_equal(by_name["seed"].X, base.X)
    assert by_name["deeper"].net.L == 3
    assert by_name["l2"].net.l2 == 0.1 and all(np.all(b != 0) for _, b in by_name["l2"].params)
    runner = Runner(spec=spec)
    probes, skipped = runner.applicable({"any_depth": False, "l2_name": None}, runner.spec_for(None))
    assert set(skipped) == {"deeper", "l2"} and "written for 2 layers" in skipped["deeper"]


def test_probes_run_as_a_list_with_a_report_per_probe_and_no_argparse():
    from crosscheck.bugs import backprop
    run = Runner(spec=Spec(layers=(2, 4, 3))).run(backprop)
    assert run.ok and [r.probe.name for r in run.results] == list(PROBES)
    assert all(r.outcome.provided == len(r.outcome.comparisons) for r in run.results)
    assert [p["name"] for p in run.as_json()["probes"]] == list(PROBES)


# A mistake each probe shows and the lecture's problem hides: (the line changed, the probe, what it says)
HIDDEN = {
    "biases": ("        Z = A @ W + b\n", "        Z = A @ W\n", "Z1"),
    "he": ("            A = np.maximum(Z, 0)\n", "            A = np.clip(Z, 0, 1)\n", "A1"),
    "non-square": ("        out[f\"dW{l}\"] = A_prev.T @ dZ / m\n",
                   "        out[f\"dW{l}\"] = (A_prev.T @ dZ / m)[:4 if l == 2 else None]   # 4 hidden units, hard-coded\n",
                   "dW2"),
    "non-square, raising": ("        out[f\"db{l}\"] = np.sum(dZ, axis=0, keepdims=True) / m\n",
                            "        out[f\"db{l}\"] = np.sum(dZ, axis=0, keepdims=True).reshape(1, 4 if l == 1 else 3) / m\n",
                            None),
    "odd-m": ("    m, L = X.shape[0], len(params)\n", "    m, L = 300, len(params)\n", "J"),
    "m1": ("    m, L = X.shape[0], len(params)\n", "    m, L = len(np.squeeze(X)), len(params)\n", "J"),
}


@pytest.mark.parametrize("old, new, tensor", list(HIDDEN.values()), ids=list(HIDDEN))
def test_a_mistake_the_lectures_problem_hides_is_shown_by_its_probe(old, new, tensor, cli, tmp_path):
    probe = [name for name, case in HIDDEN.items() if case == (old, new, tensor)][0].split(",")[0]
    assert old in LECTURE
    path = write(tmp_path, LECTURE.replace(old, new))
    code, _, _ = compare(cli, path, "--probe", "lecture")
    assert code == 0  # invisible on the lecture's problem
    if tensor:
        code, out, _ = compare(cli, path, "--probe", probe, "--json")
        document = json.loads(out)
        assert code == 1 and document["probe"] == probe and document["first_divergence"]["tensor"] == tensor
    else:  # the implementation raises on that probe: that probe fails (exit 1), with where and what
        code, out, _ = compare(cli, path)
        line = next(line for line in out.splitlines() if line.startswith(f"  ✗ {probe}"))
        assert code == 1 and "impl.py:" in line and "raised ValueError" in line


def test_an_exception_on_a_later_probe_fails_that_probe_and_the_others_still_run(cli, tmp_path):
    path = write(tmp_path, LECTURE.replace("    m, L = X.shape[0], len(params)\n",
                                           "    m, L = X.shape[0], len(params)\n    assert m > 1, 'one example'\n"))
    code, out, err = compare(cli, path)
    assert code == 1 and err == ""
    assert "✗ m1          m = 1" in out and "impl.py:13: your backprop raised AssertionError: one example" in out
    assert "✓ seed" in out and "✓ deeper" in out
    assert verdict(out).startswith("✗ probe m1 (m = 1): your implementation failed")


def test_an_implementation_written_for_two_layers_is_not_failed_by_the_deeper_probe(cli, tmp_path):
    source = LECTURE.replace("    m, L = X.shape[0], len(params)\n",
                             "    (W1, b1), (W2, b2) = params\n    m, L = X.shape[0], len(params)\n")
    code, out, _ = compare(cli, write(tmp_path, source))
    assert code == 0 and "– deeper" in out and "not run: the implementation is written for 2 layers" in out


def test_probe_name_reproduces_one_and_a_wrong_name_is_exit_2(cli):
    code, out, _ = compare(cli, EXAMPLES / "my_backprop.py", "--probe", "odd-m")
    assert code == 0 and "m = 7" in out.splitlines()[0] and "probes —" not in out
    code, _, err = compare(cli, EXAMPLES / "my_backprop.py", "--probe", "m2")
    assert code == 2 and "--probe: no such probe 'm2'; choose from lecture, biases" in err


def test_the_l2_probe_passes_the_strength_under_the_name_the_function_uses(cli, tmp_path):
    source = lecture_with_l2("lambd", dW="2 * lambd * W")
    code, out, _ = compare(cli, write(tmp_path, source))
    assert code == 0 and "✓ l2" in out and "λ = 0.1 (keras)" in out
    code, out, _ = compare(cli, write(tmp_path, source), "--l2", "0.05", "--probe", "lecture")
    assert code == 0 and "L2 λ=0.05" in out


# ---- the course's own APIs --------------------------------------------------------------------------------

REGULARIZATION_WEEK = """
    import numpy as np

    def relu(x):
        return np.maximum(0, x)

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def forward_propagation(X, parameters):
        W1, b1 = parameters["W1"], parameters["b1"]
        W2, b2 = parameters["W2"], parameters["b2"]
        W3, b3 = parameters["W3"], parameters["b3"]
        Z1 = np.dot(W1, X) + b1
        A1 = relu(Z1)
        Z2 = np.dot(W2, A1) + b2
        A2 = relu(Z2)
        Z3 = np.dot(W3, A2) + b3
        A3 = sigmoid(Z3)
        return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)

    def compute_cost(a3, Y):
        m = Y.shape[1]
        return 1. / m * np.nansum(-np.log(a3) * Y - np.log(1 - a3) * (1 - Y))

    def compute_cost_with_regularization(A3, Y, parameters, lambd):
        m = Y.shape[1]
        W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]
        return compute_cost(A3, Y) + lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))

    def backward_propagation(X, Y, cache):
        return backward_propagation_with_regularization(X, Y, cache, 0.0)

    def backward_propagation_with_regularization(X, Y, cache, lambd):
        m = X.shape[1]
        (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
        dZ3 = A3 - Y
        dW3 = 1. / m * np.dot(dZ3, A2.T) + lambd / m * W3
        db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)
        dA2 = np.dot(W3.T, dZ3)
        dZ2 = np.multiply(dA2, np.int64(A2 > 0))
        dW2 = 1. / m * np.dot(dZ2, A1.T) + lambd / m * W2
        db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)
        dA1 = np.dot(W2.T, dZ2)
        dZ1 = np.multiply(dA1, np.int64(A1 > 0))
        dW1 = 1. / m * np.dot(dZ1, X.T) + lambd / m * W1
        db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)
        return {"dz3": dZ3, "dW3": dW3, "db3": db3, "da2": dA2, "dz2": dZ2, "dW2": dW2, "db2": db2,
                "da1": dA1, "dz1": dZ1, "dW1": dW1, "db1": db1}
    """


def test_the_planar_weeks_tanh_network_is_its_default_and_named_when_relu_is_asked_for(cli, tmp_path):
    path = EXAMPLES / "dls_planar.py"
    code, out, _ = compare(cli, path, "--style", "dls")
    assert code == 0 and "✓ impl: 9 of 12 tensors provided, all agree on 7 probes; not provided: dZ2 dA1 dZ1" in out
    assert out.startswith("crosscheck · 2-4-1 tanh sigmoid-bce")
    assert "hidden activation tanh: forward_propagation uses it (this course week's network; --activation overrides it)" in out
    code, out, _ = compare(cli, path, "--style", "dls", "--activation", "relu", "--probe", "lecture")
    assert code == 1
    assert "A1 = tanh(Z1): your hidden layers use tanh, the network asked for has relu — run with --activation tanh" in out


def test_the_regularization_weeks_three_layer_file_is_checked_as_written(cli, tmp_path):
    code, out, _ = compare(cli, write(tmp_path, REGULARIZATION_WEEK), "--style", "dls")
    assert code == 0, out
    assert out.startswith("crosscheck · 2-4-3-1 relu sigmoid-bce")  # the depth its forward pass reads
    assert "✓ l2" in out and "λ = 0.1 (course)" in out and "– deeper" in out
    assert verdict(out) == "✓ all 18 tensors agree with the reference in impl on 8 probes"  # dz1, da1: dZ1, dA1
    code, _, err = compare(cli, write(tmp_path, REGULARIZATION_WEEK), "--style", "dls", "--layers", "2,4,1")
    assert code == 2 and "forward_propagation is written for 3 layers: give 4 sizes" in err


def test_a_file_in_a_course_style_without_the_flag_is_told_which_style(cli, tmp_path):
    code, _, err = compare(cli, EXAMPLES / "dls_planar.py")
    assert code == 2 and "it looks like Coursera's Deep Learning Specialization: run with --style dls" in err
    code, _, err = compare(cli, EXAMPLES / "cs231n_fc_net.py")
    assert code == 2 and "it looks like a CS231n model: run with --style cs231n" in err
    code, _, err = compare(cli, EXAMPLES / "my_backprop.py", "--style", "dls")
    assert code == 2 and "--style dls needs the course's L_model_forward" in err


# ---- notebooks --------------------------------------------------------------------------------------

def test_a_notebook_stops_at_a_failing_cell_that_defines_what_the_check_calls(cli, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    failing = LECTURE + "\nprint('before')\ny = undefined_name + 1\n"
    cells = [new_markdown_cell("# homework"), new_code_cell("%load_ext autoreload\nimport numpy as np"),
             new_code_cell(failing)]
    path = tmp_path / "hw.ipynb"
    nbformat.write(new_notebook(cells=cells), str(path))
    code, out, err = compare(cli, path)
    line = failing.splitlines().index("y = undefined_name + 1") + 1
    assert code == 2 and "before" in out
    assert (f"{path}, code cell 2, line {line}: code cell 2 raised NameError: name 'undefined_name' is not "
            f"defined") in err


def test_a_notebook_that_is_not_one_is_bad_input(cli, tmp_path):
    pytest.importorskip("nbformat")
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json")
    code, _, err = compare(cli, path)
    assert code == 2 and "not a readable notebook" in err


# ---- hints that are right on real code --------------------------------------------------------------

def test_results_all_in_the_column_layout_say_run_with_layout_columns(cli, tmp_path):
    (tmp_path / "columns_backprop.py").write_text((EXAMPLES / "columns_backprop.py").read_text())
    glue = """
        from columns_backprop import backprop as columns

        def backprop(X, Y, params, activation="relu"):          # the inputs turned, the results not
            return columns(X.T, Y.T, [(W.T, b.T) for W, b in params])
        """
    code, out, _ = compare(cli, write(tmp_path, glue), "--probe", "lecture")
    assert code == 1
    assert ("every 2-D tensor comes back transposed: your code uses the column layout (X as (n0, m)) — run with "
            "--layout columns") in out
    assert "dW = A_prevᵀ·dZ, not" not in out  # never tells the student to change a formula right in their layout


def test_a_matmul_shape_error_on_X_says_which_layout_to_ask_for(cli):
    code, _, err = compare(cli, EXAMPLES / "columns_backprop.py")
    assert code == 2 and "if your code expects X as (n0, m), run with --layout columns" in err
    code, _, err = compare(cli, EXAMPLES / "my_backprop.py", "--layout", "columns")
    assert code == 2 and "if your code expects X as (m, n0), run without --layout columns" in err


def test_an_l2_convention_mismatch_names_the_convention_and_never_float32(cli):
    code, out, _ = compare(cli, EXAMPLES / "cs231n_fc_net.py", "--style", "cs231n", "--l2-convention", "keras",
                           "--probe", "l2", "--json")
    hint = json.loads(out)["first_divergence"]["hint"]
    assert code == 1 and json.loads(out)["first_divergence"]["tensor"] == "J"
    assert "J's L2 term is the weight-decay convention's" in hint and "--l2-convention weight-decay" in hint
    assert "float32" not in hint


def test_a_forgotten_reg_term_is_named_missing_not_float32(cli, tmp_path):
    source = (EXAMPLES / "cs231n_fc_net.py").read_text().replace(
        '            grads["W" + str(i)] += self.reg * W\n', "")
    code, out, _ = compare(cli, write(tmp_path, source), "--style", "cs231n", "--probe", "l2", "--json")
    hint = json.loads(out)["first_divergence"]["hint"]
    assert code == 1 and "the L2 term is missing from dW2 although J has it" in hint and "float32" not in hint


def test_a_summed_loss_with_gradient_ascent_is_split_into_its_factors(cli, tmp_path):
    source = LECTURE.replace('        out[f"dW{l}"] = A_prev.T @ dZ / m\n', '        out[f"dW{l}"] = -(A_prev.T @ dZ)\n')
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "lecture")
    assert code == 1
    assert ("dW2 is −m = -300 × the lecture's (m = 300): the opposite sign (gradient ascent, or Y − A instead of "
            "A − Y) and a summed loss — the 1/m is missing") in out


def test_a_tensor_under_another_lecture_name_is_named(cli, tmp_path):
    source = LECTURE.replace('        out[f"Z{l}"], out[f"A{l}"] = Z, A\n', '        out[f"Z{l}"], out[f"A{l}"] = A, A\n')
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "he")
    assert code == 1 and "your Z1 is the lecture's A1: the names are mixed up" in out


def test_no_hint_says_a_tensor_agrees_that_was_not_returned(cli, tmp_path):
    source = LECTURE.replace('    out["J"] = -np.sum(Y * np.log(A)) / m\n', '    out["J"] = -np.sum(Y * np.log(A))\n')
    source = source.replace("    return out\n",
                            "    return {k: v for k, v in out.items() if k[0] == 'J' or k[:2] in ('dW', 'db')}\n")
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "lecture")
    assert code == 1 and "agree" not in verdict(out)
    assert "J differs (Z2 and A2 were not returned, so the forward pass behind it was not checked)" in out or \
           "J is m = 300" in out or "1/m" in verdict(out)


def test_a_later_failure_with_its_own_cause_is_shown_with_it_not_only_as_downstream(cli, tmp_path):
    source = lecture_with_l2("reg", dW="(2 * reg * W if l == 2 else 0)", db="2 * reg * params[l - 1][1]")
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "l2")
    lines = verdict(out).splitlines()
    assert code == 1 and "J differs" not in out
    assert lines[0].startswith("✗ first divergence: impl db2")
    assert any(line.startswith("  also impl dW1: the L2 term is missing from dW1") for line in lines)
    assert any(line.startswith("  also impl db1:") and "the bias is regularized" in line for line in lines)


def test_an_exception_is_located_in_the_students_module_not_in_the_wrapper(cli, tmp_path):
    write(tmp_path, "import numpy as np\n\ndef layer(A, W):\n    return np.dot(A, W.T)\n", name="student/layers.py")
    wrapper = f"""
        import sys
        sys.path.insert(0, {str(tmp_path / 'student')!r})
        import layers

        def backprop(X, Y, params, activation="relu"):
            return {{"Z1": layers.layer(X, params[0][0])}}
        """
    # --sandbox none: a sandbox shows the wrapper its own folder only, not the student's beside it
    code, _, err = compare(cli, write(tmp_path, wrapper, name="grader/wrapper.py"), "--sandbox", "none")
    assert code == 2 and f"{tmp_path / 'student' / 'layers.py'}:4: your backprop raised ValueError" in err


def test_a_model_inside_the_courses_package_imports_its_layers_relatively(cli, tmp_path):
    source = (EXAMPLES / "cs231n_fc_net.py").read_text()
    layers, model = source.split("class TwoLayerNet(object):", 1)
    write(tmp_path, "", name="cs231n/__init__.py")
    write(tmp_path, "", name="cs231n/classifiers/__init__.py")
    write(tmp_path, layers, name="cs231n/layers.py")
    path = write(tmp_path, "import numpy as np\nfrom ..layers import *\n\n\nclass TwoLayerNet(object):" + model,
                 name="cs231n/classifiers/fc_net.py")
    code, out, _ = compare(cli, path, "--style", "cs231n")
    assert code == 0 and "✓ impl: 6 of 12 tensors provided, all agree on 9 probes" in out


def test_the_style_defaults_are_callable_without_the_command_line():
    spec = Runner("dls").spec_for({"entry": "forward_propagation", "depth": 3})
    assert spec.layers == (2, 4, 3, 1) and spec.loss == "sigmoid-bce" and spec.l2_convention == "course"
    assert Runner("cs231n", Spec(layers=(2, 5, 3))).spec_for(None).l2_convention == "weight-decay"


@pytest.mark.parametrize("factor, words", [(-30, "the opposite sign (gradient ascent, or Y − A instead of A − Y) and a "
                                                  "summed loss — the 1/m is missing"),
                                           (900, "1/m missing twice"), (2, "a stray 2 (or a missing ½)"),
                                           (60, "a summed loss — the 1/m is missing and a stray 2 (or a missing ½)")])
def test_a_factor_is_split_into_sign_powers_of_m_and_a_stray_2(factor, words):
    from crosscheck.engine.check import reference_traces
    from crosscheck.engine.diagnose import diagnose
    from crosscheck.engine.tensors import Comparison
    from crosscheck.reference import Network, Trace, init_params, make_data
    net = Network((2, 4, 3))
    X, Y = make_data(net, batch=30)
    ref, _, scales = reference_traces(net, init_params(net, "he"), X, Y)
    candidate = Trace({**ref.tensors, "dW2": ref["dW2"] * factor}, meta=ref.meta)
    assert diagnose("dW2", candidate, ref, Comparison("x", "dW2", (4, 3)), scales).endswith(words)
