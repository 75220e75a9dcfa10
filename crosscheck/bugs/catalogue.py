"""The classic-bug catalogue: the mistakes students make in this lecture's backward pass, as data.

Each catalogued mistake replaces one or two entries of the STEPS table of the correct implementation
(crosscheck/bugs/steps.py) and nothing else, so every bug is a one-line mutation of a correct program,
run through the same engine as `crosscheck --impl`.

    BUGS, BY_NAME        the catalogue: name, title, the lecture line it breaks, where it shows, the mutation
    run_bug(bug)         -> Outcome: detected? where? with which hint? and does the correct code pass there?
"""
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..check import run_check
from ..problem import build_problem
from .steps import backprop, make_backprop


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
        """The crosscheck.problem.Problem this scenario describes."""
        problem = build_problem(self.layers, self.activation, self.loss, dtype=self.dtype, batch=self.batch,
                                seed=self.seed, init=self.init)
        if self.weight_scale == 1:
            return problem
        params = [(W * problem.X.dtype.type(self.weight_scale), b) for W, b in problem.params]
        return dataclasses.replace(problem, params=params, config={**problem.config, "weight_scale": self.weight_scale})


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


def check_scenario(function, scenario, name="impl"):
    """The check's Report of one implementation on one scenario (no frameworks).

    Overflow and invalid-value warnings are silenced: some of the catalogued bugs produce them on purpose.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return run_check(scenario.build(), frameworks=(), impls={name: function})


def check_impl(function, scenario, name="impl"):
    """The implementation's CheckOutcome on one scenario: its status and every tensor's comparison."""
    return check_scenario(function, scenario, name).outcomes[name]


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
