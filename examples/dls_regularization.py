"""The graded functions of Coursera DLS's regularization week, written the way its notebook asks for them: L2 in
the course's convention, and inverted dropout that draws its own masks and keeps them in the cache.

    crosscheck compare --style dls --impl examples/dls_regularization.py                  # L2 (the l2 probe)
    crosscheck compare --style dls --impl examples/dls_regularization.py --keep-prob 0.86 # dropout

The week's three-layer network (LINEAR → RELU → LINEAR → RELU → LINEAR → SIGMOID) and its plain
forward_propagation, compute_cost and backward_propagation come from the course's reg_utils: where the
submission's folder has none, crosscheck's own equivalent stands in, and the report says so.  The probes without
an L2 term call those; the l2 probe calls compute_cost_with_regularization and
backward_propagation_with_regularization; with --keep-prob every probe calls the two dropout functions, and the
reference uses the masks they drew (D1, D2, read from the cache).
"""
import numpy as np
from reg_utils import backward_propagation, compute_cost, forward_propagation, relu, sigmoid  # noqa: F401


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1]
    weights = [parameters["W1"], parameters["W2"], parameters["W3"]]
    return compute_cost(A3, Y) + lambd / (2 * m) * sum(np.sum(np.square(W)) for W in weights)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = np.dot(dZ3, A2.T) / m + lambd / m * W3
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = dA2 * (A2 > 0)
    dW2 = np.dot(dZ2, A1.T) / m + lambd / m * W2
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = dA1 * (A1 > 0)
    dW1 = np.dot(dZ1, X.T) / m + lambd / m * W1
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    np.random.seed(1)
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = np.dot(W1, X) + b1
    D1 = (np.random.rand(*Z1.shape) < keep_prob).astype(int)   # each unit of each example kept with keep_prob
    A1 = relu(Z1) * D1 / keep_prob                              # inverted dropout: the kept ones scaled up
    Z2 = np.dot(W2, A1) + b2
    D2 = (np.random.rand(*Z2.shape) < keep_prob).astype(int)
    A2 = relu(Z2) * D2 / keep_prob
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = np.dot(dZ3, A2.T) / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = np.dot(W3.T, dZ3) * D2 / keep_prob                    # the forward pass's mask, the same scale
    dZ2 = dA2 * (A2 > 0)
    dW2 = np.dot(dZ2, A1.T) / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = np.dot(W2.T, dZ2) * D1 / keep_prob
    dZ1 = dA1 * (A1 > 0)
    dW1 = np.dot(dZ1, X.T) / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}
