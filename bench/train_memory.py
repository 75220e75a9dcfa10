"""Peak memory of `crosscheck train` against the number of steps: flat, since nothing keeps a step's parameters
past that step (crosscheck/training.py compares the runs as they go and keeps per-step distances only).

    python bench/train_memory.py                        1,000 and 10,000 steps of a 2-1000-3 net, the reference and torch
    python bench/train_memory.py --steps 100,1000 --frameworks numpy-reference

Each run is its own process; the figure is its peak resident set (getrusage's ru_maxrss) when it ends.
Keeping every step's parameters, as `train` once did, costs 6,003 × 8 bytes = 48 KB a step and a run:
the reference and each framework at 10,000 steps, about 1 GB.  The runs take 30 examples (--examples): what a
step stores does not depend on them, and the reference's steps of a 1000-unit layer cost a few ms per 300 rows.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import resource, sys
from crosscheck.cli import main
code = main(sys.argv[1:])
print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} exit {code}", file=sys.stderr)  # KiB on Linux
"""


def peak_memory(steps, frameworks="numpy-reference,torch", layers="2,1000,3", examples=30):
    """(peak resident MB, exit code, seconds) of `crosscheck train` for that many full-batch steps, in a fresh process."""
    started = time.perf_counter()
    argv = ["train", "--layers", layers, "--epochs", str(steps), "--examples", str(examples), "--frameworks", frameworks,
            "--json"]
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=ROOT, capture_output=True, text=True)
    last = [line for line in done.stderr.splitlines() if line.startswith("peak ")]
    if not last:
        raise RuntimeError(f"crosscheck train did not finish: {done.stderr.strip()[-500:]}")
    _, kib, _, code = last[-1].split()
    return int(kib) / 1024, int(code), time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="1000,10000", help="step counts to compare (default 1000,10000)")
    parser.add_argument("--frameworks", default="numpy-reference,torch")
    parser.add_argument("--layers", default="2,1000,3")
    parser.add_argument("--examples", type=int, default=30)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.steps.split(",")]
    peaks = {}
    for steps in counts:
        peaks[steps], code, seconds = peak_memory(steps, args.frameworks, args.layers, args.examples)
        print(f"{steps:>7} steps  {args.layers}  m = {args.examples}  {args.frameworks}:  peak {peaks[steps]:7.1f} MB  "
              f"(exit {code}, {seconds:.0f} s)", flush=True)
    print(f"difference {peaks[counts[-1]] - peaks[counts[0]]:+.1f} MB from {counts[0]} to {counts[-1]} steps")


if __name__ == "__main__":
    main()
