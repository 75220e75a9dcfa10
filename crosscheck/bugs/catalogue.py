"""The classic-bug catalogue: the mistakes students make in this lecture's backward pass, as data.

Each catalogued mistake replaces one or two entries of the STEPS table of the correct implementation
(crosscheck/bugs/steps.py) and nothing else, so every bug is a one-line mutation of a correct program,
run through the same engine as `crosscheck --impl`.

    BUGS, BY_NAME        the catalogue: name, title, the lecture line it breaks, where it shows, the mutation
    run_bug(bug)         -> BugResult: detected? where? with which hint? and does the correct code pass there?
"""
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from crosscheck.bugs.steps import make_backprop, make_train
from crosscheck.course.training import follow, measure_envelope
from crosscheck.engine.check import run_check
from crosscheck.engine.probes import make_probes, with_biases
from crosscheck.engine.problem import Spec, build_problem
from crosscheck.engine.status import OK
from crosscheck.reference.optim import LRSchedule, Optimizer
from crosscheck.reference.train import batch_schedule
from crosscheck.student.implementation import Local

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


def bias_regularized(b, l2):
    return 2 * l2 * b


def first_layer_not_regularized(l, L):
    return l != 1


def l2_gradient_without_its_2(W, l2):
    return l2 * W


def last_layer_stored_one_below(l, L):
    return l - 1 if l == L else l


def dZ_output_in_place(A, Y):
    A -= Y
    return A


def dA_keyed_by_its_own_layer(l):
    return l


def weights_left_in_columns(W):
    return W


def backward_mask_redrawn(D, keep_prob, l):
    return (np.random.default_rng(100 + l).random(D.shape) < keep_prob).astype(D.dtype)


def dropout_forward_unscaled(A, D, keep_prob):
    return A * D


def dropout_backward_unscaled(dAdrop, D, keep_prob):
    return dAdrop * D


def dropout_on_always(training):
    return True


def batch_statistics_always(training):
    return True


def dgamma_summed_over_units(dZtilde, Zhat, m):
    return np.sum(dZtilde * Zhat, axis=1, keepdims=True) / m


def dbeta_summed_over_units(dZtilde, m):
    return np.sum(dZtilde, axis=1, keepdims=True) / m


def batch_variance_unbiased(Z, mu):
    return np.var(Z, axis=0, ddof=1, keepdims=True)


def learning_rate_per_step(lr, decay, epoch, step):
    return lr * decay ** step


# ==== the catalogue ===============================================================================

@dataclass(frozen=True)
class Scenario:
    """The network, parameters and data a bug needs in order to show.

    init          reference.init scheme; weight_scale multiplies every W afterwards (large logits)
    data          the data reference.make_data gives (the spiral when n[0] = 2)
    layout        the layout the implementation is called in (rows: the lecture's; columns)
    """

    layers: tuple = (2, 4, 3)
    activation: str = "relu"
    loss: str = "softmax-ce"
    init: str = "lecture"
    weight_scale: float = 1.0
    batch: int = 300
    seed: int = 0
    dtype: str = "float64"
    layout: str = "rows"
    keep_prob: float = 1.0   # dropout (the masks drawn from the seed)
    batch_norm: bool = False # batch norm, with γ ≠ 1, β ≠ 0 and running averages ≠ (0, 1) (crosscheck.probes.with_biases)
    inference: bool = False  # an inference pass: no dropout, batch norm with the running averages

    def describe(self):
        text = f"{'-'.join(map(str, self.layers))} {self.activation} {self.loss}, {self.init} init"
        if self.weight_scale != 1:
            text += f" × {self.weight_scale:g}"
        if self.batch_norm:
            text += ", batch norm"
        if self.keep_prob < 1:
            text += f", dropout keep_prob {self.keep_prob:g}"
        if self.inference:
            text += ", inference pass"
        text += f", m = {self.batch}, seed {self.seed}"
        if self.layout != "rows":
            text += f", {self.layout} layout"
        return text if self.dtype == "float64" else f"{text}, {self.dtype}"

    def spec(self):
        """The Spec of this scenario's problem (crosscheck.engine.probes varies it)."""
        return Spec(layers=self.layers, activation=self.activation, loss=self.loss, dtype=self.dtype,
                    batch=self.batch, seed=self.seed, init=self.init, keep_prob=self.keep_prob,
                    batch_norm=self.batch_norm, inference=self.inference)

    def build(self, probe="lecture"):
        """The Problem this scenario describes, or one of its probes (crosscheck.engine.probes)."""
        if probe != "lecture":  # what the correct steps take: any depth, an L2 strength named l2
            probes, skipped = make_probes(self.spec(), [probe])
            if not probes:
                raise ValueError(f"probe {probe} does not apply to {self.describe()}: {skipped[probe]}")
            return probes[0].problem
        problem = build_problem(self.spec())
        if self.batch_norm:
            problem = with_biases(problem, self.seed)
        if self.weight_scale == 1:
            return problem
        params = [(W * problem.X.dtype.type(self.weight_scale), b) for W, b in problem.params]
        return dataclasses.replace(problem, params=params, config={**problem.config, "weight_scale": self.weight_scale})


@dataclass(frozen=True)
class TrainingScenario:
    """A training run a mistake of the training loop needs in order to show: mini-batch SGD on the spiral with an
    exponential learning-rate schedule, the student's loop (steps.make_train) followed step by step against the
    reference (crosscheck.training.follow)."""

    layers: tuple = (2, 8, 3)
    activation: str = "relu"
    loss: str = "softmax-ce"
    init: str = "he"
    examples: int = 300
    batch_size: int = 64
    epochs: int = 3
    lr: float = 0.5
    decay: float = 0.7
    seed: int = 0
    dtype: str = "float64"
    layout: str = "rows"

    def describe(self):
        steps = -(-self.examples // self.batch_size)
        text = (f"{'-'.join(map(str, self.layers))} {self.activation} {self.loss}, {self.init} init, SGD α = "
                f"{self.lr:g} × {self.decay:g} per epoch, {self.epochs} epochs of {steps} batches of {self.batch_size}, "
                f"seed {self.seed}")
        return text if self.dtype == "float64" else f"{text}, {self.dtype}"

    def build(self, probe="lecture"):
        """(problem, optimizer, schedule) of the run."""
        problem = build_problem(layers=self.layers, activation=self.activation, loss=self.loss, dtype=self.dtype,
                                batch=self.examples, seed=self.seed, init=self.init)
        optimizer = Optimizer("sgd", self.lr, "torch", schedule=LRSchedule("exponential", self.decay))
        return problem, optimizer, batch_schedule(self.examples, self.batch_size, self.epochs, self.seed)


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
    probe: str = "lecture" # the probe (crosscheck.probes) that makes it show: the scenario as it is, or a variation

    @property
    def trains(self):
        """A mistake of the training loop (a TrainingScenario), not of one backward pass."""
        return isinstance(self.scenario, TrainingScenario)

    def backprop(self):
        """The mutated implementation: backprop, or for a training mistake the training loop."""
        return make_train(self.mutation) if self.trains else make_backprop(self.mutation, self.scenario.layout)


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
        "for l = L, L−1, …, 1:  dW[l] = A[l-1]ᵀ · dZ[l] / m", "dW3", {"backward_layers": backward_layers_zero_based},
        "The lecture numbers layers from 1; Python's range(L) counts from 0. Every gradient lands one layer "
        "too low — dZ3 is stored as dZ2, and dZ3, dW3, db3 and dA2 are never stored under their own names — and "
        "A[l-1] with l = 0 wraps around to A[L] instead of failing. The last layer's dW and db are missing, and "
        "the result has a layer 0 that no network has.",
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
    # ---- what real students get wrong, found only by a probe or by requiring every dW and db ----
    Bug("bias-regularized", "L2 on the bias too: db += λ·b",
        "L2 regularizes the weights: J += λ·Σ‖W‖², dW += 2λ·W, db unchanged", "db2",
        {"bias_l2_gradient": bias_regularized},
        "Weight decay shrinks the weights; the biases only shift the units and are not regularized (CS231n: "
        "\"you do not need to regularize the biases\"). Written as grads[k] += reg * params[k] over every "
        "parameter, it adds λ·b to db — invisible while every bias is zero, as every initialization leaves them.",
        hint_says="the bias is regularized", probe="l2"),
    Bug("l2-missing-in-one-layer", "the L2 term left out of one layer's dW",
        "dW[l] = A[l-1]ᵀ · dZ[l] / m + 2λ·W[l], for every layer", "dW1", {"regularized": first_layer_not_regularized},
        "J's L2 term sums over every layer's weights, so every dW[l] carries its derivative. A hand-unrolled "
        "two-layer backward pass (dW2 += …; then forgetting dW1 += …) leaves one out.",
        hint_says="the L2 term is missing from dW1", probe="l2"),
    Bug("l2-wrong-factor", "the L2 gradient with the wrong factor: λ·W for J's λ·Σ‖W‖²",
        "J += λ·Σ‖W‖²  ⇒  dW += 2λ·W", "dW2", {"l2_gradient": l2_gradient_without_its_2},
        "The derivative of λ·‖W‖² is 2λ·W. λ·W is the derivative of (λ/2)·‖W‖² — another convention's term. "
        "Which convention J uses does not matter, as long as dW is J's derivative.",
        hint_says="dW must carry the derivative of J's term", probe="l2"),
    Bug("last-layer-gradients-overwritten", "the last layer's dW and db stored one layer down, then overwritten",
        "dW[L], db[L] = the gradients of the last layer", "dW2", {"gradient_index": last_layer_stored_one_below},
        "Stored as grads[\"dW\" + str(L - 1)], the last layer's gradients are overwritten by the next iteration: "
        "every tensor that is returned agrees, and only requiring every dW and db shows that dW[L] and db[L] are "
        "missing.",
        hint_says="the last layer's gradients are missing"),
    Bug("probs-modified-in-place", "probs turned into dZ in place: dZ = probs; dZ -= Y",
        "dZ[L] = A[L] − Y (a new array)", "A2", {"dZ_output": dZ_output_in_place},
        "dZ = probs makes dZ a second name for the same array, so dZ -= Y changes A[L] too, after it was "
        "stored: the forward pass's A[L] comes back as A[L] − Y. (CS231n writes dscores = probs.copy() first.)",
        hint_says="changed in place"),
    Bug("dA-keyed-one-layer-off", "dA stored under the wrong layer's number: grads['dA' + str(l)]",
        "dA[l-1] = dZ[l] · W[l]ᵀ, the gradient of A[l-1]", "dA2", {"dA_index": dA_keyed_by_its_own_layer},
        "dZ[l]·W[l]ᵀ is the gradient of A[l-1], the layer below. Keyed by the loop's l it lands one layer "
        "up; in a 2-layer network the only dA is then out of range and merely missing, so a deeper net shows it.",
        hint_says="off by one", probe="deeper"),
    Bug("columns-x-transposed-not-w", "the column layout: X turned to rows, W left as (n_out, n_in)",
        "Z[l] = A[l-1] · W[l] + b[l] with W (n_in, n_out) in rows", "Z1", {"weights_to_rows": weights_left_in_columns},
        "Moving column-layout code to the lecture's rows means transposing X and every W together. Transposing X "
        "alone fails with a shape error — unless the layers are square, and then Z = X·Wᵀ is silently wrong.",
        Scenario(layers=(2, 2, 2), layout="columns"), hint_says="used transposed"),
    # ---- the next lecture: dropout, batch norm, a learning-rate schedule ----
    Bug("dropout-mask-redrawn", "the dropout mask drawn anew in the backward pass",
        "dA[l] = dAdrop[l] ⊙ D[l] / keep_prob, with the forward pass's D[l]", "dA1",
        {"backward_mask": backward_mask_redrawn},
        "Dropout removes the same units from both passes: a unit that gave nothing to Z[l+1] gets no gradient. "
        "Drawing a new mask for the backward pass (or calling np.random again instead of keeping D in the cache) "
        "sends gradient through units that were dropped and blocks it through units that were kept.",
        Scenario(layers=(2, 8, 3), init="he", keep_prob=0.8), hint_says="another mask"),
    Bug("dropout-without-1-over-keep-prob", "dropout without the 1/keep_prob (not inverted)",
        "Adrop[l] = A[l] ⊙ D[l] / keep_prob", "Adrop1",
        {"dropout_forward": dropout_forward_unscaled, "dropout_backward": dropout_backward_unscaled},
        "Inverted dropout divides the kept units by keep_prob, so that the expected activation the next layer sees "
        "is A[l] in training as it is at inference, where nothing is dropped. Without it the next layer is trained on "
        "activations keep_prob times smaller than the ones it gets at test time (and dA is off by the same factor).",
        Scenario(layers=(2, 8, 3), init="he", keep_prob=0.8), hint_says="without the 1/keep_prob"),
    Bug("dropout-at-inference", "dropout left on at inference",
        "at inference: A[l] = g(Z[l]), every unit, unscaled", "Z2", {"dropout_on": dropout_on_always},
        "Dropout is a training-time regularizer: at inference every unit is used, and inverted dropout needs no "
        "rescaling there. Dropping units at test time makes the predictions random and worse (nn.Dropout in "
        "model.eval() and keras.layers.Dropout with training=False are identities).",
        Scenario(layers=(2, 8, 3), init="he", keep_prob=0.8, inference=True), hint_says="is dropout still on"),
    Bug("batchnorm-batch-statistics-at-inference", "batch norm normalizing with the batch's statistics at inference",
        "at inference: Zhat[l] = (Z[l] − μ_run[l]) / √(σ²_run[l] + ε)", "Zhat1",
        {"batch_statistics": batch_statistics_always},
        "At inference the network sees one example, or a batch that is not a training batch: its μ and σ² are not "
        "the training distribution's, and the prediction of an example would depend on the others. Batch norm "
        "normalizes with the running averages it kept during training (model.eval(), training=False).",
        Scenario(layers=(2, 8, 3), init="he", batch_norm=True, inference=True), hint_says="running averages"),
    Bug("dgamma-dbeta-summed-over-units", "dγ and dβ summed over the units (axis=1) instead of the batch",
        "dγ[l] = np.sum(dZtilde[l] ⊙ Zhat[l], axis=0, keepdims=True) / m,  dβ[l] = np.sum(dZtilde[l], axis=0, "
        "keepdims=True) / m", "dgamma1", {"dgamma": dgamma_summed_over_units, "dbeta": dbeta_summed_over_units},
        "γ and β are one number per unit, shared by every example — like b, their gradients sum the per-example "
        "gradients over the batch (axis=0) and come out (1, n). axis=1 adds up the units of each example instead.",
        Scenario(layers=(2, 8, 3), init="he", batch_norm=True), hint_says="summed over the units"),
    Bug("batchnorm-unbiased-variance", "batch norm normalizing with the unbiased variance (ddof=1)",
        "σ²[l] = np.mean((Z[l] − μ[l])², axis=0, keepdims=True)  (÷ m)", "var1",
        {"batch_variance": batch_variance_unbiased},
        "Batch norm normalizes with the batch's biased variance, Σ(Z − μ)²/m — what torch.nn.BatchNorm1d, "
        "keras.layers.BatchNormalization and the course compute. The unbiased Σ(Z − μ)²/(m − 1) (ddof=1, torch.var's "
        "default) is only what torch keeps in its running variance; normalizing with it is off by √(m/(m − 1)).",
        Scenario(layers=(2, 8, 3), init="he", batch_norm=True), hint_says="unbiased variance"),
    Bug("schedule-per-step", "the learning-rate schedule applied per step instead of per epoch",
        "α_e = α · γ^e for every step of epoch e", "step 2", {"learning_rate": learning_rate_per_step},
        "A schedule per epoch holds α for every step of an epoch and changes it between epochs (torch's schedulers "
        "are stepped once per epoch; Keras's and optax's count steps and must be given the epoch). Decaying at every "
        "step decays S times faster — with 5 batches an epoch, γ^5 per epoch — from the second step on.",
        TrainingScenario(), hint_says="per step instead of per epoch"),
)

BY_NAME = {bug.name: bug for bug in BUGS}


# ==== running a bug through the engine ============================================================

@dataclass
class BugResult:
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
                "expected_first": self.bug.expected, "probe": self.bug.probe, "hint": self.hint}


def check_scenario(function, scenario, name="impl", probe="lecture"):
    """The check's CheckResult of one implementation on one scenario, or one of its probes (no frameworks).

    Overflow and invalid-value warnings are silenced: some of the catalogued bugs produce them on purpose.
    """
    impl = Local(function, layout=scenario.layout, name=name) if callable(function) else function
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return run_check(scenario.build(probe), frameworks=(), impls={name: impl})


def check_impl(function, scenario, name="impl", probe="lecture"):
    """The implementation's CheckOutcome on one scenario (or probe): its status and every tensor's comparison."""
    return check_scenario(function, scenario, name, probe).outcomes[name]


def run_bug(bug):
    """The bug's mutated implementation, and the correct one, through the engine on the bug's probe."""
    if bug.trains:
        return run_training_bug(bug)
    result = check_impl(bug.backprop(), bug.scenario, bug.name, bug.probe)
    control = check_impl(make_backprop(None, bug.scenario.layout), bug.scenario, "correct", bug.probe)
    first = result.first_divergence
    return BugResult(bug, first_divergence=first and first.tensor, hint=first and first.hint,
                   control_ok=control.ok,
                   control_divergence=control.first_divergence and control.first_divergence.tensor)


def check_training(train, scenario, name="impl"):
    """crosscheck train's judgement (crosscheck.training) of a training loop on a TrainingScenario: a TrainOutcome."""
    problem, optimizer, schedule = scenario.build()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        envelope = measure_envelope(problem, optimizer, schedule)
        return follow(name, train, problem, optimizer, schedule, envelope)


def run_training_bug(bug):
    """A training loop's mistake: where the run first leaves the reference's trajectory ("step t"), and the hint."""
    result = check_training(bug.backprop(), bug.scenario, bug.name)
    control = check_training(make_train(None), bug.scenario, "correct")
    return BugResult(bug, first_divergence=f"step {result.failed_step}" if result.failed_step else None,
                   hint=result.hint or result.reason if result.status != OK else None, control_ok=control.status == OK,
                   control_divergence=f"step {control.failed_step}" if control.failed_step else None)


def run_catalogue(bugs=BUGS):
    return [run_bug(bug) for bug in bugs]
