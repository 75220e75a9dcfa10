"""Files that appear whole or not at all: written beside their destination, then moved into place.

Only a regular file is ever replaced: never a device, a FIFO, a socket, a directory or a symbolic link.
"""
import os
import stat
import tempfile


class Exists(FileExistsError):
    """The file is there already and overwriting was not asked for."""


class NotAFile(OSError):
    """The path is something other than a regular file (a device, a FIFO, a socket, a directory, a link)."""


def kind_of(path):
    """None when nothing is at path; else 'file', 'symbolic link', 'directory', 'FIFO', 'socket' or 'device'."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    for test, name in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "device"


def write_atomically(path, write, overwrite=True):
    """write(f) fills a temporary file beside `path` (binary mode), which then appears at `path` in one step.

    overwrite=True renames it over a regular file that is there; overwrite=False links it into place, which
    fails with Exists if `path` exists — even one that appeared while we were writing.  Anything at `path`
    that is not a regular file raises NotAFile and is left alone.  On any error the temporary file is
    removed and `path` is untouched.  The file gets ordinary permissions (umask).
    """
    if kind_of(path) not in (None, "file"):
        raise NotAFile(f"{path} is a {kind_of(path)}, not a regular file: refusing to replace it")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's file is private (0600)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            if kind_of(path) not in (None, "file"):  # appeared while we were writing
                raise NotAFile(f"{path} is a {kind_of(path)}, not a regular file: refusing to replace it")
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise Exists(f"{path} exists; choose a new name or pass --force") from None
            except OSError:  # a file system without hard links: check, then rename (a narrow race)
                if os.path.lexists(path):
                    raise Exists(f"{path} exists; choose a new name or pass --force") from None
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
