"""columns_backprop.py with the row layout's axis carried over: db sums over axis=0, which in the column
layout adds up the units of each example instead of the examples of each unit.

    crosscheck compare --layout columns --impl examples/columns_backprop_wrong.py
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
        out[f"db{l}"] = np.sum(dZ, axis=0, keepdims=True) / m   # ← the row layout's axis
        if l > 1:
            dA = W.T @ dZ
            out[f"dA{l - 1}"] = dA
            dZ = dA * (out[f"Z{l - 1}"] > 0)
    return out
