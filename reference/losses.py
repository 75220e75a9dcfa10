"""Output layers and their losses.  For all three pairs the lecture's dZ[L] = A[L] − Y holds.

Legend:  m  examples    k  output units

| name          | output A = f(Z)   | J (mean over the m examples)                         |
|---------------|-------------------|------------------------------------------------------|
| softmax-ce    | softmax           | −(1/m) Σ_i Σ_k Y_ik log A_ik        (the lecture)    |
| sigmoid-bce   | sigmoid           | −(1/m) Σ_i Σ_k [Y log A + (1 − Y) log(1 − A)]        |
| mse           | identity          | (1/2m) Σ_i ‖A_i − Y_i‖²                              |

Each loss is computed from the logits Z, not from A, so that Z = ±1e4 gives a finite J.
"""
import numpy as np

# ---- forward: A = f(Z) and J(Z, Y) --------------------------------------------------------------

def softmax_forward(Z):
    """A_ik = e^Z_ik / Σ_j e^Z_ij, shifted by the row max so that nothing overflows.   Z (m, k) -> A (m, k)"""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def softmax_ce_cost(Z, Y):
    """J = −(1/m) Σ Y log softmax(Z), with log softmax = Z − max − log Σ e^(Z − max).   Z, Y (m, k) -> J"""
    Z_shift = Z - Z.max(axis=1, keepdims=True)
    log_A = Z_shift - np.log(np.exp(Z_shift).sum(axis=1, keepdims=True))
    return -np.sum(Y * log_A) / Z.shape[0]


def sigmoid_forward(Z):
    """A = 1 / (1 + e^-Z) without overflow.   Z (m, k) -> A (m, k)"""
    return np.exp(-np.logaddexp(0, -Z))


def sigmoid_bce_cost(Z, Y):
    """J = (1/m) Σ [log(1 + e^Z) − Y Z], the cross-entropy of sigmoid(Z) written on the logits.   Z, Y (m, k) -> J"""
    return np.sum(np.logaddexp(0, Z) - Y * Z) / Z.shape[0]


def identity_forward(Z):
    """A = Z.   Z (m, k) -> A (m, k)"""
    return Z


def mse_cost(Z, Y):
    """J = (1/2m) Σ ‖Z − Y‖².   Z, Y (m, k) -> J"""
    D = Z - Y
    return np.sum(D * D) / (2 * Z.shape[0])


# ---- backward: the same line for all three --------------------------------------------------------

def output_backward(A, Y):
    """dZ[L] = A[L] − Y  (no 1/m: the lecture's convention).   A, Y (m, k) -> dZ (m, k)"""
    return A - Y


# name -> (output function, cost function)
OUTPUT_LOSSES = {
    "softmax-ce": (softmax_forward, softmax_ce_cost),
    "sigmoid-bce": (sigmoid_forward, sigmoid_bce_cost),
    "mse": (identity_forward, mse_cost),
}
