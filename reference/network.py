"""The lecture's N-layer network: its description, one forward pass, one backward pass.

Legend:  m  examples (rows)    n[l]  units in layer l (n[0] inputs, n[L] outputs)    L  layers

    Z[l] = A[l-1] W[l] + b[l]      A[l] = g(Z[l])        A[0] = X,  A[L] = output(Z[L])
    dZ[L] = A[L] − Y
    dW[l] = A[l-1]ᵀ dZ[l] / m      db[l] = Σ_rows dZ[l] / m
    dA[l-1] = dZ[l] W[l]ᵀ          dZ[l-1] = dA[l-1] ⊙ g'(Z[l-1])

Shapes:  X (m, n[0])   W[l] (n[l-1], n[l])   b[l] (1, n[l])   Z[l], A[l], dZ[l], dA[l] (m, n[l])   Y (m, n[L])
         — each with a leading axis of copies in a stack of networks stepping together (reference.layers)

The next lecture's two hidden-layer additions, each optional (Network.keep_prob, Network.batch_norm):

    batch norm      Z[l] = A[l-1] W[l]  (no b: β takes its place)
                    Zhat[l] = (Z[l] − μ[l]) / √(σ²[l] + ε)      Ztilde[l] = γ[l] Zhat[l] + β[l]      A[l] = g(Ztilde[l])
                    μ, σ² the batch's in training (σ² biased), the running averages μ_run, σ²_run at inference
    dropout         Adrop[l] = A[l] ⊙ D[l] / keep_prob          (inverted dropout; D[l] the 0/1 mask, training only)
                    the next layer reads Adrop[l];  backward: dA[l] = dAdrop[l] ⊙ D[l] / keep_prob

A layer's parameters are a tuple: (W, b), or with batch norm (W, gamma, beta, rmu, rvar) — the learnt W, γ, β
and the running averages μ_run, σ²_run that inference normalizes with (each (1, n[l])).
"""
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from . import layers
from .errors import InputError
from .losses import OUTPUT_AND_COST, OUTPUT_LOSSES, output_backward
from .regularization import L2_CONVENTIONS, l2_coefficient, l2_cost
from .trace import Trace, input_names

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
    keep_prob      inverted dropout on every hidden layer's A, keeping each unit with this probability (1: none)
    batch_norm     batch normalization between every hidden layer's affine step and g (the layer then has no b)
    bn_momentum    β of the running averages: μ_run ← β μ_run + (1 − β) μ (the course's β; Keras's momentum=β,
                   torch's momentum=1 − β: the frameworks' two meanings of "momentum" are opposite)
    bn_eps         ε of √(σ² + ε); torch's default is 1e-5, Keras's 1e-3 — every framework is given this one
    training       a training pass (dropout's masks, batch statistics) or an inference pass (no dropout, running
                   averages)
    """

    sizes: tuple
    activation: str = "relu"
    loss: str = "softmax-ce"
    l2: float = 0.0
    l2_convention: str = "keras"
    leaky_slope: float = 0.01
    keep_prob: float = 1.0
    batch_norm: bool = False
    bn_momentum: float = 0.9
    bn_eps: float = 1e-5
    training: bool = True

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
        if not (0 < self.keep_prob <= 1):
            raise InputError(f"keep_prob must be in (0, 1] (1: no dropout), got {self.keep_prob!r}")
        if not (0 <= self.bn_momentum < 1):
            raise InputError(f"batch norm momentum β must be in [0, 1), got {self.bn_momentum!r}")
        if not (np.isfinite(self.bn_eps) and self.bn_eps > 0):
            raise InputError(f"batch norm ε must be a number > 0, got {self.bn_eps!r}")
        if (self.keep_prob < 1 or self.batch_norm) and len(sizes) < 3:
            raise InputError("dropout and batch norm act on hidden layers: give at least one (e.g. layers 2,4,3)")

    @property
    def L(self):
        return len(self.sizes) - 1

    def hidden_activation(self):
        """(forward, backward) of g, with leaky_relu's slope bound."""
        forward, backward = ACTIVATIONS[self.activation]
        if self.activation == "leaky_relu":
            forward = partial(forward, slope=self.leaky_slope)
        return forward, backward

    def dropout(self, l):
        """Whether layer l's activation is dropped out: a hidden layer, keep_prob < 1, a training pass."""
        return self.training and self.keep_prob < 1 and l < self.L

    def normalized(self, l):
        """Whether layer l is batch-normalized: a hidden layer of a batch_norm network."""
        return self.batch_norm and l < self.L

    def layer_names(self, l):
        """The names of layer l's parameters, in the order of its tuple: W, b — or W, gamma, beta, rmu, rvar."""
        return ("W", "gamma", "beta", "rmu", "rvar") if self.normalized(l) else ("W", "b")

    def learnt(self, l):
        """How many of layer l's parameters the optimizer updates: W, b — or W, γ, β (not the running averages)."""
        return 3 if self.normalized(l) else 2

    def inference(self):
        """The same network in an inference pass: no dropout, batch norm with the running averages."""
        return replace(self, training=False)

    def describe(self):
        """A short line a person can read, e.g. '2-4-3 relu softmax-ce'."""
        text = f"{'-'.join(map(str, self.sizes))} {self.activation} {self.loss}"
        if self.l2:
            text += f" L2 λ={self.l2:g} ({self.l2_convention})"
        if self.batch_norm:
            text += f" batch norm (ε={self.bn_eps:g}, β={self.bn_momentum:g})"
        if self.keep_prob < 1:
            text += f" dropout keep_prob={self.keep_prob:g}"
        if not self.training and (self.batch_norm or self.keep_prob < 1):
            text += " · inference"
        return text

    @classmethod
    def from_params(cls, params, **options):
        """The network whose layer sizes the parameters [(W1, b1), …] imply."""
        if not params:
            raise InputError("no parameters: need at least one (W, b) pair")
        sizes = [np.shape(params[0][0])[0]] + [np.shape(layer[0])[-1] for layer in params]
        return cls(tuple(sizes), **options)


# ---- validation -----------------------------------------------------------------------------------

def check_inputs(net, params, X, Y, masks=None):
    """Raise InputError naming the first thing wrong with params, X, Y or the dropout masks; return the common dtype."""
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
    for l, layer in enumerate(params, start=1):
        names = net.layer_names(l)
        if len(layer) != len(names):
            raise InputError(f"layer {l} has {len(layer)} parameters, expected {len(names)}: "
                             f"{', '.join(f'{name}{l}' for name in names)}"
                             + (" (a batch-norm layer has no b)" if net.normalized(l) else ""))
        n_in, n_out = net.sizes[l - 1], net.sizes[l]
        for name, value in zip(names, layer):
            value, shape = np.asarray(value), (n_in, n_out) if name == "W" else (1, n_out)
            if value.shape != shape:
                raise InputError(f"{name}{l} has shape {value.shape}, expected {shape}")
            if value.dtype != dtype:
                raise InputError(f"{name}{l} has dtype {value.dtype} but X has {dtype}; convert explicitly")
            if not np.all(np.isfinite(value)):
                raise InputError(f"{name}{l} contains NaN or inf")
            if name == "rvar" and np.any(value < 0):
                raise InputError(f"rvar{l}, a running variance, has a negative entry")
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
    check_masks(net, masks, m, dtype)
    return dtype


def check_masks(net, masks, m, dtype):
    """InputError unless masks are what the network's dropout needs: [D1, …, D(L−1)], 0/1, (m, n[l]), in X's dtype."""
    dropped = [l for l in range(1, net.L) if net.dropout(l)]
    if not dropped:
        if masks is not None and any(D is not None for D in masks):
            raise InputError("dropout masks given for a network without dropout (keep_prob 1, or an inference pass)")
        return
    if masks is None or len(masks) != net.L - 1:
        raise InputError(f"dropout with keep_prob {net.keep_prob:g} needs its masks D1…D{net.L - 1}, one per hidden "
                         f"layer, drawn once and shared (reference.network.dropout_masks)")
    for l in dropped:
        D = np.asarray(masks[l - 1])
        if D.shape != (m, net.sizes[l]):
            raise InputError(f"D{l} has shape {D.shape}, expected {(m, net.sizes[l])}")
        if D.dtype != dtype:
            raise InputError(f"D{l} has dtype {D.dtype} but X has {dtype}; convert explicitly")
        if not np.all((D == 0) | (D == 1)):
            raise InputError(f"D{l} must hold only 0s and 1s (which units are kept)")


def dropout_masks(net, m, seed=0, dtype="float64", rows=None, examples=None):
    """[D1, …, D(L−1)]: each unit of each example kept with probability keep_prob, from one generator seeded by seed.

    Each D[l] is drawn for `examples` rows (default m) and, with rows, the masks of those rows are taken: a mask
    belongs to an example, so a batch in another order takes the same masks in that order.  None without dropout.
    """
    if not any(net.dropout(l) for l in range(1, net.L)):
        return None
    rng = np.random.default_rng(seed)
    masks = []
    for l in range(1, net.L):
        D = (rng.random((examples or m, net.sizes[l])) < net.keep_prob).astype(dtype)
        masks.append(D if rows is None else D[rows])
    return masks


# ---- the passes -----------------------------------------------------------------------------------

def forward(net, params, X, masks=None, Y=None, overwrite=False):
    """Z[l], A[l] for l = 1..L and the caches the backward pass needs.

    Returns Zs, As (lists of L arrays, (m, n[l]) each; As[l−1] is what layer l+1 reads: Adrop[l] with dropout)
    and caches, one dict per layer: the layers' caches and "named", the layer's tensors by their lecture names
    in the order they are computed (Z, mu, var, Zhat, Ztilde, A, Adrop).  Given the targets Y, the output layer
    computes A[L] and the loss term of J in one pass (losses.OUTPUT_AND_COST): the last cache's "loss".  overwrite:
    g writes A[l] over Z[l] (Z̃[l]) where its backward reads A — for a training step, which keeps no Z: one
    (m, n[l]) array less a layer ("named" then holds A there).
    """
    g_forward, _ = net.hidden_activation()
    output, _ = OUTPUT_LOSSES[net.loss]
    if Y is not None:
        together = OUTPUT_AND_COST[net.loss]
        output = lambda Z: together(Z, Y)  # noqa: E731 — (A, J)
    Zs, As, caches = [], [], []
    A = X
    for l, layer in enumerate(params, start=1):
        cache = {"named": {}}
        named = cache["named"]
        if net.normalized(l):
            W, gamma, beta, rmu, rvar = layer
            Z = A @ W
            cache["affine"] = (A, W)
            named[f"Z{l}"] = Z
            if net.training:
                Zhat, mu, var, cache["bn"] = layers.batchnorm_forward(Z, net.bn_eps)
                named[f"mu{l}"], named[f"var{l}"] = mu, var
            else:
                Zhat, cache["bn"] = layers.batchnorm_inference_forward(Z, rmu, rvar, net.bn_eps)
            Ztilde, cache["shift"] = layers.scale_shift_forward(Zhat, gamma, beta)
            named[f"Zhat{l}"], named[f"Ztilde{l}"] = Zhat, Ztilde
            A, cache["g"] = g_forward(Ztilde, out=Ztilde if overwrite else None)
        else:
            W, b = layer
            Z, cache["affine"] = layers.affine_forward(A, W, b)
            named[f"Z{l}"] = Z
            if l < net.L:
                A, cache["g"] = g_forward(Z, out=Z if overwrite else None)
            elif Y is not None:
                (A, cache["loss"]), cache["g"] = output(Z), None
            else:
                A, cache["g"] = output(Z), None
        named[f"A{l}"] = A
        if net.dropout(l):
            A, cache["dropout"] = layers.dropout_forward(A, masks[l - 1], net.keep_prob)
            named[f"Adrop{l}"] = A
        Zs.append(Z)
        As.append(A)
        caches.append(cache)
    return Zs, As, caches


def cost(net, params, Z_L, Y, loss=None, l2_examples=None):
    """J = loss(Z[L], Y) + the L2 term (weights only); loss: the first term when already computed (forward with Y).

    l2_examples: the m of the course's λ/(2m) when it is not the batch's own (early stopping's J_dev in Keras's
    convention: reference.train.MONITORED_L2).
    """
    J = OUTPUT_LOSSES[net.loss][1](Z_L, Y) if loss is None else loss
    if net.l2:
        m = Z_L.shape[-2] if l2_examples is None else l2_examples
        J = J + l2_cost([layer[0] for layer in params], l2_coefficient(net.l2, net.l2_convention, m))
    return J


def backward(net, params, As, caches, Y, overwrite=False):
    """The lecture's backward pass; yields (name, tensor) in computation order: dZL, dWL, dbL, dA(L−1), …

    With dropout a hidden layer starts from dAdrop[l] (what the next layer hands back), then dA[l]; with batch norm
    it goes dZtilde[l], dgamma[l], dbeta[l], dZhat[l], dZ[l], dW[l] (and no db).  overwrite: g's backward writes
    dZ[l] over dA[l] — for a caller that keeps only dW and db (a training step): one (m, n[l]) array less a layer.
    """
    _, g_backward = net.hidden_activation()
    m = Y.shape[-2]
    c = l2_coefficient(net.l2, net.l2_convention, m) if net.l2 else 0
    dZ = output_backward(As[-1], Y)
    d_in = None  # dA[l] as the layer above hands it back, set by each layer's affine step for the one below
    for l in range(net.L, 0, -1):
        cache = caches[l - 1]
        if l < net.L:
            dA = d_in
            if net.dropout(l):
                yield f"dAdrop{l}", dA
                dA = layers.dropout_backward(dA, cache["dropout"])
            yield f"dA{l}", dA
            out = dA if overwrite else None
            if net.normalized(l):
                dZtilde = g_backward(dA, cache["g"], out=out)
                yield f"dZtilde{l}", dZtilde
                dZhat, dgamma, dbeta = layers.scale_shift_backward(dZtilde, cache["shift"])
                yield f"dgamma{l}", dgamma
                yield f"dbeta{l}", dbeta
                yield f"dZhat{l}", dZhat
                dZ = (layers.batchnorm_backward(dZhat, cache["bn"]) if net.training
                      else layers.batchnorm_inference_backward(dZhat, cache["bn"]))
            else:
                dZ = g_backward(dA, cache["g"], out=out)
        yield f"dZ{l}", dZ
        d_in, dW, db = layers.affine_backward(dZ, cache["affine"], want_dA_prev=l > 1)
        if c:
            dW = dW + c * params[l - 1][0]
        yield f"dW{l}", dW
        if not net.normalized(l):
            yield f"db{l}", db


def backprop(net, params, X, Y, masks=None):
    """One forward and one backward pass: a Trace of every lecture-named tensor.

    params  [(W1, b1), …, (WL, bL)] with W[l] (n[l-1], n[l]) and b[l] (1, n[l]); a batch-norm layer is
            (W, gamma, beta, rmu, rvar) instead
    X       (m, n[0]) float64 or float32;  Y  (m, n[L]) of the same dtype (one-hot for softmax-ce)
    masks   with dropout in a training pass: [D1, …, D(L−1)], each (m, n[l]) of 0s and 1s (dropout_masks)
    Everything is computed in X's dtype; params, Y and the masks must share it.
    """
    dtype = check_inputs(net, params, X, Y, masks)
    trace = Trace(meta={"framework": "reference", "dtype": dtype.name, "network": net.describe(),
                        "activation": net.activation, "loss": net.loss})
    inputs = dict(zip(["X", "Y"], [X, Y]))
    for l, layer in enumerate(params, start=1):
        inputs.update({f"{name}{l}": value for name, value in zip(net.layer_names(l), layer)})
        if net.dropout(l):
            inputs[f"D{l}"] = masks[l - 1]
    for name in input_names(net):
        trace[name] = inputs[name]
    Zs, As, caches = forward(net, params, X, masks)
    for cache in caches:
        for name, tensor in cache["named"].items():
            trace[name] = tensor
    trace["J"] = np.asarray(cost(net, params, Zs[-1], Y), dtype=dtype)
    for name, tensor in backward(net, params, As, caches, Y):
        trace[name] = tensor
    return trace
