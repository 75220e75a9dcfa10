"""The correct implementation the bug catalogue mutates: the lecture's N-layer backward pass, student-style,
written as a loop over a small table of steps (STEPS: one function per line of the lecture).

    backprop(X, Y, params, activation="relu", loss="softmax-ce", l2=0.0)   the correct implementation
    make_backprop(mutation)                                                 the same code with some steps replaced
    make_backprop(mutation, layout="columns")    the same, called in the column layout: it turns its inputs to
                                                 rows first and its results back to columns last (steps too)
    make_train(mutation)                         a training loop on it: mini-batch SGD with a learning-rate
                                                 schedule per epoch (the shape of crosscheck train's runs)

L2 is written the Keras way (the reference's default convention): λ·Σ‖W‖² in J, 2λ·W in dW, nothing in db.
The next lecture's layers are here too: inverted dropout (keep_prob, the masks it is handed) and batch norm
(a layer's params (W, gamma, beta, rmu, rvar): no b; batch statistics in training, the running averages rmu, rvar
at inference), each line a step.

This file imports only NumPy, so it is itself a valid --impl file:
`crosscheck --impl crosscheck/bugs/steps.py` checks the correct implementation.

Legend:  m  examples (rows)    L  layers    l  a layer, 1..L as in the lecture    n[l]  units of layer l
"""
from types import SimpleNamespace

import numpy as np

# ==== the correct implementation, one step per lecture line ======================================
# Shapes: A_prev (m, n[l-1]), W (n[l-1], n[l]), b (1, n[l]), Z, A, dZ, dA (m, n[l]), Y (m, n[L]).

def affine(A_prev, W, b):
    """Z[l] = A[l-1] W[l] + b[l]"""
    return A_prev @ W + b


def relu(Z):
    return np.maximum(Z, 0)


def leaky_relu(Z):
    return np.where(Z > 0, Z, 0.01 * Z)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def tanh(Z):
    return np.tanh(Z)


def identity(Z):
    return Z


def softmax(Z):
    """A[L] = softmax(Z[L]), shifted by the row max so that exp never overflows"""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def cost_softmax_ce(Z, Y):
    """J = −(1/m) Σ Y log softmax(Z), from the logits: log softmax = Z − max − log Σ e^(Z − max)"""
    Z = Z - Z.max(axis=1, keepdims=True)
    return -np.sum(Y * (Z - np.log(np.exp(Z).sum(axis=1, keepdims=True)))) / Z.shape[0]


def cost_sigmoid_bce(Z, Y):
    """J = −(1/m) Σ [Y log A + (1 − Y) log(1 − A)], written on the logits: (1/m) Σ log(1 + e^Z) − Y Z"""
    return np.sum(np.logaddexp(0, Z) - Y * Z) / Z.shape[0]


def cost_mse(Z, Y):
    """J = (1/2m) Σ ‖Z − Y‖²"""
    return np.sum((Z - Y) ** 2) / (2 * Z.shape[0])


def dZ_output(A, Y):
    """dZ[L] = A[L] − Y"""
    return A - Y


def dW(A_prev, dZ, m):
    """dW[l] = A[l-1]ᵀ · dZ[l] / m"""
    return A_prev.T @ dZ / m


def db(dZ, m):
    """db[l] = np.sum(dZ[l], axis=0, keepdims=True) / m"""
    return np.sum(dZ, axis=0, keepdims=True) / m


def dA_prev(dZ, W):
    """dA[l-1] = dZ[l] · W[l]ᵀ"""
    return dZ @ W.T


def relu_backward(dA, Z, A):
    """dZ = dA; dZ[Z <= 0] = 0"""
    return dA * (Z > 0)


def leaky_relu_backward(dA, Z, A):
    return np.where(Z > 0, dA, 0.01 * dA)


def sigmoid_backward(dA, Z, A):
    """dZ = dA ⊙ A(1 − A)"""
    return dA * A * (1 - A)


def tanh_backward(dA, Z, A):
    """dZ = dA ⊙ (1 − A²)"""
    return dA * (1 - A ** 2)


def identity_backward(dA, Z, A):
    return dA


def l2_term(Ws, l2):
    """J += λ·Σ_l ‖W[l]‖²"""
    return l2 * sum(np.sum(W * W) for W in Ws)


def l2_gradient(W, l2):
    """dW[l] += 2λ·W[l]"""
    return 2 * l2 * W


def bias_l2_gradient(b, l2):
    """db[l] gets no L2 term: the bias is not regularized"""
    return 0 * b


def regularized(l, L):
    """every layer's dW carries the L2 term"""
    return True


def gradient_index(l, L):
    """dW[l] and db[l] are stored under their own layer's number"""
    return l


def dA_index(l):
    """dA[l-1] = dZ[l]·W[l]ᵀ is stored as dA(l-1): the gradient of A[l-1]"""
    return l - 1


def to_rows(T):
    """the column layout's X, Y, W, b turned into the lecture's rows"""
    return T.T


def weights_to_rows(W):
    """W (n_out, n_in) in the column layout is W (n_in, n_out) in rows: transposed like X"""
    return W.T


def backward_layers(L):
    """the backward loop visits l = L, L−1, …, 1 (the lecture counts layers from 1)"""
    return range(L, 0, -1)


def layer_below(l):
    """dZ[l-1] = dA[l-1] ⊙ g'(Z[l-1]): the derivative reads the layer below l"""
    return l - 1


# ---- dropout (inverted) and batch norm: the next lecture's lines ----

def dropout_on(training):
    """dropout acts in training only: at inference every unit is used"""
    return training


def dropout_forward(A, D, keep_prob):
    """Adrop[l] = A[l] ⊙ D[l] / keep_prob"""
    return A * D / keep_prob


def backward_mask(D, keep_prob, l):
    """the backward pass reuses the forward pass's mask D[l]"""
    return D


def dropout_backward(dAdrop, D, keep_prob):
    """dA[l] = dAdrop[l] ⊙ D[l] / keep_prob"""
    return dAdrop * D / keep_prob


def draw_mask(shape, keep_prob, l):
    """a mask of its own, for code that drops units where it was handed none"""
    return (np.random.default_rng(l).random(shape) < keep_prob).astype(float)


def batch_statistics(training):
    """batch norm normalizes with the batch's μ, σ² in training, with the running averages at inference"""
    return training


def batch_mean(Z):
    """μ[l] = np.mean(Z[l], axis=0, keepdims=True)"""
    return np.mean(Z, axis=0, keepdims=True)


def batch_variance(Z, mu):
    """σ²[l] = np.mean((Z[l] − μ[l])², axis=0, keepdims=True)  (biased: divided by m)"""
    return np.mean((Z - mu) ** 2, axis=0, keepdims=True)


def normalize(Z, mu, var, eps):
    """Zhat[l] = (Z[l] − μ[l]) / √(σ²[l] + ε)"""
    return (Z - mu) / np.sqrt(var + eps)


def scale_shift(Zhat, gamma, beta):
    """Ztilde[l] = γ[l] Zhat[l] + β[l]"""
    return gamma * Zhat + beta


def dgamma(dZtilde, Zhat, m):
    """dγ[l] = np.sum(dZtilde[l] ⊙ Zhat[l], axis=0, keepdims=True) / m"""
    return np.sum(dZtilde * Zhat, axis=0, keepdims=True) / m


def dbeta(dZtilde, m):
    """dβ[l] = np.sum(dZtilde[l], axis=0, keepdims=True) / m"""
    return np.sum(dZtilde, axis=0, keepdims=True) / m


def dZhat(dZtilde, gamma):
    """dZhat[l] = dZtilde[l] ⊙ γ[l]"""
    return dZtilde * gamma


def normalize_backward(dZhat, Zhat, var, eps):
    """dZ[l] = (dZhat − mean(dZhat) − Zhat ⊙ mean(dZhat ⊙ Zhat)) / √(σ² + ε)  (through μ and σ² too)"""
    mean = np.mean(dZhat, axis=0, keepdims=True)
    return (dZhat - mean - Zhat * np.mean(dZhat * Zhat, axis=0, keepdims=True)) / np.sqrt(var + eps)


def normalize_backward_running(dZhat, var, eps):
    """at inference μ and σ² are the running averages, constants: dZ[l] = dZhat[l] / √(σ²_run + ε)"""
    return dZhat / np.sqrt(var + eps)


# ---- training: mini-batch SGD, the learning rate set once per epoch ----

def learning_rate(lr, decay, epoch, step):
    """α_e = α·γ^e: the exponential schedule, one learning rate per epoch (step: the steps taken so far)"""
    return lr * decay ** epoch


STEPS = {f.__name__: f for f in (
    affine, relu, leaky_relu, sigmoid, tanh, identity, softmax, cost_softmax_ce, cost_sigmoid_bce, cost_mse,
    dZ_output, dW, db, dA_prev, relu_backward, leaky_relu_backward, sigmoid_backward, tanh_backward,
    identity_backward, backward_layers, layer_below, l2_term, l2_gradient, bias_l2_gradient, regularized,
    gradient_index, dA_index, to_rows, weights_to_rows, dropout_on, dropout_forward, backward_mask, dropout_backward,
    draw_mask, batch_statistics, batch_mean, batch_variance, normalize, scale_shift, dgamma, dbeta, dZhat,
    normalize_backward, normalize_backward_running, learning_rate)}

# loss -> (output activation, cost)
OUTPUTS = {"softmax-ce": ("softmax", "cost_softmax_ce"), "sigmoid-bce": ("sigmoid", "cost_sigmoid_bce"),
           "mse": ("identity", "cost_mse")}


def make_backprop(mutation=None, layout="rows"):
    """backprop(X, Y, params, activation, loss, l2) in the --impl interface, with some steps replaced.

    mutation  {step name: function} — the entries of STEPS a bug replaces; None or {} is the correct code
    layout    rows (the lecture's), or columns: X (n0, m), W (n_out, n_in), b (n_out, 1) in and out
    """
    unknown = set(mutation or {}) - set(STEPS)
    if unknown:
        raise KeyError(f"no such step: {', '.join(sorted(unknown))}")
    s = SimpleNamespace(**{**STEPS, **(mutation or {})})

    def backprop(X, Y, params, activation="relu", loss="softmax-ce", l2=0.0, keep_prob=1.0, masks=None,
                 batch_norm=False, bn_eps=1e-5, training=True):
        if layout == "columns":  # to the lecture's rows first
            X, Y = s.to_rows(X), s.to_rows(Y)
            params = [(s.weights_to_rows(W), *(s.to_rows(v) for v in rest)) for W, *rest in params]
            masks = None if masks is None else [s.to_rows(D) for D in masks]
        m, L = X.shape[0], len(params)
        g, g_backward = getattr(s, activation), getattr(s, f"{activation}_backward")
        output, cost = (getattr(s, name) for name in OUTPUTS[loss])
        Ws = [None] + [layer[0] for layer in params]  # 1-based, like the lecture: Ws[l] is W[l]
        bs = [None] + [layer[1] if len(layer) == 2 else None for layer in params]
        norm = [None] + [layer[1:] if len(layer) == 5 else None for layer in params]  # γ, β, μ_run, σ²_run
        dropped = keep_prob < 1 and s.dropout_on(training)
        Zs, As, Ds, Zhats, sigmas2 = [None], [X], [None], [None], [None]  # As[0] is X = A0; As[l] what l+1 reads
        out = {}
        for l in range(1, L + 1):
            if norm[l] is not None:  # batch norm: Z = A W (no b), normalized, scaled and shifted
                gamma, beta, rmu, rvar = norm[l]
                Zs.append(As[l - 1] @ Ws[l])
                if s.batch_statistics(training):
                    mu = s.batch_mean(Zs[l])
                    var = s.batch_variance(Zs[l], mu)
                    out[f"mu{l}"], out[f"var{l}"] = mu, var
                else:
                    mu, var = rmu, rvar
                Zhats.append(s.normalize(Zs[l], mu, var, bn_eps))
                sigmas2.append(var)
                Ztilde = out[f"Ztilde{l}"] = s.scale_shift(Zhats[l], gamma, beta)
                out[f"Zhat{l}"] = Zhats[l]
                A = g(Ztilde)
            else:
                Zs.append(s.affine(As[l - 1], Ws[l], bs[l]))
                Zhats.append(None)
                sigmas2.append(None)
                A = output(Zs[l]) if l == L else g(Zs[l])
            out[f"Z{l}"], out[f"A{l}"] = Zs[l], A
            Ds.append(None)
            if l < L and dropped:
                Ds[l] = masks[l - 1] if masks is not None else s.draw_mask(A.shape, keep_prob, l)
                A = out[f"Adrop{l}"] = s.dropout_forward(A, Ds[l], keep_prob)
            As.append(A)
        out["J"] = cost(Zs[L], Y) + (s.l2_term(Ws[1:], l2) if l2 else 0)
        dZ = s.dZ_output(As[L], Y)
        for l in s.backward_layers(L):
            k = s.gradient_index(l, L)
            out[f"dZ{l}"] = dZ
            out[f"dW{k}"] = s.dW(As[l - 1], dZ, m) + (s.l2_gradient(Ws[l], l2) if l2 and s.regularized(l, L) else 0)
            if bs[l] is not None:
                out[f"db{k}"] = s.db(dZ, m) + (s.bias_l2_gradient(bs[l], l2) if l2 else 0)
            if l > 1:
                dA = out[f"dA{s.dA_index(l)}"] = s.dA_prev(dZ, Ws[l])
                k = s.layer_below(l)
                if Ds[k] is not None:  # dropout: the same mask on the way back
                    out[f"dAdrop{k}"] = dA
                    dA = out[f"dA{k}"] = s.dropout_backward(dA, s.backward_mask(Ds[k], keep_prob, k), keep_prob)
                if norm[k] is not None:
                    dZtilde = out[f"dZtilde{k}"] = g_backward(dA, out[f"Ztilde{k}"], out[f"A{k}"])
                    out[f"dgamma{k}"] = s.dgamma(dZtilde, Zhats[k], m)
                    out[f"dbeta{k}"] = s.dbeta(dZtilde, m)
                    dZhat_ = out[f"dZhat{k}"] = s.dZhat(dZtilde, norm[k][0])
                    dZ = (s.normalize_backward(dZhat_, Zhats[k], sigmas2[k], bn_eps) if s.batch_statistics(training)
                          else s.normalize_backward_running(dZhat_, sigmas2[k], bn_eps))
                else:
                    dZ = g_backward(dA, Zs[k], out[f"A{k}"])
        if layout == "columns":  # back to columns last
            out = {name: value.T if np.ndim(value) == 2 else value for name, value in out.items()}
        return out

    return backprop


def make_train(mutation=None):
    """train(net, params, X, Y, optimizer, schedule, on_step) — the signature of every framework's training — a
    student's mini-batch SGD on make_backprop(mutation): for each step, the gradients of the step's rows, then
    W ← W − α_e dW with α_e from learning_rate (optimizer.schedule: exponential, γ = its factor; none: γ = 1)."""
    s = SimpleNamespace(**{**STEPS, **(mutation or {})})
    backprop_ = make_backprop(mutation)

    def train(net, params, X, Y, optimizer, schedule, on_step=None):
        decay = optimizer.schedule.factor if optimizer.schedule is not None else 1.0
        steps_per_epoch = schedule.steps_per_epoch
        losses = []
        for t, rows in enumerate(schedule, start=1):
            grads = backprop_(X[rows], Y[rows], params, net.activation, net.loss)
            lr = s.learning_rate(optimizer.lr, decay, (t - 1) // steps_per_epoch, t - 1)
            params = [(W - lr * grads[f"dW{l}"], b - lr * grads[f"db{l}"]) for l, (W, b) in enumerate(params, start=1)]
            losses.append(float(grads["J"]))
            if on_step:
                on_step(t, losses[-1], params)
        return SimpleNamespace(framework="student", losses=np.array(losses), final_params=params, meta={})

    return train


backprop = make_backprop()
