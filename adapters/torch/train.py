"""Training in PyTorch: an nn.Sequential of Linear layers set from the reference, stepped by torch.optim.

    model = Sequential(Linear(n0, n1), g, …, Linear(n[L-1], nL))     logits Z[L]; softmax lives in the loss
            with batch norm: Linear(bias=False), BatchNorm1d, g;  with dropout: g, then SharedMaskDropout
    J     = ops.loss(Z[L], Y)  (+ ops.l2_term)                       −(1/m) Σ Y log softmax(Z[L])
    J.backward();  clip_grad_norm_(…, c);  optimizer.step()          W ← W − α dW for SGD
    scheduler.step()                                                 after each epoch: torch.optim.lr_scheduler
    model.eval(); J_dev; model.train()                               after each epoch, with early stopping

The weights go in and come out through bridge.py (torch keeps W transposed).
"""

import numpy as np
import torch
from torch import nn

from crosscheck.reference.train import Run, as_schedule

from . import bridge, ops


def train(net, params, X, Y, optimizer, schedule, on_step=None):
    """The same run as reference.train.train, in torch: a Run with J per step and the final parameters;
    on_step(t, J, params) after each step with the parameters in the lecture's layout."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steps this small only wait for a second thread (and a busy CPU makes it worse)
    try:
        return _train(net, params, X, Y, optimizer, as_schedule(schedule, X.shape[0]), on_step)
    finally:
        torch.set_num_threads(threads)


def _train(net, params, X, Y, optimizer, schedule, on_step):
    model = sequential(net, params)
    layers = parts(net, model)
    opt = torch_optimizer(optimizer, model.parameters())
    scheduler = lr_scheduler(optimizer, opt)
    ran_with = hyperparameters(opt, scheduler, model, optimizer.clip)
    dropouts = [module for module in model if isinstance(module, ops.SharedMaskDropout)]
    stopping = schedule.stopping
    patience = stopping.watcher() if stopping else None
    X_all, Y_all = torch.from_numpy(X), torch.from_numpy(Y)
    losses = []
    model.train()
    for t, rows in enumerate(schedule, start=1):
        rows_t = torch.from_numpy(rows)
        Xb, Yb = X_all[rows_t], Y_all[rows_t]
        for module, D in zip(dropouts, schedule.masks(net, t, X.dtype) or []):
            module.mask = torch.from_numpy(D)
        opt.zero_grad()
        J = ops.loss(net, model(Xb), Yb) + ops.l2_term(net, weights(model), len(rows))
        J.backward()
        if optimizer.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), optimizer.clip)
        opt.step()
        losses.append(J.item())
        if on_step:
            on_step(t, losses[-1], bridge.params_from_modules(net, layers))
        if schedule.end_of_epoch(t):
            if scheduler:
                scheduler.step()
            if patience and patience.update(dev_cost(net, model, stopping)):
                break
    return Run("torch", np.array(losses), bridge.params_from_modules(net, layers), {"hyperparameters": ran_with})


# what each torch.optim optimizer's update reads (the rest of a parameter group are switches of the implementation)
UPDATE_FIELDS = {"SGD": ("lr", "momentum", "dampening", "nesterov", "weight_decay"),
                 "Adam": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
                 "AdamW": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
                 "RMSprop": ("lr", "alpha", "eps", "momentum", "centered", "weight_decay")}


def hyperparameters(opt, scheduler, model, clip):
    """What torch itself holds, read back from its objects before the first step: the optimizer's parameter group,
    the scheduler's settings, BatchNorm1d's momentum and eps, the clipping norm."""
    group = opt.param_groups[0]
    name = type(opt).__name__
    ran = {"optimizer": f"torch.optim.{name}",
           "arguments": {k: list(group[k]) if isinstance(group[k], tuple) else group[k] for k in UPDATE_FIELDS[name]}}
    if scheduler is not None:
        ran["schedule"] = {"scheduler": f"torch.optim.lr_scheduler.{type(scheduler).__name__}",
                           **{k: v for k, v in vars(scheduler).items()
                              if k in ("step_size", "gamma", "T_max", "eta_min")}}
    norms = [m for m in model if isinstance(m, nn.BatchNorm1d)]
    if norms:
        ran["batch_norm"] = {"layer": "torch.nn.BatchNorm1d", "momentum": norms[0].momentum, "eps": norms[0].eps}
    if clip:
        ran["clip"] = {"call": "torch.nn.utils.clip_grad_norm_", "max_norm": clip}
    return ran


def dev_cost(net, model, stopping):
    """J on the dev split in eval mode (no dropout, BatchNorm1d's running averages), with the L2 term — under the
    course's λ/(2m), m the dev split's, as the course's compute_cost on the dev set (reference.train.MONITORED_L2)."""
    model.eval()
    with torch.no_grad():
        X, Y = torch.from_numpy(stopping.X), torch.from_numpy(stopping.Y)
        J = ops.loss(net, model(X), Y) + ops.l2_term(net, weights(model), X.shape[0])
    model.train()
    return J.item()


def sequential(net, params=None):
    """Linear, g, Linear, g, …, Linear — the last layer linear: its softmax belongs to the loss.  With batch norm a
    hidden layer is Linear(bias=False), BatchNorm1d, g; with dropout g is followed by SharedMaskDropout.

    With params, the layers hold them (through bridge.py) in their dtype.
    """
    dtype = getattr(torch, np.asarray(params[0][0]).dtype.name) if params is not None else None
    modules = []
    for l, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:]), start=1):
        modules.append(nn.Linear(n_in, n_out, bias=not net.normalized(l), dtype=dtype))
        if net.normalized(l):
            modules.append(ops.normalization(net, n_out, dtype))
        if l < net.L:
            modules.append(ops.activation(net))
        if net.dropout(l):
            modules.append(ops.SharedMaskDropout(net.keep_prob))
    model = nn.Sequential(*modules)
    if params is not None:
        if not (net.batch_norm or net.keep_prob < 1):
            model.load_state_dict(bridge.state_dict(params))
        else:
            with torch.no_grad():
                for modules_l, values in zip(parts(net, model), bridge.module_values(net, params)):
                    for (module, field), value in values.items():
                        getattr(modules_l[module], field).copy_(torch.from_numpy(value))
    return model


def parts(net, model):
    """[{"linear": Linear, "norm": BatchNorm1d or None}] per layer, in order."""
    linears = [module for module in model if isinstance(module, nn.Linear)]
    norms = iter(module for module in model if isinstance(module, nn.BatchNorm1d))
    return [{"linear": linear, "norm": next(norms) if net.normalized(l) else None}
            for l, linear in enumerate(linears, start=1)]


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


def lr_scheduler(optimizer, opt):
    """torch.optim.lr_scheduler for the reference's LRSchedule, stepped once per epoch (None: a constant α)."""
    schedule = optimizer.schedule
    if schedule is None:
        return None
    schedulers = torch.optim.lr_scheduler
    if schedule.name == "step":
        return schedulers.StepLR(opt, step_size=schedule.every, gamma=schedule.factor)
    if schedule.name == "exponential":
        return schedulers.ExponentialLR(opt, gamma=schedule.factor)
    if schedule.name == "inverse":  # torch has no 1/t schedule of its own: LambdaLR with the factor 1 / (1 + r·⌊e/k⌋)
        return schedulers.LambdaLR(opt, lambda epoch: 1 / (1 + schedule.factor * (epoch // schedule.every)))
    return schedulers.CosineAnnealingLR(opt, T_max=schedule.epochs, eta_min=schedule.floor * optimizer.lr)
