"""How a kernel is timed: the first call apart (it compiles), a warm-up, then many short rounds within a budget.

    calibrate(kernel, settings) -> Calibration          first call, n calls per round, how many rounds
    round_plan(per_call_s, settings) -> (n, rounds)     the same choice for a call of a known length
    measure(kernel, settings) -> Timing                 per-call time of every round; median, IQR, scattered
    plain_loop(kernel, seconds) -> [s]                  the stopwatch: every call timed alone with its sync
    self_check(kernel, settings) -> SelfCheck           the harness against the plain loop, interleaved
    RoundOfCalls(kernel, n)                             one round for pytest-benchmark's pedantic()

Why short rounds (docs/benchmarks.md, "Why the harness read low"): interference only ever adds time, and a
round is undisturbed only if every one of its calls is.  If a fraction p of the calls run undisturbed, a
round of n calls does with probability pⁿ, so the median of long rounds reports a disturbed figure long
before the median call does.  A round here lasts about one scheduler slice (ROUND_S), one call when a call
is longer, and the figure is the median of as many such rounds as fit in the case's time budget.
"""
import gc
import math
import statistics
import time
from dataclasses import dataclass

ROUND_S = 0.001        # a round lasts at least this: about one scheduler time slice, so most rounds are whole
SCATTER_LIMIT = 0.10   # IQR / median beyond which a median is flagged: the middle half of the rounds spans
                       # more than ±5 % around it, so the median cannot be trusted to the 5 % we claim
FIDELITY_LIMIT = 0.05  # |harness / plain loop − 1| beyond which the self-check warns


@dataclass(frozen=True)
class TimingRules:
    """budget_s: time in timed rounds per case; min_rounds, max_rounds: bounds on their number whatever the
    budget; round_s: n is chosen so a round lasts at least this; warmup_s, warmup_calls: untimed, after the
    first call; self_check_pairs: harness/plain-loop pairs of the self-check."""
    budget_s: float = 1.0
    min_rounds: int = 10
    max_rounds: int = 2000
    round_s: float = ROUND_S
    warmup_s: float = 0.25
    warmup_calls: int = 2
    max_calls: int = 100_000
    self_check_pairs: int = 3


FULL = TimingRules()
QUICK = TimingRules(budget_s=0.2, min_rounds=5, warmup_s=0.05, warmup_calls=1)


@dataclass
class Calibration:
    first_call_s: float     # the first call with its sync: includes tracing and compiling
    calls_per_round: int
    rounds: int


@dataclass
class Timing:
    first_call_s: float     # the first call with its sync: includes tracing and compiling
    per_call_s: list        # one number per round: (round time) / calls_per_round
    calls_per_round: int

    @property
    def median_s(self):
        return statistics.median(self.per_call_s)

    @property
    def quartiles_s(self):
        """(q1, q3) of the rounds' per-call times."""
        if len(self.per_call_s) < 2:
            return self.per_call_s[0], self.per_call_s[0]
        q1, _, q3 = statistics.quantiles(self.per_call_s, n=4, method="inclusive")
        return q1, q3

    @property
    def iqr_s(self):
        q1, q3 = self.quartiles_s
        return q3 - q1

    @property
    def scattered(self):
        """True when the rounds scatter too much for the median to be trusted (SCATTER_LIMIT)."""
        return self.iqr_s > SCATTER_LIMIT * self.median_s


def _timed(kernel, calls):
    start = time.perf_counter()
    for _ in range(calls):
        kernel.call()
    kernel.sync()
    return time.perf_counter() - start


def calibrate(kernel, settings):
    """The first call apart, the warm-up, then n calls per round and the number of rounds for the budget."""
    first = _timed(kernel, 1)
    times, start = [], time.perf_counter()
    while len(times) < settings.warmup_calls or (time.perf_counter() - start < settings.warmup_s
                                                  and len(times) < settings.max_calls):
        times.append(_timed(kernel, 1))
    per_call = statistics.median(times[len(times) // 2:]) if times else first
    return Calibration(first, *round_plan(per_call, settings, kernel.max_calls))


def round_plan(per_call_s, settings, max_calls=None):
    """(n calls per round, rounds) for a call of about per_call_s: rounds of at least round_s, as many as fit
    in budget_s, within [min_rounds, max_rounds]."""
    per_call_s = max(per_call_s, 1e-9)
    limit = min(settings.max_calls, max_calls or settings.max_calls)
    n = max(1, min(limit, math.ceil(settings.round_s / per_call_s - 1e-9)))  # 1e-9: 500.00000000000006 is 500
    rounds = max(settings.min_rounds, min(settings.max_rounds, round(settings.budget_s / (n * per_call_s))))
    return n, rounds


def measure(kernel, settings):
    """Timing of a kernel: first call apart, warm-up, then the rounds of n calls and one sync each."""
    plan = calibrate(kernel, settings)
    per_call = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(plan.rounds):
            per_call.append(_timed(kernel, plan.calls_per_round) / plan.calls_per_round)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(plan.first_call_s, per_call, plan.calls_per_round)


def plain_loop(kernel, seconds, min_calls=5):
    """The stopwatch the harness answers to: back-to-back calls, each timed alone with its sync, for
    `seconds` (at least min_calls).  Nothing else: no warm-up rule, no rounds, the garbage collector on."""
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < min_calls:
        start = time.perf_counter()
        kernel.call()
        kernel.sync()
        times.append(time.perf_counter() - start)
    return times


@dataclass
class SelfCheck:
    harness_s: list     # the harness's median, per pair
    loop_s: list        # the plain loop's median call, per pair

    @property
    def ratios(self):
        """harness speed / plain-loop speed, per pair: below 1 the harness reads low."""
        return [loop / harness for harness, loop in zip(self.harness_s, self.loop_s)]

    @property
    def ratio(self):
        return statistics.median(self.ratios)

    @property
    def within(self):
        return abs(self.ratio - 1) <= FIDELITY_LIMIT


def self_check(kernel, settings):
    """The harness (measure, as the run times every case) and the plain loop, in turns for the same time:
    a pair per settings.self_check_pairs; the ratio of each pair and their median tell how far the
    harness is from a stopwatch on this machine, now."""
    plain_loop(kernel, settings.warmup_s)  # the loop's own warm-up: the harness has one
    harness, loop = [], []
    for pair in range(settings.self_check_pairs):
        # which goes first alternates, so that a load rising or falling through the check favours neither
        for which in ((0, 1) if pair % 2 == 0 else (1, 0)):
            if which == 0:
                harness.append(measure(kernel, settings).median_s)
            else:
                loop.append(statistics.median(plain_loop(kernel, settings.budget_s)))
    return SelfCheck(harness, loop)


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
