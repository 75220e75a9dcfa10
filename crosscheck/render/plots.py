"""The pictures: a training comparison (every framework's loss curve, its distance from the reference's,
the decision boundary the trained reference draws on the spiral) and a benchmark run (GFLOP/s against
problem size).  The file's extension decides the format (crosscheck.output).

matplotlib is imported inside the functions only, with the Agg backend: no display needed.
"""
import numpy as np

from crosscheck import output
from crosscheck.adapters import FRAMEWORKS, REFERENCE
from crosscheck.engine.tolerance import TRAJECTORY_FACTOR
from crosscheck.reference.train import predict

FLOOR = 1e-17  # |ΔJ| = 0 drawn here, so that an exact agreement still shows on the log axis
DPI = 90
SLIDE_DPI = 150  # a figure made for a slide (the benchmark's): sharp when projected


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def style(name):
    """A framework's line in the plots (the reference's own run is numpy's)."""
    return FRAMEWORKS["numpy" if name == REFERENCE else name].style


def save(figure, path, force, dpi=DPI):
    """figure into path, in the format its extension names, atomically and under the file policy."""
    try:
        output.write(path, lambda f: figure.savefig(f, dpi=dpi, format=output.plot_format(path)), force, "--plot")
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
    for name, run in runs.items():  # early stopping may end a run before the schedule: each its own length
        ax.plot(np.arange(1, len(run.losses) + 1), run.losses, label=name, **style(name))
    ax.set(title="J per step (they should coincide)", xlabel="step", ylabel="J")
    ax.legend(frameon=False)

    ax = axes[1]
    compared = {name: o for name, o in report.outcomes.items()
                if name != REFERENCE and o.param_gap is not None and o.envelope is not None}
    envelopes = {o.convention: o.envelope for o in compared.values()}
    chaos_steps = set()
    for i, (_, envelope) in enumerate(sorted(envelopes.items())):  # one band per convention, labelled once
        tol, n = envelope.tolerance, envelope.tolerance.compared_steps
        ax.fill_between(steps[:n], FLOOR, np.maximum(tol.param[:n], FLOOR), color="0.85", alpha=0.6, lw=0,
                        label=f"tolerance on ΔW: {TRAJECTORY_FACTOR} × the twin + floor" if i == 0 else None)
        ax.semilogy(steps[:len(envelope.param_spread)], np.maximum(envelope.param_spread, FLOOR), color="0.45", lw=0.8, ls=":",
                    label="the reference's twin" if i == 0 else None)
        if tol.chaos_step is not None and tol.chaos_step not in chaos_steps:
            chaos_steps.add(tol.chaos_step)
            ax.axvline(tol.chaos_step, color="k", lw=0.8, ls="--", label=f"chaotic from step {tol.chaos_step}")
    for name, o in compared.items():
        color = style(name).get("color")
        taken = steps[:len(o.param_gap)]
        ax.semilogy(taken, np.maximum(o.param_gap, FLOOR), lw=1.4, color=color, label=f"{name} max|ΔW|")
        ax.semilogy(taken, np.maximum(o.loss_gap, FLOOR), ".", ms=2, alpha=0.4, color=color)
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
    figure = bench_axes(document)
    if figure is None:
        return "--plot: nothing drawn, no batched matmul was measured"
    save(figure, path, force, dpi=SLIDE_DPI)
    return f"plot written to {path}"


def bench_axes(document):
    """The benchmark's figure, for a slide: each framework a colour of its own (its line in every plot), each point
    its median with a bar over the rounds' interquartile range (GFLOP/s at the first and third quartile of the time
    per call), type large enough to read projected; None when no batched matmul was measured."""
    from crosscheck.benchmarks.plan import GPU_DTYPES, matmul_flops
    rows = [r for r in document["results"] if r["op"] == "batched_matmul" and r["gflops"]]
    if not rows:
        return None
    plt = _pyplot()
    panels = sorted({(r["device"], r["dtype"]) for r in rows}, key=lambda p: (p[0], GPU_DTYPES.index(p[1])))
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.8), squeeze=False, sharey=True)
    for ax, (device, dtype) in zip(axes[0], panels):
        mine = [r for r in rows if (r["device"], r["dtype"]) == (device, dtype)]
        shapes = sorted({tuple(r["shape"]) for r in mine}, key=lambda s: (matmul_flops(s), s))
        for framework in FRAMEWORKS:
            points = sorted((shapes.index(tuple(r["shape"])), r) for r in mine if r["framework"] == framework)
            if not points:
                continue
            x = [i for i, _ in points]
            y = [r["gflops"] for _, r in points]
            spread = [_gflops_spread(r) for _, r in points]
            ax.errorbar(x, y, yerr=[[g - low for g, (low, _) in zip(y, spread)],
                                    [high - g for g, (_, high) in zip(y, spread)]],
                        marker="o", ms=5, lw=2, capsize=4, label=framework, color=FRAMEWORKS[framework].style["color"])
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels(["×".join(map(str, s)) for s in shapes], rotation=40, ha="right", fontsize=10)
        ax.set_yscale("log")
        ax.set_title(f"{device} {dtype}", fontsize=13)
        ax.set_xlabel("B×M×K×N, by FLOPs per call", fontsize=11)
        ax.tick_params(axis="y", labelsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("GFLOP/s (median; bars: interquartile range)", fontsize=11)
    axes[0][0].legend(fontsize=10, frameon=False)
    env = document["env"]
    figure.suptitle(f"batched matmul — {env['cpu']['model']}, {env['threads']} threads per framework", fontsize=12)
    figure.tight_layout()
    return figure


def _gflops_spread(r):
    """(low, high) GFLOP/s over the rounds' interquartile range of the time per call; the median twice where a
    saved run has no quartiles."""
    from crosscheck.benchmarks.plan import gflops
    if not (r.get("q1_s") and r.get("q3_s") and r.get("flops")):
        return r["gflops"], r["gflops"]
    return gflops(r["flops"], r["q3_s"]), gflops(r["flops"], r["q1_s"])


def tuning_figure(search, config, path, force=False):
    """Dev accuracy over the search space: α against λ coloured by dev accuracy, and dev accuracy against α."""
    plt = _pyplot()
    trials = [t for t in search.trials if not t.diverged]
    diverged = [t for t in search.trials if t.diverged]
    best = search.best
    widths = sorted(set(search.space.widths))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))

    ax = axes[0]
    if trials:
        size = {w: 30 + 90 * i / max(1, len(widths) - 1) for i, w in enumerate(widths)}
        points = ax.scatter([t.lr for t in trials], [t.l2 for t in trials], c=[100 * t.dev_accuracy for t in trials],
                            s=[size[t.width] for t in trials], cmap="viridis", edgecolors="k", linewidths=0.4)
        fig.colorbar(points, ax=ax, label="dev accuracy (%)")
    if diverged:
        ax.scatter([t.lr for t in diverged], [t.l2 for t in diverged], marker="x", c="0.5", label="diverged")
        ax.legend(frameon=False, fontsize=8, loc="lower left")
    if best:
        ax.scatter([best.lr], [best.l2], marker="*", s=320, facecolors="none", edgecolors="tab:red", linewidths=1.5)
        ax.annotate(f"best: {100 * best.dev_accuracy:.1f}%, width {best.width}", (best.lr, best.l2),
                    textcoords="offset points", xytext=(-12, -16), ha="right", fontsize=8, color="tab:red")
    ax.set(xscale="log", yscale="log", xlim=search.space.lr if search.space.lr[0] < search.space.lr[1] else None,
           xlabel="learning rate α", ylabel=f"L2 strength λ ({config['l2_convention']})",
           title="the points tried (marker size: hidden width)")

    ax = axes[1]
    colours = plt.get_cmap("tab10")
    for i, width in enumerate(widths):
        mine = sorted((t.lr, 100 * t.dev_accuracy) for t in trials if t.width == width)
        if mine:
            ax.plot(*zip(*mine), "o", color=colours(i % 10), label=f"width {width}")
    if best:
        ax.plot([best.lr], [100 * best.dev_accuracy], "*", ms=16, mfc="none", mec="tab:red", mew=1.5)
    ax.set(xscale="log", xlabel="learning rate α", ylabel="dev accuracy (%)", title="dev accuracy against α")
    ax.grid(True, which="major", alpha=0.3)
    if trials:
        ax.legend(frameon=False, fontsize=8)
    split = config["split"]
    fig.suptitle(f"crosscheck tune · {config['data']} (train {split['train']}, dev {split['dev']}) · "
                 f"{config['optimizer']}, {config['epochs']} epochs, batch {config['batch_size'] or 'full'} · "
                 f"{len(search.trials)} trials", fontsize=10)
    fig.tight_layout()
    save(fig, path, force)


def analysis_figure(analysis, dataset, config, path, force=False):
    """The error analysis in pictures: the three errors with the bias and variance gaps, the confusion
    matrix, and the examples the network got wrong most confidently (images when the data set is one)."""
    plt = _pyplot()
    a = analysis
    shown = a.confused
    columns = min(4, max(1, len(shown)))
    rows = max(1, -(-len(shown) // columns))
    fig = plt.figure(figsize=(16, 6))
    outer = fig.add_gridspec(1, 3, width_ratios=[1.0, 1.25, 1.25], wspace=0.35)

    ax = fig.add_subplot(outer[0])
    target = 100 * a.target_error
    looked = [s for s in ("train", "dev", "test") if s in a.errors]  # test only when it was asked for (--test)
    errors = [target] + [100 * a.errors[s] for s in looked]
    ax.bar(range(len(errors)), errors, width=0.55, color=["0.75", "tab:blue", "tab:orange", "tab:purple"][:len(errors)],
           hatch=["//", "", "", ""][:len(errors)], edgecolor="white")
    for x, e in enumerate(errors):
        ax.text(x, e, f"{e:.1f}%", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(errors)))
    ax.set_xticklabels(["target", *looked])
    for x, (low, high), name in ((0.5, errors[:2], "bias"), (1.5, errors[1:3], "variance")):
        colour = "tab:red" if a.focus == name else "0.4"
        ax.annotate("", (x, high), (x, low), arrowprops=dict(arrowstyle="<->", color=colour, lw=1.4, shrinkA=0, shrinkB=0))
    top = max(errors) * 1.6 + 0.5
    reading = [f"avoidable bias = train − target = {100 * a.avoidable_bias:+.1f}%",
               f"variance = dev − train = {100 * a.variance:+.1f}%"]
    for k, (line, name) in enumerate(zip(reading, ("bias", "variance"))):
        focus = a.focus == name
        ax.text(0.03, 0.95 - 0.07 * k, line + ("  ← work on this" if focus else ""), transform=ax.transAxes,
                fontsize=8.5, va="top", color="tab:red" if focus else "0.3", fontweight="bold" if focus else "normal")
    ax.set(ylabel="error (%)", title="the errors, side by side", ylim=(0, top))

    ax = fig.add_subplot(outer[1])
    C = a.confusion
    ax.imshow(np.log1p(C), cmap="Blues")
    K = len(C)
    for i in range(K):
        for j in range(K):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=8 if K > 5 else 10,
                        color="white" if C[i, j] > C.max() / 2 else ("tab:red" if i != j else "k"))
    names = [str(name)[:10] for name in a.classes]
    ax.set_xticks(range(K))
    ax.set_xticklabels(names, rotation=0 if K > 5 else 20, fontsize=8)
    ax.set_yticks(range(K))
    ax.set_yticklabels(names, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=f"confusion matrix on {a.split} ({a.sizes[a.split]} examples)")

    if shown and not dataset.image:  # no picture: each example's standardized inputs, one row per example
        ax = fig.add_subplot(outer[2])
        strip = ax.imshow(np.asarray(dataset.X[a.split][[x.row for x in shown]], np.float64), cmap="coolwarm",
                          vmin=-3, vmax=3, aspect="auto", interpolation="nearest")
        ax.set_yticks(range(len(shown)))
        ax.set_yticklabels([f"{names[x.true]} →\n{names[x.predicted]}\np = {x.p_predicted:.2f}" for x in shown], fontsize=7)
        ax.set_xlabel("input feature (standardized on the training rows)")
        fig.colorbar(strip, ax=ax, label="(x − μ) / σ")
    else:
        inner = outer[2].subgridspec(rows, columns, hspace=0.55, wspace=0.15)
        if not shown:
            ax = fig.add_subplot(inner[0, 0])
            ax.text(0.5, 0.5, f"no {a.split} example is misclassified", ha="center", va="center", transform=ax.transAxes)
            ax.axis("off")
        raw = dataset.raw(a.split)
        for k, x in enumerate(shown):
            ax = fig.add_subplot(inner[k // columns, k % columns])
            ax.imshow(raw[x.row].reshape(dataset.image), cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{names[x.true]} → {names[x.predicted]}\np = {x.p_predicted:.2f}", fontsize=8,
                         color="tab:red")
    fig.text(0.78, 0.88, f"the {len(shown)} surest mistakes on {a.split}: true → predicted", ha="center", fontsize=10)
    split = config["split"]
    fig.suptitle(f"crosscheck analyze · {config['data']} (train {split['train']}, dev {split['dev']}, test "
                 f"{split['test']}) · {config['network']}", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.8, bottom=0.1)
    save(fig, path, force)
