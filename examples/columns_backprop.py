"""The lecture's backprop written in the column layout (one example per column, as Coursera's Deep Learning
Specialization, Nielsen's book and many textbooks write it).

    crosscheck compare --layout columns --impl examples/columns_backprop.py

X (n0, m), Y one-hot (nL, m), params [(W1, b1), …] with W (n_out, n_in) and b (n_out, 1); every tensor is
returned in that layout (Z, A, dZ, dA (n, m), dW like W, db like b), and the report shows shapes in it.
"""
import numpy as np


def backprop(X, Y, params, activation="relu"):
    m, L = X.shape[1], len(params)
    out, A = {}, X
    for l, (W, b) in enumerate(params, start=1):            # forward: Z = W·A_prev + b
        Z = W @ A + b
        if l < L:
            A = np.maximum(Z, 0)
        else:
            E = np.exp(Z - Z.max(axis=0, keepdims=True))      # softmax over the classes: axis 0 here
            A = E / E.sum(axis=0, keepdims=True)
        out[f"Z{l}"], out[f"A{l}"] = Z, A
    out["J"] = -np.sum(Y * np.log(A)) / m
    dZ = A - Y
    for l in range(L, 0, -1):                                 # backward
        A_prev = X if l == 1 else out[f"A{l - 1}"]
        W = params[l - 1][0]
        out[f"dZ{l}"] = dZ
        out[f"dW{l}"] = dZ @ A_prev.T / m
        out[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        if l > 1:
            dA = W.T @ dZ
            out[f"dA{l - 1}"] = dA
            dZ = dA * (out[f"Z{l - 1}"] > 0)
    return out
