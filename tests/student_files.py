"""What the tests of students' code share: the examples folder, writing a source into a folder as a student's file,
and running `crosscheck compare` on one with no framework beside the reference."""
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def write(folder, source, name="impl.py"):
    """The dedented source as folder/name (sub-folders made); its path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def compare(cli, path, *extra):
    """(exit code, stdout, stderr) of `crosscheck compare --frameworks none --impl path …`."""
    return cli("compare", "--frameworks", "none", "--impl", str(path), *extra)
