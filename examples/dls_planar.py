"""Coursera DLS week 3, "Planar data classification with one hidden layer": a tanh hidden layer, a sigmoid output,
the cache a dict, backward_propagation(parameters, cache, X, Y) returning dW and db only.

    crosscheck compare --style dls --impl examples/dls_planar.py

The forward pass uses np.tanh, so the week's network is the default (tanh hidden layer; --activation overrides
it), and the report says so.  The week's sigmoid comes from the course's planar_utils (crosscheck's own
equivalent where the folder has none).
"""
import numpy as np
from planar_utils import sigmoid


def layer_sizes(X, Y):
    return X.shape[0], 4, Y.shape[0]


def forward_propagation(X, parameters):
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
    Z1 = np.dot(W1, X) + b1
    A1 = np.tanh(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = sigmoid(Z2)
    return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def compute_cost(A2, Y):
    m = Y.shape[1]
    return float(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m)


def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - Y
    dZ1 = np.dot(parameters["W2"].T, dZ2) * (1 - A1 ** 2)
    return {"dW1": np.dot(dZ1, X.T) / m, "db1": np.sum(dZ1, axis=1, keepdims=True) / m,
            "dW2": np.dot(dZ2, A1.T) / m, "db2": np.sum(dZ2, axis=1, keepdims=True) / m}
