"""CS231n's two-layer net as assignment 1 of 2017-2020 writes it (classifiers/neural_net.py): a params dict with
1-D biases, loss(X, y=None, reg=0.0), and the L2 term reg·ΣW² in the loss — 2·reg·W in the gradient — where
assignment 2's FullyConnectedNet (examples/cs231n_fc_net.py) writes ½·reg·ΣW².

    crosscheck compare --style cs231n --impl examples/cs231n_two_layer_net.py

No --l2-convention is needed: the checker reads the convention this code's loss and gradients agree on (keras:
λ·Σ‖W‖², 2λ·W) and says so; an instructor who gives --l2-convention gets it enforced instead.
"""
import numpy as np


class TwoLayerNet(object):
    """input - fully connected layer - ReLU - fully connected layer - softmax."""

    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {"W1": std * np.random.randn(input_size, hidden_size), "b1": np.zeros(hidden_size),
                       "W2": std * np.random.randn(hidden_size, output_size), "b2": np.zeros(output_size)}

    def loss(self, X, y=None, reg=0.0):
        W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
        N = X.shape[0]
        hidden = np.maximum(0, X.dot(W1) + b1)
        scores = hidden.dot(W2) + b2
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(N), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W2": hidden.T.dot(dscores) + 2 * reg * W2, "b2": dscores.sum(axis=0)}
        dhidden = dscores.dot(W2.T) * (hidden > 0)
        grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
        grads["b1"] = dhidden.sum(axis=0)
        return loss, grads
