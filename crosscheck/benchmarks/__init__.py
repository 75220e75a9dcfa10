"""The benchmark engine behind `crosscheck bench` and the pytest-benchmark suites in bench/.

    plan.py      what is timed: the cases (batched matmul over a sweep of shapes, one training step per
                 config), their FLOPs, the problem every framework's step starts from
    timing.py    how: the first call apart, a warm-up, then many short rounds (n calls, one sync) within a
                 time budget, their median and IQR; the plain loop and the self-check against it
    workers.py   where: every framework in its own worker process, its threads pinned
    machine.py   on what: CPU, cores, BLAS and its kernel, GPUs, load — without importing a framework
    results.py   the numbers: a result record per case, % of peak, the reference's GEMM floor and ratio, the
                 self-checks, saved runs
    report.py    the tables, as text or Markdown

The framework code itself is adapters/<name>/kernels.py.  The rules, and why, are in docs/benchmarks.md.
"""
