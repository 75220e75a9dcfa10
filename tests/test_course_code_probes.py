"""Probes that see every layer, and hints that are right on the courses' code: no probe of any style has an all-zero
input or a tensor that is identically zero (checked with an oracle of this file's own), name swaps are never read
from zeros, and the mistakes students make — dA ⊙ A for the ReLU mask, a hard-coded m, a squeezed db, a product of
the wrong shapes — are named; a later tensor that only inherits is ↳, and a cause repeated across probes is one
line."""
import json

import numpy as np
import pytest
from course_oracle import lecture_gradient_error, source_module
from student_files import EXAMPLES, compare, write

from crosscheck.engine.probes import make_probes
from crosscheck.engine.problem import Spec
from crosscheck.student import styles
from crosscheck.student.runner import Runner

LECTURE = (EXAMPLES / "my_backprop.py").read_text()
DEEP = (EXAMPLES / "dls_deep_nn.py").read_text()


# ---- an oracle of this file's own: the plain network's tensors (and dropout's), float64, in rows ---------------

def oracle(problem):
    """{name: tensor} of one forward and backward pass, written here from the lecture's formulas."""
    net = problem.net
    X, Y = np.asarray(problem.X, np.float64), np.asarray(problem.Y, np.float64)
    params = [tuple(np.asarray(p, np.float64) for p in layer) for layer in problem.params]
    masks = [np.asarray(D, np.float64) for D in problem.masks] if problem.masks is not None else None
    slope = net.leaky_slope
    g = {"relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
         "leaky_relu": (lambda z: np.where(z > 0, z, slope * z), lambda z: np.where(z > 0, 1.0, slope)),
         "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
         "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
         "identity": (lambda z: z, lambda z: np.ones_like(z))}[net.activation]
    m, L = X.shape[0], len(params)
    t, inputs = {"X": X}, [X]
    for l, (W, b) in enumerate(params, start=1):
        Z = inputs[-1] @ W + b
        t[f"Z{l}"] = Z
        if l < L:
            t[f"A{l}"] = g[0](Z)
            if masks is not None:
                t[f"Adrop{l}"] = t[f"A{l}"] * masks[l - 1] / net.keep_prob
            inputs.append(t.get(f"Adrop{l}", t[f"A{l}"]))
        elif net.loss == "softmax-ce":
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            t[f"A{l}"] = E / E.sum(axis=1, keepdims=True)
        else:
            t[f"A{l}"] = 1 / (1 + np.exp(-Z))
    dZ = t[f"A{L}"] - Y
    for l in range(L, 0, -1):
        t[f"dZ{l}"], t[f"dW{l}"], t[f"db{l}"] = dZ, inputs[l - 1].T @ dZ / m, dZ.sum(axis=0, keepdims=True) / m
        if l > 1:
            dA = dZ @ params[l - 1][0].T
            if masks is not None:
                t[f"dAdrop{l - 1}"], dA = dA, dA * masks[l - 2] / net.keep_prob
            t[f"dA{l - 1}"] = dA
            dZ = dA * g[1](t[f"Z{l - 1}"])
    return t


NETWORKS = [(name, depth, extra) for name, style in styles.STYLES.items() for depth in (None, 3)
            for extra in ({}, {"activation": "tanh"}, {"keep_prob": 0.8})
            if "keep_prob" not in extra or "dropout" in (style.EXTENSIONS or ())]


@pytest.mark.parametrize("style, depth, extra", NETWORKS,
                         ids=[f"{s}-{d or 'own'}-{'-'.join(f'{k}={v}' for k, v in e.items()) or 'plain'}"
                              for s, d, e in NETWORKS])
def test_no_probe_has_an_all_zero_input_or_a_tensor_that_is_identically_zero(style, depth, extra):
    runner = Runner(style, Spec(**extra))
    spec = runner.spec_for({"any_depth": True, "depth": depth, "extensions": ["dropout"]})
    if depth and spec.layers is None:
        spec = spec.replace(layers=(2, 4, 5, 3))
    probes, _ = make_probes(spec)
    assert {p.name for p in probes} >= {"lecture", "biases", "he", "non-square", "odd-m", "m1", "seed", "deeper", "l2"}
    for probe in probes:
        tensors = oracle(probe.problem)
        blind = [name for name, value in tensors.items() if not np.any(value)]
        assert blind == [], f"{probe.name}: identically zero {blind}"
    m1 = next(p for p in probes if p.name == "m1").problem
    assert m1.X.shape[0] == 1 and np.all(m1.X != 0)  # not the spiral's origin


def test_a_mistake_only_a_single_example_shows_is_seen_on_m1_in_layer_1(cli, tmp_path):
    # m = len(np.squeeze(X)): right for m > 1, 2 for a single example of 2 features — seen in J and in layer 1
    source = LECTURE.replace("    m, L = X.shape[0], len(params)\n", "    m, L = len(np.squeeze(X)), len(params)\n")
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "m1", "--json")
    document = json.loads(out)
    statuses = {c["tensor"]: c["status"] for c in document["comparisons"]}
    assert code == 1 and statuses["J"] == "mismatch" and statuses["dW1"] == "mismatch" and statuses["db1"] == "mismatch"


# ---- name swaps are never read from zeros --------------------------------------------------------------------

def test_a_name_swap_hint_never_matches_zeros_with_zeros():
    from crosscheck.engine.check import reference_traces
    from crosscheck.engine.diagnose import diagnose
    from crosscheck.engine.tensors import Comparison
    from crosscheck.reference import Network, Trace, init_params
    net = Network((2, 4, 3))
    params = init_params(net, "lecture")
    X, Y = np.zeros((1, 2)), np.eye(3)[[1]]            # the old m1 probe: the spiral's origin, zero biases
    reference = reference_traces(net, params, X, Y).reference
    assert not np.any(reference["Z1"]) and not np.any(reference["dW1"])
    zeros = Trace({**reference.tensors, "dA1": np.zeros((1, 2))}, meta=reference.meta)   # X's shape, all zero
    hint = diagnose("dA1", zeros, reference, Comparison("impl", "dA1", (1, 4), got_shape=(1, 2)))
    assert "X" not in hint and "mixed up" not in hint
    swapped = Trace({**reference.tensors, "db1": np.zeros((1, 4))}, meta=reference.meta)
    hint = diagnose("db1", swapped, reference, Comparison("impl", "db1", (1, 4)))
    assert "is the lecture's" not in hint and "off by one" not in hint


# ---- hints ---------------------------------------------------------------------------------------------------

def test_dA_times_A_in_place_of_the_relu_mask_is_named(cli, tmp_path):
    source = LECTURE.replace('dZ = dA * (out[f"Z{l - 1}"] > 0)', 'dZ = dA * out[f"A{l - 1}"]')
    assert lecture_gradient_error(source_module(tmp_path, source).backprop, (2, 4, 3)) > 1e-2
    code, out, _ = compare(cli, write(tmp_path, source), "--probe", "he", "--json")
    first = json.loads(out)["first_divergence"]
    assert code == 1 and first["tensor"] == "dZ1"
    assert first["hint"] == ("dZ1 = dA1 ⊙ A1: the ReLU's derivative is the mask 1[Z1 > 0], not A1 — dZ = dA ⊙ (Z > 0)")


def test_hidden_layers_started_from_the_outputs_dAL_are_named(cli, tmp_path):
    source = DEEP.replace('linear_activation_backward(grads["dA" + str(l + 1)], caches[l], "relu", lambd)',
                          'linear_activation_backward(dAL, caches[l], "sigmoid", lambd)')
    from course_oracle import dls_gradient_error
    assert dls_gradient_error(source_module(tmp_path, source), (2, 4, 1)) > 1e-2
    code, out, _ = compare(cli, write(tmp_path, source), "--style", "dls", "--probe", "lecture", "--json")
    first = json.loads(out)["first_divergence"]
    assert code == 1 and first["tensor"] == "dW1"
    assert first["hint"] == ("dW1's dZ1 = dAL ⊙ σ'(Z1): layer 1's backward pass starts from the output's dAL = ∂J/∂A2 "
                             "and the output's derivative — it takes dA1 = dZ2·W2ᵀ, the layer above's dA_prev")


def test_a_hard_coded_m_is_named_on_the_probe_whose_m_differs_and_grouped_across_probes(cli, tmp_path):
    source = LECTURE.replace("    m, L = X.shape[0], len(params)\n", "    m, L = 300, len(params)\n")
    code, out, _ = compare(cli, write(tmp_path, source))
    assert code == 1
    assert "J is m/300 = 7/300 × the lecture's: m is hard-coded as 300 (this probe has m = 7) — take it from the data: " \
           "m = X.shape[0]" in out
    grouped = [line for line in out.splitlines() if line.startswith("  ✗ ")]
    assert len(grouped) == 1 and grouped[0].startswith("  ✗ odd-m, m1   ")  # one cause, one line, both probes
    assert "✓ lecture" in out and "✓ deeper" in out


def test_a_squeezed_db_is_named_in_the_courses_shapes(cli, tmp_path):
    source = DEEP.replace("    db = np.sum(dZ, axis=1, keepdims=True) / m\n", "    db = np.squeeze(np.sum(dZ, axis=1)) / m\n")
    code, out, _ = compare(cli, write(tmp_path, source), "--style", "dls", "--probe", "lecture", "--json")
    document = json.loads(out)
    hints = {c["tensor"]: c["hint"] for c in document["comparisons"] if c["hint"]}
    assert code == 1 and document["first_divergence"]["tensor"] == "db2"
    assert hints["db2"] == "db2 was squeezed to shape (): keep shape (1, 1) — np.sum(dZ, axis=1, keepdims=True) / m"
    assert hints["db1"] == ("db1 was squeezed to shape (4,): keep shape (4, 1) — np.sum(dZ, axis=1, keepdims=True) / m "
                            "(b (4, 1) minus a db (4,) broadcasts to (4, 4))")


def test_a_shape_error_is_named_in_the_lectures_tensors(cli, tmp_path):
    source = LECTURE.replace("            dA = dZ @ W.T\n", "            dA = np.dot(dZ, W)\n")
    code, _, err = compare(cli, write(tmp_path, source))
    assert code == 2
    assert err.rstrip().endswith("shapes (300,3) and (4,3) not aligned: 3 (dim 1) != 4 (dim 0) — (300, 3) · (4, 3) "
                                 "reads as dZ2 · W2: the lecture's dA1 = dZ2 · W2ᵀ, (300, 3) · (3, 4)")
    assert "--layout columns" not in err  # the shapes are the row layout's own: no other-layout guess


def test_shape_hints_in_the_column_layout():
    from crosscheck.engine.diagnose import shape_error_hint
    from crosscheck.engine.problem import build_problem
    problem = build_problem(Spec(layers=(2, 4, 1), loss="sigmoid-bce"))
    assert shape_error_hint("shapes (1,300) and (1,4) not aligned: 300 (dim 1) != 1 (dim 0)", problem, "columns") == (
        "(1, 300) · (1, 4) reads as dZ2 · W2: the lecture's dA1 = W2ᵀ · dZ2, (4, 1) · (1, 300)")
    assert shape_error_hint("operands could not be broadcast together with shapes (4,300) (1,300)", problem,
                            "columns") == ("(4, 300) is the lecture's Z1, A1, dZ1, dA1; (1, 300) is the lecture's Y, "
                                           "Z2, A2, dZ2 (m = 300)")


def test_later_tensors_that_only_inherit_are_marked_so_not_given_causes_of_their_own(cli):
    code, out, _ = compare(cli, EXAMPLES / "dls_planar.py", "--style", "dls", "--activation", "relu", "--probe",
                           "lecture", "--json")
    document = json.loads(out)
    comparisons = {c["tensor"]: c for c in document["comparisons"]}
    assert code == 1 and document["first_divergence"]["tensor"] == "A1"
    assert all(comparisons[n]["status"] == "mismatch" and comparisons[n]["hint"] is None
               for n in ("Z2", "A2", "J", "dW2", "db2"))    # ↳: they follow from A1 by the lecture's formulas
    assert "float32" not in out
    assert comparisons["dW1"]["hint"].startswith("dW1's dZ1 uses tanh's derivative: the hidden layers are relu")
