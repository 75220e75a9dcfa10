"""The pytest plugin, run by pytest itself (pytester): the `crosscheck` fixture in an instructor's tests, and
`pytest --crosscheck-impl FILE`, the standard battery as one test per probe × tensor.

The plugin reaches a user's pytest through the installed distribution's pytest11 entry point
(tests/test_architecture.py checks its declaration); here it is loaded with -p, and entry points are not
loaded at all, so that these tests do not depend on how the package was installed."""
import shutil
from pathlib import Path

import pytest

from crosscheck.reference.trace import computed_names

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def run(pytester, monkeypatch):
    """pytest in a fresh directory with the plugin loaded by name and no entry point."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def go(*args):
        return pytester.runpytest("-p", "crosscheck.classroom.pytest_plugin", "-p", "no:cacheprovider", *args)

    return go


def copy(pytester, example, name):
    shutil.copy(EXAMPLES / example, pytester.path / name)
    return pytester.path / name


# ---- the fixture ----------------------------------------------------------------------------------

def test_the_fixture_passes_a_right_backprop_and_fails_a_wrong_one_with_the_report(pytester, run):
    copy(pytester, "my_backprop.py", "right.py")
    copy(pytester, "wrong_backprop.py", "wrong.py")
    # (a module name no file of this suite has: pytester runs in this process, beside its modules)
    pytester.makepyfile(test_homework_checks="""
        import right, wrong

        def test_right(crosscheck):
            crosscheck.check(right.backprop, layers=[2, 4, 3])

        def test_wrong(crosscheck):
            crosscheck.check(wrong.backprop, layers=[2, 4, 3])
        """)
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert "crosscheck: dW2 (4, 3) of your backprop differs from the reference on probe lecture" in text
    assert "probable cause: dW2 is m = 300 times the lecture's: the 1/m is missing" in text
    assert "the lecture's line: dW2 = A1ᵀ · dZ2 / m" in text
    assert "dW2     (4, 3)    3.0e+02 ✗" in text              # the table follows the cause
    # __tracebackhide__: the failure points at the instructor's line, not into crosscheck
    assert "test_homework_checks.py:7: AssertionError" in text
    assert "api.py" not in text and "pytest_plugin.py" not in text


def test_the_fixture_fails_a_file_that_cannot_be_checked_rather_than_erroring(pytester, run):
    (pytester.path / "empty.py").write_text("x = 1\n")
    pytester.makepyfile(test_empty_submission="""
        def test_file(crosscheck):
            crosscheck.check("empty.py")
        """)
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*crosscheck: empty.py: defines no function backprop*"])


# ---- --crosscheck-impl: the battery ---------------------------------------------------------------

def battery_size(probes_run, deeper_layers=3, skipped=1):
    """Items: a tensor of the 2-layer lecture net on every probe but deeper, deeper's 3-layer tensors, and one
    item per probe that does not apply."""
    return (probes_run - 1) * len(computed_names(2)) + len(computed_names(deeper_layers)) + skipped


def test_the_battery_is_one_test_per_probe_and_tensor_and_fails_exactly_the_wrong_tensors(pytester, run):
    copy(pytester, "wrong_backprop.py", "student.py")
    result = run("--crosscheck-impl", "student.py")
    # dW without 1/m: dW2 and dW1 fail on the 2-layer probes where m > 1 (lecture, biases, he, non-square,
    # odd-m, seed), dW3, dW2 and dW1 on deeper; at m = 1 the missing 1/m changes nothing; l2 does not apply
    failed = 6 * 2 + 3
    total = battery_size(probes_run=8)
    result.assert_outcomes(failed=failed, passed=total - failed - 1, skipped=1)
    result.stdout.fnmatch_lines([f"collected {total} items"])
    text = result.stdout.str()
    assert "FAILED student.py::lecture-dW2" in text and "FAILED student.py::deeper-dW3" in text
    assert "student.py::m1-dW2" not in text  # passed: not listed among the failures
    assert ("dW2 differs from the reference on probe odd-m (m = 7)\n  max|Δ| " in text
            and "probable cause: dW2 is m = 7 times the lecture's: the 1/m is missing" in text)
    assert "reproduce: crosscheck compare --frameworks none --impl" in text and "--probe odd-m" in text
    assert "Traceback" not in text


def test_k_selects_items_by_probe_and_tensor(pytester, run):
    copy(pytester, "wrong_backprop.py", "student.py")
    result = run("--crosscheck-impl", "student.py", "-k", "lecture and dW2", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*student.py::lecture-dW2 FAILED*"])
    result = run("--crosscheck-impl", "student.py", "-k", "m1")
    result.assert_outcomes(passed=len(computed_names(2)))


def test_a_tensor_that_only_inherits_the_first_failure_says_which_to_fix_first(pytester, run):
    (pytester.path / "student.py").write_text((EXAMPLES / "my_backprop.py").read_text().replace(
        "dZ = A - Y ", "dZ = 2 * (A - Y) "))
    result = run("--crosscheck-impl", "student.py", "-k", "lecture")
    text = result.stdout.str()
    assert "FAILED student.py::lecture-dZ2" in text and "FAILED student.py::lecture-dW2" in text
    assert "↳ it only inherits the first divergence, dZ2: fix that one first" in text


def test_a_course_style_and_a_notebook_run_as_batteries(pytester, run):
    pytest.importorskip("nbformat")
    copy(pytester, "cs231n_fc_net_wrong.py", "fc_net.py")
    result = run("--crosscheck-impl", "fc_net.py", "--crosscheck-style", "cs231n", "-k", "l2", "-rfs")
    # CS231n's loss gives Z2 (the scores), J, dW and db: the six others are not provided (skipped, with why);
    # on the l2 probe the regularized bias fails db2 and db1
    result.assert_outcomes(passed=4, failed=2, skipped=6)
    text = result.stdout.str()
    assert "FAILED fc_net.py::l2-db2" in text and "FAILED fc_net.py::l2-db1" in text
    assert "the bias is regularized" in text and "dA1 not provided: the implementation does not return it" in text
    copy(pytester, "homework.ipynb", "homework.ipynb")
    result = run("--crosscheck-impl", "homework.ipynb", "-k", "lecture")
    result.assert_outcomes(passed=len(computed_names(2)))


def test_a_file_that_cannot_be_imported_is_one_failing_item_that_says_why(pytester, run):
    (pytester.path / "broken.py").write_text("import no_such_module_here\n")
    result = run("--crosscheck-impl", "broken.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*broken.py:1: importing it raised ModuleNotFoundError*"])


def test_without_the_option_the_plugin_adds_nothing(pytester, run):
    pytester.makepyfile(test_plain_one="def test_one():\n    pass\n")
    run().assert_outcomes(passed=1)
