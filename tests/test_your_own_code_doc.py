"""docs/your-own-code.md shows what the commands print: each ```console block's command is run, and every line it
shows (`…` stands for lines left out) must be in the output, in order.  A rounding-sized number (a max|Δ| of 1e-16)
may be any rounding-sized number: BLAS libraries round differently.  The short quotes in its prose are asserted by
the tests of each feature (tests/test_course_code_*.py, tests/test_students.py)."""
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "your-own-code.md"
BLOCK = re.compile(r"```console\n\$ (.+?)\n(.*?)```", re.S)
ROUNDING = re.compile(r"\d\.\de-1[5-9]")


def blocks():
    return [(command, shown) for command, shown in BLOCK.findall(PAGE.read_text(encoding="utf-8"))]


def test_the_page_has_its_examples():
    assert len(blocks()) >= 7


@pytest.mark.parametrize("command, shown", blocks(), ids=[command.split("--impl ")[1] for command, _ in blocks()])
def test_each_pasted_output_is_what_the_command_prints(command, shown, cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    words = shlex.split(command)
    assert words[0] == "crosscheck"
    code, out, err = cli(*words[1:])
    assert code in (0, 1), err
    printed = [ROUNDING.sub("ε", line.rstrip()) for line in out.splitlines()]
    at = 0
    for line in shown.rstrip("\n").splitlines():
        if line == "…":
            continue
        line = ROUNDING.sub("ε", line.rstrip())
        assert line in printed[at:], f"{command}: not printed (after line {at}): {line!r}\n{out}"
        at = printed.index(line, at) + 1
