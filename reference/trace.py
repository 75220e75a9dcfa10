"""The Trace: the named tensors of one forward + backward pass.

It is the one record that the reference, every adapter, a student's own implementation, the
compare engine, the command line and the saved files all speak.  Names are the lecture's:

    inputs     X, Y, W1, b1, …, WL, bL
    forward    Z1, A1, …, ZL, AL, J
    backward   dZL, dWL, dbL, dA(L−1), dZ(L−1), dW(L−1), db(L−1), …, dZ1, dW1, db1

and so is the convention: dZ and dA carry no 1/m, dW and db are gradients of the mean loss J.  Dropout and
batch norm add their own (reference.network): D, Adrop, dAdrop; gamma, beta, rmu, rvar, mu, var, Zhat, Ztilde,
dZtilde, dgamma, dbeta, dZhat — every dZ… and dA… without 1/m, dgamma and dbeta with it.
"""
import json
import os
import re

import numpy as np

from .errors import InputError, one_line


class _PlainNetwork:
    """What the name lists need to know of the lecture's plain L-layer network (no dropout, no batch norm)."""

    training = True

    def __init__(self, L):
        self.L = int(L)

    def dropout(self, l):
        return False

    def normalized(self, l):
        return False

    def layer_names(self, l):
        return ("W", "b")

    def learnt(self, l):
        return 2


def _plain(net):
    """A Network (reference.network), or a number of layers L standing for the lecture's plain L-layer network."""
    return _PlainNetwork(net) if isinstance(net, (int, np.integer)) else net


NAME = re.compile(r"(d?)(Zhat|Ztilde|Adrop|gamma|beta|rmu|rvar|mu|var|A|Z|W|b|D)(\d+)")


def split_name(name):
    """A tensor's name as (kind, layer): "dW2" -> ("dW", 2), "dZhat1" -> ("dZhat", 1); ("J", None) for J, X, Y."""
    match = NAME.fullmatch(name)
    return (match.group(1) + match.group(2), int(match.group(3))) if match else (name, None)


def input_names(net):
    """X, Y, W1, b1, …, WL, bL — with batch norm a hidden layer's W, gamma, beta (and in an inference pass the
    running averages rmu, rvar it normalizes with), with dropout its mask D after them.  net: a Network or L."""
    net = _plain(net)
    names = ["X", "Y"]
    for l in range(1, net.L + 1):
        kept = net.layer_names(l) if not net.training or not net.normalized(l) else net.layer_names(l)[:3]
        names += [f"{name}{l}" for name in kept]
        if net.dropout(l):
            names.append(f"D{l}")
    return names


def forward_names(net):
    """Z1, A1, …, ZL, AL, J — the forward tensors in the order they are computed; with batch norm Z, mu, var (the
    batch's, in training), Zhat, Ztilde, A; with dropout Adrop after A.  net: a Network or L."""
    net = _plain(net)
    names = []
    for l in range(1, net.L + 1):
        names.append(f"Z{l}")
        if net.normalized(l):
            names += ([f"mu{l}", f"var{l}"] if net.training else []) + [f"Zhat{l}", f"Ztilde{l}"]
        names.append(f"A{l}")
        if net.dropout(l):
            names.append(f"Adrop{l}")
    return names + ["J"]


def backward_names(net):
    """dZL, dWL, dbL, dA(L−1), dZ(L−1), …, db1 — the backward tensors in the order they are computed; with dropout
    dAdrop before dA, with batch norm dZtilde, dgamma, dbeta, dZhat, dZ, dW and no db.  net: a Network or L."""
    net = _plain(net)
    names = []
    for l in range(net.L, 0, -1):
        if l < net.L:
            names += ([f"dAdrop{l}"] if net.dropout(l) else []) + [f"dA{l}"]
        if net.normalized(l):
            names += [f"dZtilde{l}", f"dgamma{l}", f"dbeta{l}", f"dZhat{l}", f"dZ{l}", f"dW{l}"]
        else:
            names += [f"dZ{l}", f"dW{l}", f"db{l}"]
    return names


def computed_names(net):
    """Every tensor a forward + backward pass computes, in computation order: what gets compared.  net: a Network or L."""
    return forward_names(net) + backward_names(net)


def parameter_names(net):
    """dW1, db1, … (dgamma, dbeta for a batch-norm layer): the gradients of what the optimizer learns."""
    net = _plain(net)
    return [f"d{name}{l}" for l in range(1, net.L + 1) for name in net.layer_names(l)[:net.learnt(l)]]


def to_lecture_convention(name, grad_of_J, m):
    """Convert an autodiff gradient ∂J/∂T of the mean loss J to the lecture's convention.

    This is the one place the conversion is stated.  Autodiff asked for ∂J/∂Z returns (A − Y)/m;
    the lecture's dZ and dA are gradients of m·J, so they are multiplied by m.  dW and db are
    already gradients of J and pass unchanged.
    """
    if name.startswith(("dZ", "dA")):  # dZhat, dZtilde, dAdrop too: per-example tensors
        return grad_of_J * m
    return grad_of_J


class Trace:
    """An ordered mapping from lecture names to NumPy arrays, plus free-form metadata."""

    def __init__(self, tensors=None, meta=None):
        self.tensors = dict(tensors or {})
        self.meta = dict(meta or {})

    # mapping interface
    def __getitem__(self, name):
        return self.tensors[name]

    def __setitem__(self, name, value):
        self.tensors[name] = value

    def __contains__(self, name):
        return name in self.tensors

    def __iter__(self):
        return iter(self.tensors)

    def __len__(self):
        return len(self.tensors)

    def get(self, name, default=None):
        return self.tensors.get(name, default)

    def items(self):
        return self.tensors.items()

    def keys(self):
        return self.tensors.keys()

    @property
    def L(self):
        """Number of layers: the highest l for which W{l} is present."""
        layers = [int(n[1:]) for n in self.tensors if n[:1] == "W" and n[1:].isdigit()]
        return max(layers, default=0)

    @property
    def params(self):
        """[(W1, b1), …, (WL, bL)]; a batch-norm layer's (W, gamma, beta[, rmu, rvar]) as far as the Trace holds them."""
        layers = []
        for l in range(1, self.L + 1):
            names = ("W", "b") if f"b{l}" in self.tensors else ("W", "gamma", "beta", "rmu", "rvar")
            layers.append(tuple(self.tensors[f"{name}{l}"] for name in names if f"{name}{l}" in self.tensors))
        return layers

    def __repr__(self):
        shapes = ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in self.tensors.items())
        return f"Trace({shapes})"

    # ---- files ------------------------------------------------------------------------------------

    def archive(self, config=None):
        """What save_to() writes: every tensor under its lecture name, and the metadata and config as JSON."""
        arrays = {name: np.asarray(value) for name, value in self.tensors.items()}
        arrays["__meta__"] = np.array(json.dumps({"meta": self.meta, "config": config or {}}, default=str))
        return arrays

    def save_to(self, f, config=None):
        """Write the archive into an open binary file."""
        np.savez(f, **self.archive(config))

    @classmethod
    def load(cls, path):
        """Read a file written by save_to() (crosscheck compare --save)."""
        arrays = load_npz(path)
        header = json.loads(str(arrays.pop("__meta__", np.array("{}"))))
        return cls(arrays, meta={**header.get("meta", {}), "config": header.get("config", {})})


def load_npz(path):
    """Every array of an .npz file as a dict, or an InputError naming what is wrong with the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not an .npz file")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise InputError(f"{path}: holds a single array (.npy), not a named .npz archive")
        with archive:
            return {name: archive[name] for name in archive.files}
    except InputError:
        raise
    except Exception as exc:  # np.load raises several kinds for a corrupt or foreign file
        raise InputError(f"{path}: not a readable .npz file ({one_line(exc)})") from None
