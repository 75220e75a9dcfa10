"""Probes: an implementation is checked on several problems, like a grader's hidden inputs.

The lecture's case — zero biases, small weights — hides whole families of mistakes: a regularized bias, a
bias gradient of the wrong sign, a hard-coded m, a transpose that square layers let through.  Each probe
changes one thing about the problem the options describe, to make another family visible:

    lecture     the problem as asked (by default the lecture's: zero biases, small weights, m = 300)
    biases      non-zero biases
    he          He-scale weights: activations of size 1, units on both sides of the ReLU's kink
    non-square  other hidden widths, none equal to another: a transposed W no longer fits
    odd-m       m = 7: a hard-coded m, an integer division, a mean over the wrong axis
    m1          m = 1: a squeeze that drops the batch axis
    seed        another seed: other data, other weights
    deeper      one more hidden layer — only for an implementation that takes any depth
    l2          an L2 term (λ = 0.1 unless asked for), with non-zero biases — only for one that takes λ

    probes, skipped = make_probes(spec)               # [Probe(name, title, problem), …], in this order
    Runner(…).run(implementation)                     # crosscheck.student.runner: the implementation on each

Every probe has a stable name (the CLI's --probe NAME, a grader's test id).  When a file fixes the data or the
parameters only the problem as asked is checked.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from crosscheck.engine.problem import LECTURE_LAYERS, Problem, build_problem
from crosscheck.errors import UsageError

PROBES = {
    "lecture": "the problem as asked",
    "biases": "non-zero biases",
    "he": "He-scale weights",
    "non-square": "other hidden widths, all different",
    "odd-m": "an odd batch, m = 7",
    "m1": "a single example, m = 1",
    "seed": "another seed: other data and weights",
    "deeper": "one more hidden layer",
    "l2": "an L2 term, with non-zero biases",
}
PROBE_L2 = 0.1  # λ for the l2 probe when none is asked for: large enough that every convention's term shows

@dataclass(frozen=True)
class Probe:
    name: str        # stable: one of PROBES
    title: str       # what it changes, in a few words
    problem: Problem


def make_probes(spec, names=None):
    """(probes, skipped): the probes for the problem a Spec describes, in PROBES order, and {name: why not} for those
    that do not apply to it.  Whether the deeper and l2 probes apply to an implementation (a fixed depth, no L2
    argument) is the runner's to say (crosscheck.student.runner).

    names   only these probes (e.g. ["m1"]); None: all that apply
    """
    unknown = [n for n in (names or []) if n not in PROBES]
    if unknown:
        raise UsageError(f"no such probe; choose from {', '.join(PROBES)}", field="probe", value=unknown)
    spec = spec.replace(layers=tuple(spec.layers or LECTURE_LAYERS))
    probes, skipped = [], {}
    for name in PROBES:
        if names is not None and name not in names:
            continue
        why = _not_applicable(name, spec)
        if why:
            skipped[name] = why
            continue
        problem, title = BUILDERS[name](spec)
        problem = dataclasses.replace(problem, config={**problem.config, "probe": name})
        probes.append(Probe(name, title, problem))
    return probes, skipped


def _not_applicable(name, spec):
    if name != "lecture" and spec.fixed:
        return "a file of parameters or data fixes the problem"
    if name == "non-square" and len(spec.layers) < 3:
        return "a network without hidden layers has no width to change"
    if name == "m1" and spec.batch == 1 or name == "odd-m" and spec.batch == 7:
        return "the problem as asked already has that batch"
    return None


def _lecture(spec):
    return build_problem(spec), _describe(spec)


def _describe(spec):
    text = f"{'-'.join(map(str, spec.layers))}, {spec.init} init, m = {spec.batch}, seed {spec.seed}"
    return text + (f", λ = {spec.l2:g}" if spec.l2 else "")


def with_biases(problem, seed, scale=0.5):
    """The problem with every bias drawn from scale·N(0, 1) (seeded), the weights unchanged.  A batch-norm layer's
    (W, γ, β, μ_run, σ²_run) gets γ = 1 + scale·N, β and μ_run = scale·N, σ²_run = e^(scale·N) instead."""
    rng = np.random.default_rng(10_000 + seed)

    def draw(shift, b):
        return (shift + scale * rng.standard_normal(b.shape)).astype(b.dtype)

    params = [(W, draw(0, rest[0])) if len(rest) == 1 else
              (W, draw(1, rest[0]), draw(0, rest[1]), draw(0, rest[2]), np.exp(draw(0, rest[3])))
              for W, *rest in problem.params]
    return dataclasses.replace(problem, params=params, config={**problem.config, "biases": f"{scale:g}·N(0, 1)"})


def _biases(spec):
    return with_biases(build_problem(spec), spec.seed), "non-zero biases"


def _he(spec):
    init = "glorot" if spec.init == "he" else "he"
    return build_problem(spec, init=init), f"{'Glorot' if init == 'glorot' else 'He'}-scale weights"


def _widths(avoid, count, start=5):
    widths, n = [], start
    while len(widths) < count:
        if n not in avoid and n not in widths:
            widths.append(n)
        n += 1
    return widths


def _non_square(spec):
    layers = spec.layers
    hidden = _widths(set(layers), len(layers) - 2)
    sizes = (layers[0], *hidden, layers[-1])
    return build_problem(spec, layers=sizes), f"widths {'-'.join(map(str, sizes))}"


def _odd_m(spec):
    return build_problem(spec, batch=7), "m = 7"


def _m1(spec):
    # one example from inside a batch: the spiral's first is its centre, (0, 0), where X·W1 is 0 and so is every
    # gradient of W1 — a submission of zeros would agree there
    problem, one = build_problem(spec, batch=7), slice(3, 4)
    masks = [D[one].copy() for D in problem.masks] if problem.masks else problem.masks
    return dataclasses.replace(problem, X=problem.X[one].copy(), Y=problem.Y[one].copy(), masks=masks,
                               config={**problem.config, "batch": 1}), "m = 1"


def _seed(spec):
    return build_problem(spec, seed=spec.seed + 1), f"seed {spec.seed + 1}"


def _deeper(spec):
    layers = spec.layers
    width = _widths({layers[-2], layers[-1]}, 1, start=3)[0]
    sizes = (*layers[:-1], width, layers[-1])
    return build_problem(spec, layers=sizes), f"{len(sizes) - 1} layers, {'-'.join(map(str, sizes))}"


def _l2(spec):
    l2 = spec.l2 or PROBE_L2
    problem = with_biases(build_problem(spec, l2=l2, init="he"), spec.seed)
    return problem, f"λ = {l2:g} ({problem.net.l2_convention}), He weights, non-zero biases"


BUILDERS = {"lecture": _lecture, "biases": _biases, "he": _he, "non-square": _non_square, "odd-m": _odd_m,
            "m1": _m1, "seed": _seed, "deeper": _deeper, "l2": _l2}
