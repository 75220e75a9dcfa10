"""What an implementation's own tensors say about the conventions it was written in, where the user left them open.

    read_l2_convention(problem, trace)   the known L2 convention its J and dW agree on (keras, course,
                                         weight-decay), or None
    own_masks(problem, trace)            the dropout masks it drew itself (Coursera's forward_propagation_with_dropout
                                         draws its own and keeps them in its cache), or None

The runner reads them before the reference is computed, so that correct code of another course — CS231n's two-layer
net of 2017-2020 (reg·ΣW², gradient 2·reg·W) next to its assignment 2 (½·reg·ΣW²) — is checked in its own
convention, and says which.  An --l2-convention the user gives is enforced instead: only an open one is read.
"""
import dataclasses

import numpy as np

from crosscheck.reference import backprop, l2_coefficient
from crosscheck.reference.regularization import L2_CONVENTIONS


def read_l2_convention(problem, trace):
    """The convention, of the known three, whose coefficient c (J gains (c/2)·Σ‖W‖², dW[l] gains c·W[l]) every dW
    the implementation returned carries, and its J too when it returned one (with or without the biases in the
    term: that mistake is named at J, in the convention the gradients show); None when they disagree, carry another
    factor, or there is no L2 term."""
    net, params, X, Y = problem
    if not net.l2:
        return None
    m = X.shape[0]
    reference = backprop(net, params, X, Y, problem.masks)
    c_ref = l2_coefficient(net.l2, net.l2_convention, m)
    rtol = 1e-4 if X.dtype == np.float32 else 1e-7
    found = []
    for l in range(1, net.L + 1):
        if f"dW{l}" not in trace:
            continue
        W = np.asarray(params[l - 1][0], np.float64)
        got = np.asarray(trace[f"dW{l}"], np.float64)
        if got.shape != W.shape or not np.any(W):
            return None
        data = np.asarray(reference[f"dW{l}"], np.float64) - c_ref * W  # the gradient of the loss alone
        d = got - data
        c = float(np.sum(d * W) / np.sum(W * W))
        if float(np.max(np.abs(d - c * W))) > rtol * max(float(np.max(np.abs(got))), 1e-300):
            return None
        found.append(c)
    if not found:
        return None
    convention = _named(found[0], net.l2, m)
    if convention is None or any(not _same(c, found[0]) for c in found):
        return None
    if "J" in trace and np.size(trace["J"]) == 1:
        c = l2_coefficient(net.l2, convention, m)
        weights = 0.5 * sum(float(np.sum(np.asarray(layer[0], np.float64) ** 2)) for layer in params)
        biases = 0.5 * sum(float(np.sum(np.asarray(layer[1], np.float64) ** 2)) for layer in params if len(layer) == 2)
        data = float(reference["J"]) - c_ref * weights
        term = float(np.asarray(trace["J"], np.float64).reshape(())) - data
        if not (_same(term, c * weights, 1e-6) or _same(term, c * (weights + biases), 1e-6)):
            return None
    return convention


def _named(c, lam, m):
    return next((conv for conv in L2_CONVENTIONS if _same(c, l2_coefficient(lam, conv, m))), None)


def _same(a, b, rtol=1e-3):
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


def own_masks(problem, trace):
    """[D1, …] (rows, in X's dtype) when the implementation returned a 0/1 mask of the right shape for every layer
    with dropout, else None."""
    net = problem.net
    layers = [l for l in range(1, net.L) if net.dropout(l)]
    if not layers or not all(f"D{l}" in trace for l in layers):
        return None
    m, masks = problem.X.shape[0], []
    for l in range(1, net.L):
        D = np.asarray(trace[f"D{l}"]) if f"D{l}" in trace else None
        if D is None or D.shape != (m, net.sizes[l]) or not np.all((D == 0) | (D == 1)):
            return None
        masks.append(D.astype(problem.X.dtype))
    return masks


def adapted(problem, trace, convention_open=True):
    """(the problem as the implementation's own conventions make it, [what was read, one line each])."""
    notes, changes, config = [], {}, dict(problem.config)
    masks = own_masks(problem, trace)
    if masks is not None and (problem.masks is None or any(not np.array_equal(a, b) for a, b in zip(masks, problem.masks))):
        changes["masks"] = masks
        config["masks"] = "the implementation's own"
        notes.append("dropout masks: the ones your forward pass drew (read from its cache); the reference uses them")
    if convention_open:
        problem_now = dataclasses.replace(problem, **changes) if changes else problem
        convention = read_l2_convention(problem_now, trace)
        if convention is not None and convention != problem.net.l2_convention:
            changes["net"] = dataclasses.replace(problem.net, l2_convention=convention)
            config.update(l2_convention=convention, network=changes["net"].describe())
            notes.append(f"L2 convention {convention}, read from your code's J and dW (none was asked for; "
                         f"{problem.net.l2_convention} is this style's own)")
    if not changes:
        return problem, notes
    return dataclasses.replace(problem, config=config, **changes), notes
