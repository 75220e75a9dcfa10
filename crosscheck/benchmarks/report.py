"""A run as tables: batched matmul and train step per framework × shape × dtype × device, each median with the
spread of its rounds (the fastest of each group marked, a scattered case flagged), the reference's train
step against its GEMM floor and the fastest framework, and each framework's harness against a plain loop —
as text or as Markdown.
"""
from crosscheck.adapters import FRAMEWORKS
from crosscheck.benchmarks.plan import FLOOR_TARGET, REFERENCE_TARGET, TARGET_CONFIG, TRAIN_CONFIGS, matmul_flops
from crosscheck.benchmarks.results import run_warnings
from crosscheck.console import paint, table


def seconds(s):
    """3.2 µs, 41.0 ms, 1.20 s."""
    if s is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}" if unit != "s" else f"{s:.2f} s"
    return f"{s * 1e9:.0f} ns"


def _rate(g):
    return "-" if g is None else f"{g:.2g}" if g < 1 else f"{g:,.1f}" if g < 100 else f"{g:,.0f}"


def _spread(r, colour):
    """'1.2%' — the IQR of the rounds over the median — with ', runs 14%' when --repeat's runs scattered more,
    and ' scattered' past the limit (runs saved before the spread was recorded: '-')."""
    if r.get("iqr_pct") is None:
        return "-"
    percent = lambda x: f"{x:.1f}%" if x < 10 else f"{x:.0f}%"  # noqa: E731
    text = percent(r["iqr_pct"])
    if r.get("runs_iqr_pct") is not None and r["runs_iqr_pct"] > r["iqr_pct"]:
        text += f", runs {percent(r['runs_iqr_pct'])}"  # --repeat: the spread of the runs' medians
    if r.get("scattered"):
        text += " " + (paint("scattered", "yellow", enabled=colour) if colour is not False else "scattered")
    return text


def _times(ratio):
    """1.18×, 12.3×, 276× — or '-'."""
    return "-" if ratio is None else f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.3g}×"


def _verdict(met, colour):
    if met is None:
        return ""
    text = "met" if met else "not met"
    return paint(text, "green" if met else "red", enabled=colour) if colour is not False else text


def _order(r):
    framework = list(FRAMEWORKS).index(r["framework"])
    if r["op"] == "batched_matmul":
        return (r["device"], r["dtype"], matmul_flops(r["shape"]), tuple(r["shape"]), framework)
    return (r["device"], r["dtype"], list(TRAIN_CONFIGS).index(r["config"]), framework, r["mode"])


def sections(document, colour=None):
    """The report as [(title, headers, rows, align)]: a table per op (fastest of each group marked), the ratios."""
    results, out = document["results"], []
    show_peak = any(r.get("pct_peak") is not None for r in results)
    for op, title in (("batched_matmul", "batched matmul (B×M×K×N), time per call"),
                      ("train_step", "train step (forward + backward + SGD update), time per step")):
        rows = sorted((r for r in results if r["op"] == op), key=_order)
        if not rows:
            continue
        group = (lambda r: (r["device"], r["dtype"], tuple(r["shape"]))) if op == "batched_matmul" else \
                (lambda r: (r["device"], r["dtype"], r["config"]))
        best = {}
        for r in rows:
            best[group(r)] = min(best.get(group(r), float("inf")), r["median_s"])
        headers = ["framework", "mode", "device", "dtype", "shape" if op == "batched_matmul" else "config",
                   "median", "IQR", "GFLOP/s"] + (["% peak"] if show_peak else []) + ["first call"]
        table_rows = []
        for r in rows:
            rate = _rate(r["gflops"])
            if r["median_s"] == best[group(r)] and sum(group(o) == group(r) for o in rows) > 1:
                rate = paint(rate, "green", enabled=colour) if colour is not False else f"**{rate}**"
            what = "×".join(map(str, r["shape"])) if op == "batched_matmul" else r["config"]
            mode = "eager" if r["mode"] == "eager" else FRAMEWORKS[r["framework"]].compiler
            table_rows.append([r["framework"], mode, r["device"], r["dtype"], what, seconds(r["median_s"]),
                               _spread(r, colour), rate]
                              + ([f"{r['pct_peak']:.0f}%" if r.get("pct_peak") is not None else "-"] if show_peak else [])
                              + [seconds(r["first_call_s"])])
        out.append((title, headers, table_rows, list("lllllrrr") + (["r"] if show_peak else []) + ["r"]))
    if document.get("ratios"):
        out.append(reference_section(document["ratios"], colour))
    if document.get("fidelity"):
        out.append(fidelity_section(document["fidelity"], colour))
    return out


def reference_section(ratios, colour=None):
    """The reference's step against its GEMM floor (its FLOPs at NumPy's best matmul rate in the run) and
    against the fastest framework; the targets judged at the wide config."""
    rows = []
    for q in ratios:
        floor = "-" if q.get("floor_s") is None else f"{seconds(q['floor_s'])} at {_rate(q['floor_gflops'])} GFLOP/s"
        verdicts = [f"{what} {_verdict(met, colour)}" for what, met in (("floor", q.get("floor_met")),
                                                                          ("fastest", q.get("met"))) if met is not None]
        rows.append([q["config"], q["dtype"], q["device"],
                     seconds(q["reference_s"]) + (" (scattered)" if q.get("reference_scattered") else ""),
                     floor, _times(q.get("floor_ratio")),
                     q.get("fastest") or "-", seconds(q.get("fastest_s")),
                     _times(q.get("ratio")), ", ".join(verdicts)])
    title = (f"the reference's train step against its GEMM floor and the fastest framework "
             f"(targets at {TARGET_CONFIG}: ≤ {FLOOR_TARGET}× floor, ≤ {REFERENCE_TARGET}× fastest)")
    return (title, ["config", "dtype", "device", "reference", "GEMM floor", "× floor", "fastest framework",
                    "its time", "× fastest", "targets"], rows, list("lllrrrlrrl"))


def fidelity_section(fidelity, colour=None):
    """Each framework's self-check: its harness and a plain loop in turns on one case, the speed ratio."""
    rows = []
    for f in fidelity:
        what = "×".join(map(str, f["shape"])) if f["op"] == "batched_matmul" else f"{f['config']} {f['mode']}"
        rows.append([f["framework"], f["device"], f"{f['dtype']} {what}", seconds(f["harness_s"]), seconds(f["loop_s"]),
                     f"{f['ratio']:.3f}", " ".join(f"{q:.2f}" for q in f["ratios"]), _verdict(f["within"], colour)])
    limit = fidelity[0]["limit"]
    title = (f"the harness against a plain loop (harness speed / loop speed, pairs in turns; target within "
             f"{1 - limit:.2f}–{1 + limit:.2f})")
    return (title, ["framework", "device", "case", "harness", "plain loop", "ratio", "pairs", "target"],
            rows, list("lllrrrll"))


def header(document):
    env, cpu = document["env"], document["env"]["cpu"]
    repeats = f", each case the median of {env['repeat']} runs" if env.get("repeat", 1) > 1 else ""
    threads = f"{env['threads']} thread{'s' if env['threads'] != 1 else ''}"
    lines = [f"{cpu['model']}, {threads} per framework of {cpu['usable_cores']} usable cores"
             f"{', each framework in its own process' if env['isolated'] else ', all frameworks in one process'}"
             f"{', quick' if env['quick'] else ''}{repeats}; load average {env.get('load_average')} before the run; "
             f"{env['date']}",
             f"BLAS (numpy): {env['blas_summary']}"]
    if any(key.startswith("numpy:") for key in env["frameworks"]):
        lines.pop()  # the numpy worker's own line below says it, with the worker's thread count
    for key, info in env["frameworks"].items():
        lines.append(f"{key}: {info.get('version')}, {info.get('blas')}, threads {info.get('threads') or '-'}, "
                     f"precision {info.get('precision')}" + (f", {info.get('device_name')}" if key.endswith("cuda") else ""))
    return lines + [f"warning: {w}" for w in env.get("warnings", []) + run_warnings(document)]


def skipped_lines(document):
    reasons = {}
    for s in document["skipped"]:
        reasons.setdefault(s["reason"], []).append(s)
    return [f"{len(cases)} × {reason}" for reason, cases in reasons.items()]


def report(document):
    """The text report: where it ran, the tables, what was skipped."""
    first, *rest = header(document)
    lines = [paint("crosscheck bench", "bold") + " — " + first]
    lines += ["  " + (paint(line, "yellow") if line.startswith("warning:") else line) for line in rest]
    for title, headers, rows, align in sections(document):
        lines += ["", paint(title, "bold"), table(headers, rows, align)]
    if document["skipped"]:
        lines += ["", paint(f"skipped {len(document['skipped'])} cases", "bold")]
        lines += ["  " + line for line in skipped_lines(document)]
    return "\n".join(lines)


def markdown(document):
    """The same report as Markdown, to paste into docs/benchmarks.md."""
    lines = ["- " + line for line in header(document)]
    for title, headers, rows, align in sections(document, colour=False):
        lines += ["", f"**{title}**", "", "| " + " | ".join(headers) + " |",
                  "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    if document["skipped"]:
        lines += ["", f"Skipped {len(document['skipped'])} cases:"] + ["- " + line for line in skipped_lines(document)]
    return "\n".join(lines)
