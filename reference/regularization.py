"""L2 regularization of the weights (never the biases), included in J.

Every convention is (c/2)·Σ_l ‖W[l]‖² with gradient c·W[l]; they differ only in c:

| name           | term added to J      | added to dW   | c      | who writes it this way                  |
|----------------|----------------------|---------------|--------|-----------------------------------------|
| keras          | λ Σ ‖W‖²             | 2λ W          | 2λ     | keras.regularizers.L2(λ)   (default)    |
| course         | λ/(2m) Σ ‖W‖²        | (λ/m) W       | λ/m    | the course's cost with regularization   |
| weight-decay   | λ/2 Σ ‖W‖²           | λ W           | λ      | torch.optim.SGD(weight_decay=λ) on the weights |

The course's m is the batch's: with mini-batches each step's λW/m is m_train/B times what full-batch descent on
the same rows applies (16.9× for batches of 64 on the digits' 1,079 training rows) — a λ found with full batches
is that much stronger.  torch's weight_decay=λ alone decays every parameter, biases too: the weight-decay
convention is it on the weights only, given as a parameter group of its own (docs/lecture-bridge.md, the traps).
"""
import numpy as np

L2_CONVENTIONS = ("keras", "course", "weight-decay")


def l2_coefficient(lam, convention, m):
    """The c of (c/2)·Σ‖W‖² for strength λ under a named convention, with m examples in the batch."""
    if convention == "keras":
        return 2 * lam
    if convention == "course":
        return lam / m
    if convention == "weight-decay":
        return lam
    raise ValueError(f"unknown L2 convention {convention!r}; choose one of {', '.join(L2_CONVENTIONS)}")


def l2_cost(Ws, c):
    """(c/2)·Σ_l ‖W[l]‖² over the weight matrices Ws (one sum per copy of a stack, reference.layers)."""
    return c / 2 * sum(np.sum(W * W, axis=(-2, -1)) for W in Ws)
