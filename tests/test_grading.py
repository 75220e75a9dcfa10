"""crosscheck grade: a class's submissions — correct, buggy, hanging, crashing, exiting, flooding, notebooks,
folders — each in its own worker; every row present, scores as the points scheme says, a valid Gradescope
results.json and CSV, the same scores run after run, files under the one output policy."""
import contextlib
import csv
import importlib.util
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crosscheck.classroom import grading
from crosscheck.student.runner import Limits

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CORRECT = (EXAMPLES / "my_backprop.py").read_text()
TIMEOUT = "2"  # seconds per call: the hanging submission costs this much, once

# the default scheme, restated: forward 1, J 1, dZ/dA 1, dW/db 2 per probe; lecture weighs 2, the other eight
# weigh 1 (l2 is not asked of code that takes no L2 strength — none here — and costs it nothing)
PER_PROBE = 1 + 1 + 1 + 2
MAX = 2 * PER_PROBE + 8 * PER_PROBE  # 50


def write(folder, name, source):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def make_class(folder):
    """A class of ten: what each student did, and what the scheme gives for it (worked out here, by hand)."""
    write(folder, "alice.py", CORRECT)
    write(folder, "bob.py", (EXAMPLES / "wrong_backprop.py").read_text())       # dW without 1/m
    write(folder, "carl.py", CORRECT.replace("dZ = A - Y ", "dZ = 2 * (A - Y) "))  # dZ2 doubled; the rest ↳
    write(folder, "dave.py", """
        def backprop(X, Y, params, activation="relu"):
            while True:
                pass
        """)
    write(folder, "erin.py", """
        import os, signal
        def backprop(X, Y, params, activation="relu"):
            os.kill(os.getpid(), signal.SIGSEGV)
        """)
    write(folder, "finn.py", "import sys\nsys.exit(0)\n")
    write(folder, "gus.py", """
        def backprop(X, Y, params, activation="relu"):
            while True:
                print("the gradient is " * 1000)
        """)
    shutil.copy(EXAMPLES / "homework.ipynb", folder / "hana.ipynb")
    write(folder, "ivan/helper.py", "import numpy as np\n\ndef relu(Z):\n    return np.maximum(Z, 0)\n")
    write(folder, "ivan/backprop.py", "from helper import relu\n" + CORRECT.replace("np.maximum(Z, 0)", "relu(Z)"))
    write(folder, "jo.py", CORRECT.replace("    m, L = X.shape[0], len(params)\n", "    m, L = X.shape[0], len(params)\n"
                                           "    assert m > 1, 'one example? surely not'\n"))


# What each row must say.  dW without 1/m: dW2 and dW1 are the first divergence and a mistake of their own on
# every probe where m > 1; each costs its share of dW/db (2 of its 4 tensors; 3 of 6 on deeper).  dZ2 doubled:
# only dZ2 costs (dW2, db2, dA1, dZ1, dW1, db1 follow from it by the lecture's formulas: ↳, free) — one of the
# three dZ/dA tensors, one of five on deeper, on every probe (m = 1 too).  An assert on m > 1: m1 earns nothing.
# None of these files takes λ, so the l2 probe is not run on them; it is scored like the probes run: the share of
# their points (MAX − PER_PROBE) earned.


def scored(lost):
    """The score of a file that loses `lost` points on the probes run, the l2 probe at the same share."""
    run = MAX - PER_PROBE
    return (run - lost) + PER_PROBE * (run - lost) / run


EXPECTED = {
    "alice.py": ("ok", MAX, None),
    "bob.py": ("mismatch", scored(2 * 2 * 2 / 4 + 5 * 2 * 2 / 4 + 2 * 3 / 6), "dW2 on probe lecture"),
    "carl.py": ("mismatch", scored(2 * 1 / 3 + 6 * 1 / 3 + 1 / 5), "dZ2 on probe lecture"),
    "dave.py": ("timeout", 0, None),
    "erin.py": ("crashed", 0, None),
    "finn.py": ("exit", 0, None),
    "gus.py": ("output", 0, None),
    "hana.ipynb": ("ok", MAX, None),
    "ivan": ("ok", MAX, None),
    "jo.py": ("mismatch", scored(PER_PROBE), "probe m1"),
}
REASONS = {
    "dave.py": "dave.py: your code ran longer than the 2 s timeout in backprop",
    "erin.py": "killed by SIGSEGV",
    "finn.py": "finn.py:2: importing it called sys.exit(0)",
    "gus.py": "your code printed more than the 1 MB output limit on stdout in backprop",
    "jo.py": "AssertionError: one example? surely not",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once by the command (in this process), its JSON document and its --out folder."""
    from crosscheck.cli import main
    folder, out = tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("graded") / "out"
    make_class(folder)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["grade", str(folder), "--jobs", "2", "--timeout", TIMEOUT, "--output-limit", "1",
                     "--out", str(out), "--json"])
    return code, json.loads(stdout.getvalue()), folder, out


def rows(document):
    return {row["submission"]: row for row in document["submissions"]}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_submission_has_its_row_with_the_status_and_the_score_the_scheme_gives(graded, name):
    code, document, _, _ = graded
    row = rows(document)[name]
    status, score, first = EXPECTED[name]
    assert code == 1 and document["max_score"] == MAX
    assert (row["status"], row["first_divergence"]) == (status, first)
    assert row["score"] == pytest.approx(score, abs=1e-3) and row["max_score"] == MAX
    if name in REASONS:
        assert REASONS[name] in row["hint"]
    assert str(graded[2]) not in json.dumps(row["tests"])  # a student never sees the grader's folders


def test_the_rows_come_in_the_order_of_the_files_and_nothing_is_left_out(graded):
    _, document, _, _ = graded
    assert [row["submission"] for row in document["submissions"]] == sorted(EXPECTED)


def test_each_results_json_is_gradescopes_format(graded):
    _, document, _, out = graded
    for name, row in rows(document).items():
        results = json.loads((out / "results" / f"{grading.file_name(name)}.json").read_text())
        assert set(results) >= {"score", "execution_time", "output", "tests"}
        assert isinstance(results["score"], (int, float)) and isinstance(results["execution_time"], (int, float))
        assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
        assert results["score"] == pytest.approx(row["score"])
        assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(MAX)
        assert len(results["tests"]) == 9 * 4  # a test per probe and tensor group
        for test in results["tests"]:
            assert set(test) == {"name", "score", "max_score", "status", "output", "output_format", "visibility"}
            assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
            assert 0 <= test["score"] <= test["max_score"] and test["output_format"] == "md"
            assert test["visibility"] == ("visible" if test["name"].startswith("lecture ·") else "after_published")
        assert "hidden tests: 32, worth 40 points" in results["output"]


def test_the_students_summary_shows_the_visible_failure_and_says_what_is_hidden(graded):
    """Hidden tests: the summary a student sees at once gives the visible tests' points only — never the total,
    which would tell them how the hidden tests went — and results.json hides the total until the scheme's time."""
    _, _, _, out = graded
    bob = json.loads((out / "results" / "bob.py.json").read_text())
    # dW without 1/m on the visible lecture probe (weight 2): dW2 and dW1 cost 2 of dW/db's 4 shares of 2 × 2 points
    assert bob["output"].startswith("**8 / 10 points on the visible tests**")
    assert f"{round(EXPECTED['bob.py'][1], 2):g}" not in bob["output"] and "/ 50" not in bob["output"]
    assert "visible tests (lecture): 8 / 10 points" in bob["output"]
    assert "✗ **dW2** — the first divergence: dW2 is m = 300 times the lecture's" in bob["output"]
    assert "which is shown with their details after grades are published" in bob["output"]
    assert bob["visibility"] == "after_published" and bob["stdout_visibility"] == "hidden"
    assert bob["score"] == pytest.approx(EXPECTED["bob.py"][1], abs=1e-3)  # Gradescope's, hidden by "visibility"
    alice = json.loads((out / "results" / "alice.py.json").read_text())
    assert "visible tests (lecture): 10 / 10 points — all passed" in alice["output"]


def test_a_scheme_that_shows_the_total_shows_it(tmp_path, cli):
    write(tmp_path, "class/bob.py", (EXAMPLES / "wrong_backprop.py").read_text())
    scheme = write(tmp_path, "scheme.toml", "[visibility]\nshow_total = true\n")
    code, _, _ = cli("grade", tmp_path / "class", "--scheme", scheme, "--out", tmp_path / "out")
    bob = json.loads((tmp_path / "out" / "results" / "bob.py.json").read_text())
    assert bob["output"].startswith(f"**{round(EXPECTED['bob.py'][1], 2):g} / 50 points**")
    assert "they count in the score above" in bob["output"] and bob["visibility"] == "visible"


def test_with_every_test_visible_the_total_is_shown(tmp_path, cli):
    write(tmp_path, "class/bob.py", (EXAMPLES / "wrong_backprop.py").read_text())
    scheme = write(tmp_path, "scheme.toml", "[visibility]\nvisible = ['lecture', 'biases', 'he', 'non-square', "
                                            "'odd-m', 'm1', 'seed', 'deeper', 'l2']\n")
    cli("grade", tmp_path / "class", "--scheme", scheme, "--out", tmp_path / "out")
    bob = json.loads((tmp_path / "out" / "results" / "bob.py.json").read_text())
    assert bob["output"].startswith(f"**{round(EXPECTED['bob.py'][1], 2):g} / 50 points**")
    assert "hidden tests" not in bob["output"] and bob["visibility"] == "visible"


def test_the_csv_has_one_row_per_submission(graded):
    _, document, _, out = graded
    assert (out / "grades.csv").read_bytes().startswith(b"\xef\xbb\xbfstudent_id,")  # Excel reads UTF-8 by the BOM
    with open(out / "grades.csv", newline="", encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    assert [r["submission"] for r in table] == sorted(EXPECTED)
    assert list(table[0]) == list(grading.CSV_COLUMNS)
    by_name = {r["submission"]: r for r in table}
    for name, row in rows(document).items():
        assert float(by_name[name]["score"]) == pytest.approx(row["score"], abs=0.01)
        assert by_name[name]["status"] == row["status"] and by_name[name]["max_score"] == "50"
        assert float(by_name[name]["seconds"]) > 0
    assert by_name["bob.py"]["first_divergence"] == "dW2 on probe lecture"
    assert "the 1/m is missing" in by_name["bob.py"]["hint"]


def test_feedback_summary_and_histogram_are_written(graded):
    _, _, _, out = graded
    feedback = (out / "feedback" / "carl.py.txt").read_text()
    assert feedback.startswith(f"carl.py: {round(EXPECTED['carl.py'][1], 2):g} / 50 points (mismatch)")
    assert "✗ first divergence: dZ2 on probe lecture" in feedback
    assert "the lecture's line: dZ2 = A2 − Y" in feedback
    assert "↳ dA1, dZ1: wrong only because of dZ2 — no points lost for them" in feedback
    assert "crosscheck · 2-4-3 relu softmax-ce · float64" in feedback  # the full report follows
    summary = (out / "summary.txt").read_text()
    assert "10 submissions · max 50 points" in summary
    assert "status: ok 3, mismatch 3, exit 1, timeout 1, output 1, crashed 1" in summary
    if importlib.util.find_spec("matplotlib"):  # drawn where matplotlib is, left out (and said) where not
        assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_submissions_get_the_same_scores(graded):
    """Graded again (but the one that hangs: its timeout is the run's only clock), in another order of jobs."""
    _, first, folder, _ = graded
    submissions = [s for s in grading.discover([folder]) if s.name != "dave.py"]
    assignment = grading.Assignment(grading.Scheme(), limits=Limits(timeout=float(TIMEOUT), output=1))
    results = grading.grade(submissions, assignment, jobs=3)
    again = grading.as_json(results, grading.Assignment(grading.Scheme()))

    def scores(document):
        return [(r["submission"], r["score"], r["status"], r["first_divergence"], r["hint"],
                 [(t["name"], t["score"], t["output"]) for t in r["tests"]])
                for r in document["submissions"] if r["submission"] != "dave.py"]

    assert scores(again) == scores(first)


def test_a_worker_stays_far_below_gradescopes_768_mb(graded):
    _, document, _, _ = graded
    measured = [row["peak_memory_mb"] for row in document["submissions"] if row["status"] in ("ok", "mismatch")]
    assert measured and all(0 < mb < 768 for mb in measured), measured


def test_grading_imports_no_framework(tmp_path):
    write(tmp_path, "class/alice.py", CORRECT)
    code = ("import sys; from crosscheck.cli import main; "
            f"code = main(['grade', {str(tmp_path / 'class')!r}, '--json']); "
            "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'tensorflow', 'jax', 'keras'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr


def test_a_cs231n_class_is_graded_on_what_its_loss_returns_and_on_the_l2_probe(tmp_path, cli):
    shutil.copy(EXAMPLES / "cs231n_fc_net.py", tmp_path / "right.py")
    shutil.copy(EXAMPLES / "cs231n_fc_net_wrong.py", tmp_path / "wrong.py")   # reg * b added to db
    code, out, _ = cli("grade", tmp_path / "right.py", tmp_path / "wrong.py", "--style", "cs231n", "--json")
    by_name = rows(json.loads(out))
    # the loss gives Z2 (forward), J and dW/db, no dZ or dA: 1 + 1 + 2 points per probe; eight probes weigh 1
    # (l2 among them: the course's loss takes reg), lecture 2
    per_probe = 1 + 1 + 2
    assert by_name["right.py"]["max_score"] == 2 * per_probe + 8 * per_probe and by_name["right.py"]["status"] == "ok"
    # the regularized bias shows on the l2 probe only: db2 and db1, two of dW/db's four tensors
    wrong = by_name["wrong.py"]
    assert wrong["score"] == 40 - 2 * 2 / 4 and wrong["first_divergence"] == "db2 on probe l2"
    assert "the bias is regularized" in wrong["hint"]


def test_one_write_far_past_the_output_limit_is_cut_at_the_limit(tmp_path):
    """The limit is the kernel's (RLIMIT_FSIZE on the worker), not only a watch: 100 MB written at once stop at 1."""
    from crosscheck.engine.problem import build_problem
    from crosscheck.errors import UserCodeError
    from crosscheck.student.isolated import Isolated
    path = write(tmp_path, "flood.py", """
        import sys
        def backprop(X, Y, params, activation="relu"):
            sys.stdout.write("y" * 100_000_000)
            return {}
        """)
    with pytest.raises(UserCodeError) as excinfo:
        with Isolated(str(path), output_limit=1) as impl:
            impl.run(build_problem())
    assert excinfo.value.kind == "output"
    assert "printed more than the 1 MB output limit on stdout in backprop" in str(excinfo.value)
    assert excinfo.value.details["output"]["stdout"]["bytes"] <= 2**20


# ---- the points scheme ------------------------------------------------------------------------------

def test_a_scheme_file_sets_points_weights_and_visibility(tmp_path, cli):
    write(tmp_path, "class/bob.py", (EXAMPLES / "wrong_backprop.py").read_text())
    scheme = write(tmp_path, "scheme.toml", """
        [points]
        forward = 0
        J = 0
        "dZ/dA" = 0
        "dW/db" = 10

        [probes]
        lecture = 1
        biases = 0
        he = 0
        non-square = 0
        odd-m = 0
        m1 = 1
        seed = 0
        deeper = 0
        l2 = 0

        [visibility]
        visible = ["lecture", "m1"]
        hidden = "hidden"
        """)
    code, out, _ = cli("grade", tmp_path / "class", "--scheme", scheme, "--out", tmp_path / "out", "--json")
    row = json.loads(out)["submissions"][0]
    # two probes, dW/db only, 10 points each: on lecture dW2 and dW1 lose 2 of 4 shares; at m = 1 nothing is lost
    assert code == 1 and row["max_score"] == 20 and row["score"] == 15
    assert [(t["name"].split(" (")[0], t["score"], t["visibility"]) for t in row["tests"]] == [
        ("lecture · dW/db", 5, "visible"), ("m1 · dW/db", 10, "visible")]


def test_the_default_scheme_printed_is_the_default_scheme(cli):
    code, out, _ = cli("grade", "--show-scheme")
    tomllib = pytest.importorskip("tomllib")
    assert code == 0 and grading.Scheme.from_dict(tomllib.loads(out)) == grading.Scheme(source="the scheme")
    assert (EXAMPLES / "gradescope" / "scheme.toml").read_text() == out  # the example starts from the default


@pytest.mark.parametrize("content, message", [
    ("[points]\nforwards = 1\n", "unknown 'forwards'; choose from forward, J, dZ/dA, dW/db"),
    ("[probes]\nm1 = -1\n", "m1 = -1: a number ≥ 0"),
    ("[visibility]\nhidden = 'later'\n", "hidden = 'later': choose one of visible, hidden, after_due_date"),
    ("[points\n", "not valid TOML"),
    ("[grades]\n", "unknown table grades"),
], ids=["group", "weight", "visibility", "toml", "table"])
def test_a_bad_scheme_is_one_line_and_exit_2(content, message, tmp_path, cli):
    write(tmp_path, "class/alice.py", CORRECT)
    scheme = write(tmp_path, "scheme.toml", content)
    code, out, err = cli("grade", tmp_path / "class", "--scheme", scheme, "--out", tmp_path / "out")
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ---- what is graded, where it is written ----------------------------------------------------------------

def test_a_student_folder_with_several_candidates_gets_a_row_that_says_so(tmp_path, cli):
    write(tmp_path, "class/kim/a.py", CORRECT)
    write(tmp_path, "class/kim/b.py", CORRECT)
    write(tmp_path, "class/lee/notes.py", "x = 1\n")
    write(tmp_path, "class/lee/mine.py", CORRECT)      # the one that defines backprop
    code, out, _ = cli("grade", tmp_path / "class", "--json")
    by_name = rows(json.loads(out))
    assert by_name["kim"]["status"] == "missing" and by_name["kim"]["score"] == 0
    # the student is told their instructor chooses; the instructor, the option that chooses
    assert by_name["kim"]["hint"] == ("several files could be your submission (a.py, b.py): your instructor will "
                                      "choose the one to grade")
    assert "--file" not in json.dumps(by_name["kim"]["tests"])
    assert by_name["kim"]["note"] == "several candidates (a.py, b.py): grade it again with --file NAME --update"
    assert by_name["lee"]["status"] == "ok" and by_name["lee"]["path"].endswith("mine.py")
    code, out, _ = cli("grade", tmp_path / "class", "--file", "b.py", "--json")
    by_name = rows(json.loads(out))
    assert by_name["kim"]["status"] == "ok" and by_name["lee"]["status"] == "missing"


def test_gradescope_one_submission_folder(tmp_path, cli):
    write(tmp_path, "submission/backprop.py", (EXAMPLES / "wrong_backprop.py").read_text())
    write(tmp_path, "submission/helper.py", "x = 1\n")
    results = tmp_path / "results.json"
    code, _, err = cli("grade", tmp_path / "submission", "--gradescope", results, "--file", "backprop.py")
    document = json.loads(results.read_text())
    assert code == 1 and document["score"] == pytest.approx(EXPECTED["bob.py"][1], abs=1e-3)
    assert len(document["tests"]) == 36
    code, _, err = cli("grade", tmp_path / "submission", tmp_path / "submission", "--gradescope", results)
    assert code == 2 and "--gradescope FILE writes one submission's results: give one SUBMISSION" in err


def test_the_run_autograder_example_writes_gradescopes_results(tmp_path):
    """examples/gradescope/run_autograder in a stand-in for Gradescope's /autograder."""
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    shutil.copy(EXAMPLES / "gradescope" / "scheme.toml", root / "source" / "scheme.toml")
    write(root, "submission/backprop.py", CORRECT)
    shim = tmp_path / "bin" / "crosscheck"  # the installed command, here from this checkout
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m crosscheck \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["bash", EXAMPLES / "gradescope" / "run_autograder"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0


@pytest.mark.parametrize("arguments, message", [
    ([], "give at least one SUBMISSION"),
    (["nowhere"], "nowhere: no such file or directory"),
    (["{tmp}/notes.txt"], "notes.txt: not a .py file, a .ipynb notebook or a .zip"),
    (["{tmp}/empty"], "empty: no .py file, notebook, .zip or folder in it to grade"),
], ids=["nothing", "missing", "not-python", "empty-folder"])
def test_bad_input_is_one_line_and_exit_2(arguments, message, tmp_path, cli):
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "empty").mkdir()
    code, out, err = cli("grade", *[a.format(tmp=tmp_path) for a in arguments])
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_files_follow_the_output_policy(tmp_path, cli):
    write(tmp_path, "class/alice.py", CORRECT)
    out = tmp_path / "out"
    assert cli("grade", tmp_path / "class", "--out", out)[0] == 0
    before = (out / "grades.csv").read_bytes()
    code, _, err = cli("grade", tmp_path / "class", "--out", out)            # there already: --force to replace
    assert code == 2 and "grades.csv: exists; choose a new name or pass --force" in err
    assert cli("grade", tmp_path / "class", "--out", out, "--force")[0] == 0
    assert (out / "grades.csv").read_bytes().split(b"\n")[0] == before.split(b"\n")[0]
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "link")
    code, _, err = cli("grade", tmp_path / "class", "--out", tmp_path / "link")  # never through a link
    assert code == 2 and "is a symbolic link, not a directory" in err
    assert list((tmp_path / "elsewhere").iterdir()) == []
    code, _, err = cli("grade", tmp_path / "class", "--gradescope", "/dev/null")
    assert code == 2 and "is a device, not a regular file" in err
