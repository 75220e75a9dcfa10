"""Conventions read from the code and the tool's own calls: CS231n's two L2 conventions, DLS's, a J that
regularizes the biases; params a dict for code that reads it by name, no activation= where the signature has
none, a constructor that names its sizes its own way, and a call of ours that cannot fit worded as ours.  Every
correct file is first checked against central differences of its own loss (tests/course_oracle.py)."""
import json
import textwrap

import numpy as np
import pytest
from course_oracle import cs231n_gradient_error, lecture_gradient_error, load, source_module
from student_files import EXAMPLES, compare, write

TWO_LAYER = (EXAMPLES / "cs231n_two_layer_net.py").read_text()
DEEP = (EXAMPLES / "dls_deep_nn.py").read_text()


def first(out):
    return json.loads(out)["first_divergence"]


# ---- the L2 convention the code's own J and dW agree on --------------------------------------------------

def test_cs231n_two_layer_net_of_2017_2020_is_checked_in_its_own_convention_and_says_so(cli):
    assert cs231n_gradient_error(load(EXAMPLES / "cs231n_two_layer_net.py").TwoLayerNet, (2, 5, 3), reg=0.1) < 1e-6
    code, out, _ = compare(cli, EXAMPLES / "cs231n_two_layer_net.py", "--style", "cs231n")
    assert code == 0 and "✓ l2          λ = 0.1 (keras: your code's), He weights, non-zero biases" in out
    assert "L2 convention keras, read from your code's J and dW (none was asked for; weight-decay is this style's own)" in out
    code, out, _ = compare(cli, EXAMPLES / "cs231n_fc_net.py", "--style", "cs231n")   # assignment 2's: ½·reg·ΣW²
    assert code == 0 and "λ = 0.1 (weight-decay), He weights" in out and "read from your code" not in out


def test_the_course_files_imports_of_python_future_are_stood_in_for(cli, tmp_path):
    source = "from builtins import range\nfrom past.builtins import xrange\n" + TWO_LAYER   # as 2017-2020 wrote it
    code, out, _ = compare(cli, write(tmp_path, source), "--style", "cs231n", "--probe", "lecture")
    assert code == 0, out
    assert ("past is not in the submission's folder or installed: crosscheck's own equivalent was imported "
            "(builtins.xrange, written from their documented behaviour)") in out


@pytest.mark.parametrize("module, ours", [("dnn_utils_v2", "dnn_utils"), ("testCases_v4a", "test_cases"),
                                          ("public_tests", "test_cases"), ("reg_utils", "reg_utils"),
                                          ("numpy_utils", None), ("testCases_extra", None)])
def test_every_version_of_a_course_helper_has_its_stand_in(module, ours):
    from crosscheck.student.worker import helper_file
    assert helper_file(module) == ours


def test_a_convention_given_is_enforced(cli):
    code, out, _ = compare(cli, EXAMPLES / "cs231n_two_layer_net.py", "--style", "cs231n", "--l2-convention",
                           "weight-decay", "--probe", "l2", "--json")
    assert code == 1 and first(out)["tensor"] == "J"
    assert "J's L2 term is the keras convention's" in first(out)["hint"] and "--l2-convention keras" in first(out)["hint"]


KERAS_DLS = DEEP.replace("    return compute_cost(AL, Y) + lambd / (2 * m) * squares",
                         "    return compute_cost(AL, Y) + lambd * squares").replace(
                         "    dW = np.dot(dZ, A_prev.T) / m + lambd / m * W", "    dW = np.dot(dZ, A_prev.T) / m + 2 * lambd * W")


def test_dls_code_in_another_known_convention_is_read_when_none_is_given_and_failed_when_one_is(cli, tmp_path):
    module = source_module(tmp_path, KERAS_DLS)
    X = np.ones((2, 3))
    parameters = {"W1": np.full((4, 2), 0.5), "b1": np.zeros((4, 1)), "W2": np.full((1, 4), 0.5), "b2": np.zeros((1, 1))}
    AL, _ = module.L_model_forward(X, parameters)
    squares = 4 * 2 * 0.25 + 4 * 0.25
    assert module.compute_cost_with_regularization(AL, np.ones((1, 3)), parameters, 0.1) == pytest.approx(
        float(module.compute_cost(AL, np.ones((1, 3)))) + 0.1 * squares)   # λ·ΣW²: keras's
    path = write(tmp_path, KERAS_DLS)
    code, out, _ = compare(cli, path, "--style", "dls", "--probe", "l2")
    assert code == 0 and "L2 convention keras, read from your code's J and dW (none was asked for; course is this " \
                         "style's own)" in out
    code, out, _ = compare(cli, path, "--style", "dls", "--probe", "l2", "--l2-convention", "course", "--json")
    assert code == 1 and "the keras convention" in first(out)["hint"]


def test_a_J_and_dW_that_disagree_are_not_read_as_a_convention(cli, tmp_path):
    source = TWO_LAYER.replace('"W2": hidden.T.dot(dscores) + 2 * reg * W2', '"W2": hidden.T.dot(dscores) + reg * W2')
    source = source.replace('grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1', 'grads["W1"] = X.T.dot(dhidden) + reg * W1')
    assert cs231n_gradient_error(source_module(tmp_path, source).TwoLayerNet, (2, 5, 3), reg=0.1) > 1e-2
    code, out, _ = compare(cli, write(tmp_path, source), "--style", "cs231n", "--probe", "l2", "--json")
    document = json.loads(out)
    assert code == 1 and "read from your code" not in json.dumps(document["notes"])
    assert first(out)["tensor"] == "J" and first(out)["hint"] == (
        "J's L2 term is the keras convention's (λ·Σ‖W‖² in J, 2λ·W in dW), but dW carries 0.1·W (weight-decay): dW "
        "must carry the derivative of J's term, 0.2·W — J and dW disagree")


def test_a_J_whose_l2_term_includes_the_biases_is_told_so(cli, tmp_path):
    source = TWO_LAYER.replace("reg * (np.sum(W1 * W1) + np.sum(W2 * W2))",
                               "reg * sum(np.sum(np.vstack([W, b]) ** 2) for W, b in ((W1, b1), (W2, b2)))")
    module = source_module(tmp_path, source)
    rng = np.random.default_rng(0)
    net = module.TwoLayerNet(2, 5, 3)
    net.params.update(W1=rng.standard_normal((2, 5)), b1=rng.standard_normal(5), W2=rng.standard_normal((5, 3)),
                      b2=rng.standard_normal(3))
    X, y = rng.standard_normal((4, 2)), np.array([0, 1, 2, 1])
    weights_only = load(EXAMPLES / "cs231n_two_layer_net.py").TwoLayerNet(2, 5, 3)
    weights_only.params.update(net.params)
    extra = net.loss(X, y, reg=0.1)[0] - weights_only.loss(X, y, reg=0.1)[0]
    assert extra == pytest.approx(0.1 * (np.sum(net.params["b1"] ** 2) + np.sum(net.params["b2"] ** 2)))  # λ·Σ‖b‖²
    code, out, _ = compare(cli, write(tmp_path, source), "--style", "cs231n", "--probe", "l2", "--json")
    assert code == 1 and first(out)["tensor"] == "J"
    assert first(out)["hint"].startswith("J − the lecture's = 0.1·Σ‖b‖²: the L2 term includes the biases — it sums "
                                         "the weights only")


# ---- our calls fit the code, or say they are ours ---------------------------------------------------------

BY_NAME = """
    import numpy as np

    def backprop(X, Y, params):                      # a tutorial's: parameters in a dict, no activation argument
        m, L = X.shape[0], len(params) // 2
        A, cache = X, {"A0": X}
        for l in range(1, L + 1):
            Z = A @ params["W" + str(l)] + params["b" + str(l)]
            A = np.maximum(Z, 0) if l < L else np.exp(Z - Z.max(axis=1, keepdims=True))
            cache["Z" + str(l)], cache["A" + str(l)] = Z, A
        A = A / A.sum(axis=1, keepdims=True)
        grads, dZ = {}, A - Y
        for l in range(L, 0, -1):
            grads["dW" + str(l)] = cache["A" + str(l - 1)].T @ dZ / m
            grads["db" + str(l)] = dZ.sum(axis=0, keepdims=True) / m
            if l > 1:
                dZ = (dZ @ params["W" + str(l)].T) * (cache["Z" + str(l - 1)] > 0)
        return grads
    """


def test_code_that_reads_params_by_name_gets_a_dict_and_no_activation_keyword(cli, tmp_path):
    source = textwrap.dedent(BY_NAME)
    module = source_module(tmp_path, source)
    assert lecture_gradient_error(module.backprop, (2, 4, 3), by_name=True) < 1e-6
    assert lecture_gradient_error(module.backprop, (2, 4, 5, 3), by_name=True) < 1e-6
    code, out, _ = compare(cli, write(tmp_path, source))
    assert code == 0 and "✓ deeper" in out
    assert 'backprop reads its parameters by name: it was given a dict (params["W1"], …)' in out


def test_the_lectures_list_of_pairs_also_answers_by_name():
    from crosscheck.student.styles.common import Pairs
    W1, b1 = np.ones((2, 4)), np.zeros((1, 4))
    params = Pairs([(W1, b1)], {"W1": W1, "b1": b1})
    (W, b), = params
    assert W is W1 and params[0][1] is b1 and params["W1"] is W1 and len(params) == 1 and set(params.keys()) == {"W1", "b1"}


def test_a_fourth_argument_under_another_name_is_given_the_activation(cli, tmp_path):
    source = (EXAMPLES / "my_backprop.py").read_text().replace('def backprop(X, Y, params, activation="relu"):',
                                                               "def backprop(X, Y, params, g):\n    assert g == 'relu', g")
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "lecture")
    assert code == 0, out


RENAMED = TWO_LAYER.replace("class TwoLayerNet(object):", "class TwoLayerNN(object):").replace(
    "def __init__(self, input_size, hidden_size, output_size, std=1e-4):",
    "def __init__(self, inputsize, hiddensize, numclasses, std=1e-4):").replace(
    '"W1": std * np.random.randn(input_size, hidden_size), "b1": np.zeros(hidden_size),',
    '"W1": std * np.random.randn(inputsize, hiddensize), "b1": np.zeros(hiddensize),').replace(
    '"W2": std * np.random.randn(hidden_size, output_size), "b2": np.zeros(output_size)}',
    '"W2": std * np.random.randn(hiddensize, numclasses), "b2": np.zeros(numclasses)}')


@pytest.mark.parametrize("names", [("inputsize", "hiddensize", "numclasses"), ("a", "b", "c")], ids=["own-names", "positional"])
def test_a_constructor_that_names_its_sizes_its_own_way_is_called_with_them(names, cli, tmp_path):
    source = RENAMED
    for old, new in zip(("inputsize", "hiddensize", "numclasses"), names):
        source = source.replace(old, new)
    assert cs231n_gradient_error(source_module(tmp_path, source).TwoLayerNN, (2, 5, 3), reg=0.1) < 1e-6
    code, out, _ = compare(cli, write(tmp_path, source), "--style", "cs231n")
    assert code == 0 and "✓ impl: 6 of 12 tensors provided, all agree on 8 probes" in out


def test_a_call_of_ours_that_cannot_fit_is_worded_as_ours(cli, tmp_path):
    source = RENAMED.replace("def __init__(self, inputsize, hiddensize, numclasses, std=1e-4):",
                             "def __init__(self, inputsize, hiddensize, numclasses, std, seed):")
    code, _, err = compare(cli, write(tmp_path, source), "--style", "cs231n")
    assert code == 2
    assert ("crosscheck could not call your TwoLayerNN(inputsize, hiddensize, numclasses, std, seed) with (int, int, "
            "int): TwoLayerNN.__init__() missing 2 required positional arguments: 'std' and 'seed' — our call, not a "
            "mistake in your code") in err
    assert "your TwoLayerNN raised" not in err
