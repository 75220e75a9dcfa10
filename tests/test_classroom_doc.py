"""docs/classroom.md, "Grading a class": every output it shows after a `$ …` line is what that command prints, run
here, in order, in a folder holding the class, the nbgrader, Canvas and Gradescope folders the page describes
(built below); the table's times and the machine's sandbox line are the only things that may differ.

    python tests/test_classroom_doc.py      prints each command's output, to paste into the page
"""
import io
import json
import os
import re
import shlex
import subprocess
import zipfile
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "classroom.md"
CORRECT = (ROOT / "examples" / "my_backprop.py").read_text()
WRONG = (ROOT / "examples" / "wrong_backprop.py").read_text()
METADATA = {"id": 123456, "users": [{"email": "ada@example.edu", "id": 1234, "name": "Ada Lovelace"}]}
NOTEBOOK = ["%matplotlib inline\nimport matplotlib.pyplot as plt\nimport numpy as np", CORRECT, "plt.plot([1, 2, 3])"]

# the commands the page shows, in its order; each one's "before" is what changed in the folders first
COMMANDS = [
    ("crosscheck grade class/ --out graded/", None),
    ("python -c \"import json; print(json.load(open('graded/results/bob.py.json'))['output'])\"", None),
    ("crosscheck grade class/bob.py --out graded/ --update", "bob's fixed file"),
    ("crosscheck grade submitted/ --assignment hw3", None),
    ("crosscheck grade canvas/ --out canvas-graded/ --format canvas --assignment hw3", None),
    ("python -c \"print(open('canvas-graded/canvas.csv', encoding='utf-8-sig').read(), end='')\"", None),
    ("crosscheck grade autograder/submission --gradescope autograder/results/results.json", None),
    ("python -c \"import json; r = json.load(open('autograder/results/results.json')); "
     "print(r['score'], r['extra_data']['status'], r['visibility'])\"", None),
    ("crosscheck --version", None),
]


def notebook(path, cells):
    import nbformat
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, str(path))


def make_folders(folder):
    """The class, the nbgrader and Canvas downloads and the Gradescope submission the page grades."""
    files = {
        "class/alice.py": CORRECT,
        "class/bob.py": WRONG,                                   # dW without 1/m
        "class/dana/hw3.py": CORRECT,
        "class/dana/hw3_old.py": WRONG,                          # an old copy beside it
        "class/erin.py": "import seaborn\n" + CORRECT,           # a module the grader's Python lacks
        "class/roster.txt": "alice bob carl dana erin\n",
        "submitted/bob/hw3/hw3.py": WRONG,
        "canvas/lovelaceada_12345_678901_hw3.py": CORRECT,
        "canvas/babbagecharles_late_23456_678903_hw3.py": WRONG,
        "autograder/submission_metadata.json": json.dumps(METADATA),
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    with zipfile.ZipFile(folder / "class" / "carl.zip", "w") as archive:
        archive.writestr("carl/backprop.py", CORRECT)
    notebook(folder / "submitted" / "alice" / "hw3" / "hw3.ipynb", NOTEBOOK)
    notebook(folder / "autograder" / "submission" / "homework.ipynb", NOTEBOOK)
    (folder / "autograder" / "results").mkdir()
    return folder


def run(command, folder, before=None):
    """What the command prints, run in folder: crosscheck in this process, anything else in a shell."""
    if before == "bob's fixed file":
        (folder / "class" / "bob.py").write_text(CORRECT)
    if not command.startswith("crosscheck "):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(command, shell=True, cwd=folder, capture_output=True, text=True, env=env).stdout
    from crosscheck.cli import main
    here, buffer = os.getcwd(), io.StringIO()
    os.chdir(folder)
    try:
        with redirect_stdout(buffer):
            try:
                main(shlex.split(command)[1:])
            except SystemExit:  # --version
                pass
    finally:
        os.chdir(here)
    return buffer.getvalue()


def shown(command):
    """The page's text block that starts with `$ command`."""
    found = re.search(r"```text\n\$ " + re.escape(command) + r"\n(.*?)```", PAGE.read_text(), re.S)
    assert found, f"docs/classroom.md shows no output of `{command}`"
    return found.group(1)


def comparable(text):
    """The lines that must match: a table row's cells but its time (the widths follow the times), no rule, and no
    line naming the sandbox (the machine's)."""
    lines = []
    for line in text.strip().splitlines():
        line = line.rstrip()
        if set(line) <= set("─ ") or line.startswith("sandbox: "):
            continue
        lines.append(re.split(r"\s{2,}", line)[:-1] if re.search(r"\d\.\ds$", line) else line)
    return lines


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    pytest.importorskip("nbformat")
    pytest.importorskip("matplotlib")
    import importlib.util
    if importlib.util.find_spec("seaborn") is not None:
        pytest.skip("the page's erin.py imports seaborn as a module the grader lacks; it is installed here")
    folder = make_folders(tmp_path_factory.mktemp("classroom"))
    return {command: run(command, folder, before) for command, before in COMMANDS}


@pytest.mark.parametrize("command", [command for command, _ in COMMANDS])
def test_the_page_shows_what_each_command_prints(command, printed):
    assert comparable(shown(command)) == comparable(printed[command]), printed[command]


def test_the_pages_section_shows_every_part_of_grading_a_class():
    section = PAGE.read_text().split("## Grading a class", 1)[1]
    for part in ("notebook", "imports `matplotlib`", "submitted/", "canvas/", "carl.zip", "--update",
                 "on the visible tests", "Student,ID,SIS User ID,SIS Login ID,Section", "$ crosscheck --version",
                 "ungraded", "requirements.txt", "--resume", "--seed-per-student", "moodle"):
        assert part in section, part


if __name__ == "__main__":
    import tempfile
    folder = make_folders(Path(tempfile.mkdtemp()))
    for command, before in COMMANDS:
        print(f"$ {command}\n{run(command, folder, before)}")
