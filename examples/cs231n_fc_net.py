"""Two models written the way Stanford's CS231n writes them (assignment 2's classifiers/fc_net.py): a
`params` dict with 1-D biases and `loss(X, y=None)` returning the class scores, or (loss, grads) for
integer labels y.  L2 as the course asks: ½·reg·Σ‖W‖² in the loss, reg·W in dW.

    crosscheck compare --style cs231n --impl examples/cs231n_fc_net.py                      # FullyConnectedNet
    crosscheck compare --style cs231n --impl examples/cs231n_fc_net.py --entry TwoLayerNet

The checker creates the model with the layer sizes, sets its params and reg, calls loss(X) for the scores (Z2)
and loss(X, y) for the loss (J) and the gradients (dW, db; the 1-D db is the course's convention), and
compares them with the lecture's.  Nothing else to write.
"""
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N


class TwoLayerNet(object):
    """affine - relu - affine - softmax."""

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        hidden, cache1 = affine_forward(X, self.params["W1"], self.params["b1"])
        hidden, cache_relu = relu_forward(hidden)
        scores, cache2 = affine_forward(hidden, self.params["W2"], self.params["b2"])
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params["W1"] ** 2) + np.sum(self.params["W2"] ** 2))
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        dhidden = relu_backward(dhidden, cache_relu)
        _, grads["W1"], grads["b1"] = affine_backward(dhidden, cache1)
        grads["W2"] += self.reg * self.params["W2"]
        grads["W1"] += self.reg * self.params["W1"]
        return loss, grads


class FullyConnectedNet(object):
    """{affine - relu} × (L - 1) - affine - softmax, for any number of hidden layers."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, reg=0.0, weight_scale=1e-2,
                 dtype=np.float32, seed=None):
        self.reg, self.dtype = reg, dtype
        self.num_layers = 1 + len(hidden_dims)
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(self.num_layers):
            self.params["W" + str(i + 1)] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params["b" + str(i + 1)] = np.zeros(dims[i + 1])
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        caches, out = [], X
        for i in range(1, self.num_layers):
            out, affine_cache = affine_forward(out, self.params["W" + str(i)], self.params["b" + str(i)])
            out, relu_cache = relu_forward(out)
            caches.append((affine_cache, relu_cache))
        L = self.num_layers
        scores, last_cache = affine_forward(out, self.params["W" + str(L)], self.params["b" + str(L)])
        if y is None:
            return scores
        loss, dout = softmax_loss(scores, y)
        grads = {}
        dout, grads["W" + str(L)], grads["b" + str(L)] = affine_backward(dout, last_cache)
        for i in range(L - 1, 0, -1):
            affine_cache, relu_cache = caches[i - 1]
            dout = relu_backward(dout, relu_cache)
            dout, grads["W" + str(i)], grads["b" + str(i)] = affine_backward(dout, affine_cache)
        for i in range(1, L + 1):
            W = self.params["W" + str(i)]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads["W" + str(i)] += self.reg * W
        return loss, grads
