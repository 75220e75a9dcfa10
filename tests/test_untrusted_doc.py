"""docs/untrusted-code.md: every output it shows after a `$ crosscheck …` line is what that command prints, run
here on the class the page describes (built below), in the bwrap sandbox the page shows; times are the only thing
that may differ.  Its table's attack kinds are the ones tests/test_sandbox.py and tests/test_integrity_scores.py
run.

    python tests/test_untrusted_doc.py      prints each command's output, to paste into the page
"""
import re
import shlex
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "untrusted-code.md"
CORRECT = (ROOT / "examples" / "my_backprop.py").read_text()
WRONG = (ROOT / "examples" / "wrong_backprop.py").read_text()
BACKPROP = '    m, L = X.shape[0], len(params)\n'


def _first(body):
    """The correct file with body run first in backprop."""
    return CORRECT.replace(BACKPROP, textwrap.indent(textwrap.dedent(body), "    ") + BACKPROP, 1)


# the class the page grades: what each student handed in (the page says it in words)
CLASS = {
    "alice.py": CORRECT,
    "bob.py": WRONG,
    "zeros.py": CORRECT.replace("    return out\n", "    return {k: 0 * v for k, v in out.items()}\n"),
    "answer-key.py": "from crosscheck.reference import backprop as answer\n" + CORRECT,
    "torch-user.py": "import torch\n" + CORRECT,
    "forger.py": _first("""
        import os, struct, sys
        os.write(int(sys.argv[2]), struct.pack(">Q", 2**19) + b"[" * 2**19)
        """),
    "fork-bomb.py": _first("""
        import os, time
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.001)
        """),
    "flood.py": _first("""
        import os
        with open(os.path.join(os.environ["HOME"], "flood"), "wb") as f:
            for _ in range(64):
                f.write(b"x" * 2**20)
        """),
    "snoop.py": _first("""
        import glob
        for path in glob.glob("/proc/*/environ"):
            try:
                print(path, open(path).read())
            except OSError:
                pass
        """),
}
COMMANDS = {
    "grade": "crosscheck grade class/ --timeout 2 --output-limit 4",
    "compare": "crosscheck compare --impl class/alice.py --frameworks none --probe lecture",
}


def make_class(folder):
    for name, source in CLASS.items():
        (folder / "class").mkdir(exist_ok=True)
        (folder / "class" / name).write_text(source)
    (folder / "class" / "mallory.py").symlink_to(folder / "class" / "alice.py")  # a peer's file as its own
    return folder


def run(command, folder, capsys):
    """What the command prints, run in folder (the class beside it) in this process."""
    import os

    from crosscheck.cli import main
    here = os.getcwd()
    os.chdir(folder)
    try:
        main(shlex.split(command)[1:])
    finally:
        os.chdir(here)
    return capsys.readouterr().out


def shown(command):
    """The page's text block right after `$ command`."""
    text = PAGE.read_text()
    found = re.search(r"```text\n\$ " + re.escape(command) + r"\n(.*?)```", text, re.S)
    assert found, f"docs/untrusted-code.md shows no output of `{command}`"
    return found.group(1)


def comparable(text, command):
    """The lines that must match: for grade's summary, each row's cells but the time (the table's widths follow
    the times, so cells are compared, not spacing)."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if command.startswith("crosscheck grade"):
        lines = [re.split(r"\s{2,}", line)[:-1] if re.search(r"\d\.\ds$", line) else line
                 for line in lines if not set(line) <= set("─ ")]
    return lines


@pytest.fixture(scope="module")
def bwrap():
    from crosscheck.errors import UsageError
    from crosscheck.student import sandbox
    try:
        sandbox.choose("bwrap")
    except UsageError as exc:
        pytest.skip(f"the page shows the bwrap sandbox: {exc}")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_page_shows_what_each_command_prints(name, bwrap, tmp_path, capsys):
    command = COMMANDS[name]
    printed = run(command, make_class(tmp_path), capsys)
    assert comparable(shown(command), command) == comparable(printed, command)


def test_the_pages_table_names_every_attack_kind_the_tests_run():
    table = PAGE.read_text().split("| attack")[1].split("\n\n")[0]
    kinds = ["forged reply frames", "lying array and dict subclasses", "NaN", "importing the reference",
             "autograd", "reading the checker through /proc", "leaking its environment", "peers' files and pipes",
             "surviving processes", "killing or pausing the checker", "output and disk floods",
             "process and memory bombs", "terminal escapes, newlines and formulas", "HTML and Markdown",
             "symbolic links", "patching the package", "computing nothing", "writing to the checker's stdout"]
    for kind in kinds:
        assert kind in table, kind


if __name__ == "__main__":
    import tempfile

    class _Capture:
        def readouterr(self):
            return type("Out", (), {"out": sys.stdout.getvalue()})()

    import io
    for command in COMMANDS.values():
        folder = make_class(Path(tempfile.mkdtemp()))
        real, sys.stdout = sys.stdout, io.StringIO()
        try:
            text = run(command, folder, _Capture())
        finally:
            sys.stdout = real
        print(f"$ {command}\n{text}")
