"""Finding the submissions, the way courses hand them in: a file is one; a folder of files, one per student; a
folder of folders, one student each; a .zip, read safely; and the layouts the tools make —

    nbgrader     submitted/<student>/<assignment>/<files>      the student's id from the folder (--assignment picks
                                                                the assignment where a student has several)
    Canvas       <lastfirst>_[late_]<user id>_[<submission id>_]<file>   a bulk download; the student's files are
                                                                one submission, named from it, with their Canvas id
    Moodle       <Full Name>_<participant id>_assignsubmission_file_/    a folder each ("download in folders"),
                 or <Full Name>_<id>_assignsubmission_file_<file>         or the same prefix on every file
    Gradescope   submission_metadata.json (in the folder, or beside it for --gradescope's /autograder/submission):
                                                                the names, emails and ids of its users

    submissions = discover(["submissions/"], style="lecture", notes=notes)   # [Submission], in order; notes: what
                                                                             # was left out and why, for the instructor

In a student's folder the file is --file NAME, else the one there, else the one that defines the style's entry point
— of those, not one that looks like an old copy (hw3_old.py, backup, "copy", "(1)"), and the one named like the
assignment.  Where that still leaves several, the row says so: to the student, that their instructor will choose;
to the instructor (Submission.note), the option that chooses.

A submission is what the student handed in, never what a symbolic link points to: a link in the class folder is
not a submission, and inside a student's folder only a link to a file of that folder is followed.  So no student's
code is graded as another's, and nothing outside the class folder is read (or quoted back).  A .zip is read
without following any path out of it (an absolute path, `..`, a link inside it make it a row that says so), within
the limits of what a worker's folder may hold (crosscheck.student.sandbox: MAX_FILES, MAX_COPY).  Nothing is
left out in silence: a file that is not a submission is named in `notes`.
"""
import atexit
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass

from crosscheck.errors import UsageError
from crosscheck.student import styles
from crosscheck.student.sandbox import MAX_COPY, MAX_FILES


@dataclass
class Submission:
    name: str               # a student's name as the files give it: the file's name, the folder's, the LMS's
    path: str = None        # the file that is checked (None: none could be chosen — `problem` says why)
    problem: str = None     # why there is nothing to grade, worded for the student
    home: str = None        # what is the student's: their folder, or the file alone (its worker gets a copy of it)
    status: str = "missing"  # the row's status when there is nothing to grade: missing, or error (a .zip unread)
    note: str = None        # for the instructor: how the file was chosen, or what would choose it
    origin: str = None      # what was handed in, as the class folder names it (a .zip, an LMS download's files)
    student_id: str = None  # the LMS's or nbgrader's id of the student, when the layout gives one
    student_name: str = None
    email: str = None
    lms: str = None         # the layout it came in: nbgrader, canvas, moodle, gradescope (None: plain)
    seed: int = None        # the probes' seed recorded for it (grade --update: the same as when it was graded)

    @property
    def key(self):
        """Who the submission is, for a seed of its own: the LMS's id, else its name."""
        return str(self.student_id) if self.student_id else self.name


SOURCE = (".py", ".ipynb")
METADATA = ("submission_metadata.json", "timestamp.txt")   # what Gradescope and nbgrader put beside the files
# a file that looks like an old copy of the submission: hw3_old.py, backup_hw3.py, hw3 copy.py, hw3 (1).py
OLD_COPY = re.compile(r"(^|[_\-\s.])(old|backup|bak|copy|orig|draft|prev|previous|scratch|v\d+)(\d*)$|"
                      r"^(old|backup|copy)[_\-\s]|\(\d+\)$", re.I)
CANVAS = re.compile(r"^(?P<name>[^\W\d_][\w'-]*?)_(?:late_)?(?P<id>\d{3,})_(?:\d+_)?(?P<file>[^_].*)$", re.I)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_[a-z]+_(?P<file>.*)$")


def discover(paths, style="lecture", file=None, entry=None, single=False, assignment=None, students=(), notes=None):
    """[Submission], in a stable order: a file is one; a folder holding `file` (or, with single=True, any folder,
    or one named in `students`: the rows of an earlier run being regraded) is one student's; otherwise each .py,
    .ipynb or .zip in a folder is one, each folder in it is one student's, and an LMS's naming groups a student's
    files.  notes (a list): what was left out, and why.  UsageError for a path that does not exist, or, when it is
    the only one, holds nothing to grade."""
    found, notes = [], notes if notes is not None else []
    chooser = _Chooser(style, file, entry, assignment)
    for path in paths:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
        base = os.path.basename(os.path.normpath(path))
        named = _lms_student(base)
        if os.path.isfile(path) and named and {named[1]["name"], named[1]["id"]} & set(students):
            # a student of an LMS download, regraded by their file: their row, by the name the download gives
            found.append(_download(os.path.dirname(path), named[0], named[1]["name"], named[1]["id"],
                                   [(named[1]["file"], base)], chooser))
            continue
        if os.path.isfile(path):
            if path.endswith(".zip"):
                found.append(_zip_submission(path, os.path.basename(path), chooser))
                continue
            if not path.endswith(SOURCE):
                raise UsageError(f"{path}: not a .py file, a .ipynb notebook or a .zip")
            found.append(Submission(os.path.basename(path), path, home=path))
            continue
        if (single or (file and os.path.isfile(os.path.join(path, file))) or base in students
                or (named and {named[1]["name"], named[1]["id"]} & set(students))):
            found.append(chooser.folder(path, metadata_beside=single))
            continue
        inside = _class_folder(path, chooser, notes)
        if not inside and len(paths) == 1:
            raise UsageError(f"{path}: no .py file, notebook, .zip or folder in it to grade")
        found += inside or [Submission(base, problem=f"nothing was handed in (no .py file, notebook or .zip in "
                                                     f"{base})")]
    names = [s.name for s in found]
    for s in found:  # the same name from two places: both keep their path in their name
        if names.count(s.name) > 1:
            s.name = os.path.normpath(s.origin or s.path or s.name)
    return found


def _class_folder(path, chooser, notes):
    """The submissions in a folder of files and folders, in the order ls shows them."""
    inside, flat = [], []   # [(entry, Submission)], and the files
    for e in sorted(e for e in os.listdir(path) if not e.startswith((".", "_"))):
        full = os.path.join(path, e)
        if os.path.islink(full):
            if os.path.isdir(full) or e.endswith((*SOURCE, ".zip")):
                inside.append((e, Submission(e, problem=f"{e} is a symbolic link, not a file or folder of its own: "
                                                        f"not graded")))
            else:
                notes.append(f"{full}: left out, a symbolic link")
        elif os.path.isdir(full):
            inside.append((e, chooser.folder(full)))
        elif e.endswith((*SOURCE, ".zip")) and os.path.isfile(full):
            flat.append(e)
        elif e not in METADATA:
            notes.append(f"{full}: left out, not a .py file, a notebook or a .zip")
    lms = _lms_of(flat)
    if lms:  # a bulk download: each student's files, whatever their number, are one submission
        students = {}
        for e in flat:
            match = (CANVAS if lms == "canvas" else MOODLE).match(e)
            students.setdefault((match["id"], match["name"]), []).append((match["file"], e))
        for (student_id, name), files in students.items():
            inside.append((files[0][1], _download(path, lms, name, student_id, files, chooser)))
    else:
        inside += [(e, _zip_submission(os.path.join(path, e), e, chooser) if e.endswith(".zip") else
                    Submission(e, os.path.join(path, e), home=os.path.join(path, e))) for e in flat]
    return [submission for _, submission in sorted(inside, key=lambda pair: pair[0])]


def _lms_student(entry):
    """(lms, match) for a file or folder named as a Canvas or Moodle download names a student's, else None."""
    moodle = MOODLE.match(entry) or MOODLE.match(entry + "_")  # a folder's name may have lost its last _
    if moodle:
        return "moodle", moodle
    canvas = CANVAS.match(entry)
    return ("canvas", canvas) if canvas else None


def _lms_of(files):
    """canvas or moodle when every file of a flat folder is named as that LMS's bulk download names them."""
    for lms, pattern in (("moodle", MOODLE), ("canvas", CANVAS)):
        if files and all(pattern.match(f) for f in files):
            return lms
    return None


def _download(folder, lms, name, student_id, files, chooser):
    """One student's files of a bulk download, under their own names in a folder of their own (so that one imports
    another as the student wrote it), chosen among like a student's folder."""
    origin = ", ".join(e for _, e in files)
    home = _scratch_folder()
    for original, e in files:
        target = os.path.join(home, os.path.basename(original) or e)
        source = os.path.join(folder, e)
        if e.endswith(".zip") and len(files) == 1:
            return _named(_zip_submission(source, e, chooser), name, student_id, lms, origin)
        shutil.copyfile(source, target, follow_symlinks=False)
    return _named(chooser.folder(home, name=name), name, student_id, lms, origin)


def _named(submission, name, student_id, lms, origin):
    submission.name, submission.student_id, submission.lms = name, student_id, lms
    submission.student_name = submission.student_name or (name.replace("_", " ") if lms != "moodle" else name)
    submission.origin = origin
    return submission


class _Chooser:
    """Which file of a student's folder is the submission (the module's docstring says how)."""

    def __init__(self, style, file, entry, assignment):
        self.file, self.assignment = file, assignment
        self.pattern = re.compile(styles.get(style).SOURCE_PATTERN.format(entry=re.escape(entry or "backprop")))

    def folder(self, folder, name=None, metadata_beside=False, unpacked=False):
        """One student's Submission from their folder (an LMS's per-student folder, an nbgrader student's); unpacked:
        the folder is what a .zip held (a folder in it is the zip's, not an nbgrader assignment's)."""
        name = name or os.path.basename(os.path.normpath(folder))
        moodle = None if unpacked else (MOODLE.match(name) or MOODLE.match(name + "_"))
        found, descended = self._choose(folder, name, 0)
        if moodle:
            found = _named(found, moodle["name"], moodle["id"], "moodle", name)
        elif descended and not unpacked and found.path:  # nbgrader: submitted/<student id>/<assignment>/
            found.lms, found.student_id = "nbgrader", name
        _read_metadata(found, [folder] + ([os.path.dirname(os.path.abspath(folder))] if metadata_beside else []))
        return found

    def _choose(self, folder, name, depth):
        """(Submission, whether it was found in a folder below this one)."""
        entries = sorted(e for e in os.listdir(folder) if not e.startswith((".", "_")))
        sources = [e for e in entries if e.endswith(SOURCE) and _own_file(os.path.join(folder, e), folder)]
        if not sources and not (self.file and _own_file(os.path.join(folder, self.file), folder)):
            zips = [e for e in entries if e.endswith(".zip") and _own_file(os.path.join(folder, e), folder)]
            folders = [e for e in entries if os.path.isdir(os.path.join(folder, e))
                       and not os.path.islink(os.path.join(folder, e))]
            if len(zips) == 1:
                return _zip_submission(os.path.join(folder, zips[0]), name, self), False
            if depth < 2 and folders:  # nbgrader's submitted/<student>/<assignment>/, or a zip's one folder
                chosen = ([self.assignment] if self.assignment in folders else
                          folders if len(folders) == 1 else [])
                if chosen:
                    return self._choose(os.path.join(folder, chosen[0]), name, depth + 1)[0], True
                return Submission(name, problem="no .py file or notebook in what you handed in",
                                  note=f"{folder} holds the folders {', '.join(folders)}: --assignment NAME picks "
                                       f"one"), False
        if self.file:
            path = os.path.join(folder, self.file)
            return (Submission(name, path, home=folder) if _own_file(path, folder) else
                    Submission(name, problem=f"no {self.file} in what you handed in",
                               note=f"no {self.file} in {folder}")), False
        candidates = [e for e in sources if not e.startswith("test_")]
        if not candidates:
            return Submission(name, problem="no .py file or notebook in what you handed in",
                              note=f"nothing to grade in {folder}"), False
        if len(candidates) > 1:
            defining = [e for e in candidates if self.pattern.search(_read(os.path.join(folder, e)))]
            candidates = defining or candidates
        if len(candidates) > 1:
            current = [e for e in candidates if not OLD_COPY.search(os.path.splitext(e)[0])]
            named = [e for e in current if self.assignment and os.path.splitext(e)[0] == self.assignment]
            picked = named or (current if len(current) == 1 else [])
            if picked:
                found = Submission(name, os.path.join(folder, picked[0]), home=folder)
                found.note = f"graded {picked[0]}, not {', '.join(e for e in candidates if e != picked[0])}"
                return found, False
            return Submission(name, problem=f"several files could be your submission ({', '.join(candidates)}): "
                                            f"your instructor will choose the one to grade",
                              note=f"several candidates ({', '.join(candidates)}): grade it again with --file NAME "
                                   f"--update"), False
        return Submission(name, os.path.join(folder, candidates[0]), home=folder), False


def _read_metadata(submission, folders):
    """The names, emails and ids of Gradescope's submission_metadata.json (its users; several in a group)."""
    for folder in folders:
        path = os.path.join(folder, "submission_metadata.json")
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                users = json.loads(f.read(2**20)).get("users") or []
        except (OSError, ValueError, AttributeError):
            return
        users = [u for u in users if isinstance(u, dict)]
        if users:  # a group: every member, joined
            submission.student_name, submission.email, submission.student_id = (
                " & ".join(str(u[key]) for u in users if u.get(key) is not None) or None
                for key in ("name", "email", "id"))
            submission.lms = "gradescope"
        return


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


# ---- a .zip: read into a folder of our own, never out of it -------------------------------------------------------

class _Unsafe(Exception):
    """Why a .zip is not read (one line, for the student)."""


def _zip_submission(path, name, chooser):
    """The submission a .zip holds: its files in a folder of our own, chosen among like a student's folder; or a
    row that says why it was not read."""
    where = _scratch_folder()
    try:
        _unzip(path, where)
    except _Unsafe as exc:
        return Submission(name, problem=f"{os.path.basename(path)} was not read: {exc}", status="error",
                          origin=path, note=f"{path}: not read, {exc}")
    found = chooser.folder(where, name=name, unpacked=True)
    found.origin = found.origin or path
    return found


def _unzip(path, into):
    """Every regular file of the .zip under `into`: _Unsafe for a path out of it, a link, an encrypted member, or
    more than MAX_FILES files or MAX_COPY bytes (counted as they are read, whatever the headers say)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Unsafe(f"not a readable .zip ({exc})") from None
    with archive:
        files, total = 0, 0
        for info in archive.infolist():
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", info.filename) or ".." in parts:
                raise _Unsafe(f"it holds a path out of its folder ({info.filename[:80]!r})")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _Unsafe(f"it holds a symbolic link ({info.filename[:80]!r})")
            if info.is_dir() or any(p.startswith(".") or p in ("__MACOSX", "__pycache__") for p in parts):
                continue
            if info.flag_bits & 0x1:
                raise _Unsafe(f"it is encrypted ({info.filename[:80]!r})")
            files += 1
            if files > MAX_FILES:
                raise _Unsafe(f"it holds more than {MAX_FILES} files")
            target = os.path.join(into, *[p for p in parts if p])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                with archive.open(info) as source, open(target, "xb") as out:
                    while chunk := source.read(2**16):
                        total += len(chunk)
                        if total > MAX_COPY:
                            raise _Unsafe(f"it unpacks to more than {MAX_COPY // 2**20} MB")
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
                raise _Unsafe(f"{info.filename[:80]!r} cannot be read ({type(exc).__name__})") from None


_scratch = []


def _scratch_folder():
    """A fresh folder for what a .zip or a bulk download holds, removed when this process ends."""
    if not _scratch:
        _scratch.append(tempfile.mkdtemp(prefix="crosscheck-submissions-"))
        atexit.register(shutil.rmtree, _scratch[0], True)
    return tempfile.mkdtemp(dir=_scratch[0])
