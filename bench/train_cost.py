"""What training costs the reference side of `crosscheck train`, against a plain NumPy loop of the same training.

    python -m bench.train_cost                             the lecture net and 2-1000-3, float64 and float32
    python -m bench.train_cost --steps 300 --rounds 5
    python -m bench.train_cost --save docs/bench-train-cost.json
    python -m bench.train_cost --from docs/bench-train-cost.json --markdown      the table of docs/benchmarks.md

The reference side is what `crosscheck train --frameworks numpy-reference` runs (crosscheck.course.training's
compare_training): the reference and its twin stepping together, the distance between them and the scales after
every step, the end state kept for judging, the final accuracy.  The plain loop is the few lines anyone would
write for the same full-batch SGD on the same spiral from the same start — forward, J, backward, W −= α dW, J kept
per step — and nothing of this project's code.  Both run in this process, under the same BLAS on one thread
(--threads), with glibc keeping freed memory as `crosscheck train` has it; they take turns, --rounds times, and
each figure is the median round, in CPU time of this thread (time.thread_time: what another job takes from the
machine is not counted) and in wall time.  Goal (issue 21): the reference side at most 2× the plain loop.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

CONFIGS = {"lecture": (2, 4, 3), "2-1000-3": (2, 1000, 3)}
DTYPES = ("float64", "float32")
GOAL = 2.0
LR = 0.3


def plain_loop(X, Y, params, lr, steps):
    """Full-batch gradient descent on an N-layer ReLU net with a softmax, the lecture's formulas in a loop; J per step.

        Z[l] = A[l-1] W[l] + b[l];  A[l] = ReLU(Z[l]);  A[L] = softmax(Z[L]);  J = −Σ Y log A[L] / m
        dZ[L] = A[L] − Y;  dW[l] = A[l-1]ᵀ dZ[l] / m;  db[l] = Σ_rows dZ[l] / m;  dZ[l-1] = dZ[l] W[l]ᵀ ⊙ 1[Z[l-1] > 0]
        W ← W − α dW,  b ← b − α db
    """
    Ws, bs = [W.copy() for W, _ in params], [b.copy() for _, b in params]
    m, lr, losses, L = X.shape[0], X.dtype.type(lr), [], len(params)
    for _ in range(steps):
        As, Zs = [X], []
        for l in range(L):
            Zs.append(As[l] @ Ws[l] + bs[l])
            As.append(np.maximum(Zs[l], 0) if l < L - 1 else None)
        E = np.exp(Zs[-1] - Zs[-1].max(axis=1, keepdims=True))
        A = E / E.sum(axis=1, keepdims=True)
        losses.append(-np.sum(Y * np.log(A)) / m)
        dZ = A - Y
        for l in range(L - 1, -1, -1):
            dW = As[l].T @ dZ / m
            db = np.sum(dZ, axis=0, keepdims=True) / m
            if l:
                dZ = (dZ @ Ws[l].T) * (Zs[l - 1] > 0)
            Ws[l] -= lr * dW
            bs[l] -= lr * db
    return losses, list(zip(Ws, bs))


def problem(config, dtype):
    """The lecture's spiral and start (its 0.01·N(0, 1) weights, zero biases) for a network of the config's sizes."""
    from crosscheck.engine.problem import Problem
    from crosscheck.reference import Network, init_params, make_data
    net = Network(CONFIGS[config])
    X, Y = make_data(net, dtype=dtype)
    return Problem(net, init_params(net, "lecture", 0, dtype), X, Y)


def reference_side(prob, steps):
    """What `crosscheck train --frameworks numpy-reference` computes: the report of compare_training."""
    from crosscheck.adapters import REFERENCE
    from crosscheck.course.training import compare_training
    from crosscheck.reference.optim import Optimizer
    from crosscheck.reference.train import batch_schedule
    return compare_training(prob, Optimizer("sgd", LR), batch_schedule(prob.X.shape[0], None, steps), (REFERENCE,))


def timed(call):
    """(CPU seconds of this thread, wall seconds, the call's result)."""
    cpu, wall = time.thread_time(), time.perf_counter()
    result = call()
    return time.thread_time() - cpu, time.perf_counter() - wall, result


def measure(config, dtype, steps, rounds):
    """One case: the two sides in turns, `rounds` times; medians, and that they trained alike."""
    prob = problem(config, dtype)
    plain, ours = {"cpu": [], "wall": []}, {"cpu": [], "wall": []}
    for _ in range(rounds):
        cpu, wall, (losses, final) = timed(lambda: plain_loop(prob.X, prob.Y, prob.params, LR, steps))
        plain["cpu"].append(cpu)
        plain["wall"].append(wall)
        cpu, wall, report = timed(lambda: reference_side(prob, steps))
        ours["cpu"].append(cpu)
        ours["wall"].append(wall)
    run = report.reference_run  # the same walk: the loop and the reference end within rounding of each other
    gap = max(float(np.max(np.abs(P - Q))) for pair, pair2 in zip(final, run.final_params) for P, Q in zip(pair, pair2))
    med = {side: {k: statistics.median(v) for k, v in times.items()} for side, times in (("plain", plain),
                                                                                          ("reference", ours))}
    return {"config": config, "layers": list(CONFIGS[config]), "dtype": dtype, "steps": steps, "rounds": rounds,
            "plain_cpu_s": med["plain"]["cpu"], "plain_wall_s": med["plain"]["wall"],
            "reference_cpu_s": med["reference"]["cpu"], "reference_wall_s": med["reference"]["wall"],
            "ratio_cpu": med["reference"]["cpu"] / med["plain"]["cpu"],
            "ratio_wall": med["reference"]["wall"] / med["plain"]["wall"],
            "final_J_plain": float(losses[-1]), "final_J_reference": float(run.losses[-1]), "max_param_gap": gap,
            "twin_stacked": _stacked(prob, steps)}


def _stacked(prob, steps):
    from crosscheck.course.training import STACK_BYTES
    return steps and prob.X.shape[0] * max(prob.net.sizes) * prob.X.dtype.itemsize <= STACK_BYTES


def run(configs=tuple(CONFIGS), dtypes=DTYPES, steps=1000, rounds=3, threads=1):
    """Every case: a document with the machine's load and the cases."""
    from threadpoolctl import threadpool_limits

    from crosscheck.benchmarks import machine
    allocator = machine.keep_freed_memory()  # as crosscheck train does, for both sides
    load = _load()
    with threadpool_limits(threads):
        cases = [measure(config, dtype, steps, rounds) for config in configs for dtype in dtypes]
    return {"goal": GOAL, "threads": threads, "allocator": allocator, "load_average": load,
            "numpy": np.__version__, "cases": cases}


def _load():
    try:
        import os
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def markdown(document):
    """The table of docs/benchmarks.md for a document of run()."""
    lines = ["| network | dtype | steps | plain NumPy loop | reference side | ratio (CPU) | ratio (wall) | twin |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for c in document["cases"]:
        sizes = "-".join(map(str, c["layers"]))
        name = c["config"] if c["config"] == sizes else f"{c['config']}, {sizes}"
        lines.append(f"| {name} | {c['dtype']} | {c['steps']} | "
                     f"{_duration(c['plain_cpu_s'])} | {_duration(c['reference_cpu_s'])} | **{c['ratio_cpu']:.2f}×** | "
                     f"{c['ratio_wall']:.2f}× | {'stacked' if c['twin_stacked'] else 'apart'} |")
    return "\n".join(lines)


def _duration(seconds):
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.1 else f"{seconds * 1e3:.1f} ms"


def text(document):
    lines = [f"reference side of crosscheck train against a plain NumPy loop · {document['threads']} BLAS thread · "
             f"load {document['load_average']} · goal ≤ {document['goal']:g}×", ""]
    for c in document["cases"]:
        met = "met" if c["ratio_cpu"] <= document["goal"] else "NOT met"
        lines.append(f"{c['config']:>9} {c['dtype']}  {c['steps']} steps  plain loop {_duration(c['plain_cpu_s']):>9} "
                     f"(wall {_duration(c['plain_wall_s'])})  reference side {_duration(c['reference_cpu_s']):>9} "
                     f"(wall {_duration(c['reference_wall_s'])})  ratio {c['ratio_cpu']:.2f}× CPU, "
                     f"{c['ratio_wall']:.2f}× wall  {met}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"a subset of {','.join(CONFIGS)}")
    parser.add_argument("--dtypes", default=",".join(DTYPES))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", metavar="FILE.json")
    parser.add_argument("--from", dest="source", metavar="FILE.json", help="print a saved run instead of measuring")
    parser.add_argument("--markdown", action="store_true", help="the table for docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.source:
        with open(args.source) as f:
            document = json.load(f)
    else:
        document = run(tuple(args.configs.split(",")), tuple(args.dtypes.split(",")), args.steps, args.rounds,
                       args.threads)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(document, f, indent=1)
            f.write("\n")
    print(markdown(document) if args.markdown else text(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
