"""Training in PyTorch: an nn.Sequential of Linear layers set from the reference, stepped by torch.optim.

    model = Sequential(Linear(n0, n1), g, …, Linear(n[L-1], nL))     logits Z[L]; softmax lives in the loss
    J     = cross_entropy(Z[L], Y)  (+ (c/2) Σ‖W‖²)                  −(1/m) Σ Y log softmax(Z[L])
    J.backward();  optimizer.step()                                  W ← W − α dW for SGD

The weights go in and come out through adapters.bridge (torch keeps W transposed).
torch is imported inside the functions only, so importing this module imports no framework.
"""
import numpy as np

from reference.regularization import l2_coefficient
from reference.train import Run

from . import bridge

NAME = "torch"
CONVENTION = "torch"


def setup():
    import torch
    return {"version": torch.__version__}


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in torch: a Run with J per step and the parameters after it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steps this small only wait for a second thread (and a busy CPU makes it worse)
    try:
        return _train(torch, net, params, X, Y, optimizer, schedule, on_step)
    finally:
        torch.set_num_threads(threads)


def _train(torch, net, params, X, Y, optimizer, schedule, on_step):
    model = sequential(net).to(getattr(torch, X.dtype.name))
    model.load_state_dict(bridge.state_dict(params))
    opt = torch_optimizer(optimizer, model.parameters())
    X_all, Y_all = torch.from_numpy(X), torch.from_numpy(Y)
    losses, history = [], []
    for t, rows in enumerate(schedule, start=1):
        rows_t = torch.from_numpy(rows)
        Xb, Yb = X_all[rows_t], Y_all[rows_t]
        opt.zero_grad()
        J = loss(net, model(Xb), Yb) + l2_term(net, model, len(rows))
        J.backward()
        opt.step()
        losses.append(J.item())
        history.append(bridge.params_from_state_dict(model.state_dict()))
        if on_step:
            on_step(t)
    return Run(NAME, np.array(losses), history)


def sequential(net):
    """Linear, g, Linear, g, …, Linear — the last layer linear: its softmax belongs to the loss."""
    from torch import nn
    g = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity,
         "leaky_relu": lambda: nn.LeakyReLU(net.leaky_slope)}[net.activation]
    modules = []
    for l, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:]), start=1):
        modules.append(nn.Linear(n_in, n_out))
        if l < net.L:
            modules.append(g())
    return nn.Sequential(*modules)


def loss(net, Z, Y):
    """The reference's J in torch's own losses: each one a mean over the m rows of the batch."""
    import torch.nn.functional as F
    m = Z.shape[0]
    if net.loss == "softmax-ce":
        return F.cross_entropy(Z, Y)                       # Y one-hot: −(1/m) Σ Y log softmax(Z)
    if net.loss == "sigmoid-bce":
        return F.binary_cross_entropy_with_logits(Z, Y, reduction="sum") / m
    return F.mse_loss(Z, Y, reduction="sum") / (2 * m)


def l2_term(net, model, m):
    """(c/2) Σ‖W‖² over the Linear weights (not the biases), c from the network's L2 convention."""
    if not net.l2:
        return 0
    c = l2_coefficient(net.l2, net.l2_convention, m)
    return c / 2 * sum((layer.weight ** 2).sum() for layer in model if hasattr(layer, "weight"))


def torch_optimizer(optimizer, parameters):
    """torch.optim for a reference.optim.Optimizer in torch's convention, every hyperparameter given."""
    import torch
    if optimizer.convention != CONVENTION:
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
