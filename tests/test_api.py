"""crosscheck.check: the Python API — the same engine as `crosscheck compare --impl`, for a function defined in a
notebook cell or a test (called in this process) and for a path (called in its worker), with a Report that
prints the terminal's table, renders in Jupyter and raises for a test."""
import html.parser
import importlib
import importlib.util
import json
import os
import sys

import numpy as np
import pytest
from student_files import EXAMPLES, ROOT, write

import crosscheck
from crosscheck.errors import UsageError


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RIGHT = load(EXAMPLES / "my_backprop.py", "api_right")
WRONG = load(EXAMPLES / "wrong_backprop.py", "api_wrong")  # dW without its 1/m


# ---- the verdict and what it points at -----------------------------------------------------------

def test_a_correct_function_agrees_on_every_probe():
    report = crosscheck.check(RIGHT.backprop)
    assert report.ok and report.first_divergence is None and report.error is None
    assert [r.probe.name for r in report.run.results] == ["lecture", "biases", "he", "non-square", "odd-m", "m1",
                                                          "seed", "deeper"]
    assert len(report.comparisons) == 12 and all(c.ok for c in report.comparisons)
    assert report.raise_for_mismatch() is report


def test_a_wrong_function_names_the_tensor_its_cause_and_the_lecture_line():
    report = crosscheck.check(WRONG.backprop)
    assert not report.ok and report.probe == "lecture"
    first = report.first_divergence
    assert (first.tensor, first.shape) == ("dW2", (4, 3))
    assert "the 1/m is missing" in report.hint
    assert report.lecture_line == "dW2 = A1ᵀ · dZ2 / m"
    assert [c.tensor for c in report.also] == ["dW1"]


def test_expected_and_actual_are_the_reference_and_the_implementation_on_the_probe_shown():
    report = crosscheck.check(WRONG.backprop)
    # the bug is a missing 1/m: its dW2 is m = 300 times the reference's, element by element
    np.testing.assert_allclose(report.actual("dW2"), 300 * report.expected("dW2"), rtol=1e-12)
    np.testing.assert_array_equal(report.actual("db2"), report.expected("db2"))
    # on another probe: m = 7
    np.testing.assert_allclose(report.actual("dW2", probe="odd-m"), 7 * report.expected("dW2", probe="odd-m"),
                               rtol=1e-12)
    with pytest.raises(KeyError, match="not a tensor of this network"):
        report.expected("dW9")


def test_expected_and_actual_are_in_the_implementations_layout():
    columns = load(EXAMPLES / "columns_backprop.py", "api_columns")
    report = crosscheck.check(columns.backprop, layout="columns", probes="lecture")
    assert report.ok
    assert report.expected("X").shape == (2, 300) and report.actual("Z1").shape == (4, 300)
    assert report.expected("dW2").shape == (3, 4)  # W (n_out, n_in)


def test_a_path_runs_in_its_worker_and_what_it_does_is_a_verdict_not_the_callers_end(tmp_path):
    path = write(tmp_path, """
        import sys
        def backprop(X, Y, params, activation="relu"):
            print("about to leave")
            sys.exit(0)
        """)
    report = crosscheck.check(path)  # the test process goes on: the exit happened in the worker
    assert not report.ok and report.first_divergence is None
    assert "your backprop called sys.exit(0)" in report.error
    assert report.output["stdout"]["text"] == "about to leave"
    with pytest.raises(AssertionError, match=r"sys\.exit\(0\)"):
        report.raise_for_mismatch()


def test_a_function_that_raises_keeps_its_exception_and_says_where():
    def backprop(X, Y, params, activation="relu"):
        return {"dW1": X.T @ np.ones((3, 3))}  # (2, 300) @ (3, 3): the shapes do not fit

    report = crosscheck.check(backprop)
    assert not report.ok and isinstance(report.exception, ValueError)
    assert report.error.startswith(f"test_api.py:{backprop.__code__.co_firstlineno + 1}: your backprop raised ValueError")


def test_a_course_class_and_a_module_are_called_in_their_style():
    cs231n = load(EXAMPLES / "cs231n_fc_net_wrong.py", "api_cs231n_wrong")
    report = crosscheck.check(cs231n.FullyConnectedNet)  # a class: style cs231n
    assert not report.ok and report.probe == "l2" and report.first_divergence.tensor == "db2"
    assert "the bias is regularized" in report.hint
    dls = load(EXAMPLES / "dls_deep_nn.py", "api_dls")
    assert crosscheck.check(dls, style="dls", probes="lecture,m1").ok


@pytest.mark.parametrize("arguments, message", [
    (dict(style="keras"), "style='keras': choose one of lecture, dls, cs231n"),
    (dict(probes="m2"), "probes='m2': choose from"),
    (dict(frameworks="mxnet"), "frameworks='mxnet': unknown mxnet"),
    (dict(layers=[2]), "at least two sizes"),
    (dict(style="dls", layout="rows"), "style dls is the columns layout"),
], ids=["style", "probe", "framework", "layers", "layout"])
def test_bad_arguments_raise_one_clear_usage_error(arguments, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        crosscheck.check(RIGHT.backprop, **arguments)


def test_a_file_that_cannot_be_checked_is_a_report_with_the_error_and_a_missing_one_a_usage_error(tmp_path):
    report = crosscheck.check(write(tmp_path, "x = 1\n"))
    assert not report.ok and "impl.py: defines no function backprop" in report.error
    report = crosscheck.check(write(tmp_path, "import numpy as np\nraise RuntimeError('at import')\n"))
    assert not report.ok and "impl.py:2: importing it raised RuntimeError: at import" in report.error
    with pytest.raises(UsageError, match="fn_or_path='nothere.py': no such file"):
        crosscheck.check("nothere.py")


# the lecture's backward pass, as the lecture writes it for the 2-4-3 network (shared/LECTURE.md)
LECTURE_LINES = {"dZ2": "dZ2 = A2 − Y", "dW2": "dW2 = A1ᵀ · dZ2 / m", "db2": "db2 = np.sum(dZ2, axis=0, keepdims=True) / m",
                 "dA1": "dA1 = dZ2 · W2ᵀ", "dZ1": "dZ1 = dA1 ⊙ 1[Z1 > 0]   (dZ1 = dA1; dZ1[Z1 <= 0] = 0)",
                 "dW1": "dW1 = Xᵀ · dZ1 / m", "db1": "db1 = np.sum(dZ1, axis=0, keepdims=True) / m",
                 "Z1": "Z1 = X · W1 + b1", "A1": "A1 = ReLU(Z1)", "Z2": "Z2 = A1 · W2 + b2", "A2": "A2 = softmax(Z2)",
                 "J": "J = −(1/m) Σ Y ⊙ log A2"}


@pytest.mark.parametrize("name", list(LECTURE_LINES))
def test_the_lecture_line_of_each_tensor_is_the_lectures(name):
    from crosscheck.engine.lecture import lecture_line
    from crosscheck.reference import Network
    assert lecture_line(name, Network((2, 4, 3))) == LECTURE_LINES[name]


def test_the_lecture_line_follows_the_layout_and_the_l2_term():
    from crosscheck.engine.lecture import lecture_line
    from crosscheck.reference import Network
    net = Network((2, 4, 3), l2=0.1, l2_convention="course")
    assert lecture_line("dW2", net, "columns") == "dW2 = dZ2 · A1ᵀ / m + (λ/m)·W2"
    assert lecture_line("dA1", net, "columns") == "dA1 = W2ᵀ · dZ2"
    assert lecture_line("J", net) == "J = −(1/m) Σ Y ⊙ log A2 + (λ/2m)·Σ‖W‖²"
    assert lecture_line("dA2", net) is None and lecture_line("dW3", net) is None


# ---- the text, the test failure and the JSON are the command line's -------------------------------

def test_str_is_the_report_the_command_line_prints(cli):
    report = crosscheck.check(EXAMPLES / "wrong_backprop.py")
    code, out, _ = cli("compare", "--frameworks", "none", "--impl", EXAMPLES / "wrong_backprop.py")
    assert code == 1
    assert str(report) == out.rstrip("\n")


def test_the_failure_message_leads_with_the_cause_then_the_table():
    with pytest.raises(AssertionError) as excinfo:
        crosscheck.check(WRONG.backprop, probes="lecture").raise_for_mismatch()
    message = str(excinfo.value)
    head = message.splitlines()[:4]
    assert head[0] == ("crosscheck: dW2 (4, 3) of your backprop differs from the reference on probe lecture "
                       "(2-4-3, lecture init, m = 300, seed 0)")
    assert head[1].startswith("  max|Δ| ") and " > tolerance " in head[1]
    assert "max|Δ| / max|reference| 299)" in head[1]  # Δ = (m − 1)·ref
    assert head[2].startswith("  probable cause: dW2 is m = 300 times the lecture's")
    assert head[3] == "  the lecture's line: dW2 = A1ᵀ · dZ2 / m"
    assert "dW2     (4, 3)    3.0e+02 ✗" in message


def test_as_json_is_the_command_lines_document(cli):
    report = crosscheck.check(EXAMPLES / "wrong_backprop.py", probes="lecture")
    code, out, _ = cli("compare", "--frameworks", "none", "--impl", EXAMPLES / "wrong_backprop.py", "--probe",
                       "lecture", "--json")
    cli_document = json.loads(out)
    ours = json.loads(json.dumps(report.as_json()))
    for document in (cli_document, ours):  # what differs: the implementation's name (the command's --impl)
        document.pop("frameworks")
        for config in [document["config"]] + [probe["config"] for probe in document["probes"]]:
            config.pop("impl", None)
    assert ours == cli_document


# ---- the notebook's view --------------------------------------------------------------------------

class Structure(html.parser.HTMLParser):
    """Checks that every tag closes in order; collects the visible text."""

    VOID = {"br", "hr", "img", "meta", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(markup):
    parser = Structure()
    parser.feed(markup)
    parser.close()
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser, " ".join(" ".join(parser.text).split())


def test_the_html_shows_the_verdict_the_cause_the_lecture_line_and_the_table():
    parser, text = parse(crosscheck.check(WRONG.backprop)._repr_html_())
    assert "✗ first divergence: dW2 (4, 3) on probe lecture (2-4-3, lecture init, m = 300, seed 0)" in text
    assert "probable cause: dW2 is m = 300 times the lecture's" in text
    assert "the lecture's line: dW2 = A1ᵀ · dZ2 / m" in text
    assert "also dW1:" in text
    assert parser.tags.count("tr") == 1 + 12                     # the header and one row per tensor
    assert "dW2 (4, 3) 3.0e+02 ✗" in text and "db2 (1, 3) 0.0e+00 ✓" in text
    assert "✓ m1 — m = 1" in text and "✗ odd-m — m = 7: dW2:" in text


def test_the_html_of_a_pass_and_of_a_failure_in_the_users_code():
    _, text = parse(crosscheck.check(RIGHT.backprop)._repr_html_())
    assert "✓ your backprop agrees with the reference: all 12 tensors, on 8 probes" in text

    def backprop(X, Y, params, activation="relu"):
        raise RuntimeError("not written yet")

    _, text = parse(crosscheck.check(backprop)._repr_html_())
    assert "✗ your backprop failed:" in text and "RuntimeError: not written yet" in text


def test_the_html_escapes_everything_that_comes_from_the_users_code(tmp_path):
    path = write(tmp_path, """
        def backprop(X, Y, params, activation="relu"):
            print("<script>alert('printed')</script>")
            return {"<img src=x onerror=alert(1)>": X, "J": 0.0}
        """)
    markup = crosscheck.check(path, probes="lecture")._repr_html_()
    assert "<script>" not in markup and "<img" not in markup
    assert "&lt;script&gt;" in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup  # the hint names the key
    parse(markup)


def test_the_example_notebook_runs_in_a_kernel_and_renders_the_report(monkeypatch):
    """examples/check_in_a_notebook.ipynb, executed by nbclient in a real IPython kernel."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(EXAMPLES / "check_in_a_notebook.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    results = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
               if o.output_type == "execute_result"]
    assert len(results) == 3
    _, wrong = parse(results[0].data["text/html"])
    _, right = parse(results[1].data["text/html"])
    assert "✗ first divergence: dW2 (4, 3) on probe lecture" in wrong and "dW2 = A1ᵀ · dZ2 / m" in wrong
    assert "✓ your backprop agrees with the reference: all 12 tensors, on 8 probes" in right
    assert results[2].data["text/plain"].startswith("(True, (4, 3), np.float64(0.0))")


def test_the_package_attribute_check_is_the_api_even_after_the_engines_module_of_that_name_is_imported():
    engine = importlib.import_module("crosscheck.engine.check")  # the module crosscheck/check.py
    from crosscheck.engine.check import run_check
    assert callable(crosscheck.check) and crosscheck.check.__module__ == "crosscheck.classroom.api"
    assert engine.run_check is run_check and sys.modules["crosscheck.engine.check"] is engine
