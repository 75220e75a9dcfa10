"""Every pasted output in the README and the pages of docs/ is what the command prints today.

A page pastes an output as a console block that starts with the command:

    ```console
    $ crosscheck compare --frameworks none --impl examples/wrong_backprop.py
    …what it prints…
    ```

The command is run from the repository's root, and the lines shown must be lines it prints, in order and
together; a line that is only "…" stands for any number of lines left out.  A command that needs what is not
installed (a framework it trains in, scikit-learn for a data set) is skipped with the reason.

What varies from run to run and machine to machine is made alike on both sides first: timings, thread counts,
rounding-sized numbers (a max|Δ| of 1e-16 may be any other rounding-sized number: BLAS libraries round differently),
the columns they widen, and the line that names the sandbox a worker ran in, which is the machine's.

    CROSSCHECK_UPDATE_DOCS=1 pytest tests/test_docs.py     writes each whole block's output anew (not excerpts)
"""
import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```console\n\$ (crosscheck [^\n]*)\n(.*?)```", re.S)


def pasted():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text[:match.start()].count("\n") + 1
            yield pytest.param(match.group(1), match.group(2), id=f"{page.relative_to(ROOT)}:{line}")


def needs(argv):
    """The modules a command's output depends on: scikit-learn for the data sets, the frameworks it runs."""
    frameworks = argv[argv.index("--frameworks") + 1].split(",") if "--frameworks" in argv else []
    modules = {"sklearn"} if argv[0] in ("tune", "analyze") or "--data" in argv else set()
    modules |= {"keras"} if argv[0] == "tune" else set()  # its Keras confirmation
    if argv[0] == "compare" and "--frameworks" not in argv and "--impl" not in argv:
        frameworks = ["torch", "tensorflow", "jax", "keras"]  # compare alone checks every framework
    return modules | {name for name in frameworks if name in ("torch", "tensorflow", "jax", "keras")}


def alike(text):
    """The lines of a text with what varies between runs and machines made alike (and so the columns they widen)."""
    text = re.sub(r"import \d+\.\d s, check \d+ ms", "import # s, check # ms", text)
    text = re.sub(r"\b\d+ threads\b", "# threads", text)
    text = re.sub(r"\d\.\de-(1[0-9]|[2-9]\d)\b", "ε", text)  # rounding-sized: below 1e-9
    text = re.sub(r"\b\d+\.\d+ ?s\b", "# s", text)  # a run's time, in a sentence or a table's column
    # the boundary a worker ran in is the machine's (bwrap where it can run): a page need not show it
    lines = [line for line in text.splitlines() if not re.match(r"  sandbox     ", line)]
    return [re.sub(r"[ ─]+", " ", line).rstrip() for line in lines]


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
    for piece in filter(None, pieces):
        found = next((i for i in range(at, len(output) - len(piece) + 1) if output[i:i + len(piece)] == piece), None)
        if found is None:
            return False
        at = found + len(piece)
    return True


@pytest.mark.parametrize("command, block", list(pasted()))
def test_a_pasted_output_is_what_the_command_prints(command, block, cli, monkeypatch, request):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    argv = shlex.split(command)[1:]
    for module in needs(argv):
        pytest.importorskip(module)
    code, out, err = cli(*argv)
    if os.environ.get("CROSSCHECK_UPDATE_DOCS") and "…" not in block:
        path = ROOT / request.node.callspec.id.split(":")[0]
        path.write_text(path.read_text().replace(f"$ {command}\n{block}", f"$ {command}\n{out + err}"))
        return
    refused = "crosscheck: error: " in block  # a page may show a command that refuses, with its one line
    assert code in ((2,) if refused else (0, 1)), err
    assert contains(alike(out + err), alike(block)), f"`{command}` now prints:\n{out}{err}"


def test_the_pages_paste_what_they_show():
    """Each page that shows a command's report has it as a console block (so it is run above)."""
    found = {}
    for param in pasted():
        page = param.id.split(":")[0]
        found[page] = found.get(page, 0) + 1
    assert found.get("README.md", 0) >= 2 and found.get("docs/your-own-code.md", 0) >= 7, found
    assert found.get("docs/training.md", 0) >= 4 and found.get("docs/tuning.md", 0) >= 1, found


def test_every_page_the_readme_links_exists():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", readme)
    missing = [link for link in links if not (ROOT / link).exists()]
    assert links and not missing, missing


# pages whose outputs need a setting of their own (a class of hostile submissions built first): each has a test of
# its own that runs its `$ crosscheck …` blocks the same way
OWN_TESTS = {"docs/untrusted-code.md": "tests/test_untrusted_doc.py", "docs/classroom.md": "tests/test_classroom_doc.py"}


def test_no_page_pastes_a_report_without_the_command_that_made_it():
    """A fenced block that looks like a report (a crosscheck header, a verdict, a grade table) starts with the
    command that printed it, and is a console block run above, or is run by its page's own test."""
    unchecked = []
    for page in PAGES:
        text, name = page.read_text(encoding="utf-8"), str(page.relative_to(ROOT))
        for match in re.finditer(r"```([a-z]*)\n(.*?)\n```", text, re.S):
            looks = re.search(r"^(crosscheck · |✓ all \d+ tensors|✗ first divergence|submission +score)",
                              match.group(2), re.M)
            console = match.group(1) == "console" and match.group(2).startswith("$ crosscheck ")
            own = name in OWN_TESTS and match.group(2).startswith("$ crosscheck ") and name in (
                ROOT / OWN_TESTS[name]).read_text()
            if looks and not (console or own):
                unchecked.append(f"{name}:{text[:match.start()].count(chr(10)) + 1}")
    assert not unchecked, unchecked
