"""Files that appear whole or not at all: written beside their destination, then moved into place."""
import os
import tempfile


class Exists(FileExistsError):
    """The file is there already and overwriting was not asked for."""


def write_atomically(path, write, overwrite=True):
    """write(f) fills a temporary file beside `path` (binary mode), which then appears at `path` in one step.

    overwrite=True renames it over whatever is there; overwrite=False links it into place, which fails
    with Exists if `path` exists — even one that appeared while we were writing.  On any error the
    temporary file is removed and `path` is untouched.  The file gets ordinary permissions (umask).
    """
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
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise Exists(f"{path} exists; choose a new name or pass --overwrite") from None
            except OSError:  # a file system without hard links: check, then rename (a narrow race)
                if os.path.exists(path):
                    raise Exists(f"{path} exists; choose a new name or pass --overwrite") from None
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
