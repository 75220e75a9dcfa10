"""The reference checks itself: central finite differences of J against the backward pass.

    numeric ∂J/∂θ ≈ (J(θ + h) − J(θ − h)) / 2h        for every entry θ of every W[l] and b[l]
    rel_error(a, n) = max|a − n| / max(1e-8, max(|a| + |n|))

The denominator is the largest entry of |a| + |n| (CS231n's relative error, taken over the whole array)
so that entries that are zero in both do not divide by noise.  In float64 with h = 1e-6 a correct backward
pass lands near 1e-10; the threshold is 1e-7.

ReLU and leaky ReLU have a kink at 0: if a step of ±h moves any hidden Z across 0, the difference
quotient straddles the kink and is no test of the formula.  Such crossings are counted and reported
as `kinks` beside the error (the spiral's point at the origin sits exactly on one, and stays there).
"""
import itertools

import numpy as np

from .data import make_data
from .init import init_params
from .network import ACTIVATIONS, LOSSES, Network, backprop, cost, forward

THRESHOLD = 1e-7


def rel_error(a, n):
    """max|a − n| / max(1e-8, max(|a| + |n|))."""
    return float(np.max(np.abs(a - n)) / max(1e-8, float(np.max(np.abs(a) + np.abs(n)))))


def _loss_and_signs(net, params, X, Y):
    """J, and the sign pattern of the hidden Z (where a kinked activation would switch branch)."""
    Zs, _, _ = forward(net, params, X)
    return float(cost(net, params, Zs[-1], Y)), [Z > 0 for Z in Zs[:-1]]


def numerical_gradient(net, params, X, Y, l, which, h=1e-6):
    """∂J/∂W[l] (which = 'W') or ∂J/∂b[l] (which = 'b') by central differences, and the kink count."""
    params = [(W.copy(), b.copy()) for W, b in params]
    theta = params[l - 1][0 if which == "W" else 1]
    grad = np.zeros_like(theta, dtype=np.float64)
    kinks = 0
    kinked = net.activation in ("relu", "leaky_relu") and net.L > 1
    for index in np.ndindex(theta.shape):
        saved = theta[index]
        theta[index] = saved + h
        J_plus, signs_plus = _loss_and_signs(net, params, X, Y)
        theta[index] = saved - h
        J_minus, signs_minus = _loss_and_signs(net, params, X, Y)
        theta[index] = saved
        grad[index] = (J_plus - J_minus) / (2 * h)
        if kinked and any(np.any(p != q) for p, q in zip(signs_plus, signs_minus)):
            kinks += 1
    return grad, kinks


def gradcheck(net, params, X, Y, h=1e-6):
    """[{"param": "W1", "rel_error": …, "kinks": …}, …] for every W[l], b[l] (float64 required)."""
    if np.asarray(X).dtype != np.float64:
        raise ValueError("gradcheck runs in float64: finite differences in float32 measure rounding, not gradients")
    trace = backprop(net, params, X, Y)
    results = []
    for l in range(1, net.L + 1):
        for which in ("W", "b"):
            numeric, kinks = numerical_gradient(net, params, X, Y, l, which, h)
            analytic = trace[f"d{which}{l}"]
            results.append({"param": f"{which}{l}", "rel_error": rel_error(analytic, numeric), "kinks": kinks})
    return results


def gradcheck_params(net, seed):
    """He-scaled weights and biases ~ 0.1·N(0, 1): no hidden unit starts exactly at a kink."""
    params = init_params(net, "he", seed)
    rng = np.random.default_rng(seed + 1)
    return [(W, 0.1 * rng.standard_normal(b.shape)) for W, b in params]


def gradcheck_pairs(layers, activations=ACTIVATIONS, losses=LOSSES, l2=0.0, l2_convention="keras", batch=300,
                    seed=0, h=1e-6, on_pair=None):
    """gradcheck for every activation × loss pair, on He-scaled parameters and the network's default data.

    Returns [{"activation", "loss", "param", "rel_error", "kinks"}, …]; on_pair(activation, loss) after each pair.
    """
    results = []
    for activation, loss in itertools.product(activations, losses):
        net = Network(tuple(layers), activation=activation, loss=loss, l2=l2, l2_convention=l2_convention)
        X, Y = make_data(net, batch, seed)
        for row in gradcheck(net, gradcheck_params(net, seed), X, Y, h=h):
            results.append({"activation": activation, "loss": loss, **row})
        if on_pair:
            on_pair(activation, loss)
    return results
