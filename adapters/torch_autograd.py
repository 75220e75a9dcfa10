"""PyTorch: the lecture's tensors from torch.autograd, converted to the lecture's convention.

    Z[l] = A[l-1] W[l] + b[l]      torch.matmul with the lecture's W (n_in, n_out): no transpose needed
    A[l] = g(Z[l])                 torch.relu, F.leaky_relu, torch.sigmoid, torch.tanh
    J    = loss(Z[L], Y) + (c/2) Σ‖W‖²     F.cross_entropy, F.binary_cross_entropy_with_logits, F.mse_loss
    dT   = m · ∂J/∂T for T in Z, A;   ∂J/∂T for T in W, b     (torch.autograd.grad, to_lecture_convention)
"""
import os

from reference import Trace, backward_names, check_inputs, forward_names, input_names, l2_coefficient
from reference import to_lecture_convention

NAME = "torch"
torch = F = None  # imported by setup(), so that importing this module does not import PyTorch
_info = None

# hidden activation g, by the reference's name
ACTIVATIONS = {
    "relu": lambda Z, net: torch.relu(Z),
    "leaky_relu": lambda Z, net: F.leaky_relu(Z, negative_slope=net.leaky_slope),
    "sigmoid": lambda Z, net: torch.sigmoid(Z),
    "tanh": lambda Z, net: torch.tanh(Z),
    "identity": lambda Z, net: Z,
}
# loss name -> (output A[L] = f(Z[L]), J from the logits Z[L] with the reference's 1/m)
OUTPUT_LOSSES = {
    "softmax-ce": (lambda Z: torch.softmax(Z, dim=1),
                   lambda Z, Y: F.cross_entropy(Z, Y)),  # probability targets; mean over the m rows
    "sigmoid-bce": (lambda Z: torch.sigmoid(Z),
                    lambda Z, Y: F.binary_cross_entropy_with_logits(Z, Y, reduction="sum") / Z.shape[0]),
    "mse": (lambda Z: Z,
            lambda Z, Y: F.mse_loss(Z, Y, reduction="sum") / (2 * Z.shape[0])),
}


def setup():
    """Import PyTorch, pick the device, turn TF32 off; {"version", "device", "threads", "precision"}."""
    global torch, F, _info
    import torch
    import torch.nn.functional as F

    wants_cuda = os.environ.get("CROSSCHECK_DEVICE", "cpu") == "cuda"
    device = "cuda" if wants_cuda and torch.cuda.is_available() else "cpu"
    # TF32 would round float32 matmuls on a GPU to a 10-bit mantissa: keep float32 a real float32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    _info = {"version": torch.__version__, "device": device, "threads": torch.get_num_threads(),
             "precision": "input dtype, TF32 off"}
    return dict(_info)


def backprop(net, params, X, Y):
    """One forward and backward pass by autograd: a Trace with reference.backprop's names and convention."""
    if _info is None:
        setup()
    dtype = check_inputs(net, params, X, Y)
    m, device = X.shape[0], _info["device"]
    g = ACTIVATIONS[net.activation]
    output, loss = OUTPUT_LOSSES[net.loss]

    named = {"X": torch.tensor(X, device=device), "Y": torch.tensor(Y, device=device)}  # lecture name -> tensor
    A = named["X"]
    for l, (W, b) in enumerate(params, start=1):
        W = torch.tensor(W, device=device, requires_grad=True)  # (n_in, n_out), as the lecture writes it
        b = torch.tensor(b, device=device, requires_grad=True)  # (1, n_out), broadcast over the rows
        Z = torch.matmul(A, W) + b
        A = g(Z, net) if l < net.L else output(Z)
        named.update({f"W{l}": W, f"b{l}": b, f"Z{l}": Z, f"A{l}": A})
    J = loss(Z, named["Y"])  # from the logits Z[L], not from A[L]: finite for Z = ±1e4
    if net.l2:
        c = l2_coefficient(net.l2, net.l2_convention, m)
        J = J + c / 2 * sum(torch.sum(named[f"W{l}"] ** 2) for l in range(1, net.L + 1))
    named["J"] = J

    grad_names = backward_names(net.L)  # dZL, dWL, dbL, dA(L-1), …: the gradient of J w.r.t. ZL, WL, bL, …
    grads = torch.autograd.grad(J, [named[name[1:]] for name in grad_names])

    trace = Trace(meta={"framework": NAME, "version": _info["version"], "dtype": dtype.name, "device": device})
    for name in input_names(net.L) + forward_names(net.L):
        trace[name] = named[name].detach().cpu().numpy()
    for name, grad in zip(grad_names, grads):
        trace[name] = to_lecture_convention(name, grad.cpu().numpy(), m)
    return trace
