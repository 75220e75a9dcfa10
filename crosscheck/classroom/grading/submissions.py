"""Finding the submissions: a file is one; a folder of files, one per student; a folder of folders, one student
each (the file in each: --file NAME, else the one there, else the one that defines the style's entry point).

    submissions = discover(["submissions/"], style="lecture")      # [Submission(name, path, problem, home)], in order

A submission is what the student handed in, never what a symbolic link points to: a link in the class folder is
not a submission, and inside a student's folder only a link to a file of that folder is followed.  So no student's
code is graded as another's, and nothing outside the class folder is read (or quoted back).
"""
import os
import re
from dataclasses import dataclass

from crosscheck.errors import UsageError
from crosscheck.student import styles


@dataclass
class Submission:
    name: str               # a student's name as the files give it: the file's name, or the folder's
    path: str = None        # the file that is checked (None: none could be chosen — `problem` says why)
    problem: str = None
    home: str = None        # what is the student's: their folder, or the file alone (its worker gets a copy of it)


SOURCE = (".py", ".ipynb")


def discover(paths, style="lecture", file=None, entry=None, single=False):
    """[Submission], in a stable order: a file is one; a folder holding `file` (or, with single=True, any folder)
    is one student's; otherwise each .py or .ipynb file in a folder is one, and each folder in it is one student's
    (its file: `file`, or the one candidate, or the one that defines the style's entry point).  UsageError for a
    path that does not exist or holds nothing to grade."""
    found = []
    for path in paths:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
        if os.path.isfile(path):
            if not path.endswith(SOURCE):
                raise UsageError(f"{path}: not a .py file or a .ipynb notebook")
            found.append(Submission(os.path.basename(path), path, home=path))
            continue
        if single or (file and os.path.isfile(os.path.join(path, file))):
            found.append(_student_folder(path, style, file, entry))
            continue
        inside = []
        for e in sorted(e for e in os.listdir(path) if not e.startswith((".", "_"))):  # by name, as ls shows them
            full = os.path.join(path, e)
            if os.path.islink(full) and (os.path.isdir(full) or e.endswith(SOURCE)):
                inside.append(Submission(e, problem=f"{e} is a symbolic link, not a file or folder of its own: not "
                                                    f"graded"))
            elif os.path.isdir(full):
                inside.append(_student_folder(full, style, file, entry))
            elif e.endswith(SOURCE) and os.path.isfile(full):
                inside.append(Submission(e, full, home=full))
        if not inside:
            raise UsageError(f"{path}: no .py file, notebook or folder in it to grade")
        found += inside
    names = [s.name for s in found]
    for s in found:  # the same name from two places: both keep their path in their name
        if names.count(s.name) > 1:
            s.name = os.path.normpath(s.path or s.name)
    return found


def _student_folder(folder, style, file, entry):
    name = os.path.basename(os.path.normpath(folder))
    if file:
        path = os.path.join(folder, file)
        return (Submission(name, path, home=folder) if _own_file(path, folder) else
                Submission(name, problem=f"no {file} in {folder}"))
    candidates = sorted(e for e in os.listdir(folder) if e.endswith(SOURCE) and not e.startswith((".", "_", "test_"))
                        and _own_file(os.path.join(folder, e), folder))
    if len(candidates) > 1:
        pattern = re.compile(styles.get(style).SOURCE_PATTERN.format(entry=re.escape(entry or "backprop")))
        defining = [e for e in candidates if pattern.search(_read(os.path.join(folder, e)))]
        candidates = defining if defining else candidates
    if len(candidates) == 1:
        return Submission(name, os.path.join(folder, candidates[0]), home=folder)
    if not candidates:
        return Submission(name, problem=f"no .py file or notebook in {folder}")
    return Submission(name, problem=f"several files could be the submission ({', '.join(candidates)}): "
                                    f"name it with --file")


def _own_file(path, folder):
    """A regular file of the student's folder: itself, or a link to one in that folder (never out of it)."""
    real, home = os.path.realpath(path), os.path.realpath(folder)
    return os.path.isfile(real) and real.startswith(home.rstrip(os.sep) + os.sep)


def _read(path, limit=2**20):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return ""
