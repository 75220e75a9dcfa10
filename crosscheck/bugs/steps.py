"""The correct implementation the bug catalogue mutates: the lecture's N-layer backward pass, student-style,
written as a loop over a small table of steps (STEPS: one function per line of the lecture).

    backprop(X, Y, params, activation="relu", loss="softmax-ce", l2=0.0)   the correct implementation
    make_backprop(mutation)                                                 the same code with some steps replaced
    make_backprop(mutation, layout="columns")    the same, called in the column layout: it turns its inputs to
                                                 rows first and its results back to columns last (steps too)

L2 is written the Keras way (the reference's default convention): λ·Σ‖W‖² in J, 2λ·W in dW, nothing in db.

This file imports only NumPy, so it is itself a valid --impl file:
`crosscheck --impl crosscheck/bugs/steps.py` checks the correct implementation.

Legend:  m  examples (rows)    L  layers    l  a layer, 1..L as in the lecture    n[l]  units of layer l
"""
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


def l2_term(Ws, l2):
    """J += λ·Σ_l ‖W[l]‖²"""
    return l2 * sum(np.sum(W * W) for W in Ws)


def l2_gradient(W, l2):
    """dW[l] += 2λ·W[l]"""
    return 2 * l2 * W


def bias_l2_gradient(b, l2):
    """db[l] gets no L2 term: the bias is not regularized"""
    return 0 * b


def regularized(l, L):
    """every layer's dW carries the L2 term"""
    return True


def gradient_index(l, L):
    """dW[l] and db[l] are stored under their own layer's number"""
    return l


def dA_index(l):
    """dA[l-1] = dZ[l]·W[l]ᵀ is stored as dA(l-1): the gradient of A[l-1]"""
    return l - 1


def to_rows(T):
    """the column layout's X, Y, W, b turned into the lecture's rows"""
    return T.T


def weights_to_rows(W):
    """W (n_out, n_in) in the column layout is W (n_in, n_out) in rows: transposed like X"""
    return W.T


def backward_layers(L):
    """the backward loop visits l = L, L−1, …, 1 (the lecture counts layers from 1)"""
    return range(L, 0, -1)


def layer_below(l):
    """dZ[l-1] = dA[l-1] ⊙ g'(Z[l-1]): the derivative reads the layer below l"""
    return l - 1


STEPS = {f.__name__: f for f in (
    affine, relu, leaky_relu, sigmoid, tanh, identity, softmax, cost_softmax_ce, cost_sigmoid_bce, cost_mse,
    dZ_output, dW, db, dA_prev, relu_backward, leaky_relu_backward, sigmoid_backward, tanh_backward,
    identity_backward, backward_layers, layer_below, l2_term, l2_gradient, bias_l2_gradient, regularized,
    gradient_index, dA_index, to_rows, weights_to_rows)}

# loss -> (output activation, cost)
OUTPUTS = {"softmax-ce": ("softmax", "cost_softmax_ce"), "sigmoid-bce": ("sigmoid", "cost_sigmoid_bce"),
           "mse": ("identity", "cost_mse")}


def make_backprop(mutation=None, layout="rows"):
    """backprop(X, Y, params, activation, loss, l2) in the --impl interface, with some steps replaced.

    mutation  {step name: function} — the entries of STEPS a bug replaces; None or {} is the correct code
    layout    rows (the lecture's), or columns: X (n0, m), W (n_out, n_in), b (n_out, 1) in and out
    """
    unknown = set(mutation or {}) - set(STEPS)
    if unknown:
        raise KeyError(f"no such step: {', '.join(sorted(unknown))}")
    s = SimpleNamespace(**{**STEPS, **(mutation or {})})

    def backprop(X, Y, params, activation="relu", loss="softmax-ce", l2=0.0):
        if layout == "columns":  # to the lecture's rows first
            X, Y = s.to_rows(X), s.to_rows(Y)
            params = [(s.weights_to_rows(W), s.to_rows(b)) for W, b in params]
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
        out["J"] = cost(Zs[L], Y) + (s.l2_term(Ws[1:], l2) if l2 else 0)
        dZ = s.dZ_output(As[L], Y)
        for l in s.backward_layers(L):
            k = s.gradient_index(l, L)
            out[f"dZ{l}"] = dZ
            out[f"dW{k}"] = s.dW(As[l - 1], dZ, m) + (s.l2_gradient(Ws[l], l2) if l2 and s.regularized(l, L) else 0)
            out[f"db{k}"] = s.db(dZ, m) + (s.bias_l2_gradient(bs[l], l2) if l2 else 0)
            if l > 1:
                dA = out[f"dA{s.dA_index(l)}"] = s.dA_prev(dZ, Ws[l])
                k = s.layer_below(l)
                dZ = g_backward(dA, Zs[k], As[k])
        if layout == "columns":  # back to columns last
            out = {name: value.T if np.ndim(value) == 2 else value for name, value in out.items()}
        return out

    return backprop


backprop = make_backprop()
