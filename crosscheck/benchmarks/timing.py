"""How a kernel is timed: the first call apart (it compiles), a warm-up, then rounds of n calls and one sync.

    calibrate(kernel, settings) -> (first_call_s, n)    n chosen so a round lasts at least min_round_s
    measure(kernel, settings) -> Timing                 per-call time of every round
    RoundOfCalls(kernel, n)                             the same round for pytest-benchmark's pedantic()
"""
import gc
import math
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """rounds: timed rounds; min_round_s: n is chosen so a round lasts at least this; warmup_s: untimed."""
    rounds: int = 7
    min_round_s: float = 0.1
    warmup_s: float = 0.25
    warmup_calls: int = 2
    max_calls: int = 100_000


FULL = Settings()
QUICK = Settings(rounds=3, min_round_s=0.02, warmup_s=0.02, warmup_calls=1)


@dataclass
class Timing:
    first_call_s: float     # the first call with its sync: includes tracing and compiling
    per_call_s: list        # one number per round: (round time) / calls_per_round
    calls_per_round: int

    @property
    def median_s(self):
        return statistics.median(self.per_call_s)


def _timed(kernel, calls):
    start = time.perf_counter()
    for _ in range(calls):
        kernel.call()
    kernel.sync()
    return time.perf_counter() - start


def calibrate(kernel, settings):
    """(first_call_s, n): time the first call apart, warm up, and pick n calls per round."""
    first = _timed(kernel, 1)
    times, start = [], time.perf_counter()
    while len(times) < settings.warmup_calls or (time.perf_counter() - start < settings.warmup_s
                                                  and len(times) < settings.max_calls):
        times.append(_timed(kernel, 1))
    per_call = statistics.median(times[len(times) // 2:]) if times else first
    limit = min(settings.max_calls, kernel.max_calls or settings.max_calls)
    n = max(1, min(limit, math.ceil(settings.min_round_s / max(per_call, 1e-9))))
    return first, n


def measure(kernel, settings):
    """Timing of a kernel: first call apart, warm-up, then `rounds` rounds of n calls and one sync."""
    first, n = calibrate(kernel, settings)
    per_call = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(settings.rounds):
            per_call.append(_timed(kernel, n) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(first, per_call, n)


class RoundOfCalls:
    """call() n times, sync() after every n-th: pytest-benchmark's pedantic(iterations=n) is then one
    round of n calls with exactly one sync inside its timed region, and reports the time per call."""

    def __init__(self, kernel, n):
        self.kernel, self.n, self.count = kernel, n, 0

    def __call__(self):
        self.kernel.call()
        self.count += 1
        if self.count == self.n:
            self.kernel.sync()
            self.count = 0
