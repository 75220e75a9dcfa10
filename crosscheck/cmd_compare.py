"""crosscheck compare — every forward tensor and every gradient of the network, in every framework,
against the NumPy reference, in the lecture's names and convention.

Exit code 0 when everything agrees, 1 on a mismatch, 2 on bad input.
"""
import numpy as np

from adapters import FRAMEWORKS

from . import options
from .check import ERROR, MISMATCH, UNAVAILABLE, run_check
from .console import Progress, paint, table, use_colour
from .impl import load_impl
from .tolerance import EPS32, FLOAT32_FACTOR, FLOAT32_FLOOR_ULPS, FLOAT64_RTOL

DEFAULT_FRAMEWORKS = FRAMEWORKS  # torch, tensorflow, jax, keras


def add_arguments(parser):
    options.add_network_arguments(parser)
    options.add_data_arguments(parser)
    options.add_frameworks_argument(parser, known=FRAMEWORKS, default=DEFAULT_FRAMEWORKS)
    parser.add_argument("--impl", metavar="FILE.py", help="your own backprop(X, Y, params, activation) to check too")
    parser.add_argument("--save", metavar="FILE.npz", help="write the reference's every tensor and the config")
    options.add_json_argument(parser)


def run(args):
    if args.save:
        options.check_writable(args.save, "--save")
    impl = load_impl(args.impl) if args.impl else None
    net, params, X, Y = options.build_problem(args)
    config = {
        "layers": list(net.sizes), "activation": net.activation, "loss": net.loss, "dtype": X.dtype.name,
        "batch": int(X.shape[0]), "seed": args.seed, "init": None if args.params else args.init,
        "l2": net.l2, "l2_convention": net.l2_convention, "params": args.params, "data": args.data or "spiral"
        if net.sizes[0] == 2 else args.data or "gaussian", "impl": args.impl,
    }
    with Progress(len(args.frameworks) + bool(impl), "checking", enabled=None if not args.json else False) as bar:
        report = run_check(net, params, X, Y, frameworks=args.frameworks,
                           impls={"impl": impl} if impl else None, config=config,
                           progress=lambda name: bar.advance(name, step=0))
    if args.save:
        report.reference.save(args.save, config)
    if args.json:
        options.emit_json(report.as_json())
    else:
        print(render(report, net))
    return 0 if report.ok else 1


def render(report, net, colour=None):
    """The report a person reads: the tensor table, the frameworks, the verdict."""
    colour = use_colour() if colour is None else colour
    columns = list(report.results)
    rows = []
    for i, name in enumerate(c.tensor for c in next(iter(report.results.values())).comparisons) if columns else []:
        shape = report.reference[name].shape
        rows.append([name, str(shape) if shape else "scalar"] + [_cell(report.results[f].comparisons[i], colour)
                                                                  for f in columns])
    c = report.config
    lines = [paint(f"crosscheck · {net.describe()} · {c.get('dtype')} · m = {c.get('batch')} ({c.get('data')}) · "
                   f"seed {c.get('seed')}", "bold", enabled=colour), ""]
    if rows:
        lines.append(table(["tensor", "shape"] + columns, rows, align=["l", "l"] + ["r"] * len(columns)))
        lines.append(paint("cells: max|Δ| / max|reference| per tensor;  ✓ within tolerance, ✗ not, "
                           "↳ fails after the first ✗ (fix that one first), – not provided", "dim", enabled=colour))
        lines.append(paint(f"tolerance: {_policy(c.get('dtype'))}", "dim", enabled=colour))
    lines.append("")
    for name, entry in report.frameworks.items():
        if entry["status"] == UNAVAILABLE:
            lines.append(paint(f"  {name:<11} unavailable — {entry['reason']}", "yellow", enabled=colour))
        elif entry["status"] == ERROR:
            lines.append(paint(f"  {name:<11} error — {entry['reason']}", "red", enabled=colour))
        elif entry.get("info"):
            info = entry["info"]
            seconds = entry.get("seconds") or {}
            timing = f" · import {seconds['import']:.1f} s, check {seconds['check'] * 1e3:.0f} ms" if seconds else ""
            lines.append(f"  {name:<11} {info.get('version')} · {info.get('device', 'cpu')} · "
                         f"{info.get('threads', '?')} threads · {info.get('precision', '')}{timing}")
        elif name in report.results:
            provided = sum(x.ok is not None for x in report.results[name].comparisons)
            total = len(report.results[name].comparisons)
            note = entry["reason"] or f"provided {provided} of {total} tensors"
            lines.append(f"  {name:<11} your implementation · {note}")
    lines.append("")
    lines.append(verdict(report, colour))
    return "\n".join(lines)


def verdict(report, colour=False):
    first = report.first_divergence
    checked = [n for n, e in report.frameworks.items() if e["status"] not in (UNAVAILABLE, ERROR)]
    if first is None and report.ok:
        if not checked:
            return paint("⚠ nothing was checked: no framework is available", "yellow", enabled=colour)
        tensors = len(next(iter(report.results.values())).comparisons)
        return paint(f"✓ all {tensors} tensors agree with the reference in {', '.join(checked)}", "green", "bold",
                     enabled=colour)
    if first is None:
        bad = [n for n, e in report.frameworks.items() if e["status"] in (MISMATCH, ERROR)]
        return paint(f"✗ {', '.join(bad)}: {report.frameworks[bad[0]]['reason']}", "red", "bold", enabled=colour)
    where = f"{first.framework} {first.tensor} {first.shape if first.shape else '(scalar)'}"
    return (paint(f"✗ first divergence: {where}", "red", "bold", enabled=colour) + "\n  "
            + paint(f"probable cause: {first.hint}", "yellow", enabled=colour))


def _cell(comparison, colour):
    if comparison.ok is None:
        return paint("–", "dim", enabled=colour)
    if comparison.got_shape is not None:
        text = f"shape {comparison.got_shape} ✗"
    elif comparison.max_rel is None:
        text = "missing ✗"
    elif not np.isfinite(comparison.max_abs):
        text = "NaN/inf ✗"
    else:
        text = f"{comparison.max_rel:.1e} {'✓' if comparison.ok else '✗'}"
    if comparison.ok:
        return paint(text, "green", enabled=colour)
    if comparison.downstream:
        return paint(text.replace("✗", "↳"), "dim", enabled=colour)
    return paint(text, "red", "bold", enabled=colour)


def _policy(dtype):
    if dtype == "float32":
        return (f"float32: max|Δ| ≤ max({FLOAT32_FACTOR}× the reference's own float32 error, "
                f"{FLOAT32_FLOOR_ULPS}·ε32·max|ref|), ε32 = {EPS32:.2e}")
    return f"float64: max|Δ| ≤ {FLOAT64_RTOL:.0e}·max|ref| + 1e-14"
