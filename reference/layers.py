"""Layer kinds of the lecture's network: each one a forward/backward pair with an explicit cache.

Legend:  m  examples (one per row)    n_in, n_out  units feeding into / coming out of a layer

Every forward returns (out, cache); every backward takes (d_out, cache).  An array is (m, n): one example per
row, the rows axis ROWS, the units the last.  It may also carry a leading axis of copies, (k, m, n): k copies
of the network stepping together as one stack (crosscheck train runs the reference and its twin so, one
NumPy call for both); every formula then acts on each copy's (m, n), and T(A) is each copy's Aᵀ.  Gradients follow the
lecture's convention: dZ and dA carry no 1/m (they are gradients of the per-example losses, of m*J);
the 1/m enters only in dW and db, which are gradients of the mean loss J.
"""
import numpy as np

ROWS = -2  # the examples' axis: 0 of an (m, n) array, 1 of a stack (k, m, n)


def T(A):
    """Aᵀ: the last two axes swapped (A.T for an (m, n) array; each copy's transpose in a stack)."""
    return A.swapaxes(-1, -2)


def sum_rows(A):
    """Σ over the rows (the examples), keeping their axis: the lecture's np.sum(A, axis=0, keepdims=True), bit for bit.

    NumPy's reduction over the rows pays per row, most of the work when a row is a few units wide (the output
    layer's three); einsum adds the rows one after another exactly as np.sum does from two units on, without that
    cost.  (One unit wide, np.sum adds pairwise, and so does this.)   A (m, n) -> (1, n)
    """
    if 1 < A.shape[-1] < 64:
        return np.einsum("...ij->...j", A)[..., np.newaxis, :]
    return A.sum(axis=ROWS, keepdims=True)


# ---- affine: Z = A_prev W + b -------------------------------------------------------------------

def affine_forward(A_prev, W, b):
    """Z = A_prev W + b.

    A_prev (m, n_in), W (n_in, n_out), b (1, n_out)  ->  Z (m, n_out), cache (A_prev, W)
    """
    Z = A_prev @ W
    Z += b  # in place: one (m, n_out) array, not two
    return Z, (A_prev, W)


def affine_backward(dZ, cache, want_dA_prev=True):
    """dW = A_prevᵀ dZ / m,  db = Σ_rows dZ / m,  dA_prev = dZ Wᵀ.

    dZ (m, n_out)  ->  dA_prev (m, n_in) or None, dW (n_in, n_out), db (1, n_out)
    The first layer needs no dA_prev (it would be dX), so it may skip that matrix product.
    """
    A_prev, W = cache
    m = A_prev.shape[ROWS]
    dW = T(A_prev) @ dZ
    dW /= m  # in place: no second (n_in, n_out) array
    db = sum_rows(dZ) / m
    dA_prev = dZ @ T(W) if want_dA_prev else None
    return dA_prev, dW, db


# ---- hidden activations: A = g(Z), dZ = dA ⊙ g'(Z) --------------------------------------------

def relu_forward(Z, out=None):
    """A = max(0, Z).   Z (m, n) -> A (m, n), cache A (A > 0 exactly where Z > 0)

    out: where to write A — Z itself when nothing else reads Z (a training step), one (m, n) array less."""
    A = np.maximum(Z, 0, out=out)
    return A, A


def relu_backward(dA, A, out=None):
    """dZ = dA; dZ[Z <= 0] = 0  (g'(0) = 0, as every framework's built-in ReLU), read as A > 0.   dA, A (m, n) -> dZ

    out: where to write dZ — dA itself when nothing else reads dA (a training step), one (m, n) array less."""
    return np.multiply(dA, A > 0, out=out)


def leaky_relu_forward(Z, slope, out=None):
    """A = Z where Z > 0, slope·Z elsewhere.   Z (m, n) -> A (m, n), cache (Z, slope) (never written over Z)"""
    return np.where(Z > 0, Z, slope * Z), (Z, slope)


def leaky_relu_backward(dA, cache, out=None):
    """dZ = dA where Z > 0, slope·dA elsewhere (g'(0) = slope).   dA (m, n) -> dZ (m, n)"""
    Z, slope = cache
    return np.multiply(dA, np.where(Z > 0, 1, slope).astype(dA.dtype), out=out)


def sigmoid_forward(Z, out=None):
    """A = 1 / (1 + e^-Z), written so that Z = ±1e4 neither overflows nor warns.   Z (m, n) -> A, cache A"""
    A = np.exp(-np.logaddexp(0, -Z), out=out)
    return A, A


def sigmoid_backward(dA, A, out=None):
    """dZ = dA ⊙ A(1 − A): the derivative is taken from A, not from Z.   dA, A (m, n) -> dZ (m, n)"""
    return np.multiply(dA * A, 1 - A, out=out)


def tanh_forward(Z, out=None):
    """A = tanh(Z).   Z (m, n) -> A (m, n), cache A"""
    A = np.tanh(Z, out=out)
    return A, A


def tanh_backward(dA, A, out=None):
    """dZ = dA ⊙ (1 − A²).   dA, A (m, n) -> dZ (m, n)"""
    return np.multiply(dA, 1 - A * A, out=out)


def identity_forward(Z, out=None):
    """A = Z.   Z (m, n) -> A (m, n), no cache"""
    return Z, None


def identity_backward(dA, cache, out=None):
    """dZ = dA.   dA (m, n) -> dZ (m, n)"""
    return dA


# ---- inverted dropout on a hidden activation: A ⊙ D / keep_prob ------------------------------------

def dropout_forward(A, D, keep_prob):
    """Adrop = A ⊙ D / keep_prob: the units D zeroes are dropped, the rest scaled up so that E[Adrop] = A.

    A (m, n), D (m, n) of 0s and 1s (drawn once, with P(1) = keep_prob)  ->  Adrop (m, n), cache (D, keep_prob)
    """
    return A * D / keep_prob, (D, keep_prob)


def dropout_backward(dAdrop, cache):
    """dA = dAdrop ⊙ D / keep_prob: the same mask, the same scale, on the way back.   dAdrop (m, n) -> dA (m, n)"""
    D, keep_prob = cache
    return dAdrop * D / keep_prob


# ---- batch normalization between the affine step and g: Ẑ = (Z − μ) / √(σ² + ε),  Z̃ = γ Ẑ + β ------------
#
# In training mode μ and σ² are the batch's (σ² biased: Σ (Z − μ)² / m, as every framework normalizes); in
# inference mode they are the running averages the training kept.  γ, β, μ, σ² are (1, n): one per unit.

def batchnorm_forward(Z, eps):
    """Ẑ = (Z − μ) / √(σ² + ε) with the batch's μ = Σ_rows Z / m and σ² = Σ_rows (Z − μ)² / m (biased).

    Z (m, n)  ->  Zhat (m, n), mu (1, n), var (1, n), cache (Zhat, √(σ² + ε))
    """
    m = Z.shape[ROWS]
    mu = sum_rows(Z) / m
    var = sum_rows((Z - mu) ** 2) / m
    sigma = np.sqrt(var + eps)
    Zhat = (Z - mu) / sigma
    return Zhat, mu, var, (Zhat, sigma)


def batchnorm_backward(dZhat, cache):
    """dZ = (dẐ − mean_rows(dẐ) − Ẑ ⊙ mean_rows(dẐ ⊙ Ẑ)) / √(σ² + ε): through Ẑ, and through μ and σ², which
    every row moves.   dZhat (m, n) -> dZ (m, n)  (no 1/m: the means are of the rows, dZ stays the gradient of m·J)"""
    Zhat, sigma = cache
    m = Zhat.shape[ROWS]
    return (dZhat - sum_rows(dZhat) / m - Zhat * (sum_rows(dZhat * Zhat) / m)) / sigma


def batchnorm_inference_forward(Z, running_mu, running_var, eps):
    """Ẑ = (Z − μ_run) / √(σ²_run + ε): the running averages, no batch statistics.

    Z (m, n), running_mu, running_var (1, n)  ->  Zhat (m, n), cache √(σ²_run + ε)
    """
    sigma = np.sqrt(running_var + eps)
    return (Z - running_mu) / sigma, sigma


def batchnorm_inference_backward(dZhat, sigma):
    """dZ = dẐ / √(σ²_run + ε): μ_run and σ²_run are constants here.   dZhat (m, n) -> dZ (m, n)"""
    return dZhat / sigma


def scale_shift_forward(Zhat, gamma, beta):
    """Z̃ = γ Ẑ + β: the learnt scale and shift that let the layer undo the normalization.

    Zhat (m, n), gamma, beta (1, n)  ->  Ztilde (m, n), cache (Zhat, gamma)
    """
    return Zhat * gamma + beta, (Zhat, gamma)


def scale_shift_backward(dZtilde, cache):
    """dγ = Σ_rows dZ̃ ⊙ Ẑ / m,  dβ = Σ_rows dZ̃ / m,  dẐ = dZ̃ ⊙ γ  (γ and β are parameters: their gradients carry 1/m).

    dZtilde (m, n)  ->  dZhat (m, n), dgamma (1, n), dbeta (1, n)
    """
    Zhat, gamma = cache
    m = Zhat.shape[ROWS]
    dgamma = sum_rows(dZtilde * Zhat) / m
    dbeta = sum_rows(dZtilde) / m
    return dZtilde * gamma, dgamma, dbeta
