"""Notebooks: the code cells of an .ipynb, as the worker runs them (in order, in one namespace)."""
import re

from crosscheck.errors import GraderError, UsageError
from crosscheck.reference.errors import one_line

MAGIC = re.compile(r"^\s*[%!]|^\s*\w+\s*=\s*[!%]")
RUN = re.compile(r"^(\s*)%run\s+(.*?)\s*$")  # %run helper.py: the worker runs it (crosscheck.student.worker.Shell)
CELL_MAGICS_RUN = ("%%time", "%%timeit", "%%capture")  # cell magics whose body is still Python


def notebook_cells(path):
    """[(number, source)] of a notebook's code cells, numbered from 1 as they appear, shell (!) and magic (%)
    lines left out but for %run, which becomes the get_ipython().run_line_magic('run', …) call IPython makes of it
    (the worker runs the file from the submission's folder, or notes that it was skipped); a cell under a cell
    magic that is not Python (%%bash, %%html, …) is left out whole."""
    try:
        import nbformat
    except ImportError:
        # this Python's lack, not the notebook's: a grader does not score it (crosscheck.errors.GraderError)
        raise GraderError("reading a notebook needs nbformat (pip install 'backprop-crosscheck[notebook]')",
                          fix="pip install 'backprop-crosscheck[notebook]' where crosscheck runs (the Gradescope "
                              "kit's setup.sh installs it)", field="impl", value=path) from None
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise UsageError(f"not a readable notebook ({one_line(exc)})", field="impl", value=path) from None
    cells, number = [], 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        lines = str(cell.get("source", "")).splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            if not lines[0].lstrip().startswith(CELL_MAGICS_RUN):
                continue
            lines = [""] + lines[1:]
        # a blank line in place of each line left out: line numbers in errors stay the cell's own
        cells.append([number, "\n".join(_line(line) for line in lines) + "\n"])
    return cells


def _line(line):
    """A code line as the worker runs it: %run as IPython's call, any other magic or shell line blank (so that line
    numbers in errors stay the cell's own)."""
    run = RUN.match(line)
    if run:
        return f"{run.group(1)}get_ipython().run_line_magic('run', {run.group(2)!r})"
    return "" if MAGIC.match(line) else line
