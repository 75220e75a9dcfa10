"""Grades you can defend, 1: no points for nothing.  Submissions that compute nothing — NaN, zeros, zeros of the
transposed shapes, noise, a constant, their inputs echoed back — score 0 on every probe through `crosscheck grade`;
one that computes only its forward pass scores exactly that; the scheme's `inherited` decides what a tensor that is
wrong only because an earlier one is (↳) is worth, and the scores below are worked out by hand."""
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from crosscheck.engine import verdict
from crosscheck.engine.check import reference_traces
from crosscheck.engine.problem import build_problem
from crosscheck.engine.tensors import compare
from crosscheck.reference.trace import Trace

ROOT = Path(__file__).resolve().parents[1]
CORRECT = (ROOT / "examples" / "my_backprop.py").read_text()
PER_PROBE = 1 + 1 + 1 + 2          # the default scheme: forward 1, J 1, dZ/dA 1, dW/db 2 (per unit of probe weight)
WEIGHTS = 2 + 7                    # the probes run: lecture weighs 2, the seven others of the 2-4-3 network 1 each
MAX = (WEIGHTS + 1) * PER_PROBE    # 50: the l2 probe too, which code that takes no λ is not asked


def scored(earned):
    """The score of code without a λ that earns `earned` points on the probes run: the l2 probe, which it cannot be
    asked, earns the same share of its points (crosscheck.classroom.grading.scoring)."""
    return earned * MAX / (WEIGHTS * PER_PROBE)

# every tensor the lecture's backprop returns, in the shapes the lecture gives them (rows: one example per row)
SHAPES = '''
import numpy as np

def shapes(X, params):
    m, L, out = X.shape[0], len(params), {"J": ()}
    for l, (W, b) in enumerate(params, start=1):
        n = W.shape[1]
        out.update({f"Z{l}": (m, n), f"A{l}": (m, n), f"dZ{l}": (m, n), f"dW{l}": W.shape, f"db{l}": b.shape})
        if l < L:
            out[f"dA{l}"] = (m, n)
    return out
'''
NOTHING = {
    "nan": "np.full(s, np.nan)",
    "inf": "np.full(s, np.inf * (-1) ** len(s))",
    "zeros": "np.zeros(s)",
    "transposed-zeros": "np.zeros(s[::-1])",
    "noise": "rng.normal(size=s)",
    "constant": "np.full(s, 0.5)",
}


def nothing(kind):
    return SHAPES + textwrap.dedent(f'''
        def backprop(X, Y, params, activation="relu"):
            rng = np.random.default_rng(7)
            return {{k: {NOTHING[kind]} for k, s in shapes(X, params).items()}}
        ''')


ECHO = SHAPES + '''
def backprop(X, Y, params, activation="relu"):
    """The inputs handed back as if they were the answers: W as dW, b as db, Y as the output layer's tensors."""
    out = {"J": np.float64(0.0)}
    for l, (W, b) in enumerate(params, start=1):
        out[f"dW{l}"], out[f"db{l}"] = W, b
    L = len(params)
    out[f"Z{L}"] = out[f"A{L}"] = out[f"dZ{L}"] = Y
    return out
'''
# the forward pass right, every gradient zero: it earns the forward pass and J, nothing else
FORWARD_ONLY = SHAPES + '''
def backprop(X, Y, params, activation="relu"):
    out, A = {}, X
    for l, (W, b) in enumerate(params, start=1):
        Z = A @ W + b
        if l < len(params):
            A = np.maximum(Z, 0)
        else:
            e = np.exp(Z - Z.max(axis=1, keepdims=True))
            A = e / e.sum(axis=1, keepdims=True)
        out[f"Z{l}"], out[f"A{l}"] = Z, A
    out["J"] = -np.sum(Y * np.log(A)) / X.shape[0]
    for k, s in shapes(X, params).items():
        out.setdefault(k, np.zeros(s))
    return out
'''
SUBMISSIONS = {f"{kind}.py": nothing(kind) for kind in NOTHING}
SUBMISSIONS.update({"echo.py": ECHO, "forward-only.py": FORWARD_ONLY})


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once by the command, its JSON document: {submission: row}."""
    from crosscheck.cli import main
    folder = tmp_path_factory.mktemp("nothing")
    for name, source in SUBMISSIONS.items():
        (folder / name).write_text(source)
    import contextlib
    import io
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["grade", str(folder), "--jobs", "2", "--timeout", "20", "--json"])
    assert code == 1
    return {row["submission"]: row for row in json.loads(stdout.getvalue())["submissions"]}


@pytest.mark.parametrize("name", [*(f"{kind}.py" for kind in NOTHING), "echo.py"])
def test_a_submission_that_computes_nothing_scores_0_on_every_probe(graded, name):
    row = graded[name]
    assert row["status"] == "mismatch" and row["score"] == 0
    earned = [(t["name"], t["score"]) for t in row["tests"] if t["score"]]
    assert earned == [], earned
    assert not any("↳" in t["output"] for t in row["tests"])  # nothing of it is said to be merely inherited


def test_a_submission_that_computes_only_its_forward_pass_scores_only_that(graded):
    row = graded["forward-only.py"]
    by_group = {}
    for t in row["tests"]:
        probe, group = t["name"].split(" · ")[0], t["name"].split(" · ")[1].split(" (")[0]
        if probe != "l2":  # not asked (no λ): scored at the share earned on the others, checked in the total below
            by_group.setdefault(group, []).append((t["score"], t["max_score"]))
    assert all(score == full for score, full in by_group["forward"] + by_group["J"])
    assert all(score == 0 for score, _ in by_group["dZ/dA"] + by_group["dW/db"])
    assert row["score"] == pytest.approx(scored(WEIGHTS * (1 + 1)), abs=1e-3)


# ---- the rule itself, on the engine: what ↳ needs ----------------------------------------------------------

def judged(tensors, problem):
    """{tensor: Comparison} of a candidate's tensors against the reference of the problem."""
    expected = reference_traces(*problem)
    trace = Trace(meta={"framework": "impl"})
    for name, value in tensors.items():
        trace[name] = np.asarray(value)
    return {c.tensor: c for c in compare("impl", trace, *expected, net=problem.net)}


def test_a_genuinely_inherited_tensor_is_still_inherited():
    """dZ2 doubled, the rest computed from it by the lecture's formulas: dZ2 ✗, everything after it ↳."""
    problem = build_problem()
    reference = reference_traces(*problem).reference
    (_, _), (W2, _) = problem.params
    mine = dict(reference.tensors)
    mine["dZ2"] = 2 * reference["dZ2"]
    m = problem.X.shape[0]
    mine["dW2"], mine["db2"] = reference["A1"].T @ mine["dZ2"] / m, mine["dZ2"].sum(axis=0, keepdims=True) / m
    mine["dA1"] = mine["dZ2"] @ W2.T
    mine["dZ1"] = mine["dA1"] * (reference["Z1"] > 0)
    mine["dW1"], mine["db1"] = problem.X.T @ mine["dZ1"] / m, mine["dZ1"].sum(axis=0, keepdims=True) / m
    kinds = {name: verdict.of(c) for name, c in judged(mine, problem).items()}
    assert kinds["dZ2"] == verdict.DIFFERS
    assert {kinds[n] for n in ("dW2", "db2", "dA1", "dZ1", "dW1", "db1")} == {verdict.INHERITED}


@pytest.mark.parametrize("upstream", ["zeros", "constant", "nan", "missing"])
def test_a_tensor_is_not_inherited_from_upstream_tensors_that_are_not_real(upstream):
    """dW2 = A1ᵀ·dZ2/m holds exactly on the candidate's own A1 and dZ2, but those are nothing computed."""
    problem = build_problem()
    reference = reference_traces(*problem).reference
    mine = dict(reference.tensors)
    m = problem.X.shape[0]
    fake = {"zeros": np.zeros_like, "constant": lambda a: np.full_like(a, 0.25), "nan": lambda a: a * np.nan}
    if upstream == "missing":  # its own A1 (wrong) with the reference's dZ2: half of it is not the candidate's —
        for name in ("Z2", "A2", "J", "dZ2"):  # its own dZ2 would follow from its A1, worked out by the formulas
            del mine[name]
        mine["A1"], dZ2 = 2 * reference["A1"], reference["dZ2"]
    else:
        mine["dZ2"] = dZ2 = fake[upstream](reference["dZ2"])
    mine["dW2"] = mine["A1"].T @ dZ2 / m
    assert verdict.of(judged(mine, problem)["dW2"]) == verdict.DIFFERS


def test_a_transposed_tensor_is_inherited_only_when_its_transpose_agrees():
    """Every matrix transposed (a column-layout student run in rows): Z1 is the first divergence with the layout
    hint; a later transposed tensor is ↳ when its transpose is the reference's, ✗ when it is not."""
    problem = build_problem()
    reference = reference_traces(*problem).reference
    mine = {k: (v.T if np.ndim(v) == 2 else v) for k, v in reference.tensors.items()}
    mine["dW1"] = np.zeros_like(mine["dW1"])
    comparisons = judged(mine, problem)
    kinds = {name: verdict.of(c) for name, c in comparisons.items()}
    assert kinds["Z1"] == verdict.DIFFERS and "column layout" in comparisons["Z1"].hint
    assert kinds["dW2"] == kinds["A1"] == verdict.INHERITED
    assert kinds["dW1"] == verdict.DIFFERS and "its transpose is not the reference" in comparisons["dW1"].hint


# ---- the scheme: what an inherited tensor is worth ----------------------------------------------------------

CARL = CORRECT.replace("dZ = A - Y ", "dZ = 2 * (A - Y) ")  # dZ2 doubled; what follows from it is ↳


@pytest.mark.parametrize("inherited, expected", [
    # dZ2 doubled.  The 2-layer probes (weight 8): dZ/dA holds dZ2 ✗, dA1 ↳, dZ1 ↳; dW/db holds dW2, db2, dW1, db1,
    # all ↳.  The deeper probe (weight 1): dZ/dA holds dZ3 ✗ and four ↳; dW/db six ↳.  forward and J always agree.
    ("free", scored(WEIGHTS * PER_PROBE - (8 * 1 / 3 + 1 * 1 / 5))),
    ("half", scored(WEIGHTS * 2 + 8 * (1 * 1 / 3 + 2 * 0.5) + 1 * (1 * 2 / 5 + 2 * 0.5))),
    ("none", scored(WEIGHTS * 2)),
])
def test_the_scheme_says_what_an_inherited_tensor_is_worth(inherited, expected, tmp_path, cli):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "carl.py").write_text(CARL)
    (tmp_path / "scheme.toml").write_text(f'inherited = "{inherited}"\n')
    code, out, _ = cli("grade", tmp_path / "class", "--scheme", tmp_path / "scheme.toml", "--json")
    row = json.loads(out)["submissions"][0]
    assert code == 1 and row["score"] == pytest.approx(expected, abs=1e-3)
    said = {"free": "no points lost for them", "half": "half the points lost for them",
            "none": "this scheme gives no points for them all the same"}[inherited]
    assert any(f"wrong only because of dZ2 — {said}" in t["output"] for t in row["tests"])


def test_an_unknown_inherited_rule_is_one_line_and_exit_2(tmp_path, cli):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "carl.py").write_text(CARL)
    (tmp_path / "scheme.toml").write_text('inherited = "quarter"\n')
    code, out, err = cli("grade", tmp_path / "class", "--scheme", tmp_path / "scheme.toml")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "inherited = 'quarter': choose one of free, half, none" in err
