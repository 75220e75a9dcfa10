"""Coursera DLS code as students really wrote it: both templates of the deep network's grads naming, the
regularization week (L2 and its own-masked dropout), the planar week, the course helpers a folder lacks, a
forward pass that refuses a depth and a backward pass that breaks at three layers — each correct file backed by
central differences of its own cost (tests/course_oracle.py), each buggy one failing where they disagree."""
import json
import shutil
import textwrap

import pytest
import student_files
from course_oracle import dls_gradient_error, load, source_module
from student_files import EXAMPLES, ROOT, write

NEWER, OLDER = (EXAMPLES / "dls_deep_nn.py").read_text(), (EXAMPLES / "dls_deep_nn_2017.py").read_text()
REGULARIZATION = (EXAMPLES / "dls_regularization.py").read_text()


def compare(cli, path, *extra):
    return student_files.compare(cli, path, "--style", "dls", *extra)


def probe_line(out, probe):
    return next(line for line in out.splitlines() if line.startswith("  ") and f" {probe} " in line[:40]
                and line.lstrip()[:1] in "✓✗–")


# ---- the grads naming of both templates -------------------------------------------------------------

@pytest.mark.parametrize("example, words", [
    ("dls_deep_nn.py", 'grads in the 2019+ template\'s naming: grads["dA1"] read as dA1 (dA0 is the gradient of X)'),
    ("dls_deep_nn_2017.py", 'grads in the 2017-18 template\'s naming: grads["dA2"] read as dA1 (grads["dA" + str(l + 1)] '
                            'is dA[l]; grads["dA1"] is the gradient of X)'),
], ids=["2019+", "2017-18"])
def test_both_templates_of_the_deep_network_pass_every_probe_and_say_which_naming_was_read(example, words, cli):
    module = load(EXAMPLES / example)
    assert dls_gradient_error(module, (2, 4, 1)) < 1e-6 and dls_gradient_error(module, (2, 4, 3, 1)) < 1e-6
    code, out, _ = compare(cli, EXAMPLES / example, "--json")
    document = json.loads(out)
    assert code == 0 and document["ok"] and words in document["notes"]
    assert [p["name"] for p in document["probes"] if p["ok"]] == ["lecture", "biases", "he", "non-square", "odd-m",
                                                                   "m1", "seed", "deeper", "l2"]
    deeper = next(p for p in document["probes"] if p["name"] == "deeper")
    compared = {c["tensor"]: c["status"] for c in deeper["comparisons"]}
    assert compared["dA1"] == compared["dA2"] == "ok"  # every dA of the 3-layer net read, under either naming


def test_a_dA_of_Xs_shape_without_a_dAL_key_is_read_as_the_older_naming():
    import numpy as np

    from crosscheck.student.styles.dls import older_naming
    X = np.zeros((2, 7))
    assert older_naming({"dA2": np.zeros((4, 7)), "dA1": X, "dW1": np.zeros((4, 2))}, 2, X)     # dA[L] present
    assert older_naming({"dA1": X, "dW1": np.zeros((4, 2))}, 2, X)                             # dA1 is X's gradient
    assert not older_naming({"dA1": np.zeros((4, 7)), "dA0": X, "dW1": np.zeros((4, 2))}, 2, X)
    assert not older_naming({"dA1": X, "dW1": np.zeros((2, 2))}, 2, X)  # a hidden layer as wide as X: undecided


def test_an_older_naming_file_with_a_real_bug_fails_at_its_tensor_not_at_the_naming(cli, tmp_path):
    source = OLDER.replace('linear_activation_backward(grads["dA" + str(l + 2)], caches[l], "relu", lambd)',
                           'linear_activation_backward(grads["dA" + str(l + 2)], caches[l], "sigmoid", lambd)')
    assert dls_gradient_error(source_module(tmp_path, source), (2, 4, 1)) > 1e-2  # the output's derivative
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "lecture", "--json")
    first = json.loads(out)["first_divergence"]
    assert code == 1 and first["tensor"] == "dW1"
    assert first["hint"].startswith("dW1's dZ1 uses the output layer's derivative σ'(Z1) = A(1 − A): hidden layer 1 "
                                    "is relu")
    assert "shape" not in first["hint"] and "off by one" not in first["hint"]


# ---- deeper: skipped only when the code cannot be asked; a failure after that is a failure ----------

BREAKS_AT_THREE = NEWER.replace(
    'linear_activation_backward(grads["dA" + str(l + 1)], caches[l], "relu", lambd)',
    'linear_activation_backward(grads["dA" + str(L - 1)], caches[l], "relu", lambd)')


def test_a_backward_pass_that_breaks_at_three_layers_fails_deeper_in_every_front_end(cli, tmp_path, pytester,
                                                                                     monkeypatch):
    module = source_module(tmp_path, BREAKS_AT_THREE)
    assert dls_gradient_error(module, (2, 4, 1)) < 1e-6
    with pytest.raises(IndexError):  # its relu_backward, handed the last layer's dA for every layer
        dls_gradient_error(module, (2, 4, 3, 1))
    path = write(tmp_path, BREAKS_AT_THREE, "student/dnn.py")
    code, out, _ = compare(cli, path)
    assert code == 1 and "✗ probe deeper (3 layers, 2-4-3-1): your implementation failed" in out
    assert "your L_model_backward raised IndexError" in probe_line(out, "deeper")

    import crosscheck
    report = crosscheck.check(str(path), style="dls")
    assert not report.ok and report.failed_probe.probe.name == "deeper"

    code, out, _ = cli("grade", str(path), "--style", "dls", "--json")
    row = json.loads(out)["submissions"][0]
    deeper = [t for t in row["tests"] if t["name"].startswith("deeper ·")]
    assert row["first_divergence"] == "probe deeper" and row["score"] == row["max_score"] - sum(
        t["max_score"] for t in deeper)
    assert all(t["score"] == 0 and "your code failed on this probe" in t["output"] for t in deeper)

    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest("-p", "crosscheck.classroom.pytest_plugin", "-p", "no:cacheprovider",
                                "--crosscheck-impl", str(path), "--crosscheck-style", "dls", "-k", "deeper")
    assert "deeper-dW1" in result.stdout.str() and "your L_model_backward raised IndexError" in result.stdout.str()
    assert result.ret == 1


LOOPED_FORWARD = """
    import numpy as np

    def forward_propagation(X, parameters):
        cache, A = {}, X
        for l in (1, 2):                                     # the planar week's two layers, written as a loop
            Z = np.dot(parameters["W" + str(l)], A) + parameters["b" + str(l)]
            A = np.tanh(Z) if l == 1 else 1 / (1 + np.exp(-Z))
            cache["Z" + str(l)], cache["A" + str(l)] = Z, A
        return A, cache

    def compute_cost(A2, Y):
        return float(-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))

    def backward_propagation(parameters, cache, X, Y):
        m = X.shape[1]
        dZ2 = cache["A2"] - Y
        dZ1 = np.dot(parameters["W" + str(2)].T, dZ2) * (1 - cache["A1"] ** 2)
        return {"dW2": np.dot(dZ2, cache["A1"].T) / m, "db2": dZ2.sum(axis=1, keepdims=True) / m,
                "dW1": np.dot(dZ1, X.T) / m, "db1": dZ1.sum(axis=1, keepdims=True) / m}
    """


def test_a_forward_pass_whose_source_does_not_fix_its_depth_is_asked_and_refuses_it(cli, tmp_path):
    source = textwrap.dedent(LOOPED_FORWARD)
    assert dls_gradient_error(source_module(tmp_path, source), (2, 4, 1)) < 1e-6
    path = write(tmp_path, source)
    code, out, _ = compare(cli, path, "--activation", "tanh")
    assert code == 0, out
    assert ("– deeper      not run: forward_propagation cannot be asked for 3 layers: forward_propagation returned AL "
            "of shape (3, 300) for 3 layers' parameters, where the output is (1, 300): it is written for another "
            "depth") in out
    code, out, _ = cli("grade", str(path), "--style", "dls", "--activation", "tanh", "--json")
    row = json.loads(out)["submissions"][0]
    assert row["score"] == row["max_score"] and row["status"] == "ok"  # green there, full marks here


# ---- the regularization week ---------------------------------------------------------------------------

def test_the_regularization_weeks_l2_and_dropout_pass_with_the_functions_each_probe_called(cli):
    module = load(EXAMPLES / "dls_regularization.py")
    assert dls_gradient_error(module, (2, 4, 3, 1), lambd=0.7) < 1e-6
    assert dls_gradient_error(module, (2, 4, 3, 1), keep_prob=0.86) < 1e-6
    code, out, err = compare(cli, EXAMPLES / "dls_regularization.py")
    assert code == 0, err
    assert "✓ all 18 tensors agree with the reference in impl on 8 probes" in out
    assert ("calls on lecture, biases, he, non-square, odd-m, m1, seed: forward_propagation (reg_utils's), "
            "compute_cost (reg_utils's), backward_propagation (reg_utils's)") in out
    assert ("calls on l2: forward_propagation (reg_utils's), compute_cost_with_regularization, "
            "backward_propagation_with_regularization") in out
    assert ("reg_utils is not in the submission's folder or installed: crosscheck's own equivalent was imported "
            "(sigmoid, relu, forward_propagation, compute_cost, backward_propagation, initialize_parameters, "
            "update_parameters, predict_dec, predict, written from their documented behaviour)") in out
    code, out, _ = compare(cli, EXAMPLES / "dls_regularization.py", "--keep-prob", "0.86")
    assert code == 0 and "✓ impl: 18 of 22 tensors provided, all agree on 7 probes" in out
    assert "dropout masks: the ones your forward pass drew (read from its cache); the reference uses them" in out
    assert "calls on every probe: forward_propagation_with_dropout, compute_cost (reg_utils's), " \
           "backward_propagation_with_dropout" in out
    assert "– l2          not run: its dropout functions take no L2 strength" in out


def test_a_dropout_backward_that_forgets_the_mask_fails_at_dA2_with_why(cli, tmp_path):
    source = REGULARIZATION.replace("    dA2 = np.dot(W3.T, dZ3) * D2 / keep_prob", "    dA2 = np.dot(W3.T, dZ3)")
    assert dls_gradient_error(source_module(tmp_path, source), (2, 4, 3, 1), keep_prob=0.86) > 1e-2
    code, out, _ = compare(cli, write(tmp_path, source), "--keep-prob", "0.86", "--probe", "lecture", "--json")
    first = json.loads(out)["first_divergence"]
    assert code == 1 and first["tensor"] == "dA2"
    assert first["hint"].startswith("dA2 = dAdrop2: the dropout mask D2 was not applied on the way back")


def test_keep_prob_needs_the_dropout_functions(cli):
    code, _, err = compare(cli, EXAMPLES / "dls_deep_nn.py", "--keep-prob", "0.8")
    assert code == 2 and ("--keep-prob 0.8: needs code for dropout: forward_propagation_with_dropout(X, parameters, "
                          "keep_prob) and backward_propagation_with_dropout(X, Y, cache, keep_prob) — "
                          "L_model_forward's file has none") in err
    code, _, err = cli("compare", "--frameworks", "none", "--impl", str(EXAMPLES / "dls_deep_nn.py"), "--style", "dls",
                       "--batch-norm")
    assert code == 2 and "the dls style runs --keep-prob only (the regularization week's dropout)" in err


# ---- the planar week -------------------------------------------------------------------------------------

def test_the_planar_week_is_checked_with_its_tanh_and_its_helper(cli):
    assert dls_gradient_error(load(EXAMPLES / "dls_planar.py"), (2, 4, 1)) < 1e-6
    code, out, _ = compare(cli, EXAMPLES / "dls_planar.py")
    assert code == 0 and out.startswith("crosscheck · 2-4-1 tanh sigmoid-bce")
    assert ("planar_utils is not in the submission's folder or installed: crosscheck's own equivalent was imported "
            "(sigmoid") in out


# ---- the course helpers, and where an error is ---------------------------------------------------------------

def test_a_folder_with_the_courses_own_helper_uses_it_and_says_nothing(cli, tmp_path):
    shutil.copy(EXAMPLES / "dls_deep_nn_2017.py", tmp_path / "homework.py")
    shutil.copy(ROOT / "crosscheck" / "student" / "course_helpers" / "dnn_utils.py", tmp_path)  # a dnn_utils of its own
    code, out, _ = compare(cli, tmp_path / "homework.py", "--probe", "lecture")
    assert code == 0 and "dnn_utils is not in the submission's folder" not in out


def test_an_error_raised_in_a_course_helper_shows_the_students_line_and_the_helpers(cli, tmp_path):
    write(tmp_path, """
        import numpy as np

        def relu_backward(dA, cache):
            dZ = np.array(dA, copy=True)
            dZ[cache <= 0] = 0
            return dZ
        """, "dnn_utils.py")
    source = NEWER.replace("        dZ = relu_backward(dA, activation_cache)\n",
                           "        from dnn_utils import relu_backward as course_relu_backward\n"
                           "        dZ = course_relu_backward(dA, linear_cache[0])   # the layer's input, not its Z\n")
    path = write(tmp_path, source, "homework.py")
    line = source.splitlines().index("        dZ = course_relu_backward(dA, linear_cache[0])   # the layer's input, "
                                     "not its Z") + 1
    code, _, err = compare(cli, path, "--probe", "lecture")
    assert code == 2 and f"{path}:{line} → dnn_utils.py:6 in relu_backward: your L_model_backward raised IndexError" in err
