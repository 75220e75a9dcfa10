"""A student's backprop with one classic mistake in it: find it with crosscheck.

    crosscheck compare --impl examples/wrong_backprop.py

X (m, n0), Y one-hot (m, nL), params [(W1, b1), …] with W (n_in, n_out) and b (1, n_out).
Return any of the lecture's names; the ones you leave out are reported "not provided".
"""
import numpy as np


def backprop(X, Y, params, activation="relu"):
    m, L = X.shape[0], len(params)
    out, A = {}, X
    for l, (W, b) in enumerate(params, start=1):           # forward
        Z = A @ W + b
        if l < L:
            A = np.maximum(Z, 0)
        else:
            E = np.exp(Z - Z.max(axis=1, keepdims=True))     # softmax, shifted so nothing overflows
            A = E / E.sum(axis=1, keepdims=True)
        out[f"Z{l}"], out[f"A{l}"] = Z, A
    out["J"] = -np.sum(Y * np.log(A)) / m
    dZ = A - Y                                               # dZ[L] = A[L] − Y
    for l in range(L, 0, -1):                                # backward
        A_prev = X if l == 1 else out[f"A{l - 1}"]
        W = params[l - 1][0]
        out[f"dZ{l}"] = dZ
        out[f"dW{l}"] = A_prev.T @ dZ          # ← forgot the 1/m
        out[f"db{l}"] = np.sum(dZ, axis=0, keepdims=True) / m
        if l > 1:
            dA = dZ @ W.T
            out[f"dA{l - 1}"] = dA
            dZ = dA * (out[f"Z{l - 1}"] > 0)
    return out
