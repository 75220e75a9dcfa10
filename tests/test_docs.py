"""Every pasted output in the README and the pages of docs/ is what the command prints today.

A page marks a pasted output with the command that makes it, in an HTML comment right above the block:

    <!-- output: crosscheck compare --frameworks none --impl examples/wrong_backprop.py --probe lecture -->
    ```text
    …what it prints…
    ```

The block must appear in the command's output line for line (run from the repository's root), or be an excerpt
of it: a line that is only "…" stands for any number of lines.  What varies from run to run and machine to
machine is made alike on both sides first: timings, thread counts, and the last digits of cells that agree at
rounding level (a passing cell below 1e-9 reads ·e-·· ✓).
"""
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKED = re.compile(r"<!-- output: (crosscheck [^\n]*?) -->\s*\n```[a-z]*\n(.*?)\n```", re.S)


def pasted():
    for page in PAGES:
        for match in MARKED.finditer(page.read_text()):
            line = page.read_text()[:match.start()].count("\n") + 1
            yield pytest.param(match.group(1), match.group(2), id=f"{page.relative_to(ROOT)}:{line}")


def alike(text):
    """The text with what varies between runs and machines made alike."""
    text = re.sub(r"import \d+\.\d s, check \d+ ms", "import # s, check # ms", text)
    text = re.sub(r"\b\d+ threads\b", "# threads", text)
    text = re.sub(r"\d\.\de-(1\d|0\d|[2-9]\d) ✓", "·e-·· ✓", text)
    text = re.sub(r"\d+\.\d+ s\b", "# s", text)
    return [line.rstrip() for line in text.splitlines()]


def contains(output, block):
    """Whether block's lines appear in output's, in order and together, "…" standing for any lines."""
    pieces, piece = [], []
    for line in block:
        if line.strip() == "…":
            pieces.append(piece)
            piece = []
        else:
            piece.append(line)
    pieces.append(piece)
    at = 0
    for piece in pieces:
        if not piece:
            continue
        found = next((i for i in range(at, len(output) - len(piece) + 1) if output[i:i + len(piece)] == piece), None)
        if found is None:
            return False
        at = found + len(piece)
    return True


@pytest.mark.parametrize("command, block", list(pasted()))
def test_a_pasted_output_is_what_the_command_prints(command, block, cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    argv = shlex.split(command)[1:]
    _, out, err = cli(*argv)
    printed = alike(out + err)
    assert contains(printed, alike(block)), f"`{command}` now prints:\n{out}{err}"


def test_the_pages_paste_outputs_and_mark_them():
    """The marker is in use (a page that pastes a report says which command made it)."""
    assert len(list(pasted())) >= 3


def test_every_page_the_readme_links_exists():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", readme)
    missing = [link for link in links if not (ROOT / link).exists()]
    assert links and not missing, missing


def test_no_page_pastes_a_report_without_saying_which_command_made_it():
    """A fenced block that looks like a report (a crosscheck header or a verdict) carries the output marker."""
    unmarked = []
    for page in PAGES:
        text = page.read_text()
        for match in re.finditer(r"(<!-- output: [^\n]* -->\s*\n)?```[a-z]*\n(.*?)\n```", text, re.S):
            body = match.group(2)
            looks = re.search(r"^(crosscheck · |✓ all \d+ tensors|✗ first divergence)", body, re.M)
            if looks and not match.group(1):
                unmarked.append(f"{page.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}")
    assert not unmarked, unmarked
