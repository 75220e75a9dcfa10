"""The lecture's line for each tensor, written for its layer: what a report quotes next to a divergence.

    lecture_line("dW2", net)                    'dW2 = A1ᵀ · dZ2 / m'
    lecture_line("dZ1", net)                    'dZ1 = dA1 ⊙ 1[Z1 > 0]   (dZ1 = dA1; dZ1[Z1 <= 0] = 0)'
    lecture_line("dW2", net, layout="columns")  'dW2 = dZ2 · A1ᵀ / m'

The formulas are the lecture's (its section "General layer l"), with the L2 term where the
network has one, in its convention (reference.regularization), and in the column layout when the
implementation works in it.
"""
from crosscheck.reference.trace import split_name

# g(Z) and dZ = dA ⊙ g'(Z) for each hidden activation, in the names the lecture uses
ACTIVATION = {"relu": ("ReLU({Z})", "{dA} ⊙ 1[{Z} > 0]   ({dZ} = {dA}; {dZ}[{Z} <= 0] = 0)"),
              "leaky_relu": ("leaky_relu({Z})", "{dA} ⊙ (1 where {Z} > 0, else the slope)"),
              "sigmoid": ("σ({Z})", "{dA} ⊙ {A}(1 − {A})"),
              "tanh": ("tanh({Z})", "{dA} ⊙ (1 − {A}²)"),
              "identity": ("{Z}", "{dA}")}
OUTPUT = {"softmax-ce": ("softmax({Z})", "J = −(1/m) Σ Y ⊙ log {A}"),
          "sigmoid-bce": ("σ({Z})", "J = −(1/m) Σ [Y ⊙ log {A} + (1 − Y) ⊙ log(1 − {A})]"),
          "mse": ("{Z}", "J = (1/2m) Σ ‖{A} − Y‖²")}
# (the term J gains, the term dW gains) for each L2 convention (reference.regularization)
L2_TERMS = {"keras": ("λ·Σ‖W‖²", "2λ·{W}"), "course": ("(λ/2m)·Σ‖W‖²", "(λ/m)·{W}"),
            "weight-decay": ("(λ/2)·Σ‖W‖²", "λ·{W}")}


def lecture_line(name, net, layout="rows"):
    """The lecture's formula for tensor `name` of network `net` (a reference.Network), or None for a name that
    is not one of its tensors."""
    kind, l = split_name(name)
    if name == "J":
        Z, A = f"Z{net.L}", f"A{net.L}"
        line = OUTPUT[net.loss][1].format(Z=Z, A=A)
        return line + (f" + {L2_TERMS[net.l2_convention][0]}" if net.l2 else "")
    if kind not in ("Z", "A", "dZ", "dA", "dW", "db") or not 1 <= l <= net.L:
        return None
    columns = layout == "columns"
    prev = "X" if l == 1 else f"A{l - 1}"
    names = dict(Z=f"Z{l}", A=f"A{l}", dZ=f"dZ{l}", dA=f"dA{l}", W=f"W{l}", b=f"b{l}")
    if kind == "Z":
        return f"Z{l} = W{l} · {prev} + b{l}" if columns else f"Z{l} = {prev} · W{l} + b{l}"
    if kind == "A":
        g = OUTPUT[net.loss][0] if l == net.L else ACTIVATION.get(net.activation, ("g({Z})",))[0]
        return f"A{l} = " + g.format(**names)
    if kind == "dZ":
        if l == net.L:
            return f"dZ{l} = A{l} − Y"
        return f"dZ{l} = " + ACTIVATION.get(net.activation, (None, "{dA} ⊙ g'({Z})"))[1].format(**names)
    if kind == "dW":
        line = f"dW{l} = dZ{l} · {prev}ᵀ / m" if columns else f"dW{l} = {prev}ᵀ · dZ{l} / m"
        return line + (f" + {L2_TERMS[net.l2_convention][1].format(W=f'W{l}')}" if net.l2 else "")
    if kind == "db":
        return f"db{l} = np.sum(dZ{l}, axis={1 if columns else 0}, keepdims=True) / m"
    if l >= net.L:  # dA[L] is not a lecture tensor: the backward pass starts from dZ[L]
        return None
    return f"dA{l} = W{l + 1}ᵀ · dZ{l + 1}" if columns else f"dA{l} = dZ{l + 1} · W{l + 1}ᵀ"
