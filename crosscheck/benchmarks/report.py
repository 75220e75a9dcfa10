"""A run as tables: batched matmul and train step per framework × shape × dtype × device (the fastest of each
group marked), and the reference's train step against the fastest framework — as text or as Markdown.
"""
from adapters import FRAMEWORKS

from ..console import paint, table
from .plan import REFERENCE_TARGET, TRAIN_CONFIGS, matmul_flops


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
                   "median", "GFLOP/s"] + (["% peak"] if show_peak else []) + ["first call"]
        table_rows = []
        for r in rows:
            rate = _rate(r["gflops"])
            if r["median_s"] == best[group(r)] and sum(group(o) == group(r) for o in rows) > 1:
                rate = paint(rate, "green", enabled=colour) if colour is not False else f"**{rate}**"
            what = "×".join(map(str, r["shape"])) if op == "batched_matmul" else r["config"]
            mode = "eager" if r["mode"] == "eager" else FRAMEWORKS[r["framework"]].compiler
            table_rows.append([r["framework"], mode, r["device"], r["dtype"], what, seconds(r["median_s"]), rate]
                              + ([f"{r['pct_peak']:.0f}%" if r.get("pct_peak") is not None else "-"] if show_peak else [])
                              + [seconds(r["first_call_s"])])
        out.append((title, headers, table_rows, list("lllllrr") + (["r"] if show_peak else []) + ["r"]))
    if document.get("ratios"):
        rows = []
        for q in document["ratios"]:
            verdict = ("" if q["met"] is None else "met" if q["met"] else "not met")
            if colour is not False and verdict:
                verdict = paint(verdict, "green" if q["met"] else "red", enabled=colour)
            rows.append([q["config"], q["dtype"], q["device"], seconds(q["reference_s"]), q["fastest"],
                         seconds(q["fastest_s"]), f"{q['ratio']:.2f}×", verdict])
        out.append((f"the reference's train step against the fastest framework (target: ≤ {REFERENCE_TARGET}× at wide)",
                    ["config", "dtype", "device", "reference", "fastest framework", "its time", "ratio", "target"],
                    rows, list("lllrlrrl")))
    return out


def header(document):
    env, cpu = document["env"], document["env"]["cpu"]
    repeats = f", each case the median of {env['repeat']} runs" if env.get("repeat", 1) > 1 else ""
    threads = f"{env['threads']} thread{'s' if env['threads'] != 1 else ''}"
    lines = [f"{cpu['model']}, {threads} per framework of {cpu['usable_cores']} usable cores"
             f"{', each framework in its own process' if env['isolated'] else ', all frameworks in one process'}"
             f"{', quick' if env['quick'] else ''}{repeats}; load average {env.get('load_average')} before the run; {env['date']}",
             f"BLAS (numpy): {env['blas_summary']}"]
    if any(key.startswith("numpy:") for key in env["frameworks"]):
        lines.pop()  # the numpy worker's own line below says it, with the worker's thread count
    for key, info in env["frameworks"].items():
        lines.append(f"{key}: {info.get('version')}, {info.get('blas')}, threads {info.get('threads') or '-'}, "
                     f"precision {info.get('precision')}" + (f", {info.get('device_name')}" if key.endswith("cuda") else ""))
    return lines + [f"warning: {w}" for w in env.get("warnings", [])]


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
