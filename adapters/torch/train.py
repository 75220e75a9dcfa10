"""Training in PyTorch: an nn.Sequential of Linear layers set from the reference, stepped by torch.optim.

    model = Sequential(Linear(n0, n1), g, …, Linear(n[L-1], nL))     logits Z[L]; softmax lives in the loss
    J     = ops.loss(Z[L], Y)  (+ ops.l2_term)                       −(1/m) Σ Y log softmax(Z[L])
    J.backward();  optimizer.step()                                  W ← W − α dW for SGD

The weights go in and come out through bridge.py (torch keeps W transposed).
"""
import numpy as np
import torch
from torch import nn

from reference.train import Run

from . import bridge, ops


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in torch: a Run with J per step and the final parameters;
    on_step(t, J, params) after each step with the parameters in the lecture's layout."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steps this small only wait for a second thread (and a busy CPU makes it worse)
    try:
        return _train(net, params, X, Y, optimizer, schedule, on_step)
    finally:
        torch.set_num_threads(threads)


def _train(net, params, X, Y, optimizer, schedule, on_step):
    model = sequential(net, params)
    opt = torch_optimizer(optimizer, model.parameters())
    X_all, Y_all = torch.from_numpy(X), torch.from_numpy(Y)
    losses = []
    for t, rows in enumerate(schedule, start=1):
        rows_t = torch.from_numpy(rows)
        Xb, Yb = X_all[rows_t], Y_all[rows_t]
        opt.zero_grad()
        J = ops.loss(net, model(Xb), Yb) + ops.l2_term(net, weights(model), len(rows))
        J.backward()
        opt.step()
        losses.append(J.item())
        if on_step:
            on_step(t, losses[-1], bridge.params_from_state_dict(model.state_dict()))
    return Run("torch", np.array(losses), bridge.params_from_state_dict(model.state_dict()))


def sequential(net, params=None):
    """Linear, g, Linear, g, …, Linear — the last layer linear: its softmax belongs to the loss.

    With params, the layers hold them (through bridge.state_dict) in their dtype.
    """
    modules = []
    for l, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:]), start=1):
        modules.append(nn.Linear(n_in, n_out))
        if l < net.L:
            modules.append(ops.activation(net))
    model = nn.Sequential(*modules)
    if params is not None:
        model = model.to(getattr(torch, np.asarray(params[0][0]).dtype.name))
        model.load_state_dict(bridge.state_dict(params))
    return model


def weights(model):
    """The Linear layers' weights, in order: what the L2 term sums over."""
    return [layer.weight for layer in model if isinstance(layer, nn.Linear)]


def torch_optimizer(optimizer, parameters):
    """torch.optim for a reference.optim.Optimizer in torch's convention, every hyperparameter given."""
    if optimizer.convention != "torch":
        raise ValueError(f"torch runs the torch convention, not {optimizer.convention!r}")
    h, lr = optimizer.hyper, optimizer.lr
    if optimizer.name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    if optimizer.name == "momentum":
        return torch.optim.SGD(parameters, lr=lr, momentum=h["mu"])
    if optimizer.name == "adam":
        return torch.optim.Adam(parameters, lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"])
    if optimizer.name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                                 weight_decay=h["weight_decay"])
    return torch.optim.RMSprop(parameters, lr=lr, alpha=h["rho"], eps=h["eps"])
