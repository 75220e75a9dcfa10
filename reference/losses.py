"""Output layers and their losses.  For all three pairs the lecture's dZ[L] = A[L] − Y holds.

Legend:  m  examples    k  output units

| name          | output A = f(Z)   | J (mean over the m examples)                         |
|---------------|-------------------|------------------------------------------------------|
| softmax-ce    | softmax           | −(1/m) Σ_i Σ_k Y_ik log A_ik        (the lecture)    |
| sigmoid-bce   | sigmoid           | −(1/m) Σ_i Σ_k [Y log A + (1 − Y) log(1 − A)]        |
| mse           | identity          | (1/2m) Σ_i ‖A_i − Y_i‖²                              |

Each loss is computed from the logits Z, not from A, so that Z = ±1e4 gives a finite J.  Z and Y may carry a
leading axis of copies (reference.layers): J is then one per copy.
"""
import numpy as np

EXAMPLE = (-2, -1)  # the axes of one copy's (m, k) array: J sums over both

# ---- across each row's units: the few outputs of one example ------------------------------------------

def row_max(Z):
    """max over each row's units, keeping their axis: Z.max(axis=1, keepdims=True), one np.maximum per unit —
    NumPy's own reduction over a row only a few units wide pays per row, this per unit.   Z (m, k) -> (m, 1)"""
    out = Z[..., :1]
    for j in range(1, Z.shape[-1]):
        out = np.maximum(out, Z[..., j:j + 1])
    return out


def row_sum(Z):
    """Σ over each row's units, keeping their axis: Z.sum(axis=1, keepdims=True) added unit after unit, as NumPy
    adds so few.   Z (m, k) -> (m, 1)"""
    out = Z[..., :1]
    for j in range(1, Z.shape[-1]):
        out = out + Z[..., j:j + 1]
    return out


# ---- forward: A = f(Z) and J(Z, Y) --------------------------------------------------------------

def softmax_forward(Z):
    """A_ik = e^Z_ik / Σ_j e^Z_ij, shifted by the row max so that nothing overflows.   Z (m, k) -> A (m, k)"""
    E = np.exp(Z - row_max(Z))
    return E / row_sum(E)


def softmax_ce_cost(Z, Y):
    """J = −(1/m) Σ Y log softmax(Z), with log softmax = Z − max − log Σ e^(Z − max).   Z, Y (m, k) -> J"""
    Z_shift = Z - row_max(Z)
    log_A = Z_shift - np.log(row_sum(np.exp(Z_shift)))
    return -np.sum(Y * log_A, axis=EXAMPLE) / Z.shape[-2]


def sigmoid_forward(Z):
    """A = 1 / (1 + e^-Z) without overflow.   Z (m, k) -> A (m, k)"""
    return np.exp(-np.logaddexp(0, -Z))


def sigmoid_bce_cost(Z, Y):
    """J = (1/m) Σ [log(1 + e^Z) − Y Z], the cross-entropy of sigmoid(Z) written on the logits.   Z, Y (m, k) -> J"""
    return np.sum(np.logaddexp(0, Z) - Y * Z, axis=EXAMPLE) / Z.shape[-2]


def identity_forward(Z):
    """A = Z.   Z (m, k) -> A (m, k)"""
    return Z


def mse_cost(Z, Y):
    """J = (1/2m) Σ ‖Z − Y‖².   Z, Y (m, k) -> J"""
    D = Z - Y
    return np.sum(D * D, axis=EXAMPLE) / (2 * Z.shape[-2])


# ---- backward: the same line for all three --------------------------------------------------------

def output_backward(A, Y):
    """dZ[L] = A[L] − Y  (no 1/m: the lecture's convention).   A, Y (m, k) -> dZ (m, k)"""
    return A - Y


# ---- both at once: A and J from the same pass over Z (what a training step needs) ---------------------

def softmax_and_ce(Z, Y):
    """A = softmax(Z) and J = −(1/m) Σ Y log A from one shift: Z − max, its exponentials and their sum serve both
    (the same numbers softmax_forward and softmax_ce_cost compute apart).   Z, Y (m, k) -> A (m, k), J"""
    Z_shift = Z - row_max(Z)
    E = np.exp(Z_shift)
    S = row_sum(E)
    return E / S, -(Y * (Z_shift - np.log(S))).sum(axis=EXAMPLE) / Z.shape[-2]


def apart(output, cost):
    """(A, J) of an output/loss pair with nothing to share."""
    return lambda Z, Y: (output(Z), cost(Z, Y))


# name -> (output function, cost function)
OUTPUT_LOSSES = {
    "softmax-ce": (softmax_forward, softmax_ce_cost),
    "sigmoid-bce": (sigmoid_forward, sigmoid_bce_cost),
    "mse": (identity_forward, mse_cost),
}
# name -> A and J together
OUTPUT_AND_COST = {"softmax-ce": softmax_and_ce, "sigmoid-bce": apart(sigmoid_forward, sigmoid_bce_cost),
                   "mse": apart(identity_forward, mse_cost)}
