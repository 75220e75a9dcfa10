"""One policy for every file a command writes (--save, --plot), and for the JSON it prints.

    check_output(path, flag, force)   before any work: the directory exists and is writable; nothing is at
                                      path, or a regular file that --force may replace; never a symbolic
                                      link, a device, a FIFO, a socket or a directory
    check_outputs({path: flag}, force)   the same for many files, in folders a command creates (grade --out):
                                      each missing folder must be creatable, none may be a link or a file
    write(path, write, force)         atomically: a temporary file beside it, then one rename (reference.files);
                                      the folders check_outputs allowed are created
    plot_format(path, flag)           the file's extension decides the format: .png, .svg or .pdf
    require_matplotlib(flag)          a missing matplotlib is exit 2 with the same line in every command
    emit_json(document)               one JSON document on stdout; NaN and inf become null
"""
import json
import math
import os
import sys

import numpy as np

from crosscheck.errors import UsageError
from crosscheck.reference.files import Exists, NotAFile, kind_of, write_atomically

PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def check_output(path, flag, force=False):
    """UsageError (exit 2) naming what is wrong with writing `path`, before anything is run."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{flag} {path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"{flag} {path}: directory {directory} is not writable")
    kind = kind_of(path)
    if kind not in (None, "file"):
        raise UsageError(f"{flag} {path}: is a {kind}, not a regular file; refusing to write over it")
    if kind == "file" and not force:
        raise UsageError(f"{flag} {path}: exists; choose a new name or pass --force to replace it")


def check_outputs(files, force=False):
    """UsageError before anything runs, for {path: flag}: a target that exists (without force), that is not a
    regular file, two targets that are one, or a folder on the way that is a link or a file or is not writable."""
    seen = set()
    for path, flag in files.items():
        folder = os.path.dirname(os.path.abspath(path))
        created = []
        while not os.path.isdir(folder) or os.path.islink(folder):
            created.append(folder)
            if os.path.lexists(folder):
                kind = "symbolic link" if os.path.islink(folder) else kind_of(folder) or "file"
                raise UsageError(f"{flag} {path}: {folder} is a {kind}, not a directory; refusing to write under it")
            folder = os.path.dirname(folder)
        if not os.access(folder, os.W_OK):
            raise UsageError(f"{flag} {path}: directory {folder} is not writable")
        if not created:
            check_output(path, flag, force)
        if os.path.abspath(path) in seen:
            raise UsageError(f"{flag} {path}: two outputs would be the same file")
        seen.add(os.path.abspath(path))


def write(path, write_to, force=False, flag="--save"):
    """write_to(f) into path atomically under the policy, its folders created; UsageError when the target changed
    meanwhile."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        write_atomically(path, write_to, overwrite=force)
    except (Exists, NotAFile) as exc:
        raise UsageError(f"{flag} {exc}") from None


def plot_format(path, flag="--plot"):
    """'png', 'svg' or 'pdf' from the file name; UsageError for any other extension."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in PLOT_FORMATS:
        raise UsageError(f"{flag} {path}: the file name must end in {', '.join(PLOT_FORMATS)}")
    return PLOT_FORMATS[extension]


def require_matplotlib(flag="--plot"):
    """UsageError (exit 2) unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(f"{flag} needs matplotlib: pip install 'backprop-crosscheck[plot]'") from None


def check_plot(path, force=False, flag="--plot"):
    """Everything a --plot needs, checked before any work: a writable target, a known format, matplotlib."""
    check_output(path, flag, force)
    plot_format(path, flag)
    require_matplotlib(flag)


def emit_json(document, stream=None):
    """One JSON document; NaN and inf become null so that any JSON reader accepts it."""
    stream = stream or sys.stdout
    json.dump(finite(document), stream, indent=2)
    stream.write("\n")


def finite(value):
    """The document with every NaN or inf replaced by None and NumPy scalars made plain."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, np.generic):
        return finite(value.item())
    return value
