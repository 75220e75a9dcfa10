"""The classic-bug catalogue: the mistakes students make in this lecture's backward pass, as data.

A correct, student-style implementation of the N-layer network is written below as a loop over a small
table of steps (STEPS: one function per line of the lecture).  Each catalogued mistake replaces one or
two entries of that table and nothing else, so every bug is a one-line mutation of a correct program,
run through the same engine as `crosscheck --impl`.

    backprop(X, Y, params, activation="relu", loss="softmax-ce")   the correct implementation
    make_backprop(bug.mutation)                                     the same code with the bug's steps
    run_bug(bug) -> Outcome                                         detected? where? with which hint?

This file imports only NumPy at the top, so it is itself a valid --impl file:
`crosscheck --impl crosscheck/bugs.py` checks the correct implementation.

Legend:  m  examples (rows)    L  layers    l  a layer, 1..L as in the lecture    n[l]  units of layer l
"""
import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np


# ==== the correct implementation, one step per lecture line ======================================
# Shapes: A_prev (m, n[l-1]), W (n[l-1], n[l]), b (1, n[l]), Z, A, dZ, dA (m, n[l]), Y (m, n[L]).

def affine(A_prev, W, b):
    """Z[l] = A[l-1] W[l] + b[l]"""
    return A_prev @ W + b


def relu(Z):
    return np.maximum(Z, 0)


def leaky_relu(Z):
    return np.where(Z > 0, Z, 0.01 * Z)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def tanh(Z):
    return np.tanh(Z)


def identity(Z):
    return Z


def softmax(Z):
    """A[L] = softmax(Z[L]), shifted by the row max so that exp never overflows"""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def cost_softmax_ce(Z, Y):
    """J = −(1/m) Σ Y log softmax(Z), from the logits: log softmax = Z − max − log Σ e^(Z − max)"""
    Z = Z - Z.max(axis=1, keepdims=True)
    return -np.sum(Y * (Z - np.log(np.exp(Z).sum(axis=1, keepdims=True)))) / Z.shape[0]


def cost_sigmoid_bce(Z, Y):
    """J = −(1/m) Σ [Y log A + (1 − Y) log(1 − A)], written on the logits: (1/m) Σ log(1 + e^Z) − Y Z"""
    return np.sum(np.logaddexp(0, Z) - Y * Z) / Z.shape[0]


def cost_mse(Z, Y):
    """J = (1/2m) Σ ‖Z − Y‖²"""
    return np.sum((Z - Y) ** 2) / (2 * Z.shape[0])


def dZ_output(A, Y):
    """dZ[L] = A[L] − Y"""
    return A - Y


def dW(A_prev, dZ, m):
    """dW[l] = A[l-1]ᵀ · dZ[l] / m"""
    return A_prev.T @ dZ / m


def db(dZ, m):
    """db[l] = np.sum(dZ[l], axis=0, keepdims=True) / m"""
    return np.sum(dZ, axis=0, keepdims=True) / m


def dA_prev(dZ, W):
    """dA[l-1] = dZ[l] · W[l]ᵀ"""
    return dZ @ W.T


def relu_backward(dA, Z, A):
    """dZ = dA; dZ[Z <= 0] = 0"""
    return dA * (Z > 0)


def leaky_relu_backward(dA, Z, A):
    return np.where(Z > 0, dA, 0.01 * dA)


def sigmoid_backward(dA, Z, A):
    """dZ = dA ⊙ A(1 − A)"""
    return dA * A * (1 - A)


def tanh_backward(dA, Z, A):
    """dZ = dA ⊙ (1 − A²)"""
    return dA * (1 - A ** 2)


def identity_backward(dA, Z, A):
    return dA


def backward_layers(L):
    """the backward loop visits l = L, L−1, …, 1 (the lecture counts layers from 1)"""
    return range(L, 0, -1)


def layer_below(l):
    """dZ[l-1] = dA[l-1] ⊙ g'(Z[l-1]): the derivative reads the layer below l"""
    return l - 1


STEPS = {f.__name__: f for f in (
    affine, relu, leaky_relu, sigmoid, tanh, identity, softmax, cost_softmax_ce, cost_sigmoid_bce, cost_mse,
    dZ_output, dW, db, dA_prev, relu_backward, leaky_relu_backward, sigmoid_backward, tanh_backward,
    identity_backward, backward_layers, layer_below)}

# loss -> (output activation, cost)
OUTPUTS = {"softmax-ce": ("softmax", "cost_softmax_ce"), "sigmoid-bce": ("sigmoid", "cost_sigmoid_bce"),
           "mse": ("identity", "cost_mse")}


def make_backprop(mutation=None):
    """backprop(X, Y, params, activation, loss) in the --impl interface, with some steps replaced.

    mutation  {step name: function} — the entries of STEPS a bug replaces; None or {} is the correct code
    """
    unknown = set(mutation or {}) - set(STEPS)
    if unknown:
        raise KeyError(f"no such step: {', '.join(sorted(unknown))}")
    s = SimpleNamespace(**{**STEPS, **(mutation or {})})

    def backprop(X, Y, params, activation="relu", loss="softmax-ce"):
        m, L = X.shape[0], len(params)
        g, g_backward = getattr(s, activation), getattr(s, f"{activation}_backward")
        output, cost = (getattr(s, name) for name in OUTPUTS[loss])
        Ws = [None] + [W for W, _ in params]  # 1-based, like the lecture: Ws[l] is W[l]
        bs = [None] + [b for _, b in params]
        Zs, As = [None], [X]                  # As[0] is X = A0
        out = {}
        for l in range(1, L + 1):
            Zs.append(s.affine(As[l - 1], Ws[l], bs[l]))
            As.append(output(Zs[l]) if l == L else g(Zs[l]))
            out[f"Z{l}"], out[f"A{l}"] = Zs[l], As[l]
        out["J"] = cost(Zs[L], Y)
        dZ = s.dZ_output(As[L], Y)
        for l in s.backward_layers(L):
            out[f"dZ{l}"] = dZ
            out[f"dW{l}"] = s.dW(As[l - 1], dZ, m)
            out[f"db{l}"] = s.db(dZ, m)
            if l > 1:
                dA = out[f"dA{l - 1}"] = s.dA_prev(dZ, Ws[l])
                k = s.layer_below(l)
                dZ = g_backward(dA, Zs[k], As[k])
        return out

    return backprop


backprop = make_backprop()


# ==== the mistakes: each one replaces a step above ================================================

def dW_without_1_over_m(A_prev, dZ, m):
    return A_prev.T @ dZ


def db_without_1_over_m(dZ, m):
    return np.sum(dZ, axis=0, keepdims=True)


def dZ_output_with_1_over_m(A, Y):
    return (A - Y) / Y.shape[0]


def dZ_output_sign_flipped(A, Y):
    return Y - A


def db_without_sum(dZ, m):
    return dZ / m


def db_without_keepdims(dZ, m):
    return np.sum(dZ, axis=0) / m


def db_summed_over_units(dZ, m):
    return np.sum(dZ, axis=1, keepdims=True) / m


def dW_transposed(A_prev, dZ, m):
    return dZ.T @ A_prev / m


def dA_prev_without_transpose(dZ, W):
    return dZ @ W


def relu_backward_without_mask(dA, Z, A):
    return dA


def relu_backward_mask_from_dA(dA, Z, A):
    return dA * (dA > 0)


def layer_below_off_by_one(l):
    return l


def backward_layers_zero_based(L):
    return reversed(range(L))


def sigmoid_backward_on_Z(dA, Z, A):
    return dA * Z * (1 - Z)


def tanh_backward_on_Z(dA, Z, A):
    return dA * (1 - Z ** 2)


def tanh_backward_forgotten(dA, Z, A):
    return dA


def softmax_without_shift(Z):
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def softmax_over_the_batch(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def dZ_output_times_sigmoid_derivative(A, Y):
    return (A - Y) * A * (1 - A)


# ==== the catalogue ===============================================================================

@dataclass(frozen=True)
class Scenario:
    """The network, parameters and data a bug needs in order to show.

    init          reference.init scheme; weight_scale multiplies every W afterwards (large logits)
    data          the data reference.make_data gives (the spiral when n[0] = 2)
    """

    layers: tuple = (2, 4, 3)
    activation: str = "relu"
    loss: str = "softmax-ce"
    init: str = "lecture"
    weight_scale: float = 1.0
    batch: int = 300
    seed: int = 0
    dtype: str = "float64"

    def describe(self):
        text = f"{'-'.join(map(str, self.layers))} {self.activation} {self.loss}, {self.init} init"
        if self.weight_scale != 1:
            text += f" × {self.weight_scale:g}"
        text += f", m = {self.batch}, seed {self.seed}"
        return text if self.dtype == "float64" else f"{text}, {self.dtype}"

    def build(self):
        """(net, params, X, Y) for reference.backprop and crosscheck.check.run_check."""
        from reference import Network, init_params, make_data
        net = Network(tuple(self.layers), activation=self.activation, loss=self.loss)
        params = [((W * self.weight_scale).astype(self.dtype), b.astype(self.dtype))
                  for W, b in init_params(net, self.init, self.seed)]
        X, Y = make_data(net, self.batch, self.seed, self.dtype)
        return net, params, X, Y


@dataclass(frozen=True)
class Bug:
    """One classic mistake: what it is, the lecture line it breaks, where it shows, and the mutation."""

    name: str              # an identifier: the CLI, the JSON and the test ids use it
    title: str             # one line a student recognises
    breaks: str            # the lecture's line that the mistake breaks
    expected: str          # the tensor where it first shows (the first divergence the engine must report)
    mutation: dict         # {step name: replacement} applied to STEPS
    why: str               # why it is wrong, for the docs page
    scenario: Scenario = field(default_factory=Scenario)
    hint_says: str = None  # a phrase the engine's hint must contain, where crosscheck.diagnose names the cause

    def backprop(self):
        return make_backprop(self.mutation)


BUGS = (
    Bug("dW-without-1-over-m", "forgetting 1/m in dW",
        "dW[l] = A[l-1]ᵀ · dZ[l] / m", "dW2", {"dW": dW_without_1_over_m},
        "The lecture asks \"But why are we dividing by m?\": dW is the gradient of the mean loss J, the update "
        "is W ← W − α (1/m) Σ ∂L_i/∂W. Without the 1/m, dW is m times too large, and the learning rate that "
        "worked for m = 300 blows up for m = 30 000.",
        hint_says="1/m is missing"),
    Bug("db-without-1-over-m", "forgetting 1/m in db",
        "db[l] = np.sum(dZ[l], axis=0, keepdims=True) / m", "db2", {"db": db_without_1_over_m},
        "db is a gradient of the mean loss J, like dW: the sum over the batch must be divided by m. "
        "dW2 comes before db2 and is right, so the first divergence points straight at db.",
        hint_says="1/m is missing"),
    Bug("dZ-with-1-over-m", "dividing dZ by m as well (the autodiff convention)",
        "dZ[L] = A[L] − Y", "dZ2", {"dZ_output": dZ_output_with_1_over_m},
        "In the lecture's convention dZ and dA carry no 1/m; only dW and db divide by m. An autodiff "
        "framework's ∂J/∂Z2 is (A2 − Y)/m, so copying its dZ and then dividing dW by m again gives 1/m².",
        hint_says="extra 1/m"),
    Bug("sign-flipped", "a sign error: Y − A instead of A − Y",
        "dZ[L] = A[L] − Y", "dZ2", {"dZ_output": dZ_output_sign_flipped},
        "∂J/∂Z[L] = A[L] − Y for softmax with cross-entropy. With Y − A every gradient points uphill and "
        "gradient descent maximises the loss.",
        hint_says="opposite sign"),
    Bug("db-without-sum", "db without the sum over the batch",
        "db[l] = np.sum(dZ[l], axis=0, keepdims=True) / m", "db2", {"db": db_without_sum},
        "b[l] is (1, n[l]) and is shared by every example, so its gradient sums the m per-example "
        "gradients. dZ/m is (m, n[l]); NumPy may even broadcast it into b silently in the update.",
        hint_says="sum dZ over the batch"),
    Bug("db-without-keepdims", "db without keepdims=True",
        "db[l] = np.sum(dZ[l], axis=0, keepdims=True) / m", "db2", {"db": db_without_keepdims},
        "np.sum(dZ, axis=0) is (n,), not the (1, n) of b. The numbers are right; the shape is not, and "
        "b − α·db still broadcasts, so the mistake hides until something reshapes.",
        hint_says="keepdims"),
    Bug("db-summed-over-units", "db summed over the wrong axis (axis=1)",
        "db[l] = np.sum(dZ[l], axis=0, keepdims=True) / m", "db2", {"db": db_summed_over_units},
        "Rows are examples and columns are units: the bias gradient sums over the rows (axis=0). "
        "axis=1 adds up the units of each example instead and gives (m, 1).",
        hint_says="summed over the units"),
    Bug("dW-transposed", "dW transposed: dZᵀ · A[l-1] instead of A[l-1]ᵀ · dZ",
        "dW[l] = A[l-1]ᵀ · dZ[l] / m", "dW2", {"dW": dW_transposed},
        "W[l] is (n[l-1], n[l]) — one row per input — so dW must be too. dZᵀ·A[l-1] is the gradient for the "
        "(n_out, n_in) layout that PyTorch's nn.Linear stores, not for the lecture's.",
        hint_says="transposed"),
    Bug("dA-without-transpose", "dA[l-1] = dZ[l] · W[l] instead of dZ[l] · W[l]ᵀ",
        "dA[l-1] = dZ[l] · W[l]ᵀ", "dA2", {"dA_prev": dA_prev_without_transpose},
        "∂Z[l]/∂A[l-1] = W[l], and the shapes say where the transpose goes: (m, n[l]) · (n[l], n[l-1]). "
        "When W[l] is square both products fit and nothing crashes — which is why this network has "
        "4-unit hidden layers and 4 classes.",
        Scenario(layers=(2, 4, 4, 4), init="he"), hint_says="transpose is missing"),
    Bug("relu-mask-forgotten", "the ReLU mask forgotten: dZ1 = dA1",
        "dZ[l] = dA[l]; dZ[l][Z[l] <= 0] = 0", "dZ1", {"relu_backward": relu_backward_without_mask},
        "\"Are we done here?\" — not after dA1: the chain still has factor 2, ∂A1/∂Z1, the ReLU's derivative, "
        "which zeroes the gradient of every unit that was off (Z1 <= 0).",
        hint_says="never applied"),
    Bug("relu-mask-from-dA", "the ReLU mask taken from dA instead of Z",
        "dZ[l] = dA[l]; dZ[l][Z[l] <= 0] = 0", "dZ1", {"relu_backward": relu_backward_mask_from_dA},
        "The mask says which units were on in the forward pass: Z > 0 (equivalently A > 0). dA > 0 is the "
        "sign of the incoming gradient, which has nothing to do with it.",
        hint_says="wrong tensor"),
    Bug("derivative-from-wrong-layer", "an off-by-one layer index: g'(Z[l]) instead of g'(Z[l-1])",
        "dZ[l-1] = dA[l-1] ⊙ g'(Z[l-1])", "dZ2", {"layer_below": layer_below_off_by_one},
        "After dA[l-1] = dZ[l] W[l]ᵀ the loop is still at l, but the derivative belongs to layer l−1. With "
        "equal layer widths the shapes fit and the mask of the wrong layer is applied silently.",
        Scenario(layers=(2, 4, 4, 4), init="he"), hint_says="wrong tensor"),
    Bug("zero-based-backward-loop", "an off-by-one layer index: the backward loop runs over range(L)",
        "for l = L, L−1, …, 1:  dW[l] = A[l-1]ᵀ · dZ[l] / m", "dZ2", {"backward_layers": backward_layers_zero_based},
        "The lecture numbers layers from 1; Python's range(L) counts from 0. Every gradient lands one layer "
        "too low — dZ3 is stored as dZ2, and dZ3, dW3, db3 and dA2 are never stored under their own names — and "
        "A[l-1] with l = 0 wraps around to A[L] instead of failing.",
        Scenario(layers=(2, 4, 4, 4), init="he"), hint_says="off by one"),
    Bug("sigmoid-derivative-on-Z", "the sigmoid's derivative evaluated on Z instead of A",
        "dZ[l] = dA[l] ⊙ A[l](1 − A[l])", "dZ1", {"sigmoid_backward": sigmoid_backward_on_Z},
        "σ'(Z) = σ(Z)(1 − σ(Z)) = A(1 − A): the formula is written in terms of the activation, so it must "
        "be evaluated on A, not on Z.",
        Scenario(activation="sigmoid", init="glorot"), hint_says="not on Z1"),
    Bug("tanh-derivative-on-Z", "tanh's derivative evaluated on Z instead of A",
        "dZ[l] = dA[l] ⊙ (1 − A[l]²)", "dZ1", {"tanh_backward": tanh_backward_on_Z},
        "tanh'(Z) = 1 − tanh(Z)² = 1 − A². With small weights Z ≈ A and the mistake is almost invisible — "
        "another reason to compare every tensor, not the loss curve.",
        Scenario(activation="tanh", init="glorot"), hint_says="not on Z1"),
    Bug("tanh-derivative-forgotten", "the activation's derivative forgotten entirely",
        "dZ[l] = dA[l] ⊙ g'(Z[l])", "dZ1", {"tanh_backward": tanh_backward_forgotten},
        "dA[l] is the gradient with respect to the activation A[l]; the chain rule needs one more factor, "
        "g'(Z[l]), to reach Z[l]. Forgetting it treats the hidden layer as linear.",
        Scenario(activation="tanh", init="glorot"), hint_says="never applied"),
    Bug("softmax-without-max-shift", "softmax without subtracting the row max (overflow)",
        "A[L] = softmax(Z[L]) = e^(Z − max) / Σ e^(Z − max)", "A2", {"softmax": softmax_without_shift},
        "e^Z overflows float64 once Z > 709: inf / inf = NaN. Subtracting each row's max changes nothing "
        "mathematically and keeps every exponent <= 0. Large weights make the logits large enough to show it.",
        Scenario(init="he", weight_scale=100.0), hint_says="row max"),
    Bug("softmax-over-the-batch", "softmax normalised over the batch (axis=0) instead of the classes",
        "A[L] = softmax(Z[L]), each row summing to 1", "A2", {"softmax": softmax_over_the_batch},
        "Each example's probabilities sum to 1 across its classes: the sum runs along axis=1 (a row). "
        "axis=0 normalises each class across the batch, and keepdims hides the shape clue.",
        hint_says="normalised over the batch"),
    Bug("output-derivative-applied-twice", "multiplying A − Y by the output sigmoid's derivative again",
        "dZ[L] = A[L] − Y", "dZ2", {"dZ_output": dZ_output_times_sigmoid_derivative},
        "For sigmoid with binary cross-entropy (and softmax with cross-entropy) the output's derivative has "
        "already cancelled against the loss's: ∂J/∂Z[L] = A[L] − Y. Multiplying by A(1 − A) applies it twice.",
        Scenario(layers=(2, 4, 1), loss="sigmoid-bce", init="he"), hint_says="applied twice"),
)

BY_NAME = {bug.name: bug for bug in BUGS}


# ==== running a bug through the engine ============================================================

@dataclass
class Outcome:
    """What the engine made of one bug: the first diverging tensor and its hint, and the control run."""

    bug: Bug
    first_divergence: str = None   # None: the bug went unnoticed
    hint: str = None
    control_ok: bool = None        # the correct implementation passes on the bug's scenario
    control_divergence: str = None

    @property
    def detected(self):
        return self.first_divergence is not None

    @property
    def ok(self):
        """Detected at the predicted tensor, and the correct code passes on the same problem."""
        return self.first_divergence == self.bug.expected and bool(self.control_ok)

    def as_json(self):
        return {"bug": self.bug.name, "detected": self.detected, "first_divergence": self.first_divergence,
                "expected_first": self.bug.expected, "hint": self.hint}


def check_impl(function, scenario, name="impl"):
    """crosscheck.check's Result for one implementation on one scenario (no frameworks).

    Overflow and invalid-value warnings are silenced: some of the catalogued bugs produce them on purpose.
    """
    from crosscheck.check import run_check
    net, params, X, Y = scenario.build()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        report = run_check(net, params, X, Y, frameworks=(), impls={name: function})
    return report.results[name]


def run_bug(bug):
    """The bug's mutated implementation, and the correct one, through the engine on the bug's scenario."""
    result = check_impl(bug.backprop(), bug.scenario, bug.name)
    control = check_impl(backprop, bug.scenario, "correct")
    first = result.first_divergence
    return Outcome(bug, first_divergence=first and first.tensor, hint=first and first.hint,
                   control_ok=control.ok,
                   control_divergence=control.first_divergence and control.first_divergence.tensor)


def run_catalogue(bugs=BUGS):
    return [run_bug(bug) for bug in bugs]


# ==== the docs page ==============================================================================

def step_source(function, name=None):
    """A step's code as the student writes it: `def name(args):` and the body, without the docstring."""
    source = textwrap.dedent(inspect.getsource(function))
    definition = ast.parse(source).body[0]
    body = [stmt for stmt in definition.body
            if not (isinstance(stmt, ast.Expr) and isinstance(getattr(stmt, "value", None), ast.Constant))]
    lines = [f"def {name or function.__name__}{inspect.signature(function)}:"]
    lines += ["    " + ast.get_source_segment(source, stmt) for stmt in body]
    return "\n".join(lines)


DOC_PATH = "docs/why-are-my-gradients-wrong.md"


def markdown(outcomes):
    """The 'why are my gradients wrong?' page: every catalogued bug, and what crosscheck says about it."""
    lines = [
        "# Why are my gradients wrong?",
        "",
        "<!-- Generated by `crosscheck bugs --markdown` from crosscheck/bugs.py; edit the catalogue, not this page. -->",
        "",
        "The mistakes below are the ones students make in the lecture's backward pass. Each one is a small change "
        "to a correct implementation (`crosscheck/bugs.py`), and each is caught by the same check you run on "
        "your own code:",
        "",
        "    crosscheck --impl my_backprop.py --frameworks none",
        "",
        "Read the report from the top: the **first** tensor that diverges is where the mistake is — everything "
        "computed from it is wrong too. Find that tensor in the table, then read its section.",
        "",
        "The lecture's convention, which every section assumes: dZ and dA carry no 1/m; dW and db are gradients "
        "of the mean loss J and divide by m.",
        "",
        "| # | mistake | first shows in | the lecture's line it breaks |",
        "|---|---|---|---|",
    ]
    for i, outcome in enumerate(outcomes, 1):
        bug = outcome.bug
        lines.append(f"| {i} | [{bug.title}](#{i}-{bug.name}) | `{bug.expected}` | `{bug.breaks}` |")
    for i, outcome in enumerate(outcomes, 1):
        bug = outcome.bug
        lines += ["", f"<a id=\"{i}-{bug.name}\"></a>", f"## {i}. {bug.title}", "",
                  f"**Breaks** `{bug.breaks}` · **first shows in** `{bug.expected}` · "
                  f"**shown on** {bug.scenario.describe()} · `crosscheck bugs` name `{bug.name}`", "",
                  bug.why, "", "```python"]
        for step, wrong in bug.mutation.items():
            lines += ["# the lecture's step", step_source(STEPS[step]), "", "# the mistake", step_source(wrong, step)]
        lines += ["```", ""]
        if outcome.detected:
            lines.append(f"What crosscheck says: first divergence **`{outcome.first_divergence}`** — "
                         f"*{outcome.hint}*")
        else:
            lines.append("What crosscheck says: nothing — this mistake is **not detected** (a gap in the checks).")
    lines += ["", "## The implementation the mistakes are made in", "",
              "Each section above replaces one step of this loop (`crosscheck/bugs.py`, `make_backprop`); "
              "`s` is the table of steps, layers are numbered from 1 as in the lecture:", "",
              "```python", textwrap.dedent(inspect.getsource(backprop)).rstrip(), "```", "",
              "Run them all yourself: `crosscheck bugs` (`--json` for a machine-readable list, "
              "`crosscheck bugs NAME --show` for the full tensor-by-tensor report of one bug).", ""]
    return "\n".join(lines)
