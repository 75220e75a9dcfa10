"""The pytest plugin (entry point pytest11 "crosscheck"): the checker inside an instructor's own tests.

    def test_backprop(crosscheck):                                   # the fixture
        crosscheck.check(student.backprop, layers=[2, 4, 3])          # fails with the report as the message

    pytest --crosscheck-impl path/to/backprop.py                     # the standard battery against a file:
    pytest --crosscheck-impl hw.ipynb -k "lecture and dW"            # one test per probe × tensor, ids such as
                                                                     # lecture-dW2, m1-db1, deeper-dA2
    pytest --crosscheck-impl cs231n/classifiers/fc_net.py --crosscheck-style cs231n
    pytest -p no:crosscheck                                          # the plugin off

Loading it costs nothing: this module imports only pytest and the standard library.  The engine (NumPy, the
reference) is imported when the fixture is first used or when --crosscheck-impl is given; a framework never.

A battery item passes when its tensor agrees with the reference on its probe, fails with the tensor's
measurement, probable cause and the lecture's line when it does not (a tensor that only inherits an earlier
failure says which one), and is skipped when the implementation does not return it (not provided) or the
probe does not apply.  The file runs in a worker process of its own, under --crosscheck-timeout.
"""
import os

import pytest

STYLES = ("lecture", "dls", "cs231n")  # crosscheck.student.styles.STYLES, not imported here: loading stays free


def pytest_addoption(parser):
    group = parser.getgroup("crosscheck", "backprop-crosscheck: an implementation of the lecture's backprop, "
                                          "checked tensor by tensor")
    group.addoption("--crosscheck-impl", metavar="FILE", default=None,
                    help="run the standard battery against FILE (.py or .ipynb): one test per probe × tensor")
    group.addoption("--crosscheck-style", choices=STYLES, default="lecture",
                    help="how the file is written: lecture (backprop(X, Y, params)), dls, cs231n (default lecture)")
    group.addoption("--crosscheck-layout", choices=("rows", "columns"), default=None,
                    help="rows (the lecture's) or columns (X (n0, m), W (n_out, n_in)); default: the style's")
    group.addoption("--crosscheck-timeout", type=float, default=60.0, metavar="SECONDS",
                    help="longest time the file may take per call, its import included (default 60)")
    group.addoption("--crosscheck-sandbox", choices=("auto", "bwrap", "user", "none"), default="auto",
                    help="the boundary the file runs in (crosscheck.student.sandbox; default auto: bwrap where it "
                         "runs)")


# ---- the fixture ------------------------------------------------------------------------------------

class Checker:
    """What the `crosscheck` fixture gives a test: check() fails the test with the report as its message."""

    def check(self, fn_or_path, **options):
        """crosscheck.check(fn_or_path, **options), and an AssertionError with the report unless it agrees:
        the first divergence, its measurement, probable cause and lecture line first, then the table."""
        __tracebackhide__ = True
        from crosscheck.classroom.api import check
        from crosscheck.errors import UsageError
        try:
            report = check(fn_or_path, **options)
        except UsageError as exc:  # a submission that cannot be checked at all fails the test; it does not error
            pytest.fail(f"crosscheck: {exc}", pytrace=False)
        report.raise_for_mismatch()
        return report


@pytest.fixture
def crosscheck():
    """The checker: crosscheck.check(student.backprop, layers=[2, 4, 3]) fails the test with the report."""
    return Checker()


# ---- --crosscheck-impl: the battery, one item per probe × tensor ----------------------------------

class Mismatch(AssertionError):
    """A battery item that failed: its message is the whole story, so no traceback is shown."""


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: the battery's items are selectable like any other
def pytest_collection_modifyitems(session, config, items):
    path = config.getoption("crosscheck_impl")
    if path:
        battery = Battery.from_parent(session, path=_absolute(path))
        collected = battery.collect()
        # reported like any collected file: "collected N items" counts them, and -k / -m then select among them
        config.hook.pytest_collectreport(report=pytest.CollectReport(battery.nodeid, "passed", None, collected))
        items.extend(collected)


def _absolute(path):
    from pathlib import Path
    return Path(os.path.abspath(path))


class Battery(pytest.File):
    """The implementation's file: opened in the runner (started, described, its probes chosen) at collection, every
    probe run once at the first item, and the worker ended then or with the session."""

    def collect(self):
        from crosscheck.reference.trace import computed_names
        from crosscheck.student.runner import Limits, Runner

        config = self.config
        runner = Runner(config.getoption("crosscheck_style"), layout=config.getoption("crosscheck_layout"),
                        limits=Limits(timeout=config.getoption("crosscheck_timeout"),
                                      sandbox=config.getoption("crosscheck_sandbox")))
        self.opened = runner.open(str(self.path))  # a missing file is a usage error: pytest reports it
        config.add_cleanup(self.opened.close)
        self.run = None
        if self.opened.error is not None:  # cannot be imported, has no entry point: one item, which fails with why
            return [BatteryItem.from_parent(self, name="import")]
        items = [BatteryItem.from_parent(self, name=f"{probe.name}-{tensor}", probe=probe.name, tensor=tensor)
                 for probe in self.opened.probes for tensor in computed_names(probe.problem.net)]
        items += [BatteryItem.from_parent(self, name=name, probe=name) for name in self.opened.skipped]
        return items

    @property
    def impl(self):
        return self.opened.impl

    def result(self, probe):
        """The runner's ProbeResult of a probe (the battery runs on first use); None if nothing could be checked."""
        if self.run is None:
            self.run = self.opened.run()
        if self.run.error is not None:
            return None
        return self.run.result_of(probe)

    @property
    def failure(self):
        error = self.opened.error or (self.run.error if self.run is not None else None)
        return error.worded("flag") if error is not None else None


class BatteryItem(pytest.Item):
    def __init__(self, *, probe=None, tensor=None, **kwargs):
        super().__init__(**kwargs)
        self.probe, self.tensor = probe, tensor

    def runtest(self):
        from crosscheck.engine import verdict
        battery = self.parent
        if self.tensor is None and self.probe in battery.opened.skipped:
            _skip(f"probe {self.probe} does not apply: {battery.opened.skipped[self.probe]}")
        result = battery.result(self.probe)
        run = battery.run
        if result is None and run is not None and run.error is None and self.probe in run.skipped:
            _skip(f"probe {self.probe} does not apply: {run.skipped[self.probe]}")  # its forward refused the depth
        if result is None:
            raise Mismatch(f"{battery.path.name}: nothing could be checked: {battery.failure}")
        where = f"probe {self.probe} ({result.probe.title})"
        if result.failure:
            raise Mismatch(f"{self.tensor} on {where}: the implementation failed: {result.failure.worded('flag')}")
        outcome = result.outcome
        comparison = next(c for c in outcome.comparisons if c.tensor == self.tensor)
        kind = verdict.of(comparison)
        if kind == verdict.AGREES:
            return
        if kind == verdict.NOT_PROVIDED:
            _skip(f"{self.tensor} not provided: the implementation does not return it")
        raise Mismatch(self._message(comparison, outcome, result, where))

    def _message(self, c, outcome, result, where):
        from crosscheck.engine import verdict
        from crosscheck.engine.lecture import lecture_line
        from crosscheck.render.check import measured
        layout = self.parent.impl.layout
        lines = [f"{self.tensor} differs from the reference on {where}", f"  {measured(c, layout)}"]
        first = outcome.first_divergence
        if verdict.of(c) == verdict.INHERITED and first is not None:
            lines.append(f"  ↳ it only inherits the first divergence, {first.tensor}: fix that one first "
                         f"({first.hint})")
        elif c.hint:
            lines.append(f"  probable cause: {c.hint}")
        line = lecture_line(self.tensor, result.probe.problem.net, layout)
        if line:
            lines.append(f"  the lecture's line: {line}")
        lines.append(f"  reproduce: crosscheck compare --frameworks none --impl {self.parent.path} "
                     f"--probe {self.probe}" + _flags(self.config))
        return "\n".join(lines)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, Mismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"crosscheck {self.name}"


def _skip(reason):
    """pytest.skip, reported at the item (the student's file and the item's name), not at this line."""
    try:
        exception = pytest.skip.Exception(reason, _use_item_location=True)
    except TypeError:  # a pytest without item locations for skips
        exception = pytest.skip.Exception(reason)
    raise exception


def _flags(config):
    flags = ""
    if config.getoption("crosscheck_style") != "lecture":
        flags += f" --style {config.getoption('crosscheck_style')}"
    if config.getoption("crosscheck_layout"):
        flags += f" --layout {config.getoption('crosscheck_layout')}"
    return flags
