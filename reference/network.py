"""The lecture's N-layer network: its description, one forward pass, one backward pass.

Legend:  m  examples (rows)    n[l]  units in layer l (n[0] inputs, n[L] outputs)    L  layers

    Z[l] = A[l-1] W[l] + b[l]      A[l] = g(Z[l])        A[0] = X,  A[L] = output(Z[L])
    dZ[L] = A[L] − Y
    dW[l] = A[l-1]ᵀ dZ[l] / m      db[l] = Σ_rows dZ[l] / m
    dA[l-1] = dZ[l] W[l]ᵀ          dZ[l-1] = dA[l-1] ⊙ g'(Z[l-1])

Shapes:  X (m, n[0])   W[l] (n[l-1], n[l])   b[l] (1, n[l])   Z[l], A[l], dZ[l], dA[l] (m, n[l])   Y (m, n[L])
"""
from dataclasses import dataclass
from functools import partial

import numpy as np

from . import layers
from .errors import InputError
from .losses import OUTPUT_LOSSES, output_backward
from .regularization import L2_CONVENTIONS, l2_coefficient, l2_cost
from .trace import Trace

# name -> (forward, backward); leaky_relu gets its slope bound by Network.hidden_activation()
ACTIVATIONS = {
    "relu": (layers.relu_forward, layers.relu_backward),
    "leaky_relu": (layers.leaky_relu_forward, layers.leaky_relu_backward),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward),
    "tanh": (layers.tanh_forward, layers.tanh_backward),
    "identity": (layers.identity_forward, layers.identity_backward),
}
LOSSES = tuple(OUTPUT_LOSSES)
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Network:
    """What the network is: layer sizes, hidden activation, output/loss pair and L2 regularization.

    sizes          [n0, n1, …, nL], e.g. [2, 4, 3] for the lecture
    activation     hidden activation g: relu, leaky_relu, sigmoid, tanh, identity
    loss           output/loss pair: softmax-ce (the lecture), sigmoid-bce, mse
    l2             regularization strength λ (0 = none)
    l2_convention  keras, course or weight-decay (see reference.regularization)
    leaky_slope    the slope of leaky_relu for Z <= 0 (torch's default, 0.01)
    """

    sizes: tuple
    activation: str = "relu"
    loss: str = "softmax-ce"
    l2: float = 0.0
    l2_convention: str = "keras"
    leaky_slope: float = 0.01

    def __post_init__(self):
        sizes = tuple(self.sizes)
        if len(sizes) < 2:
            raise InputError(f"layer sizes {list(sizes)}: need at least two sizes (inputs and outputs)")
        for n in sizes:
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise InputError(f"layer sizes {list(sizes)}: every size must be a positive integer, got {n!r}")
        object.__setattr__(self, "sizes", tuple(int(n) for n in sizes))
        if self.activation not in ACTIVATIONS:
            raise InputError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.loss not in OUTPUT_LOSSES:
            raise InputError(f"unknown loss {self.loss!r}; choose one of {', '.join(OUTPUT_LOSSES)}")
        if self.l2_convention not in L2_CONVENTIONS:
            raise InputError(f"unknown L2 convention {self.l2_convention!r}; choose one of {', '.join(L2_CONVENTIONS)}")
        if not np.isfinite(self.l2) or self.l2 < 0:
            raise InputError(f"L2 strength must be a finite number >= 0, got {self.l2!r}")
        if not np.isfinite(self.leaky_slope):
            raise InputError(f"leaky_relu slope must be finite, got {self.leaky_slope!r}")
        if self.loss == "softmax-ce" and sizes[-1] < 2:
            raise InputError("softmax-ce needs at least 2 output units (use sigmoid-bce for a single output)")

    @property
    def L(self):
        return len(self.sizes) - 1

    def hidden_activation(self):
        """(forward, backward) of g, with leaky_relu's slope bound."""
        forward, backward = ACTIVATIONS[self.activation]
        if self.activation == "leaky_relu":
            forward = partial(forward, slope=self.leaky_slope)
        return forward, backward

    def describe(self):
        """A short line a person can read, e.g. '2-4-3 relu softmax-ce'."""
        text = f"{'-'.join(map(str, self.sizes))} {self.activation} {self.loss}"
        if self.l2:
            text += f" L2 λ={self.l2:g} ({self.l2_convention})"
        return text

    @classmethod
    def from_params(cls, params, **options):
        """The network whose layer sizes the parameters [(W1, b1), …] imply."""
        if not params:
            raise InputError("no parameters: need at least one (W, b) pair")
        sizes = [np.shape(params[0][0])[0]] + [np.shape(W)[-1] for W, _ in params]
        return cls(tuple(sizes), **options)


# ---- validation -----------------------------------------------------------------------------------

def check_inputs(net, params, X, Y):
    """Raise InputError naming the first thing wrong with params, X or Y; return the common dtype."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise InputError(f"X must be 2-D (m, {net.sizes[0]}), got shape {X.shape}")
    dtype = X.dtype
    if dtype.name not in DTYPES:
        raise InputError(f"X has dtype {dtype}; use float64 or float32 (convert explicitly, nothing is cast silently)")
    m = X.shape[0]
    if m == 0:
        raise InputError("empty batch: X has 0 rows")
    if X.shape[1] != net.sizes[0]:
        raise InputError(f"X has {X.shape[1]} features but layer sizes start with {net.sizes[0]}")
    if not np.all(np.isfinite(X)):
        raise InputError("X contains NaN or inf")
    if len(params) != net.L:
        raise InputError(f"{len(params)} (W, b) pairs given for a {net.L}-layer network")
    for l, (W, b) in enumerate(params, start=1):
        n_in, n_out = net.sizes[l - 1], net.sizes[l]
        for name, value, shape in ((f"W{l}", W, (n_in, n_out)), (f"b{l}", b, (1, n_out))):
            value = np.asarray(value)
            if value.shape != shape:
                raise InputError(f"{name} has shape {value.shape}, expected {shape}")
            if value.dtype != dtype:
                raise InputError(f"{name} has dtype {value.dtype} but X has {dtype}; convert explicitly")
            if not np.all(np.isfinite(value)):
                raise InputError(f"{name} contains NaN or inf")
    Y = np.asarray(Y)
    expected = (m, net.sizes[-1])
    if Y.shape != expected:
        raise InputError(f"Y has shape {Y.shape}, expected {expected} (one row of targets per example)")
    if Y.dtype != dtype:
        raise InputError(f"Y has dtype {Y.dtype} but X has {dtype}; convert explicitly")
    if not np.all(np.isfinite(Y)):
        raise InputError("Y contains NaN or inf")
    if net.loss == "softmax-ce":
        if not (np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1)):
            row = int(np.argmax(~(np.all((Y == 0) | (Y == 1), axis=1) & (Y.sum(axis=1) == 1))))
            raise InputError(f"Y row {row} is not one-hot ({Y[row].tolist()}); softmax-ce needs one 1 per row")
    elif net.loss == "sigmoid-bce" and not np.all((Y >= 0) & (Y <= 1)):
        raise InputError("Y has values outside [0, 1]; sigmoid-bce needs targets in [0, 1]")
    return dtype


# ---- the passes -----------------------------------------------------------------------------------

def forward(net, params, X):
    """Z[l], A[l] for l = 1..L and the caches the backward pass needs.

    Returns Zs, As (lists of L arrays, (m, n[l]) each) and caches [(affine_cache, activation_cache), …].
    """
    g_forward, _ = net.hidden_activation()
    output, _ = OUTPUT_LOSSES[net.loss]
    Zs, As, caches = [], [], []
    A = X
    for l, (W, b) in enumerate(params, start=1):
        Z, affine_cache = layers.affine_forward(A, W, b)
        if l < net.L:
            A, activation_cache = g_forward(Z)
        else:
            A, activation_cache = output(Z), None
        Zs.append(Z)
        As.append(A)
        caches.append((affine_cache, activation_cache))
    return Zs, As, caches


def cost(net, params, Z_L, Y):
    """J = loss(Z[L], Y) + the L2 term (weights only)."""
    _, loss = OUTPUT_LOSSES[net.loss]
    J = loss(Z_L, Y)
    if net.l2:
        J = J + l2_cost([W for W, _ in params], l2_coefficient(net.l2, net.l2_convention, Z_L.shape[0]))
    return J


def backward(net, params, As, caches, Y):
    """The lecture's backward pass; yields (name, tensor) in computation order: dZL, dWL, dbL, dA(L−1), …"""
    _, g_backward = net.hidden_activation()
    m = Y.shape[0]
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0
    dZ = output_backward(As[-1], Y)
    for l in range(net.L, 0, -1):
        affine_cache, _ = caches[l - 1]
        yield f"dZ{l}", dZ
        dA_prev, dW, db = layers.affine_backward(dZ, affine_cache, want_dA_prev=l > 1)
        if c:
            dW = dW + c * params[l - 1][0]
        yield f"dW{l}", dW
        yield f"db{l}", db
        if l > 1:
            yield f"dA{l - 1}", dA_prev
            dZ = g_backward(dA_prev, caches[l - 2][1])


def backprop(net, params, X, Y):
    """One forward and one backward pass: a Trace of every lecture-named tensor.

    params  [(W1, b1), …, (WL, bL)] with W[l] (n[l-1], n[l]) and b[l] (1, n[l])
    X       (m, n[0]) float64 or float32;  Y  (m, n[L]) of the same dtype (one-hot for softmax-ce)
    Everything is computed in X's dtype; params and Y must share it.
    """
    dtype = check_inputs(net, params, X, Y)
    trace = Trace(meta={"framework": "reference", "dtype": dtype.name, "network": net.describe(),
                        "activation": net.activation, "loss": net.loss})
    trace["X"], trace["Y"] = X, Y
    for l, (W, b) in enumerate(params, start=1):
        trace[f"W{l}"], trace[f"b{l}"] = W, b
    Zs, As, caches = forward(net, params, X)
    for l, (Z, A) in enumerate(zip(Zs, As), start=1):
        trace[f"Z{l}"], trace[f"A{l}"] = Z, A
    trace["J"] = np.asarray(cost(net, params, Zs[-1], Y), dtype=dtype)
    for name, tensor in backward(net, params, As, caches, Y):
        trace[name] = tensor
    return trace

