"""The boundary around a worker process: what a user's code can reach while it runs.

    boundary = sandbox.choose("auto")            # bwrap, else user (the checker is root), else none
    boundary.kind, boundary.describe()
    cell = Cell(boundary, "alice/backprop.py", home="alice", output_limit=8 * 2**20, processes=32)
    process = cell.start(worker_argv, stdout=out, stderr=err, pass_fds=(r, w))   # a subprocess.Popen
    cell.processes(), cell.written()             # what runs inside, what it has written to its folder
    cell.kill(process)                           # everything inside, new sessions included; then
    cell.close()                                 # its private folder and its uid go

bwrap  bubblewrap, the system's (never a bundled binary): new pid, network, ipc, uts and mount namespaces; the system,
       Python and its packages read-only, this package hidden but for the worker script, its styles and the course
       helpers; a private tmpfs (the copy plus the output limit, no more) as its home, temp folder and working copy of the
       submission; no network; it dies with the checker.  Started by root, the worker drops to a uid of its own
       inside; started by anyone else, bwrap's user namespace keeps it that user's, with no privilege.
user   the checker is root and bwrap cannot run (many containers): the worker runs as a uid of its own (one per
       worker running at once), in a private folder holding a copy of the submission; the package, the class
       folder and every output are root's, unwritable to it.
none   neither: the worker runs as the checker's user, and only the limits of the worker itself hold.  Every report
       says so (docs/untrusted-code.md: what holds with each).

Whatever the boundary, the worker gets a minimal environment (environment()), a limit on processes, and every
process it started is killed when its submission is done: the pid namespace (bwrap), every process of its uid
(bwrap as root, user), or its descendants, the worker being their subreaper (none).
"""
import contextlib
import ctypes
import fcntl
import functools
import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy

from crosscheck.errors import UsageError

KINDS = ("bwrap", "user", "none")
CHOICES = ("auto", *KINDS)
WORKER_USER = "crosscheck-worker"   # examples/gradescope/setup.sh creates it; its uid is the first worker uid
FIRST_UID, UIDS = 59000, 256        # without that user: workers run as 59000, 59001, … (one each at a time)
UID_DEATH_SECONDS = 5               # how long a worker uid's processes may take to die after SIGKILL
INSIDE_HOME = "/home/student"       # the private folder, as the sandboxed worker sees it
INSIDE_WORKER = "/opt/crosscheck-worker"
MAX_FILES, MAX_COPY = 256, 64 * 2**20   # a submission's folder: files and bytes copied into its private folder
PROC = "/proc"
# the environment a worker gets from the checker's, and nothing else of it
LOCALE = ("LANG", "LC_ALL", "LC_CTYPE")
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
           "NUMEXPR_NUM_THREADS")
PR_SET_DUMPABLE = 4
PYTHON = sys.executable   # the interpreter workers run on (a test may name one the worker uid can read)


@dataclass(frozen=True)
class Boundary:
    """A kind of boundary, and why no stronger one (auto found it missing, or it was asked for)."""

    kind: str                       # bwrap, user or none
    why: str = None                 # why not bwrap (user, none), or None

    def describe(self):
        """One line for every report: the boundary the code ran in, and, where it is not bwrap, what it could reach."""
        if self.kind == "bwrap":
            return ("bwrap: its own pid, network, ipc and mount namespaces, the system read-only, a private copy of "
                    "its folder, no network")
        if self.kind == "user":
            return (f"⚠ user, no sandbox ({self.why}): a user of its own, but the code could read the system's files "
                    f"and reach the network")
        return (f"⚠ none ({self.why}): the code ran as {_user_name()}, with that user's files, processes and network "
                f"(docs/untrusted-code.md)")

    @property
    def root(self):
        return os.geteuid() == 0

    @property
    def python(self):
        """The interpreter the worker runs on."""
        return PYTHON


def _user_name():
    with contextlib.suppress(KeyError):
        return pwd.getpwuid(os.geteuid()).pw_name
    return f"uid {os.geteuid()}"


@functools.lru_cache(maxsize=None)
def choose(requested="auto"):
    """The Boundary for --sandbox: bwrap where it runs, else user where the checker is root, else none (auto);
    UsageError naming why when the one asked for cannot run here."""
    if isinstance(requested, Boundary):
        return requested
    if requested not in CHOICES:
        raise UsageError(f"choose from {', '.join(CHOICES)}", field="sandbox", value=requested)
    if requested == "none":
        return Boundary("none", "--sandbox none")
    bwrap_why = _bwrap_problem() if requested in ("auto", "bwrap") else "--sandbox user"
    if bwrap_why is None:
        return Boundary("bwrap")
    if requested == "bwrap":
        raise UsageError(f"bwrap cannot run here: {bwrap_why}", field="sandbox", value=requested)
    user_why = _user_problem() if requested in ("auto", "user") else None
    if user_why is None:
        return Boundary("user", bwrap_why)
    if requested == "user":
        raise UsageError(f"cannot run the worker as an unprivileged user: {user_why}", field="sandbox",
                         value=requested)
    return Boundary("none", f"{bwrap_why}; {user_why}")


def bwrap_path():
    return shutil.which("bwrap")


def _bwrap_problem():
    """None when bubblewrap runs a Python here as the worker would run, else why not (one line)."""
    if not sys.platform.startswith("linux"):
        return "bwrap is Linux's"
    if bwrap_path() is None:
        return "bwrap is not installed (Debian and Ubuntu: apt-get install bubblewrap)"
    cell = Cell(Boundary("bwrap"), None)
    try:
        argv = cell.command([PYTHON, "-I", "-S", "-c", "pass"])
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=cell.env,
                              pass_fds=cell.fds)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap failed to start ({exc})"
    finally:
        cell.close()
    if done.returncode != 0:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
        return f"bwrap cannot make a sandbox here ({last[:200]})"
    return None


def _user_problem():
    if os.geteuid() != 0:
        return "the checker is not root, so it cannot run code as another user"
    uid, lease = _lease_uid()  # held meanwhile: no other grader's sweep of the uid ends the probe
    try:
        done = subprocess.run([PYTHON, "-I", "-S", "-c", "pass"], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30, user=uid, group=uid, extra_groups=[], cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"uid {uid} cannot start Python ({exc})"
    finally:
        os.close(lease)
    if done.returncode != 0:
        return f"uid {uid} cannot run {PYTHON} (a folder above it is not readable by other users)"
    return None


# ---- the checker itself -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def harden_checker():
    """The checker's process is not dumpable: its /proc entries (environment, memory, open files, the pipes of
    other workers) are closed to processes of the same user, and it leaves no core file."""
    prctl(PR_SET_DUMPABLE, 0)


def prctl(option, value):
    """prctl(2) through the C library; False where there is none (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    return False


def environment(home):
    """The worker's whole environment: PATH, the locale, HOME and TMPDIR its private folder, the thread counts (one
    thread each unless the checker set them), and nothing else of the checker's."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "MALLOC_ARENA_MAX": "2",
           "LANG": "C.UTF-8"}
    env.update({name: os.environ[name] for name in LOCALE if os.environ.get(name, "").isprintable()
                and name in os.environ})
    env.update({name: os.environ.get(name, "1") if os.environ.get(name, "1").isdigit() else "1" for name in THREADS})
    return env


def own_folders():
    """The folders of this package's modules (the reference, the engine, the adapters): the worker refuses to import
    anything from them, and the sandbox hides them."""
    import importlib.util

    import crosscheck.reference
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    # located, not imported (the student side does not import the adapters): installed, they live inside the
    # package; in an editable checkout, beside it
    adapters = importlib.util.find_spec("crosscheck.adapters")
    folders = {package, os.path.dirname(os.path.realpath(crosscheck.reference.__file__))}
    if adapters is not None and adapters.origin:
        folders.add(os.path.dirname(os.path.realpath(adapters.origin)))
    return sorted(folders)


def library_folders():
    """Where Python and NumPy live: the sandbox shows them read-only, and the worker finds NumPy there."""
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.dirname(os.path.realpath(numpy.__file__)))]
    python = os.path.realpath(PYTHON)
    found.append(os.path.dirname(os.path.dirname(python)))
    return [p for p in _outermost(os.path.realpath(p) for p in found if p) if p != "/"]  # never the whole system


def _outermost(paths):
    kept = []
    for path in sorted(set(paths), key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _within(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# ---- one worker's boundary ----------------------------------------------------------------------------

class Cell:
    """One worker's boundary: its private folder (with a copy of the submission), its uid, the command that starts
    it inside, the processes running inside, and the kill that ends them all.

    path     the file the worker imports (None: only a probe of the sandbox)
    home     what the private folder holds a copy of: the student's folder, or the file alone (grade); None: the
             file's folder (compare, the API: your own), or the file alone where the folder is too large to copy;
             with no boundary, the file's folder is read where it is
    """

    def __init__(self, boundary, path, home=None, output_limit=None, processes=32, extra_files=()):
        self.boundary, self.kind = boundary, boundary.kind
        self.output_limit, self.limit_processes = output_limit, processes
        self.path = os.path.abspath(path) if path else None
        self.home = os.path.abspath(home) if home else None
        self.uid = self._lease = None
        self._keep_lease = False
        self.fds, self.init_pid, self._info = [], None, None
        self.copied = 0
        self._private = tempfile.mkdtemp(prefix="crosscheck-worker-") if self.kind != "bwrap" else None
        try:
            if boundary.root and self.kind in ("bwrap", "user"):
                self.uid, self._lease = _lease_uid()
            self._prepare(extra_files)
        except BaseException:
            self.close()
            raise

    # ---- the private folder and the paths the worker sees ----

    def _prepare(self, extra_files):
        if self.home is None and self.path and self.kind != "none":
            # your own file (compare, the API): its folder is copied, siblings and all, unless it is too large
            folder = _package_root(os.path.dirname(self.path))
            try:
                files, self.home = _tree(folder), folder
            except UsageError:
                files, self.home = _tree(self.path), self.path
        else:
            files = _tree(self.home) if self.home else []
        self.copied = sum(-(-size // 4096) * 4096 for _, _, size in files)  # in pages, as a folder's usage counts
        inside_home = INSIDE_HOME if self.kind == "bwrap" else self._private
        self.env = environment(inside_home)
        self.inside_home = inside_home
        if self.home:
            base = os.path.basename(self.home) if os.path.isdir(self.home) else "submission"
            self.inside_root = os.path.join(inside_home, base)        # the copy of the student's folder
            self.outside_root = self.home if os.path.isdir(self.home) else os.path.dirname(self.home)
        else:                                                          # none: read where it is
            self.outside_root = self.inside_root = os.path.dirname(self.path) if self.path else None
        self.inside_path = (os.path.join(self.inside_root, os.path.relpath(self.path, self.outside_root))
                            if self.path else None)
        if self.kind == "bwrap":
            self.worker = os.path.join(INSIDE_WORKER, "worker.py")
            self._args = self._bwrap_arguments(files, extra_files)
        else:
            from crosscheck.student import worker
            self.worker = worker.__file__
            if self.home:
                _copy(files, self.inside_root)
            self.copied = _size(self._private)
            if self.uid is not None:
                for folder, _, names in os.walk(self._private):
                    for name in [folder] + [os.path.join(folder, n) for n in names]:
                        os.chown(name, self.uid, self.uid, follow_symlinks=False)

    def _bwrap_arguments(self, files, extra_files):
        from crosscheck.student import styles, worker
        args = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session"]
        if self.uid is not None:  # root: no capability but those to become the worker's own uid, at its start
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        for name in sorted(os.listdir("/")):
            full = os.path.join("/", name)
            if name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
                args += ["--symlink", os.readlink(full), full] if os.path.islink(full) else ["--ro-bind", full, full]
        for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives"):
            full = os.path.join("/etc", name)
            if os.path.exists(full):
                args += ["--ro-bind", full, full]
        shown, made = ["/usr"], set()

        def reach(path):  # the folders above a mount point: bwrap would make them 0700, closed to the worker's uid
            out = []
            for folder in reversed(_parents(path, "/")):
                if folder not in made:
                    out += ["--perms", "0755", "--dir", folder]
                    made.add(folder)
            return out

        # Python's libraries under /tmp (a checkout or a venv there): /tmp is then a small tmpfs of its own, the
        # libraries bound into it, where it is otherwise a link to the worker's folder
        tmp_holds_libraries = any(_within(folder, "/tmp") for folder in library_folders())
        if tmp_holds_libraries:
            args += ["--perms", "1777", "--size", str(2**20), "--tmpfs", "/tmp"]
            made.add("/tmp")
        for folder in library_folders():
            if not any(_within(folder, s) for s in shown):
                args += reach(folder) + ["--ro-bind", folder, folder]
                shown.append(folder)
        for folder in own_folders():  # this package, where a folder shown holds it: an empty folder instead
            if any(_within(folder, s) for s in shown):
                args += ["--tmpfs", folder]
        args += ["--proc", "/proc", "--dev", "/dev"]
        size = self.copied + int(self.output_limit or 64 * 2**20) + 2**20
        args += reach(INSIDE_HOME) + ["--perms", "0777", "--size", str(size), "--tmpfs", INSIDE_HOME]
        if not tmp_holds_libraries:
            args += ["--symlink", INSIDE_HOME, "/tmp"]
        args += reach(os.path.join(INSIDE_WORKER, "worker.py"))
        args += ["--ro-bind", worker.__file__, os.path.join(INSIDE_WORKER, "worker.py"),
                 "--ro-bind", os.path.dirname(os.path.abspath(styles.__file__)), os.path.join(INSIDE_WORKER, "styles"),
                 "--ro-bind", worker.HELPERS_DIRECTORY, os.path.join(INSIDE_WORKER, "course_helpers")]
        for extra in extra_files:  # a style from a file of its own (styles.register), at its own path
            args += reach(extra) + ["--ro-bind", extra, extra]
        if self.home:
            made = {self.inside_root}
            args += ["--perms", "0777", "--dir", self.inside_root]
            for relative, source, _ in files:
                target = os.path.join(self.inside_root, relative)
                for folder in reversed(_parents(target, self.inside_root)):
                    if folder not in made:
                        args += ["--perms", "0777", "--dir", folder]
                        made.add(folder)
                fd = _open_file(source)
                self.fds.append(fd)
                args += ["--perms", "0666", "--file", str(fd), target]
        read, write = os.pipe()
        self._info = read
        self.fds.append(write)
        # the sandbox's own root and /dev (bwrap's tmpfs, unbounded: /dev/shm is in it) read-only: the private
        # folder is all the code may write
        args += ["--remount-ro", "/dev", "--remount-ro", "/", "--info-fd", str(write),
                 "--chdir", self.inside_root or INSIDE_HOME]
        return args

    def config(self):
        """What the worker needs to know of its boundary, before it imports anything (worker.py's argv)."""
        processes = 0
        if self.limit_processes:
            if self.uid is not None:
                processes = self.limit_processes
            elif self.kind == "bwrap":  # counted in bwrap's user namespace: its init and the worker too
                processes = self.limit_processes + 2
            elif not self.boundary.root:  # counted over the whole user: what it runs already, and the allowance
                processes = _tasks_of(os.getuid()) + self.limit_processes
        return {"user": self.uid, "processes": processes, "home": self.inside_root,
                "paths": [os.path.dirname(os.path.dirname(os.path.realpath(numpy.__file__)))],
                "own": own_folders()}

    def command(self, argv):
        """The command line that runs argv (the worker's, its interpreter first) inside the boundary."""
        if self.kind == "bwrap":
            return [bwrap_path(), *self._args, *argv]
        return list(argv)

    def start(self, argv, **popen):
        """Start argv (the interpreter, then its arguments) inside the boundary: a subprocess.Popen."""
        pass_fds = tuple(popen.pop("pass_fds", ())) + tuple(self.fds)
        user = {"user": self.uid, "group": self.uid, "extra_groups": []} if self.kind == "user" and self.uid else {}
        try:
            process = subprocess.Popen(self.command(argv), env=self.env, pass_fds=pass_fds, start_new_session=True,
                                       cwd=self.inside_root if self.kind != "bwrap" else "/", **user, **popen)
        finally:
            for fd in self.fds:
                os.close(fd)
            self.fds = []
        return process

    def started(self, deadline):
        """After start: the sandbox's init (bwrap tells it); False when bwrap ended before it could say."""
        if self._info is None:
            return True
        data = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._info], [], [], max(0.0, min(0.05, deadline - time.monotonic())))
            if ready:
                chunk = os.read(self._info, 4096)
                if not chunk:
                    break
                data += chunk
                with contextlib.suppress(ValueError):
                    self.init_pid = int(json.loads(data)["child-pid"])
                    break
        os.close(self._info)
        self._info = None
        return self.init_pid is not None

    def outside(self, text):
        """A message of the worker's with its private paths as the user knows them (their folder's)."""
        if self.home and self.inside_root and self.outside_root:
            text = text.replace(self.inside_root + os.sep, self.outside_root + os.sep)
        if self.inside_home and self.kind != "bwrap":
            text = text.replace(self.inside_home, "~")
        return text

    # ---- what runs inside ----

    def processes(self, process):
        """[(pid, resident KB)] of every live process of the code (the worker's own included): the descendants of the
        sandbox's init (bwrap: orphans go to it), or of the worker (it is their subreaper)."""
        table = _process_table()
        if self.kind == "bwrap" and self.init_pid:
            inside = _descendants(table, self.init_pid)
        else:
            inside = _descendants(table, process.pid) | {process.pid}
        return [(pid, table[pid][1]) for pid in inside if pid in table and table[pid][2] != "Z"]

    def written(self):
        """Bytes the code has written into its private folder (what was copied there excluded); None where unknown."""
        if self.kind == "bwrap":
            if not self.init_pid:
                return None
            try:
                stats = os.statvfs(f"{PROC}/{self.init_pid}/root{INSIDE_HOME}")
            except OSError:
                return None
            return max(0, (stats.f_blocks - stats.f_bfree) * stats.f_frsize - self.copied)
        return max(0, _size(self._private) - self.copied) if self._private else None

    def kill(self, process):
        """SIGKILL to everything inside — the worker, its children, whatever started a session of its own — and
        wait until none is left; the worker's exit status."""
        if self.uid is not None:
            _kill_uid(self.uid)
        if self.init_pid:  # the pid namespace's init: the kernel ends every process in it with it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.init_pid, signal.SIGKILL)
        if self.kind == "none":  # its descendants first: orphans go to the worker (their subreaper) until it dies
            for _ in range(50):
                table = _process_table()
                others = _descendants(table, process.pid)
                if not others:
                    break
                for pid in others:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.002)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            process.kill()
        status = process.wait()
        if self.kind == "bwrap" and 128 < status < 128 + 65:  # bwrap says its child's signal N as 128 + N
            status = -(status - 128)
        if self.uid is not None:  # nothing of the uid may outlive its submission
            deadline = time.monotonic() + UID_DEATH_SECONDS
            while _uid_alive(self.uid) and time.monotonic() < deadline:
                _kill_uid(self.uid)
                time.sleep(0.005)
            # a uid with a process left (a busy machine, a zombie no one reaps) is never handed to another worker:
            # its lease stays held while this checker lives
            self._keep_lease = _uid_alive(self.uid)
        return status

    def close(self):
        for fd in self.fds + ([self._info] if self._info is not None else []):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds, self._info = [], None
        if self._private:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
        if self._lease is not None and not self._keep_lease:
            os.close(self._lease)
            self._lease = None


def _package_root(folder):
    """The folder above the outermost package that holds `folder` (the worker imports a file of a package as the
    package's module, its relative imports and all), or folder itself."""
    while os.path.isfile(os.path.join(folder, "__init__.py")) and os.path.basename(folder).isidentifier():
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def _parents(path, top):
    """The folders between top (excluded) and path (excluded), innermost first."""
    found, here = [], os.path.dirname(path)
    while here != top and _within(here, top):
        found.append(here)
        here = os.path.dirname(here)
    return found


# ---- the copy: a student's files, never what a link points to outside their folder ----------------------------

def _tree(home):
    """[(relative path, absolute path, size)] of the regular files to copy: the file itself, or every file under the
    folder but hidden ones and __pycache__, a symbolic link only where it points inside the folder.  UsageError
    past MAX_FILES or MAX_COPY."""
    if not os.path.isdir(home):
        return [(os.path.basename(home), home, os.path.getsize(home))]
    real_home = os.path.realpath(home)
    found, total = [], 0
    for folder, folders, names in os.walk(home):
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "__pycache__"
                            and not os.path.islink(os.path.join(folder, f)))
        for name in sorted(names):
            full = os.path.join(folder, name)
            if name.startswith("."):
                continue
            real = os.path.realpath(full)
            if not _within(real, real_home) or not os.path.isfile(real):
                continue  # a link out of the student's folder: not theirs to hand in
            size = os.path.getsize(real)
            total += size
            found.append((os.path.relpath(full, home), real, size))
            if len(found) > MAX_FILES or total > MAX_COPY:
                raise UsageError(f"holds more than {MAX_FILES} files or {MAX_COPY // 2**20} MB: a submission's "
                                 f"folder is copied for its worker, and this one is too large", field="impl",
                                 value=home)
    return found


def _open_file(path):
    return os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))


def _copy(files, root):
    os.makedirs(root, exist_ok=True)
    for relative, source, _ in files:
        target = os.path.join(root, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = _open_file(source)
        with os.fdopen(fd, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)


def _size(folder, limit=100_000):
    total, seen = 0, 0
    for here, _, names in os.walk(folder):
        for name in names:
            seen += 1
            if seen > limit:
                return total
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(here, name)).st_blocks * 512
    return total


# ---- processes --------------------------------------------------------------------------------------------

def _process_table():
    """{pid: (ppid, resident KB, state)} of every process (Linux's /proc; {} elsewhere)."""
    table = {}
    try:
        names = os.listdir(PROC)
    except OSError:
        return table
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"{PROC}/{name}/stat", "rb") as f:
                fields = f.read(1024).rsplit(b")", 1)[1].split()  # after "pid (command)": the command may hold ")"
            table[int(name)] = (int(fields[1]), int(fields[21]) * page_kb, fields[0].decode())
        except (OSError, IndexError, ValueError):
            continue
    return table


def _uid_alive(uid):
    """Whether a process of the uid is left, zombies too (they count against its next worker's process limit until
    they are reaped), by its real uid: a process that made itself not dumpable has root's /proc entries."""
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        try:
            with open(f"{PROC}/{name}/status", "rb") as f:
                text = f.read(2048)
        except OSError:
            continue
        if b"Uid:" in text and int(text.split(b"Uid:", 1)[1].split()[0]) == uid:
            return True
    return False


def _descendants(table, root):
    children = {}
    for pid, (ppid, *_) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _tasks_of(uid):
    """How many tasks (threads included: RLIMIT_NPROC counts them) the user runs now."""
    total = 0
    for name in os.listdir(PROC):
        with contextlib.suppress(OSError, ValueError):
            if name.isdigit() and os.stat(f"{PROC}/{name}").st_uid == uid:
                total += len(os.listdir(f"{PROC}/{name}/task"))
    return total


def _kill_uid(uid):
    """SIGKILL to every process of the uid at once: kill(-1) sent as that uid, which the kernel delivers to all of
    them in one pass (a fork bomb cannot outrun it)."""
    kill = shutil.which("kill")
    if kill:
        subprocess.run([kill, "-KILL", "-1"], user=uid, group=uid, extra_groups=[], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", env={})
        return
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only makes system calls, then leaves
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


# ---- worker uids: one per worker running at once, machine-wide -----------------------------------------------

def _first_uid():
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(WORKER_USER).pw_uid
    return FIRST_UID


def _lease_uid():
    """(uid, lock fd): a uid no other worker on this machine holds, held until the fd is closed (a dead checker's
    lease ends with it).  A uid that belongs to another named user is never taken."""
    folder = os.path.join(tempfile.gettempdir(), "crosscheck-worker-uids")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    first = _first_uid()
    for uid in range(first, first + UIDS):
        with contextlib.suppress(KeyError):
            if pwd.getpwuid(uid).pw_name != WORKER_USER:
                continue
        fd = os.open(os.path.join(folder, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return uid, fd
    raise UsageError(f"every worker uid from {first} to {first + UIDS - 1} is in use: fewer jobs at once",
                     field="jobs")
