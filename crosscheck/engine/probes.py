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

    probes = make_probes(options, description)        # [Probe(name, title, problem), …], in this order
    run_probes(probes, impls={"impl": impl})          # crosscheck.check: a Report per probe

Every probe has a stable name (the CLI's --probe NAME, a grader's test id).  When the options fix the data or
the parameters (--data, --params) only the problem as asked is checked.
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

# each course's own network, where the options say nothing (dls: ReLU hidden layers, a sigmoid output)
STYLE_DEFAULTS = {
    "lecture": {"loss": "softmax-ce", "l2_convention": "keras"},
    "dls": {"loss": "sigmoid-bce", "l2_convention": "course"},
    "cs231n": {"loss": "softmax-ce", "l2_convention": "weight-decay"},
}
HIDDEN_WIDTHS = (4, 3, 5, 6, 7, 8)


def style_options(style="lecture", description=None, **options):
    """build_problem's keyword arguments for an implementation of a style (crosscheck.user_code.STYLES), the
    style's own network wherever `options` leave it open (None): dls is ReLU hidden layers and a sigmoid output
    with the course's L2 (λ/2m), as deep as its forward pass reads; cs231n is the lecture's softmax network
    with ½·reg·Σ‖W‖².  UsageError for layers the implementation cannot take."""
    defaults = STYLE_DEFAULTS[style]
    description = description or {}
    layers, depth = options.get("layers"), description.get("depth")
    fixed = options.get("params") or options.get("data")
    if depth and layers and len(layers) - 1 != depth:
        raise UsageError(f"--layers {','.join(map(str, layers))} is a {len(layers) - 1}-layer network, but "
                         f"{description.get('entry')} is written for {depth} layers: give {depth + 1} sizes")
    if layers is None and not fixed and (style == "dls" or depth and depth != 2):
        layers = (2, *HIDDEN_WIDTHS[:(depth or 2) - 1], 1 if style == "dls" else 3)
    return {**options, "layers": layers, "loss": options.get("loss") or defaults["loss"],
            "l2_convention": options.get("l2_convention") or defaults["l2_convention"]}


@dataclass(frozen=True)
class Probe:
    name: str        # stable: one of PROBES
    title: str       # what it changes, in a few words
    problem: Problem


def make_probes(options, description=None, names=None):
    """(probes, skipped): the probes for the problem the options describe (build_problem's keyword arguments),
    in PROBES order, and {name: why not} for those that do not apply.

    description  what the implementation offers (crosscheck.user_code: "any_depth", "l2_name"); None: a plain
                 function of the lecture's interface (any depth, no L2 argument)
    names        only these probes (e.g. ["m1"] for --probe m1); None: all that apply
    """
    description = description or {"any_depth": True, "l2_name": None}
    unknown = [n for n in (names or []) if n not in PROBES]
    if unknown:
        raise UsageError(f"--probe {', '.join(unknown)}: no such probe; choose one of {', '.join(PROBES)}")
    options = dict(options)
    layers = tuple(options.get("layers") or LECTURE_LAYERS)
    options["layers"] = layers
    fixed = options.get("params") or options.get("data")
    probes, skipped = [], {}
    for name in PROBES:
        if names is not None and name not in names:
            continue
        if fixed and name != "lecture":
            skipped[name] = "--params/--data fix the problem"
            continue
        why = _not_applicable(name, layers, options, description)
        if why:
            skipped[name] = why
            continue
        problem, title = BUILDERS[name](options)
        problem = dataclasses.replace(problem, config={**problem.config, "probe": name})
        probes.append(Probe(name, title, problem))
    return probes, skipped


def _not_applicable(name, layers, options, description):
    if name == "non-square" and len(layers) < 3:
        return "a network without hidden layers has no width to change"
    if name == "deeper" and not description.get("any_depth"):
        return f"the implementation is written for {len(layers) - 1} layers"
    if name == "l2" and not (description.get("l2_name") or options.get("l2")):
        return "the implementation takes no L2 strength (l2=, lambd=, reg=, …)"
    if name == "m1" and options.get("batch", 300) == 1 or name == "odd-m" and options.get("batch", 300) == 7:
        return "the problem as asked already has that batch"
    return None


def _lecture(options):
    return build_problem(**options), _describe(options)


def _describe(options):
    layers = options["layers"]
    text = f"{'-'.join(map(str, layers))}, {options.get('init', 'lecture')} init, m = {options.get('batch', 300)}, seed {options.get('seed', 0)}"
    return text + (f", λ = {options['l2']:g}" if options.get("l2") else "")


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


def _biases(options):
    return with_biases(build_problem(**options), options.get("seed", 0)), "non-zero biases"


def _he(options):
    init = "glorot" if options.get("init") == "he" else "he"
    return build_problem(**{**options, "init": init}), f"{'Glorot' if init == 'glorot' else 'He'}-scale weights"


def _widths(avoid, count, start=5):
    widths, n = [], start
    while len(widths) < count:
        if n not in avoid and n not in widths:
            widths.append(n)
        n += 1
    return widths


def _non_square(options):
    layers = options["layers"]
    hidden = _widths(set(layers), len(layers) - 2)
    sizes = (layers[0], *hidden, layers[-1])
    return build_problem(**{**options, "layers": sizes}), f"widths {'-'.join(map(str, sizes))}"


def _odd_m(options):
    return build_problem(**{**options, "batch": 7}), "m = 7"


def _m1(options):
    return build_problem(**{**options, "batch": 1}), "m = 1"


def _seed(options):
    seed = options.get("seed", 0) + 1
    return build_problem(**{**options, "seed": seed}), f"seed {seed}"


def _deeper(options):
    layers = options["layers"]
    width = _widths({layers[-2], layers[-1]}, 1, start=3)[0]
    sizes = (*layers[:-1], width, layers[-1])
    return build_problem(**{**options, "layers": sizes}), f"{len(sizes) - 1} layers, {'-'.join(map(str, sizes))}"


def _l2(options):
    l2 = options.get("l2") or PROBE_L2
    problem = with_biases(build_problem(**{**options, "l2": l2, "init": "he"}), options.get("seed", 0))
    return problem, f"λ = {l2:g} ({problem.net.l2_convention}), He weights, non-zero biases"


BUILDERS = {"lecture": _lecture, "biases": _biases, "he": _he, "non-square": _non_square, "odd-m": _odd_m,
            "m1": _m1, "seed": _seed, "deeper": _deeper, "l2": _l2}
