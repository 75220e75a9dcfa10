"""The picture of a training comparison: every framework's loss curve on one axis, how far each one is
from the reference's, and the decision boundary the trained reference network draws on the spiral.

matplotlib is imported inside the functions only (with the Agg backend: no display needed).
"""
import os

import numpy as np

from reference.files import write_atomically
from reference.optim import FRAMEWORK_CONVENTIONS
from reference.train import predict

from .errors import UsageError

FORMATS = (".png", ".svg", ".pdf")
STYLES = {"numpy-reference": dict(color="0.6", lw=5, alpha=0.5), "torch": dict(color="tab:red", lw=1.6),
          "tensorflow": dict(color="tab:orange", lw=1.6, ls="--"), "keras": dict(color="tab:green", lw=1.6, ls="-."),
          "jax": dict(color="tab:blue", lw=1.6, ls=":")}
FLOOR = 1e-17
DPI = 90  # |ΔJ| = 0 drawn here, so that an exact agreement still shows on the log axis


def require(path):
    """UsageError (exit 2) unless matplotlib can be imported and the file type is one it writes."""
    if os.path.splitext(path)[1].lower() not in FORMATS:
        raise UsageError(f"--plot {path}: the file name must end in {', '.join(FORMATS)}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'backprop-crosscheck[plot]'") from None


def training_figure(report, net, X, Y, path):
    """Draw the report of cmd_train.compare_training into path (written whole or not at all)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reference = report["references"][FRAMEWORK_CONVENTIONS["numpy-reference"]]
    runs = {"numpy-reference": reference, **{name: r["run"] for name, r in report["frameworks"].items() if "run" in r}}
    boundary = net.sizes[0] == 2
    fig, axes = plt.subplots(1, 3 if boundary else 2, figsize=(15 if boundary else 10, 4.4))
    steps = np.arange(1, report["steps"] + 1)

    ax = axes[0]
    for name, run in runs.items():
        ax.plot(steps, run.losses, label=name, **STYLES.get(name, {}))
    ax.set(title="J per step (they should coincide)", xlabel="step", ylabel="J")
    ax.legend(frameon=False)

    ax = axes[1]
    compared = {name: r for name, r in report["frameworks"].items() if name != "numpy-reference" and "param_gap" in r}
    for name, result in compared.items():
        color = STYLES.get(name, {}).get("color")
        ax.semilogy(steps, np.maximum(result["param_gap"], FLOOR), lw=1.4, color=color, label=f"{name} max|ΔW|")
        ax.semilogy(steps, np.maximum(result["loss_gap"], FLOOR), ".", ms=2, alpha=0.4, color=color)
    if compared:
        ax.axhline(max(r["param_tolerance"] for r in compared.values()), color="k", ls="--", lw=0.8,
                   label="tolerance on ΔW")
        ax.legend(frameon=False, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no framework to compare", ha="center", va="center", transform=ax.transAxes)
    ax.set(title="distance from the reference run", xlabel="step",
           ylabel=f"max|ΔW| (lines),  |ΔJ| (dots);  0 drawn at {FLOOR:.0e}")

    if boundary:
        decision_boundary(axes[2], net, reference.final_params, X, Y)
    fig.suptitle(f"{net.describe()} · {report['optimizer'].describe()} · {X.dtype.name}", fontsize=10)
    fig.tight_layout()
    save_atomically(fig, path)
    plt.close(fig)


def decision_boundary(ax, net, params, X, Y, resolution=300):
    """The class the network predicts at every point of the plane, under the training points."""
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.c_[xx.ravel(), yy.ravel()].astype(X.dtype)
    regions = predict(net, params, grid).reshape(xx.shape)
    labels = (Y[:, 0] > 0.5).astype(int) if Y.shape[1] == 1 else np.argmax(Y, axis=1)
    classes = max(2, Y.shape[1])
    ax.contourf(xx, yy, regions, levels=np.arange(classes + 1) - 0.5, cmap="Spectral", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=labels, cmap="Spectral", vmin=0, vmax=classes - 1, s=12, edgecolors="k", linewidths=0.3)
    accuracy = np.mean(predict(net, params, X) == labels)
    ax.set(title=f"decision boundary of the trained reference ({100 * accuracy:.1f}%)", xticks=[], yticks=[])


def save_atomically(fig, path):
    """fig.savefig into a file that appears complete or not at all (reference.files)."""
    write_atomically(path, lambda f: fig.savefig(f, dpi=DPI, format=os.path.splitext(path)[1][1:] or "png"))
