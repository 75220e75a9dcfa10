"""PyTorch: the lecture's tensors from torch.autograd, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      torch.matmul with the lecture's W (n_in, n_out): no transpose needed
    A[l] = g(Z[l])                 ops.activation: nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     ops.loss (F.cross_entropy, …), ops.l2_term
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b     (torch.autograd.grad, to_lecture_convention)
"""
import torch

from reference import Trace, backward_names, check_inputs, forward_names, input_names, to_lecture_convention

from . import ops


def backprop(net, params, X, Y, device="cpu"):
    """One forward and backward pass by autograd: a Trace with reference.backprop's names and convention."""
    dtype = check_inputs(net, params, X, Y)
    m = X.shape[0]
    g = ops.activation(net)

    named = {"X": torch.tensor(X, device=device), "Y": torch.tensor(Y, device=device)}  # lecture name -> tensor
    A = named["X"]
    for l, (W, b) in enumerate(params, start=1):
        W = torch.tensor(W, device=device, requires_grad=True)  # (n_in, n_out), as the lecture writes it
        b = torch.tensor(b, device=device, requires_grad=True)  # (1, n_out), broadcast over the rows
        Z = torch.matmul(A, W) + b
        A = g(Z) if l < net.L else ops.output(net, Z)
        named.update({f"W{l}": W, f"b{l}": b, f"Z{l}": Z, f"A{l}": A})
    # from the logits Z[L], not from A[L]: finite for Z = ±1e4
    J = named["J"] = ops.loss(net, Z, named["Y"]) + ops.l2_term(net, [named[f"W{l}"] for l in range(1, net.L + 1)], m)

    grad_names = backward_names(net.L)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
    grads = torch.autograd.grad(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": "torch", "version": torch.__version__, "dtype": dtype.name, "device": device})
    for name in input_names(net.L) + forward_names(net.L):
        trace[name] = named[name].detach().cpu().numpy()
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, grad.cpu().numpy(), m)
    return trace
