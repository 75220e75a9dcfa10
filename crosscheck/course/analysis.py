"""Error analysis, as the course teaches it, for one trained network on a data set split train / dev / test.

    errors        1 − accuracy on each split, side by side
    target        the error to aim for: human-level error, the course's stand-in for the Bayes error
    avoidable bias = train error − target      how far the network is from fitting what can be fitted
    variance       = dev error − train error   how much worse it does on examples it has not trained on
    dev → test     = test error − dev error    how much the choices made on dev flattered it (only with test=True)
    focus          the larger of avoidable bias and variance: the one to work on first

and, on one split (dev by default: where the course does its error analysis), the confusion matrix, each class's
error rate (its row of the matrix: the share of its examples predicted as another class) and the misclassified
examples the network was surest about (for the digits: their 8×8 images, in crosscheck.plots).

The test split is looked at once, when asked (test=True, or split="test"), as the error-analysis lecture has it:
every choice made on figures of the test set fits the test set too, and the test error stops measuring anything.

    analysis = analyze(net, params, dataset, target_error=0.0, split="dev", show=16, test=False)
"""
from dataclasses import dataclass, field

import numpy as np

from crosscheck.reference import forward
from crosscheck.reference.data import SPLITS, labels_of
from crosscheck.reference.errors import InputError
from crosscheck.reference.train import predict

# the course's basic recipe: what to try for each
ADVICE = {
    "bias": "a bigger network (more hidden units or layers), training longer or with a better optimizer "
            "(momentum, Adam), less regularization",
    "variance": "more training data, more regularization (a larger λ, dropout), early stopping, "
                "a smaller network",
}


@dataclass(frozen=True)
class Confused:
    """One misclassified example: where it is, what it is, what the network said and how sure it was."""

    row: int              # its row in the split
    index: int            # its row in the whole data set
    true: int
    predicted: int
    p_predicted: float    # the probability the network gave the class it predicted
    p_true: float         # … and the true class

    def as_json(self):
        return {"row": self.row, "index": self.index, "true": self.true, "predicted": self.predicted,
                "p_predicted": self.p_predicted, "p_true": self.p_true}


@dataclass
class Analysis:
    errors: dict                  # split -> error, a fraction
    wrong: dict                   # split -> how many examples it got wrong
    sizes: dict                   # split -> examples
    target_error: float
    split: str                    # the split the confusion matrix and the examples are from
    confusion: np.ndarray         # (K, K) int: row = true class, column = predicted class
    classes: tuple
    confused: list = field(default_factory=list)  # [Confused], surest mistake first

    @property
    def class_errors(self):
        """Each class's error rate on the split: 1 − C[k, k] / Σ_j C[k, j] (None for a class with no example there)."""
        totals = self.confusion.sum(axis=1)
        return [None if n == 0 else float(1 - self.confusion[k, k] / n) for k, n in enumerate(totals)]

    @property
    def avoidable_bias(self):
        return self.errors["train"] - self.target_error

    @property
    def variance(self):
        return self.errors["dev"] - self.errors["train"]

    @property
    def dev_test_gap(self):
        """test error − dev error, or None when the test split was not looked at."""
        return self.errors["test"] - self.errors["dev"] if "test" in self.errors else None

    @property
    def focus(self):
        """'bias' or 'variance': the larger gap (bias when they are equal: fit the training set first)."""
        return "bias" if self.avoidable_bias >= self.variance else "variance"

    def pairs(self, n=5):
        """The n most frequent mistakes on the split: [(true, predicted, count)], most first."""
        off = [(int(self.confusion[i, j]), i, j) for i in range(len(self.confusion))
               for j in range(len(self.confusion)) if i != j and self.confusion[i, j]]
        return [(i, j, count) for count, i, j in sorted(off, key=lambda c: (-c[0], c[1], c[2]))[:n]]

    def as_json(self):
        return {"errors": self.errors, "wrong": self.wrong, "sizes": self.sizes, "target_error": self.target_error,
                "avoidable_bias": self.avoidable_bias, "variance": self.variance, "dev_test_gap": self.dev_test_gap,
                "focus": self.focus, "advice": ADVICE[self.focus], "split": self.split, "classes": list(self.classes),
                "test": "test" in self.errors, "confusion": self.confusion.tolist(),
                "class_errors": [{"class": name, "examples": int(n), "wrong": int(n - self.confusion[k, k]), "error": e}
                                 for k, (name, n, e) in enumerate(zip(self.classes, self.confusion.sum(axis=1),
                                                                      self.class_errors))],
                "most_confused_pairs": [{"true": i, "predicted": j, "count": c} for i, j, c in self.pairs()],
                "most_confused": [c.as_json() for c in self.confused]}


def probabilities(net, params, X):
    """P (m, K): the probability the network gives each class; for one sigmoid output K = 2, (1 − A, A)."""
    _, As, _ = forward(net, params, X)
    A = np.asarray(As[-1], np.float64)
    return np.hstack([1 - A, A]) if A.shape[1] == 1 else A


def confusion_matrix(true, predicted, classes):
    """C (K, K): C[i, j] = how many examples of class i were predicted as class j."""
    C = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(C, (true, predicted), 1)
    return C


def analyze(net, params, dataset, target_error=0.0, split="dev", show=16, test=False):
    """The Analysis of a trained network on a reference.data.Dataset (see the module's docstring); the test split's
    figures only with test=True (split="test" asks for them too)."""
    if net.loss == "mse":
        raise InputError("error analysis counts wrong classes: it needs a classification loss, not mse")
    if not 0 <= target_error < 1:
        raise InputError(f"the target error is a fraction in [0, 1), got {target_error!r}")
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    errors, wrong, sizes = {}, {}, {}
    for s in [s for s in SPLITS if s != "test" or test or split == "test"]:
        X, Y = dataset.split(s)
        mistakes = int(np.sum(predict(net, params, X) != labels_of(net, Y)))
        sizes[s], wrong[s] = int(X.shape[0]), mistakes
        errors[s] = mistakes / X.shape[0] if X.shape[0] else float("nan")
    X, Y = dataset.split(split)
    K = max(2, net.sizes[-1])
    true, predicted = labels_of(net, Y), predict(net, params, X)
    P = probabilities(net, params, X)
    confused = [Confused(int(r), int(dataset.rows[split][r]), int(true[r]), int(predicted[r]),
                         float(P[r, predicted[r]]), float(P[r, true[r]]))
                for r in np.flatnonzero(true != predicted)]
    confused.sort(key=lambda c: (-c.p_predicted, c.row))
    classes = dataset.classes if len(dataset.classes) == K else tuple(str(k) for k in range(K))
    return Analysis(errors, wrong, sizes, target_error, split, confusion_matrix(true, predicted, K), classes,
                    confused[:show])
