"""crosscheck grade the way courses run it: a failure of the grader's own machine is `ungraded` (never 0 points);
.zip files, nbgrader's, Canvas's, Moodle's and Gradescope's layouts; the file picked where a student left an old
copy; a batch that goes on past an empty folder; a regrade of a few that keeps the others; an interrupted run
resumed; gradebooks an LMS imports; the version and options in every output; a seed per student."""
import csv
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import crosscheck
from crosscheck.classroom import grading
from crosscheck.classroom.grading import submissions as found

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CORRECT = (EXAMPLES / "my_backprop.py").read_text()
WRONG = (EXAMPLES / "wrong_backprop.py").read_text()   # dW without 1/m
MAX = 50                                                # the default scheme on the lecture's network
# dW without 1/m loses 8 of the 45 points run (tests/test_grading.py works it out), and l2 (not asked) the same share
WRONG_SCORE = 37 + 5 * 37 / 45
HELPER = "import numpy as np\ndef relu(Z):\n    return np.maximum(Z, 0)\n"
WITH_HELPER = "from helper import relu\n" + CORRECT.replace("np.maximum(Z, 0)", "relu(Z)")   # imports its helper
# a module no machine of this project installs, by the name a course might allow (pip name the same)
MISSING = next((m for m in ("seaborn", "plotly", "statsmodels") if importlib.util.find_spec(m) is None), None)


def write(folder, name, text):
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text) if text.startswith("\n") else text)
    return path


def notebook(path, *cells):
    nbformat = pytest.importorskip("nbformat")
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, str(path))
    return path


def grade(cli, *argv):
    code, out, err = cli("grade", *argv, "--json")
    assert code in (0, 1), err
    document = json.loads(out)
    return code, document, {row["submission"]: row for row in document["submissions"]}


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


# ---- a failure of the grader's machine is not the student's ---------------------------------------------------------

@pytest.mark.skipif(MISSING is None, reason="every candidate module is installed here")
def test_a_module_the_grader_lacks_is_ungraded_with_the_fix_and_no_score(tmp_path, cli):
    write(tmp_path, "class/alice.py", CORRECT)
    write(tmp_path, "class/bob.py", WRONG)
    write(tmp_path, "class/carl.py", f"import {MISSING}\n" + CORRECT)
    out = tmp_path / "out"
    code, document, rows = grade(cli, tmp_path / "class", "--out", out)
    carl = rows["carl.py"]
    assert carl["status"] == "ungraded" and carl["score"] is None and carl["tests"] == []
    assert f"No module named '{MISSING}'" in carl["hint"]
    assert f"pip install {MISSING}" in carl["note"] and "requirements.txt" in carl["note"]
    # Gradescope's results.json: no score at all (not 0), and the student told it is not theirs
    results = json.loads((out / "results" / "carl.py.json").read_text())
    assert "score" not in results and results["tests"] == [] and results["extra_data"]["status"] == "ungraded"
    assert results["output"].startswith("**Not graded yet: the autograder could not grade this submission.**")
    assert "not a mark against you" in results["output"]
    # the CSV: a blank score and percent, not 0; the summary: the others' figures, and the fix
    table = {r[3]: r for r in read_csv(out / "grades.csv")[1:]}
    assert table["carl.py"][4:8] == ["", "50", "", "ungraded"]
    summary = (out / "summary.txt").read_text()
    assert f"2 submissions · max 50 points · mean {(MAX + WRONG_SCORE) / 2:.2f}" in summary
    assert "status: ok 1, mismatch 1, ungraded 1" in summary
    assert f"carl.py: the grader's Python has no module {MISSING}" in summary
    feedback = (out / "feedback" / "carl.py.txt").read_text().splitlines()
    assert feedback[0] == "carl.py: not graded (ungraded)"
    assert ("✗ the autograder could not grade this submission: its own set-up lacks something the code needs."
            in feedback)


def test_an_import_of_an_installed_module_is_graded_like_any_other(tmp_path, cli):
    pytest.importorskip("matplotlib")
    write(tmp_path, "class/plots.py", "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                                      + CORRECT)
    _, _, rows = grade(cli, tmp_path / "class")
    assert rows["plots.py"]["status"] == "ok" and rows["plots.py"]["score"] == MAX


def test_a_missing_submodule_of_an_installed_package_is_the_students(tmp_path, cli):
    """numpy is there: numpy.nowhere is the code's mistake, scored as any import error."""
    write(tmp_path, "class/typo.py", "import numpy.nowhere\n" + CORRECT)
    _, _, rows = grade(cli, tmp_path / "class")
    assert rows["typo.py"]["status"] == "error" and rows["typo.py"]["score"] == 0


def test_a_notebook_without_nbformat_here_is_ungraded_with_the_extra_to_install(tmp_path, cli, monkeypatch):
    notebook(tmp_path / "class" / "hana.ipynb", CORRECT)
    monkeypatch.setitem(sys.modules, "nbformat", None)   # this Python without the notebook extra
    _, _, rows = grade(cli, tmp_path / "class")
    assert rows["hana.ipynb"]["status"] == "ungraded" and rows["hana.ipynb"]["score"] is None
    assert "pip install 'backprop-crosscheck[notebook]'" in rows["hana.ipynb"]["note"]


def test_a_worker_that_cannot_start_is_ungraded(tmp_path, cli):
    """30 MB of address space cannot hold Python and NumPy: the grader's setting, not the student's code."""
    write(tmp_path, "class/alice.py", CORRECT)
    _, _, rows = grade(cli, tmp_path / "class", "--memory", "30")
    assert rows["alice.py"]["status"] == "ungraded" and rows["alice.py"]["score"] is None
    assert "--memory" in rows["alice.py"]["note"]


def test_a_bug_of_crosschecks_is_ungraded_not_the_students_error(tmp_path, cli, monkeypatch):
    write(tmp_path, "class/alice.py", CORRECT)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(grading.scoring, "grade_one", broken)
    _, _, rows = grade(cli, tmp_path / "class")
    assert rows["alice.py"]["status"] == "ungraded" and "RuntimeError: a bug" in rows["alice.py"]["note"]


def test_grade_and_the_self_check_share_their_limits_by_default():
    from crosscheck.cli import build_parser, options
    parser = build_parser()
    compare = options.limits(parser.parse_args(["compare", "--impl", "x.py"]))
    grader = options.limits(parser.parse_args(["grade", "x.py"]))
    assert (compare.timeout, compare.memory, compare.output) == (grader.timeout, grader.memory, grader.output)


# ---- the Gradescope kit ---------------------------------------------------------------------------------------------

def stub(folder, name, script="exit 0"):
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {name} \"$@\" >> \"{folder}/calls\"\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_setup_installs_the_notebook_extra_and_the_courses_requirements(tmp_path):
    """examples/gradescope/setup.sh with the system's commands stubbed: what it asks pip to install."""
    bin_, root, prefix = tmp_path / "bin", tmp_path / "autograder", tmp_path / "prefix"
    (root / "source").mkdir(parents=True)
    (root / "source" / "backprop_crosscheck-0.2.0-py3-none-any.whl").write_text("")
    (root / "source" / "requirements.txt").write_text("matplotlib\n")
    for name in ("apt-get", "useradd", "ln", "id"):
        stub(bin_, name, "exit 1" if name == "id" else "exit 0")
    # python3 -m venv PREFIX makes a pip that says what it was asked
    stub(bin_, "python3", f'mkdir -p "{prefix}/bin"; printf \'#!/bin/sh\\necho pip "$@" >> "{bin_}/calls"\\n\' '
                          f'> "{prefix}/bin/pip"; chmod +x "{prefix}/bin/pip"')
    env = {**os.environ, "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}", "AUTOGRADER_ROOT": str(root),
           "CROSSCHECK_PREFIX": str(prefix)}
    done = subprocess.run(["bash", EXAMPLES / "gradescope" / "setup.sh"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = (bin_ / "calls").read_text().splitlines()
    assert f"pip install {root}/source/backprop_crosscheck-0.2.0-py3-none-any.whl[notebook]" in calls
    assert f"pip install -r {root}/source/requirements.txt" in calls
    assert "useradd --system --uid 59000 --user-group --no-create-home --home-dir /nonexistent --shell " \
           "/usr/sbin/nologin crosscheck-worker" in calls


def autograder(tmp_path, files, crosscheck_bin=None):
    """examples/gradescope/run_autograder in a stand-in /autograder: (results.json, what it printed)."""
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / "gradescope" / "scheme.toml", root / "source" / "scheme.toml")
    for name, content in files.items():
        if name.endswith(".ipynb"):
            notebook(root / "submission" / name, *content)
        else:
            write(root, name, content)
    if crosscheck_bin is None:
        crosscheck_bin = tmp_path / "bin"
        shim = crosscheck_bin / "crosscheck"  # the installed command, here from this checkout
        shim.parent.mkdir(exist_ok=True)
        shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m crosscheck \"$@\"\n")
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{crosscheck_bin}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    if (Path(crosscheck_bin) / "python").exists():  # an installed kit: its own environment, not this checkout
        env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(["bash", EXAMPLES / "gradescope" / "run_autograder"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text()), done.stdout


METADATA = json.dumps({"id": 123456, "users": [{"email": "ada@example.edu", "id": 1234, "name": "Ada Lovelace"}],
                       "assignment": {"title": "Backprop", "total_points": "50.0"}})


def test_gradescope_a_notebook_that_imports_matplotlib_gets_full_marks(tmp_path):
    pytest.importorskip("matplotlib")
    results, _ = autograder(tmp_path, {
        "homework.ipynb": ["%matplotlib inline\nimport matplotlib.pyplot as plt\nimport numpy as np", CORRECT,
                           "plt.plot([1, 2, 3])"],
        "submission_metadata.json": METADATA})
    assert results["score"] == MAX == sum(t["max_score"] for t in results["tests"])
    assert results["extra_data"]["crosscheck"] == crosscheck.__version__


@pytest.mark.skipif(MISSING is None, reason="every candidate module is installed here")
def test_gradescope_a_module_the_kit_lacks_is_no_score_and_the_instructor_sees_the_fix(tmp_path):
    results, printed = autograder(tmp_path, {"submission/backprop.py": f"import {MISSING}\n" + CORRECT,
                                             "submission_metadata.json": METADATA})
    assert "score" not in results and results["tests"] == [] and results["extra_data"]["status"] == "ungraded"
    assert "not a mark against you" in results["output"]
    # what run_autograder prints, Gradescope shows the instructor: the package to add to requirements.txt
    assert f"pip install {MISSING}; the Gradescope kit: a line {MISSING} in requirements.txt" in printed
    assert "Ada Lovelace" not in results["output"]


@pytest.mark.slow
@pytest.mark.skipif(MISSING is None, reason="every candidate module is installed here")
def test_the_kit_in_a_fresh_environment_grades_a_notebook_that_imports_matplotlib(tmp_path, wheel):
    """What an instructor does: the wheel and setup.sh (the system's commands stubbed, pip and the venv real) with
    requirements.txt naming matplotlib; then run_autograder on a notebook that imports it, and on a file that
    imports a module the course did not list."""
    pytest.importorskip("nbformat")
    bin_, root, prefix = tmp_path / "bin", tmp_path / "autograder", tmp_path / "opt"
    (root / "source").mkdir(parents=True)
    shutil.copy(wheel, root / "source")
    (root / "source" / "requirements.txt").write_text("matplotlib\n")
    for name in ("apt-get", "useradd", "ln"):
        stub(bin_, name)
    stub(bin_, "python3", f'exec {sys.executable} "$@"')
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{bin_}{os.pathsep}{env['PATH']}", AUTOGRADER_ROOT=str(root), CROSSCHECK_PREFIX=str(prefix),
               PIP_NO_COMPILE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")  # the same files; bytecode on first import
    done = subprocess.run(["bash", EXAMPLES / "gradescope" / "setup.sh"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    results, _ = autograder(tmp_path, {
        "homework.ipynb": ["%matplotlib inline\nimport matplotlib.pyplot as plt\nimport numpy as np", CORRECT,
                           "plt.plot([1, 2, 3])"]}, crosscheck_bin=prefix / "bin")
    assert results["score"] == MAX and results["extra_data"]["status"] == "ok"
    (root / "submission" / "homework.ipynb").unlink()
    results, printed = autograder(tmp_path, {"submission/backprop.py": f"import {MISSING}\n" + CORRECT},
                                  crosscheck_bin=prefix / "bin")
    assert "score" not in results and f"a line {MISSING} in requirements.txt" in printed


def test_gradescope_metadata_names_the_student(tmp_path, cli):
    write(tmp_path, "autograder/submission/backprop.py", CORRECT)
    write(tmp_path, "autograder/submission_metadata.json", METADATA)
    results = tmp_path / "results.json"
    code, out, _ = cli("grade", tmp_path / "autograder" / "submission", "--gradescope", results, "--json")
    row = json.loads(out)["submissions"][0]
    assert (row["student_name"], row["email"], row["student_id"], row["lms"]) == \
        ("Ada Lovelace", "ada@example.edu", "1234", "gradescope")


# ---- submissions as they are handed in ------------------------------------------------------------------------------

def make_zip(path, members):
    """A .zip of {name: text}; a name ending in '@link' is stored as a symbolic link to its text."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            if name.endswith("@link"):
                info = zipfile.ZipInfo(name[:-5])
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, text)
            else:
                archive.writestr(name, text)
    return path


def test_zips_are_read_safely_or_get_a_row_that_says_why(tmp_path, cli, monkeypatch):
    folder = tmp_path / "class"
    folder.mkdir()
    make_zip(folder / "alice.zip", {"alice/backprop.py": WITH_HELPER, "alice/helper.py": HELPER,
                                    "__MACOSX/alice/._backprop.py": "junk"})
    make_zip(folder / "bob.zip", {"backprop.py": WRONG})
    make_zip(folder / "escape.zip", {"../../escaped.py": CORRECT})
    make_zip(folder / "absolute.zip", {"/tmp/absolute.py": CORRECT})
    make_zip(folder / "link.zip", {"backprop.py@link": "/etc/passwd"})
    make_zip(folder / "big.zip", {"backprop.py": CORRECT + "#" * 5000})
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 not a zip")
    monkeypatch.setattr(found, "MAX_COPY", 4000)   # the size limit, small enough to test
    out = tmp_path / "out"
    _, document, rows = grade(cli, folder, "--out", out)
    assert (rows["alice.zip"]["status"], rows["alice.zip"]["score"]) == ("ok", MAX)
    assert rows["alice.zip"]["origin"] == str(folder / "alice.zip")
    assert (rows["bob.zip"]["status"], rows["bob.zip"]["score"]) == ("mismatch", pytest.approx(WRONG_SCORE, abs=0.01))
    why = {"escape.zip": "it holds a path out of its folder ('../../escaped.py')",
           "absolute.zip": "it holds a path out of its folder ('/tmp/absolute.py')",
           "link.zip": "it holds a symbolic link ('backprop.py')",
           "big.zip": "it unpacks to more than 0 MB",
           "broken.zip": "not a readable .zip"}
    for name, reason in why.items():
        assert rows[name]["status"] == "error" and rows[name]["score"] == 0, name
        assert rows[name]["hint"].startswith(f"{name} was not read: {reason}"), rows[name]["hint"]
    assert not list(tmp_path.rglob("escaped.py")) and not Path("/tmp/absolute.py").exists()
    assert len(document["submissions"]) == 7   # nothing left out in silence


def test_a_file_that_is_no_submission_is_named_in_the_summary(tmp_path, cli):
    write(tmp_path, "class/alice.py", CORRECT)
    write(tmp_path, "class/roster.txt", "alice\n")
    out = tmp_path / "out"
    _, document, _ = grade(cli, tmp_path / "class", "--out", out)
    note = f"{tmp_path / 'class' / 'roster.txt'}: left out, not a .py file, a notebook or a .zip"
    assert document["notes"] == [note] and note in (out / "summary.txt").read_text()


def test_nbgrader_submitted_student_assignment(tmp_path, cli):
    submitted = tmp_path / "submitted"
    notebook(submitted / "alice" / "hw3" / "hw3.ipynb", CORRECT)
    write(submitted, "alice/hw3/timestamp.txt", "2024-03-01 12:00:00\n")
    write(submitted, "bob/hw3/hw3.py", WRONG)
    write(submitted, "carl/hw2/hw2.py", WRONG)          # an earlier assignment's folder beside this one
    write(submitted, "carl/hw3/hw3.py", CORRECT)
    _, _, rows = grade(cli, submitted, "--assignment", "hw3")
    assert {name: (r["status"], r["student_id"], r["lms"]) for name, r in rows.items()} == {
        "alice": ("ok", "alice", "nbgrader"), "bob": ("mismatch", "bob", "nbgrader"),
        "carl": ("ok", "carl", "nbgrader")}
    _, _, rows = grade(cli, submitted)                 # carl's two assignments: the instructor is told to choose
    assert rows["carl"]["status"] == "missing" and "--assignment NAME picks one" in rows["carl"]["note"]
    assert "--assignment" not in rows["carl"]["hint"]


CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw3"]   # Canvas's gradebook import


def test_a_canvas_bulk_download_is_one_submission_per_student_and_a_canvas_csv(tmp_path, cli):
    folder = tmp_path / "canvas"
    write(folder, "lovelaceada_12345_678901_hw3.py", WITH_HELPER)
    write(folder, "lovelaceada_12345_678902_helper.py", HELPER)
    write(folder, "babbagecharles_late_23456_678903_hw3.py", WRONG)
    out = tmp_path / "out"
    _, _, rows = grade(cli, folder, "--out", out, "--format", "canvas", "--assignment", "hw3")
    assert {name: (r["status"], r["student_id"], r["lms"]) for name, r in rows.items()} == {
        "lovelaceada": ("ok", "12345", "canvas"), "babbagecharles": ("mismatch", "23456", "canvas")}
    assert (out / "canvas.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_csv(out / "canvas.csv") == [
        CANVAS_HEADER, ["Points Possible", "", "", "", "", "50"],
        ["babbagecharles", "23456", "", "", "", "41.11"], ["lovelaceada", "12345", "", "", "", "50"]]


MOODLE_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                 "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"]


def test_moodle_folders_and_files_name_the_student_and_a_grading_worksheet(tmp_path, cli):
    folder = tmp_path / "moodle"
    write(folder, "Ada Lovelace_4321_assignsubmission_file_/hw3.py", CORRECT)
    write(folder, "Charles Babbage_8765_assignsubmission_file_/hw3.py", WRONG)
    out = tmp_path / "out"
    _, _, rows = grade(cli, folder, "--out", out, "--format", "moodle")
    assert {name: (r["student_id"], r["lms"]) for name, r in rows.items()} == {
        "Ada Lovelace": ("4321", "moodle"), "Charles Babbage": ("8765", "moodle")}
    sheet = read_csv(out / "moodle.csv")
    assert sheet[0] == MOODLE_HEADER
    assert [r[:7] for r in sheet[1:]] == [
        ["Participant 4321", "Ada Lovelace", "", "", "50.00", "50.00", "Yes"],
        ["Participant 8765", "Charles Babbage", "", "", "41.11", "50.00", "Yes"]]
    assert sheet[2][9].startswith("mismatch: dW2 on probe lecture — dW2 is m = 300 times the lecture's")
    flat = tmp_path / "flat"   # without "download in folders": the same prefix on every file
    write(flat, "Ada Lovelace_4321_assignsubmission_file_hw3.py", CORRECT)
    _, _, rows = grade(cli, flat)
    assert rows["Ada Lovelace"]["student_id"] == "4321" and rows["Ada Lovelace"]["status"] == "ok"


def test_an_empty_folder_among_several_is_a_row_not_the_end_of_the_batch(tmp_path, cli):
    write(tmp_path, "a/alice.py", CORRECT)
    (tmp_path / "empty").mkdir()
    write(tmp_path, "b/bob.py", WRONG)
    _, _, rows = grade(cli, tmp_path / "a", tmp_path / "empty", tmp_path / "b")
    assert rows["alice.py"]["status"] == "ok" and rows["bob.py"]["status"] == "mismatch"
    assert rows["empty"]["status"] == "missing" and rows["empty"]["score"] == 0


def test_an_old_copy_beside_the_submission_is_not_graded_and_the_student_is_not_told_to_pass_file(tmp_path, cli):
    write(tmp_path, "class/dana/hw3.py", CORRECT)
    write(tmp_path, "class/dana/hw3_old.py", WRONG)
    write(tmp_path, "class/eve/hw3.py", WRONG)
    write(tmp_path, "class/eve/hw3 (1).py", CORRECT)
    out = tmp_path / "out"
    _, _, rows = grade(cli, tmp_path / "class", "--out", out)
    assert rows["dana"]["path"].endswith("hw3.py") and rows["dana"]["score"] == MAX
    assert rows["eve"]["path"].endswith("/hw3.py") and rows["eve"]["status"] == "mismatch"
    assert rows["dana"]["note"] == "graded hw3.py, not hw3_old.py"
    assert "dana: graded hw3.py, not hw3_old.py" in (out / "summary.txt").read_text()
    for name in ("dana", "eve"):
        assert "--file" not in (out / "feedback" / f"{name}.txt").read_text()
        assert "--file" not in (out / "results" / f"{name}.json").read_text()


# ---- a regrade keeps the others; an interrupted run resumes ---------------------------------------------------------

def table_of(out):
    return {r[3]: r for r in read_csv(out / "grades.csv")[1:]}


def test_update_regrades_one_student_and_keeps_every_other_row(tmp_path, cli):
    folder, out = tmp_path / "class", tmp_path / "out"
    write(folder, "alice.py", CORRECT)
    write(folder, "bob/backprop.py", WRONG)
    write(folder, "carl.py", WRONG)
    grade(cli, folder, "--out", out)
    before = json.loads((out / "grades.json").read_text())
    alice_feedback = (out / "feedback" / "alice.py.txt").read_bytes()
    write(folder, "bob/backprop.py", CORRECT)            # bob's fixed file, regraded alone
    code, _, rows = grade(cli, folder / "bob", "--out", out, "--update")
    assert list(rows) == ["alice.py", "bob", "carl.py"] and rows["bob"]["path"] == str(folder / "bob" / "backprop.py")
    after = json.loads((out / "grades.json").read_text())
    assert [r["submission"] for r in after["submissions"]] == ["alice.py", "bob", "carl.py"]
    assert after["submissions"][0] == before["submissions"][0] and after["submissions"][2] == before["submissions"][2]
    assert after["submissions"][1]["score"] == MAX
    assert before["submissions"][1]["score"] == pytest.approx(WRONG_SCORE, abs=.01)
    assert {name: r[4] for name, r in table_of(out).items()} == {"alice.py": "50", "bob": "50", "carl.py": "41.11"}
    summary = (out / "summary.txt").read_text()
    assert "3 submissions · max 50 points" in summary and "carl.py" in summary
    assert (out / "feedback" / "alice.py.txt").read_bytes() == alice_feedback
    assert code == 1   # carl still loses points


def test_update_with_file_grades_a_student_the_instructor_had_to_choose_for(tmp_path, cli):
    """The summary says "grade it again with --file NAME --update": that works, and only that student changes."""
    folder, out = tmp_path / "class", tmp_path / "out"
    write(folder, "alice.py", CORRECT)
    write(folder, "kim/a.py", WRONG)
    write(folder, "kim/b.py", CORRECT)
    _, _, rows = grade(cli, folder, "--out", out)
    assert rows["kim"]["status"] == "missing" and "--file NAME --update" in rows["kim"]["note"]
    _, _, rows = grade(cli, folder / "kim", "--out", out, "--update", "--file", "b.py")
    assert (rows["kim"]["status"], rows["kim"]["score"], rows["alice.py"]["score"]) == ("ok", MAX, MAX)


def test_update_refuses_other_options_and_an_out_with_no_grades(tmp_path, cli):
    folder, out = tmp_path / "class", tmp_path / "out"
    write(folder, "alice.py", CORRECT)
    code, _, err = cli("grade", folder / "alice.py", "--out", out, "--update")
    assert code == 2 and "no grades.json there to update" in err
    assert cli("grade", folder, "--out", out)[0] == 0
    code, _, err = cli("grade", folder / "alice.py", "--out", out, "--update", "--layers", "2,5,3")
    assert code == 2 and "was graded with other options (spec differ)" in err and len(err.strip().splitlines()) == 1


def test_an_interrupted_class_run_resumes_where_it_stopped(tmp_path, cli, monkeypatch):
    folder, out = tmp_path / "class", tmp_path / "out"
    for name, text in (("alice.py", CORRECT), ("bob.py", WRONG), ("carl.py", CORRECT), ("dave.py", WRONG)):
        write(folder, name, text)
    real = grading.scoring.grade_one

    def interrupted(submission, *args, **kwargs):
        if submission.name == "carl.py":
            raise KeyboardInterrupt
        return real(submission, *args, **kwargs)

    monkeypatch.setattr(grading.scoring, "grade_one", interrupted)
    code, _, err = cli("grade", folder, "--out", out, "--jobs", "1")
    assert code == 130 and "interrupted" in err
    journal = [json.loads(line) for line in (out / "grades.partial.jsonl").read_text().splitlines()]
    assert journal[0]["crosscheck"]["version"] == crosscheck.__version__ and not (out / "grades.json").exists()
    first = journal[1:]
    assert [r["submission"] for r in first] == ["alice.py", "bob.py"]
    assert sorted(p.name for p in (out / "results").iterdir()) == ["alice.py.json", "bob.py.json"]
    monkeypatch.setattr(grading.scoring, "grade_one", real)
    code, document, rows = grade(cli, folder, "--out", out, "--resume", "--jobs", "1")
    assert document["notes"][-1] == f"--resume: 2 already graded in {out}, 2 to grade"
    final = json.loads((out / "grades.json").read_text())
    assert not (out / "grades.partial.jsonl").exists()
    assert [r["submission"] for r in final["submissions"]] == ["alice.py", "bob.py", "carl.py", "dave.py"]
    assert final["submissions"][:2] == first                    # graded once: the same rows, to the millisecond
    assert [r["score"] for r in final["submissions"]] == [MAX, pytest.approx(WRONG_SCORE, abs=.01), MAX,
                                                          pytest.approx(WRONG_SCORE, abs=.01)]


# ---- what an instructor uploads, and what every output records ------------------------------------------------------

def test_grades_csv_has_the_students_identity_and_neutralises_it(tmp_path, cli):
    write(tmp_path, "autograder/submission/backprop.py", CORRECT)
    write(tmp_path, "autograder/submission/submission_metadata.json", json.dumps(
        {"users": [{"name": "=HYPERLINK(\"http://x\")", "email": "eve@example.edu", "id": 7}]}))
    out = tmp_path / "out"
    grade(cli, tmp_path / "autograder" / "submission", "--out", out, "--file", "backprop.py")
    header, row = read_csv(out / "grades.csv")
    assert header[:8] == ["student_id", "name", "email", "submission", "score", "max_score", "percent", "status"]
    assert row[:8] == ["7", "'=HYPERLINK(\"http://x\")", "eve@example.edu", "submission", "50", "50", "100", "ok"]


def test_the_version_and_options_are_in_every_output(tmp_path, cli):
    write(tmp_path, "class/alice.py", CORRECT)
    out = tmp_path / "out"
    cli("grade", tmp_path / "class", "--out", out, "--timeout", "30", "--layers", "2,5,3")
    version = crosscheck.__version__
    document = json.loads((out / "grades.json").read_text())
    assert document["crosscheck"]["version"] == version
    assert document["crosscheck"]["options"]["spec"]["layers"] == [2, 5, 3]
    assert document["crosscheck"]["options"]["limits"]["timeout"] == 30
    results = json.loads((out / "results" / "alice.py.json").read_text())
    assert results["extra_data"]["crosscheck"] == version
    assert results["extra_data"]["options"]["limits"]["timeout"] == 30
    line = f"graded by crosscheck {version} · style lecture · seed 0 · layers 2,5,3 · timeout 30.0"
    assert (out / "feedback" / "alice.py.txt").read_text().splitlines()[1].startswith(line)
    assert line in (out / "summary.txt").read_text()


def test_crosscheck_version(capsys):
    from crosscheck.cli import main
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"crosscheck {crosscheck.__version__}\n"


def test_a_seed_per_student_differs_between_students_and_a_regrade_keeps_it(tmp_path, cli):
    folder, out = tmp_path / "class", tmp_path / "out"
    for name in ("alice.py", "bob.py"):
        write(folder, name, WRONG)
    _, _, rows = grade(cli, folder, "--out", out, "--seed-per-student")
    seeds = {name: r["seed"] for name, r in rows.items()}
    assert seeds["alice.py"] != seeds["bob.py"] and 0 not in seeds.values()
    # each student's probes are drawn from their seed (the lecture probe's title names it); the same mistake costs
    # the same points on any seed
    for name, r in rows.items():
        assert f"seed {seeds[name]})" in r["tests"][0]["name"]
        assert r["score"] == pytest.approx(WRONG_SCORE, abs=0.01)
    assert {r[3]: r[11] for r in read_csv(out / "grades.csv")[1:]} == {k: str(v) for k, v in seeds.items()}
    _, _, again = grade(cli, folder, "--seed-per-student")      # another run: the same seeds
    assert {name: r["seed"] for name, r in again.items()} == seeds
    grades = json.loads((out / "grades.json").read_text())      # a recorded seed is the one a regrade uses
    grades["submissions"][1]["seed"] = 777
    (out / "grades.json").write_text(json.dumps(grades))
    _, _, regraded = grade(cli, folder / "bob.py", "--out", out, "--update", "--seed-per-student")
    assert regraded["bob.py"]["seed"] == 777 and "seed 777)" in regraded["bob.py"]["tests"][0]["name"]


# ---- the histogram --------------------------------------------------------------------------------------------------

def test_the_histogram_keeps_full_marks_apart_counts_whole_submissions_by_status():
    rows = [{"score": s, "status": st} for s, st in [(45, "ok"), (42.83, "mismatch"), (44.9, "mismatch"), (0, "error"),
                                                      (0, "missing"), (None, "ungraded"), (45, "ok")]]
    edges, counts = grading.histogram_counts(rows, 45)
    assert edges[-3:] == [44, 45, 46]                            # full marks: a bar of its own
    assert counts["ok"][-1] == 2 and sum(counts["ok"]) == 2
    assert counts["mismatch"][42] == 1 and counts["mismatch"][44] == 1   # 42.83 and 44.9: never with 45
    assert counts["error"][0] == 1 and counts["missing"][0] == 1
    assert sum(map(sum, counts.values())) == 6                   # the ungraded one has no score to draw
    assert all(isinstance(c, int) for bars in counts.values() for c in bars)
    edges, _ = grading.histogram_counts([], 200)                 # past 50 points: at most 50 bars and full marks
    assert len(edges) - 1 <= 52 and edges[-2:] == [200, 204]


def png_dpi(data):
    """The dots per inch a PNG's pHYs chunk records."""
    at = data.index(b"pHYs")
    per_metre = int.from_bytes(data[at + 4:at + 8], "big")
    return per_metre * 0.0254


def test_the_histogram_is_drawn_at_slide_resolution(tmp_path, cli):
    pytest.importorskip("matplotlib")
    write(tmp_path, "class/alice.py", CORRECT)
    out = tmp_path / "out"
    cli("grade", tmp_path / "class", "--out", out)
    assert png_dpi((out / "histogram.png").read_bytes()) == pytest.approx(150, abs=0.5)


def test_the_bench_plot_shows_each_figures_spread_and_a_colour_per_framework():
    pytest.importorskip("matplotlib")
    from matplotlib.container import ErrorbarContainer

    from crosscheck.render import plots
    results = []
    for framework, seconds in (("numpy", 1e-3), ("torch", 2e-3), ("jax", 4e-3)):
        for shape in ((1, 300, 4, 3), (8, 64, 64, 64)):
            flops = 2 * shape[0] * shape[1] * shape[2] * shape[3]
            results.append({"op": "batched_matmul", "framework": framework, "device": "cpu", "dtype": "float32",
                            "shape": list(shape), "flops": flops, "median_s": seconds, "q1_s": 0.8 * seconds,
                            "q3_s": 1.5 * seconds, "gflops": flops / seconds / 1e9})
    figure = plots.bench_axes({"results": results, "env": {"cpu": {"model": "a CPU"}, "threads": 2}})
    ax = figure.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [c.get_label() for c in bars] == ["numpy", "torch", "jax"]
    assert len({c.lines[0].get_color() for c in bars}) == 3       # one colour each
    segment = bars[1].lines[2][0].get_segments()[0]                # torch's first point: from q3 to q1 in GFLOP/s
    flops = 2 * 300 * 4 * 3
    assert segment[:, 1] == pytest.approx([flops / 3e-3 / 1e9, flops / 1.6e-3 / 1e9])
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 10
