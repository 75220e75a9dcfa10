"""The points scheme (a TOML file) and the assignment: what is graded, out of how much.

    scheme = Scheme.load("scheme.toml")          # or Scheme(): DEFAULT_SCHEME below
    assignment = Assignment(scheme, style="dls", spec=Spec(layers=(2, 4, 1)))
    assignment.tests, assignment.max_score, assignment.probes, assignment.runner
"""
import dataclasses
import hashlib
import threading
from dataclasses import dataclass, field

from crosscheck.engine.probes import PROBES
from crosscheck.engine.problem import Spec
from crosscheck.errors import UsageError
from crosscheck.reference.trace import computed_names
from crosscheck.student import styles
from crosscheck.student.runner import Limits, Runner

GROUPS = ("forward", "J", "dZ/dA", "dW/db")
GROUP_TITLES = {"forward": "forward pass (Z, A)", "J": "the loss J", "dZ/dA": "dZ and dA", "dW/db": "dW and db"}
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
INHERITED = {"free": 1.0, "half": 0.5, "none": 0.0}   # the share of its points an inherited (↳) tensor keeps

DEFAULT_SCHEME = """\
# crosscheck grade's points scheme (the default; pass your own with --scheme FILE.toml)

# a tensor wrong only because an earlier one is (↳: the lecture's formula on the student's own, real upstream
# tensors gives it): free (it keeps its points), half (half of them) or none (every wrong tensor costs)
inherited = "free"

[points]          # per tensor group on each probe, shared equally among the group's tensors
forward = 1       # Z1, A1, …, ZL, AL
J = 1             # the loss
"dZ/dA" = 1       # dZ[l] and dA[l]
"dW/db" = 2       # dW[l] and db[l]

[probes]          # each probe's weight (it multiplies the points above); 0 leaves the probe out; a probe the
                  # code cannot be asked is scored like the probes it was (the share of their points it earned)
lecture = 2       # the problem as asked
biases = 1
he = 1
non-square = 1
odd-m = 1
m1 = 1
seed = 1
deeper = 1        # one more layer, for code that takes any depth (code written for one depth is not asked)
l2 = 1            # λ = 0.1, for code that takes an L2 strength (l2=, lambd=, reg=; every submission with --l2)

[visibility]
visible = ["lecture"]         # probes whose tests a student sees at once
hidden = "after_published"    # when the others show on Gradescope: hidden, after_due_date, after_published
show_total = false            # whether a student sees the total (hidden tests' points included) at once, or only
                              # the visible tests' points until the hidden ones show
"""


# ---- the scheme -------------------------------------------------------------------------------------

@dataclass
class Scheme:
    """Points per tensor group, a weight per probe, which probes are visible (a TOML file: DEFAULT_SCHEME)."""

    points: dict = field(default_factory=lambda: {"forward": 1.0, "J": 1.0, "dZ/dA": 1.0, "dW/db": 2.0})
    probes: dict = field(default_factory=lambda: {name: (2.0 if name == "lecture" else 1.0) for name in PROBES})
    visible: tuple = ("lecture",)
    hidden: str = "after_published"
    inherited: str = "free"          # INHERITED
    show_total: bool = False         # a student sees the total at once, hidden tests' points included
    source: str = "the default scheme"

    @classmethod
    def load(cls, path):
        """The scheme in a TOML file; UsageError naming what is wrong with it."""
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib
            except ImportError:
                raise UsageError("reading TOML needs Python 3.11 or the tomli package", field="scheme") from None
        try:
            with open(path, "rb") as f:
                document = tomllib.load(f)
        except OSError as exc:
            raise UsageError(f"cannot read it ({exc.strerror})", field="scheme", value=path) from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"not valid TOML ({exc})", field="scheme", value=path) from None
        return cls.from_dict(document, f"--scheme {path}")

    @classmethod
    def from_dict(cls, document, source="the scheme"):
        scheme = cls(source=source)
        unknown = set(document) - {"points", "probes", "visibility", "inherited"}
        if unknown:
            raise UsageError(f"{source}: unknown table {', '.join(sorted(unknown))}; the tables are [points], "
                             f"[probes] and [visibility], and the key inherited")
        inherited = document.get("inherited", scheme.inherited)
        if inherited not in INHERITED:
            raise UsageError(f"{source} inherited = {inherited!r}: choose one of {', '.join(INHERITED)}")
        scheme.inherited = inherited
        scheme.points.update(_weights(document.get("points", {}), GROUPS, f"{source} [points]"))
        scheme.probes.update(_weights(document.get("probes", {}), PROBES, f"{source} [probes]"))
        visibility = document.get("visibility", {})
        unknown = set(visibility) - {"visible", "hidden", "show_total"}
        if unknown:
            raise UsageError(f"{source} [visibility]: unknown key {', '.join(sorted(unknown))}; the keys are "
                             f"visible (a list of probes), hidden (how the others show) and show_total")
        show_total = visibility.get("show_total", scheme.show_total)
        if not isinstance(show_total, bool):
            raise UsageError(f"{source} [visibility] show_total = {show_total!r}: true or false")
        scheme.show_total = show_total
        visible = visibility.get("visible", list(scheme.visible))
        if not (isinstance(visible, list) and all(name in PROBES for name in visible)):
            raise UsageError(f"{source} [visibility] visible: a list of probe names ({', '.join(PROBES)})")
        hidden = visibility.get("hidden", scheme.hidden)
        if hidden not in VISIBILITIES:
            raise UsageError(f"{source} [visibility] hidden = {hidden!r}: choose one of {', '.join(VISIBILITIES)}")
        scheme.visible, scheme.hidden = tuple(visible), hidden
        if not any(scheme.points.values()) or not any(scheme.probes.values()):
            raise UsageError(f"{source}: every points or every probe weight is 0: nothing would be graded")
        return scheme

    def visibility(self, probe):
        return "visible" if probe in self.visible else self.hidden

    def as_dict(self):
        """The scheme as its TOML file says it (what a regrade must use too)."""
        return {"inherited": self.inherited, "points": dict(self.points), "probes": dict(self.probes),
                "visibility": {"visible": list(self.visible), "hidden": self.hidden, "show_total": self.show_total}}


def _weights(table, known, where):
    if not isinstance(table, dict):
        raise UsageError(f"{where}: a table of name = number")
    unknown = [key for key in table if key not in known]
    if unknown:
        raise UsageError(f"{where}: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
            raise UsageError(f"{where} {key} = {value!r}: a number ≥ 0")
    return {key: float(value) for key, value in table.items()}


# ---- the tensor groups ---------------------------------------------------------------------------------

def group_of(name):
    if name == "J":
        return "J"
    if name.startswith(("dZ", "dA")):
        return "dZ/dA"
    if name.startswith(("dW", "db")):
        return "dW/db"
    return "forward"


def gradable(style, net):
    """The tensors a course's API can return, in computation order (crosscheck.student.styles: CS231n's loss gives
    the scores Z[L], J, dW and db; the DLS functions everything but dZ; the lecture's backprop all)."""
    return styles.get(style).gradable(computed_names(net), net.L)


# ---- the assignment: what is graded, out of how much -------------------------------------------------

@dataclass
class Assignment:
    """The network and probes every submission is graded on, the points each (probe, group) is worth, and the one
    runner every submission goes through (built once: the probes are built once for the class).

    spec     the problem as asked (crosscheck.engine.problem.Spec); each style's own network where it is open
    limits   what each submission may use (crosscheck.student.runner.Limits: the self-check's defaults)
    seed_per_student  each student's probes drawn from a seed of their own (seed_of): one student's expected
             tensors are no use to another; the seed is recorded in their row, and a regrade uses it again
    """

    scheme: Scheme
    style: str = "lecture"
    layout: str = None
    spec: Spec = field(default_factory=Spec)
    entry: str = None
    limits: Limits = field(default_factory=Limits)
    seed_per_student: bool = False

    def __post_init__(self):
        self._runners, self._lock = {}, threading.Lock()
        weighted = self._weighted = [name for name in PROBES if self.scheme.probes.get(name, 0) > 0]
        self.runner = Runner(self.style, self.spec, layout=self.layout, entry=self.entry, probes=weighted,
                             limits=self.limits)
        self.layout = self.runner.layout
        # every probe the scheme weighs; each submission is asked those it can be (the runner decides, as for the
        # self-check: deeper for code that takes any depth, l2 for code that takes an L2 strength, or every
        # submission when the assignment has one), and loses nothing on the others
        probes, self.not_graded = self.runner.probes_for(self.runner.spec_for(None))
        self.probes = {probe.name: probe for probe in probes}
        self.tests = []  # (probe, group, max points), in order
        for probe in probes:
            groups = {group_of(n) for n in gradable(self.style, probe.problem.net)}
            for group in GROUPS:
                points = self.scheme.probes[probe.name] * self.scheme.points.get(group, 0)
                if group in groups and points > 0:
                    self.tests.append((probe.name, group, points))
        if not self.tests:
            raise UsageError("the scheme grades nothing on this assignment: every probe it weighs is left out "
                             f"({'; '.join(f'{k}: {v}' for k, v in self.not_graded.items()) or 'weights 0'})")

    @property
    def max_score(self):
        return round_score(sum(points for _, _, points in self.tests))

    def seed_of(self, submission):
        """The probes' seed for a submission: the assignment's, or with seed_per_student one of the student's own —
        the one recorded for them when they were graded before, else one drawn from who they are (their LMS id or
        name), the same on every machine and run."""
        if not self.seed_per_student:
            return self.spec.seed
        if submission.seed is not None:
            return submission.seed
        digest = hashlib.sha256(f"{self.spec.seed}:{submission.key}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % 1_000_000_007

    def runner_for(self, seed):
        """The runner for probes drawn from `seed`: the assignment's own for its seed, else one built once per seed
        (the same boundary, the same limits; only the probes' numbers differ)."""
        if seed == self.spec.seed:
            return self.runner
        with self._lock:
            if seed not in self._runners:
                limits = dataclasses.replace(self.limits, sandbox=self.runner.boundary)
                self._runners[seed] = Runner(self.style, self.spec.replace(seed=seed), layout=self.layout,
                                             entry=self.entry, probes=self._weighted, limits=limits)
            return self._runners[seed]

    def probes_for(self, seed):
        """{name: Probe} of the probes drawn from a seed (None: the assignment's)."""
        if seed is None or seed == self.spec.seed:
            return self.probes
        runner = self.runner_for(seed)
        return {probe.name: probe for probe in runner.probes_for(runner.spec_for(None))[0]}

    def options(self):
        """What decides every score, as a regrade must repeat it: the style, the network, the limits, the scheme."""
        spec = {k: v for k, v in dataclasses.asdict(self.spec).items() if v not in (None, False)}
        limits = {f.name: getattr(self.limits, f.name) for f in dataclasses.fields(self.limits)}
        limits["sandbox"] = getattr(self.limits.sandbox, "kind", self.limits.sandbox)
        return {"style": self.style, "layout": self.layout, "entry": self.entry,
                "spec": {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()},
                "limits": {k: list(v) if isinstance(v, tuple) else v for k, v in limits.items()},
                "seed_per_student": self.seed_per_student, "scheme": self.scheme.as_dict()}


def round_score(x):
    return round(x + 0.0, 4)
