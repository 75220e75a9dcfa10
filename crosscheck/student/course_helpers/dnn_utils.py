"""Stands in for the course's dnn_utils (and dnn_utils_v2): the activations of "Building your Deep Neural Network:
Step by Step", each forward returning (A, cache) with the cache Z, each backward taking (dA, cache) and returning dZ.
"""
import numpy as np


def sigmoid(Z):
    """A = 1 / (1 + e^(−Z)), and Z as the cache."""
    return 1.0 / (1.0 + np.exp(-Z)), Z


def relu(Z):
    """A = max(0, Z), and Z as the cache."""
    return np.maximum(0, Z), Z


def relu_backward(dA, cache):
    """dZ = dA where Z > 0, else 0."""
    Z = cache
    return np.where(Z > 0, dA, 0.0)


def sigmoid_backward(dA, cache):
    """dZ = dA · σ(Z)(1 − σ(Z))."""
    s = 1.0 / (1.0 + np.exp(-cache))
    return dA * s * (1.0 - s)
