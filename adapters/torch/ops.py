"""PyTorch's pieces of the lecture's network, written once: the check, the training run and the
benchmark's step all use these.

    A[l] = g(Z[l])         activation(net): nn.ReLU, nn.LeakyReLU(slope), nn.Sigmoid, nn.Tanh, nn.Identity
    A[L] = f(Z[L])         output(net, Z): softmax over the classes, sigmoid, or Z itself
    J    = loss(Z[L], Y)   F.cross_entropy, F.binary_cross_entropy_with_logits, F.mse_loss — each the
                           reference's J, a mean over the m rows, computed from the logits Z[L]
         + (c/2) Σ‖W‖²     l2_term(net, weights, m): weights only, c from the network's L2 convention
    Zhat = norm(Z)         normalization(net, n): nn.BatchNorm1d with the network's ε and torch's momentum 1 − β
    Adrop = A ⊙ D / p      SharedMaskDropout: inverted dropout with the mask handed in (nn.Dropout draws its own)
"""
import torch
import torch.nn.functional as F
from torch import nn

from crosscheck.reference import l2_coefficient

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity}


def activation(net):
    """g as an nn.Module: what nn.Sequential holds between its Linear layers, and what the check applies to Z."""
    if net.activation == "leaky_relu":
        return nn.LeakyReLU(net.leaky_slope)
    return ACTIVATIONS[net.activation]()


def normalization(net, n, dtype, affine=True):
    """nn.BatchNorm1d for a layer of n units: ε the network's (torch's default is 1e-5), and momentum = 1 − β —
    torch's momentum is the weight of the new batch statistic, the reference's β (Keras's momentum) the weight of
    the running average.  torch keeps the running average of the unbiased variance (reference.train)."""
    return nn.BatchNorm1d(n, eps=net.bn_eps, momentum=1 - net.bn_momentum, affine=affine, dtype=dtype)


class SharedMaskDropout(nn.Module):
    """Inverted dropout, A ⊙ D / keep_prob, with D the mask every framework is handed (set .mask before each
    forward pass); an identity in eval mode, like nn.Dropout(p = 1 − keep_prob), which draws its own mask."""

    def __init__(self, keep_prob):
        super().__init__()
        self.keep_prob, self.mask = keep_prob, None

    def forward(self, A):
        return A * self.mask / self.keep_prob if self.training else A


def output(net, Z):
    """A[L] from the logits Z[L]; in training it lives inside the loss."""
    if net.loss == "softmax-ce":
        return torch.softmax(Z, dim=1)
    return torch.sigmoid(Z) if net.loss == "sigmoid-bce" else Z


def loss(net, Z, Y):
    """The reference's J (without L2) from the logits Z[L] and the targets Y (m, n[L])."""
    m = Z.shape[0]
    if net.loss == "softmax-ce":
        return F.cross_entropy(Z, Y)  # Y one-hot (probability targets): −(1/m) Σ Y log softmax(Z)
    if net.loss == "sigmoid-bce":
        return F.binary_cross_entropy_with_logits(Z, Y, reduction="sum") / m  # summed over the outputs
    return F.mse_loss(Z, Y, reduction="sum") / (2 * m)


def l2_term(net, weights, m):
    """(c/2) Σ‖W‖² over the weight matrices (never the biases); 0 without L2."""
    if not net.l2:
        return 0
    c = l2_coefficient(net.l2, net.l2_convention, m)
    return c / 2 * sum((W ** 2).sum() for W in weights)
