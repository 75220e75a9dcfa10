"""docs/training.md and docs/tuning.md cannot go stale: every ```console block (a `$ crosscheck …` line, then what
it prints) is run again here and compared — durations and rounding-sized figures aside, and the columns they widen.

    CROSSCHECK_UPDATE_DOCS=1 pytest tests/test_course_docs.py      writes each block's output anew
"""
import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("training.md", "tuning.md")
BLOCK = re.compile(r"```console\n\$ (crosscheck [^\n]*)\n(.*?)```", re.S)


def blocks():
    for page in PAGES:
        for match in BLOCK.finditer((ROOT / "docs" / page).read_text()):
            yield pytest.param(page, match.group(1), match.group(2), id=f"{page}:{match.group(1)[11:50]}")


def needs(argv):
    """The modules a command's output depends on: scikit-learn for the data sets, the frameworks it trains in."""
    frameworks = argv[argv.index("--frameworks") + 1].split(",") if "--frameworks" in argv else []
    modules = {"sklearn"} if argv[0] in ("tune", "analyze") or "--data" in argv else set()
    modules |= {"keras"} if argv[0] == "tune" else set()  # its Keras confirmation
    return modules | {name for name in frameworks if name in ("torch", "jax")}


def comparable(text):
    """The text without what differs from run to run or machine to machine: durations ("0.1s", "12.3s"), distances
    and tolerances of rounding size (the BLAS kernel's own summation order: "4.4e-16"), and so the columns' widths."""
    text = re.sub(r"\b\d+\.\ds\b", "T", text)
    text = re.sub(r"\b\d\.\de-(1[0-9]|0[7-9])\b", "R", text)
    return [re.sub(r"[ ─]+", " ", line).strip() for line in text.strip().splitlines()]


@pytest.mark.parametrize("page, command, shown", list(blocks()))
def test_the_page_shows_what_the_command_prints(page, command, shown, cli):
    argv = shlex.split(command)[1:]
    for module in needs(argv):
        pytest.importorskip(module)
    code, out, err = cli(*argv)
    printed = out + err
    if os.environ.get("CROSSCHECK_UPDATE_DOCS"):
        path = ROOT / "docs" / page
        path.write_text(path.read_text().replace(f"$ {command}\n{shown}", f"$ {command}\n{printed}"))
        return
    assert comparable(printed) == comparable(shown), f"docs/{page}: `{command}` prints otherwise now"


def test_every_page_has_its_blocks():
    found = [page for page, *_ in (p.values for p in blocks())]
    assert found.count("training.md") == 4 and found.count("tuning.md") == 1
