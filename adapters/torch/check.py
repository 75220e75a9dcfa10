"""PyTorch: the lecture's tensors from torch.autograd, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      torch.matmul with the lecture's W (n_in, n_out): no transpose needed
    Zhat[l] = norm(Z[l])           nn.BatchNorm1d(affine=False) in train() or eval() mode (batch statistics or the
                                   running averages), then Ztilde = Zhat γ + β; μ, σ² by torch.var_mean
    A[l] = g(Z[l])                 ops.activation: nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh
    Adrop[l] = A[l] ⊙ D[l] / p     the mask handed in (dropout)
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (F.cross_entropy, …), ops.l2_term
    dT   = m · ∂J/∂T for T in Z, A, …;  ∂J/∂T for T in W, b, γ, β     (torch.autograd.grad, to_lecture_convention)
"""
import torch

from crosscheck.reference import Trace, backward_names, check_inputs, forward_names, input_names, to_lecture_convention

from . import ops


def backprop(net, params, X, Y, device="cpu", masks=None):
    """One forward and backward pass by autograd: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y, masks)
    m = X.shape[0]
    g = ops.activation(net)

    named = {"X": torch.tensor(X, device=device), "Y": torch.tensor(Y, device=device)}  # lecture name -> tensor
    A = named["X"]
    for l, layer in enumerate(params, start=1):
        # W (n_in, n_out) as the lecture writes it; b, γ, β (1, n_out), broadcast over the rows
        tensors = {f"{name}{l}": torch.tensor(value, device=device, requires_grad=name in ("W", "b", "gamma", "beta"))
                   for name, value in zip(net.layer_names(l), layer)}
        named.update(tensors)
        if net.normalized(l):
            Z = torch.matmul(A, tensors[f"W{l}"])
            norm = ops.normalization(net, net.sizes[l], Z.dtype, affine=False).to(device)
            if net.training:
                var, mu = torch.var_mean(Z, dim=0, unbiased=False, keepdim=True)
                named.update({f"mu{l}": mu, f"var{l}": var})
            else:
                norm.running_mean.copy_(tensors[f"rmu{l}"].reshape(-1))
                norm.running_var.copy_(tensors[f"rvar{l}"].reshape(-1))
            Zhat = norm.train(net.training)(Z)
            Ztilde = Zhat * tensors[f"gamma{l}"] + tensors[f"beta{l}"]
            named.update({f"Z{l}": Z, f"Zhat{l}": Zhat, f"Ztilde{l}": Ztilde})
            A = g(Ztilde)
        else:
            Z = torch.matmul(A, tensors[f"W{l}"]) + tensors[f"b{l}"]
            named[f"Z{l}"] = Z
            A = g(Z) if l < net.L else ops.output(net, Z)
        named[f"A{l}"] = A
        if net.dropout(l):
            D = named[f"D{l}"] = torch.tensor(masks[l - 1], device=device)
            A = named[f"Adrop{l}"] = A * D / net.keep_prob
    # from the logits Z[L], not from A[L]: finite for Z = ±1e4
    J = named["J"] = ops.loss(net, Z, named["Y"]) + ops.l2_term(net, [named[f"W{l}"] for l in range(1, net.L + 1)], m)

    grad_names = backward_names(net)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
    grads = torch.autograd.grad(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": "torch", "version": torch.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net) + forward_names(net):
        trace[name] = named[name].detach().cpu().numpy()
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, grad.cpu().numpy(), m)
    return trace
