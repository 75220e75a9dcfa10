"""Stands in for the course's reg_utils (the regularization week): the three-layer network the week's notebook
imports — LINEAR → RELU → LINEAR → RELU → LINEAR → SIGMOID, column layout — its cost and its backward pass, as the
notebook describes them, and its small helpers (initialize_parameters, update_parameters, predict, predict_dec).
The week's data and plots are not needed by the check: load_2D_dataset and plot_decision_boundary are here so that
the notebook's import line works, and raise when called (a cell that calls one is skipped)."""
import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x))."""
    return 1.0 / (1.0 + np.exp(-x))


def relu(x):
    """max(0, x)."""
    return np.maximum(0, x)


def forward_propagation(X, parameters):
    """(A3, cache): the three layers on X (n0, m); cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)."""
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def compute_cost(a3, Y):
    """The mean binary cross-entropy of the output a3 (1, m) against the labels Y (1, m)."""
    m = Y.shape[1]
    losses = -Y * np.log(a3) - (1 - Y) * np.log(1 - a3)
    return float(np.nansum(losses) / m)


def backward_propagation(X, Y, cache):
    """The gradients of compute_cost, keyed as the course keys them: dz3, dW3, db3, da2, dz2, dW2, db2, da1, dz1,
    dW1, db1 (dz and da without 1/m, dW and db with it)."""
    m = X.shape[1]
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    gradients = {}
    dz = A3 - Y
    previous = {3: A2, 2: A1, 1: X}
    weights = {3: W3, 2: W2, 1: W1}
    activations = {2: A2, 1: A1}
    for l in (3, 2, 1):
        gradients[f"dz{l}"] = dz
        gradients[f"dW{l}"] = dz @ previous[l].T / m
        gradients[f"db{l}"] = np.sum(dz, axis=1, keepdims=True) / m
        if l > 1:
            da = weights[l].T @ dz
            gradients[f"da{l - 1}"] = da
            dz = da * (activations[l - 1] > 0)
    return gradients


def initialize_parameters(layer_dims):
    """W[l] random normal scaled by 1/√n[l−1], b[l] zeros, for the sizes in layer_dims."""
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


def update_parameters(parameters, grads, learning_rate):
    """One step of gradient descent on every W and b."""
    for name in parameters:
        parameters[name] = parameters[name] - learning_rate * grads["d" + name]
    return parameters


def predict_dec(parameters, X):
    """The predictions A3 > 0.5 for X (n0, m)."""
    return forward_propagation(X, parameters)[0] > 0.5


def predict(X, y, parameters):
    """The predictions (1, m) as 0/1, and the accuracy printed, as the course's predict does."""
    p = predict_dec(parameters, X).astype(int)
    print("Accuracy: " + str(np.mean(p[0, :] == y[0, :])))
    return p


# each stand-in is imported alone, under the course's module name: it shares no code, so this helper is its own
def _unavailable(name, what):
    def unavailable(*args, **kwargs):
        raise RuntimeError(f"{name}: {what} is not part of crosscheck's stand-in for the course's module")
    unavailable.__name__ = name
    return unavailable


load_2D_dataset = _unavailable("load_2D_dataset", "the week's data")
plot_decision_boundary = _unavailable("plot_decision_boundary", "plotting")
