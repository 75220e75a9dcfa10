"""The weight bridge to Keras: the reference's parameters ⇄ a Keras model's weights.

    reference   [(W1, b1), …]   W[l] (n[l-1], n[l])   b[l] (1, n[l])     one example per row: Z = A W + b
    Keras       [kernel1 (n0, n1), bias1 (n1,), kernel2, bias2, …]      Dense computes A kernel + bias

A batch-norm layer (W, gamma, beta, rmu, rvar) is Dense(use_bias=False) and BatchNormalization, whose weights
come in the same order: kernel, gamma, beta, moving_mean, moving_variance.

Keras stores the weight as the lecture does and only drops the bias's row axis.  Nothing here imports Keras.
"""
import numpy as np

from crosscheck.reference.errors import InputError


def keras_weights(params):
    """[kernel1, bias1, …] for model.set_weights: the kernel is W as it is, the bias (γ, β, μ_run, σ²_run) loses
    its row axis."""
    out = []
    for W, *vectors in params:
        out += [np.array(W)] + [np.asarray(v).reshape(-1).copy() for v in vectors]
    return out


def params_from_keras_weights(weights, net=None):
    """[(W1, b1), …] from model.get_weights() of a model whose weights are Dense kernels and biases only — or, given
    the network, with batch norm: (W, γ, β, μ_run, σ²_run) from a kernel and a BatchNormalization's four."""
    weights = [np.asarray(w) for w in weights]
    if net is not None and net.batch_norm:
        params, i = [], 0
        for l in range(1, net.L + 1):
            n = len(net.layer_names(l))
            kernel, vectors = weights[i], weights[i + 1:i + n]
            params.append((kernel.copy(), *(v[np.newaxis, :].copy() for v in vectors)))
            i += n
        return params
    if len(weights) % 2:
        raise InputError(f"{len(weights)} Keras weight arrays: expected kernel, bias pairs")
    params = []
    for kernel, bias in zip(weights[::2], weights[1::2]):
        if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
            raise InputError(f"kernel {kernel.shape} and bias {bias.shape} are not a Dense layer's (n_in, n_out), (n_out,)")
        params.append((kernel.copy(), bias[np.newaxis, :].copy()))
    return params
