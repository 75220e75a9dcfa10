"""The pictures: a training comparison (every framework's loss curve, its distance from the reference's,
the decision boundary the trained reference draws on the spiral) and a benchmark run (GFLOP/s against
problem size).  The file's extension decides the format (crosscheck.output).

matplotlib is imported inside the functions only, with the Agg backend: no display needed.
"""
import numpy as np

from adapters import FRAMEWORKS, REFERENCE
from reference.train import predict

from . import output
from .tolerance import TRAJECTORY_FACTOR

FLOOR = 1e-17  # |ΔJ| = 0 drawn here, so that an exact agreement still shows on the log axis
DPI = 90


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def style(name):
    """A framework's line in the plots (the reference's own run is numpy's)."""
    return FRAMEWORKS["numpy" if name == REFERENCE else name].style


def save(figure, path, force):
    """figure into path, in the format its extension names, atomically and under the file policy."""
    try:
        output.write(path, lambda f: figure.savefig(f, dpi=DPI, format=output.plot_format(path)), force, "--plot")
    finally:
        _pyplot().close(figure)


def training_figure(report, net, X, Y, path, force=False):
    """Draw a crosscheck.training report into path: J per step; each framework's distance from the reference
    within the twin envelope (the tolerance, a band) up to the chaos step, marked; the decision boundary."""
    plt = _pyplot()
    reference = report.reference_run
    runs = {REFERENCE: reference, **{name: o.run for name, o in report.outcomes.items()
                                     if name != REFERENCE and o.run is not None}}
    boundary = net.sizes[0] == 2
    fig, axes = plt.subplots(1, 3 if boundary else 2, figsize=(15 if boundary else 10, 4.4))
    steps = np.arange(1, report.steps + 1)

    ax = axes[0]
    for name, run in runs.items():
        ax.plot(steps, run.losses, label=name, **style(name))
    ax.set(title="J per step (they should coincide)", xlabel="step", ylabel="J")
    ax.legend(frameon=False)

    ax = axes[1]
    compared = {name: o for name, o in report.outcomes.items()
                if name != REFERENCE and o.param_gap is not None and o.envelope is not None}
    envelopes = {o.convention: o.envelope for o in compared.values()}
    chaos_steps = set()
    for i, (rule, envelope) in enumerate(sorted(envelopes.items())):  # one band per convention, labelled once
        tol, n = envelope.tolerance, envelope.tolerance.compared_steps
        ax.fill_between(steps[:n], FLOOR, np.maximum(tol.param[:n], FLOOR), color="0.85", alpha=0.6, lw=0,
                        label=f"tolerance on ΔW: {TRAJECTORY_FACTOR} × the twins + floor" if i == 0 else None)
        ax.semilogy(steps, np.maximum(envelope.param_spread, FLOOR), color="0.45", lw=0.8, ls=":",
                    label="the reference's twins" if i == 0 else None)
        if tol.chaos_step is not None and tol.chaos_step not in chaos_steps:
            chaos_steps.add(tol.chaos_step)
            ax.axvline(tol.chaos_step, color="k", lw=0.8, ls="--", label=f"chaotic from step {tol.chaos_step}")
    for name, o in compared.items():
        color = style(name).get("color")
        ax.semilogy(steps, np.maximum(o.param_gap, FLOOR), lw=1.4, color=color, label=f"{name} max|ΔW|")
        ax.semilogy(steps, np.maximum(o.loss_gap, FLOOR), ".", ms=2, alpha=0.4, color=color)
    if compared:
        ax.legend(frameon=False, fontsize=7, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no framework to compare", ha="center", va="center", transform=ax.transAxes)
    ax.set_yscale("log")
    ax.set(title="distance from the reference run", xlabel="step",
           ylabel=f"max|ΔW| (lines),  |ΔJ| (dots);  0 drawn at {FLOOR:.0e}")

    if boundary:
        decision_boundary(axes[2], net, reference.final_params, X, Y)
    fig.suptitle(f"{net.describe()} · {report.optimizer.describe()} · {X.dtype.name}", fontsize=10)
    fig.tight_layout()
    save(fig, path, force)


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


def bench_figure(document, path, force=False):
    """GFLOP/s against problem size (shapes in order of FLOPs), a line per framework, a panel per device × dtype.

    Returns a note for the user: where it was written, or why there was nothing to draw.
    """
    from .benchmarks.plan import GPU_DTYPES, matmul_flops
    rows = [r for r in document["results"] if r["op"] == "batched_matmul" and r["gflops"]]
    if not rows:
        return "--plot: nothing drawn, no batched matmul was measured"
    plt = _pyplot()
    panels = sorted({(r["device"], r["dtype"]) for r in rows}, key=lambda p: (p[0], GPU_DTYPES.index(p[1])))
    figure, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False, sharey=True)
    for ax, (device, dtype) in zip(axes[0], panels):
        mine = [r for r in rows if (r["device"], r["dtype"]) == (device, dtype)]
        shapes = sorted({tuple(r["shape"]) for r in mine}, key=lambda s: (matmul_flops(s), s))
        for framework in FRAMEWORKS:
            points = sorted((shapes.index(tuple(r["shape"])), r["gflops"]) for r in mine if r["framework"] == framework)
            if points:
                ax.plot(*zip(*points), marker="o", ms=3, label=framework, color=FRAMEWORKS[framework].style.get("color"))
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels(["×".join(map(str, s)) for s in shapes], rotation=40, ha="right", fontsize=7)
        ax.set(yscale="log", title=f"{device} {dtype}", xlabel="B×M×K×N, by FLOPs per call")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("GFLOP/s")
    axes[0][0].legend(fontsize=7)
    env = document["env"]
    figure.suptitle(f"batched matmul — {env['cpu']['model']}, {env['threads']} threads per framework", fontsize=9)
    figure.tight_layout()
    save(figure, path, force)
    return f"plot written to {path}"
