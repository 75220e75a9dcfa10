"""Grades you can defend, 2: hostile submissions.  One test per kind of attack on the grader — forged reply frames,
lying subclasses, the answer key, the checker's /proc, its environment, peers' files and pipes, processes that
outlive their submission, killing or pausing the checker, floods, process and memory bombs, names that forge rows
or run, Markdown and HTML injection, symbolic links, patching the package, writing to the checker's stdout — each
run through `crosscheck grade` beside honest peers, in every boundary where docs/untrusted-code.md says it holds:
bwrap (skipped, with the reason, where bubblewrap cannot run), user (where the checker is root) and, for what the
grader itself decides, none.  What must hold: the attacker gets nothing it did not compute, every peer keeps its
score, the grader finishes and writes what it decided, nothing secret reaches a file a student sees, and nothing of
the attacker runs afterwards."""
import contextlib
import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from crosscheck.errors import UsageError
from crosscheck.student import sandbox

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CORRECT = (EXAMPLES / "my_backprop.py").read_text()
# dW without 1/m: 37 of the 45 points of the probes run, and the l2 probe (it takes no λ) at that share
WRONG = (EXAMPLES / "wrong_backprop.py").read_text()
MAX, WRONG_SCORE = 50, pytest.approx(37 * 50 / 45, abs=1e-3)
SECRET = "crosscheck-grader-secret-7f3a9c"
PACKAGE = ROOT / "crosscheck"
# What the grader decides holds whatever surrounds the code: it is shown with no boundary at all and in the strongest
# one.  What needs a boundary is shown in both boundaries; the user boundary's own means (its uid, killing the uid's
# processes) are CONTAINED's tests.
GRADER_SIDE = ("bwrap", "none")
CONTAINED = ("bwrap", "user")
EVERY = ("bwrap", "user", "none")


def attack(body, base=CORRECT):
    """The correct file (or base), with `body` run first in backprop: an attack by code that otherwise passes."""
    return base.replace('    m, L = X.shape[0], len(params)\n',
                        textwrap.indent(textwrap.dedent(body), "    ") + '    m, L = X.shape[0], len(params)\n', 1)


def worker_python():
    """An interpreter the worker uid can run (this one, or the system's of the same version), or None."""
    numpy_folder = os.path.dirname(os.path.dirname(np.__file__))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    uid, lease = sandbox._lease_uid()  # held meanwhile: no grading's sweep of the uid ends this
    try:
        for python in (sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
            if not os.path.exists(python):
                continue
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                done = subprocess.run([python, "-I", "-c", f"import sys; sys.path.append({numpy_folder!r}); "
                                                           f"import numpy"],
                                      user=uid, group=uid, extra_groups=[], cwd="/", capture_output=True, timeout=60)
                if done.returncode == 0:
                    return python
    finally:
        os.close(lease)
    return None


@pytest.fixture
def boundary(request, monkeypatch):
    """The boundary this test runs in ("bwrap", "user" or "none"), or a skip that says why it cannot run here."""
    kind = request.param
    if kind == "user":
        if os.geteuid() != 0:
            pytest.skip("the user boundary needs the checker to be root")
        python = worker_python()
        if python is None:
            pytest.skip(f"no Python of this version that uid {sandbox._first_uid()} can run")
        monkeypatch.setattr(sandbox, "PYTHON", python)
    sandbox.choose.cache_clear()
    try:
        sandbox.choose(kind)
    except UsageError as exc:
        pytest.skip(str(exc))
    yield kind
    sandbox.choose.cache_clear()


def holds_in(*kinds):
    return pytest.mark.parametrize("boundary", kinds, indirect=True)


def write_class(folder, files):
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source) if isinstance(source, str) else source)
    return folder


def grade(cli, folder, boundary, *extra):
    """The class graded by the command in this process: (exit code, {submission: row}, stdout)."""
    code, out, err = cli("grade", folder, "--sandbox", boundary, "--json", *extra)
    assert code in (0, 1), err
    return code, {row["submission"]: row for row in json.loads(out)["submissions"]}, out


def grade_process(folder, boundary, *extra, timeout=120):
    """The class graded by the command in a process of its own, as an instructor runs it: CompletedProcess."""
    script = (f"import sys; from crosscheck.student import sandbox; sandbox.PYTHON = {sandbox.PYTHON!r}; "
              f"from crosscheck.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", script, "grade", str(folder), "--sandbox", boundary, *map(str, extra)],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "SECRET": SECRET},
                          cwd=ROOT)


def everything_written(*paths):
    """The text of every file under these paths, and the paths themselves (what a student or instructor reads)."""
    texts = []
    for path in paths:
        path = Path(path)
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            texts.append(file.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def processes_with(marker):
    """Live processes whose command line holds marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if marker in cmdline and state != "Z":
                found.append((int(entry), cmdline))
    return found


@pytest.fixture
def no_leftovers():
    """After the test: no process runs as a worker uid that no grader holds now (another test's grading, in another
    process, may hold one); a leftover is killed, and the test fails."""
    yield
    import fcntl
    folder = os.path.join(sandbox.tempfile.gettempdir(), "crosscheck-worker-uids")
    first, left = sandbox._first_uid(), []
    for uid in range(first, first + 8):
        lease = os.path.join(folder, str(uid))
        if not os.path.exists(lease):
            continue
        fd = os.open(lease, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # held: a grading is running as it
        if sandbox._uid_alive(uid):
            left.append(uid)
            sandbox._kill_uid(uid)
        os.close(fd)
    assert not left, f"processes of worker uids {left} outlived the grading"


# ---- forged reply frames ----------------------------------------------------------------------------------

FRAMES = {
    "pickle": "import pickle; header = pickle.dumps({'ok': True, 'arrays': []})",
    "deep-json": "header = b'[' * 500_000",
    "not-utf8": "header = bytes(range(128, 256))",
    "huge-size": ("import json, struct; header = json.dumps({'ok': True, 'arrays': ['Z1'], 'ignored': []}).encode()\n"
                  "tail = struct.pack('>Q', 2**62)"),
    "unknown-array": ("import json, struct; header = json.dumps({'ok': True, 'arrays': ['__class__'], "
                      "'ignored': []}).encode()\ntail = struct.pack('>Q', 16)"),
    "object-array": ("import io, json, struct, numpy as np\nblob = io.BytesIO(); "
                     "np.save(blob, np.array([{}], dtype=object), allow_pickle=True); blob = blob.getvalue()\n"
                     "header = json.dumps({'ok': True, 'arrays': ['Z1'], 'ignored': []}).encode()\n"
                     "tail = struct.pack('>Q', len(blob)) + blob"),
}


@pytest.mark.parametrize("frame, boundary", [  # read by the checker alone: every frame with no boundary, one in each
    *((frame, "none") for frame in FRAMES), (next(iter(FRAMES)), "bwrap")], indirect=["boundary"])
def test_a_forged_reply_frame_is_not_a_valid_answer_and_harms_no_one(frame, boundary, cli, tmp_path, no_leftovers):
    import resource
    forge = f"""
        import os, struct, sys, time
        tail = b""
        {FRAMES[frame].replace(chr(10), chr(10) + "        ")}
        os.write(int(sys.argv[2]), struct.pack(">Q", len(header)) + header + tail)
        time.sleep(30)
        """
    write_class(tmp_path / "class", {"aa-forger.py": attack(forge), "zz-alice.py": CORRECT})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, rows, _ = grade(cli, tmp_path / "class", boundary, "--timeout", "10")
    grew_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    forger = rows["aa-forger.py"]
    assert forger["score"] == 0 and forger["status"] == "error"
    assert "sent something that is not a valid answer" in forger["hint"]
    assert rows["zz-alice.py"]["score"] == MAX and grew_mb < 200


# ---- lying subclasses ---------------------------------------------------------------------------------------

LIAR = '''
import numpy as np

class Equal(np.ndarray):
    """Zeros that say they equal anything, differ from nothing, and are as large as asked."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return np.zeros(self.shape).view(Equal)
    __rsub__ = __sub__
    def __abs__(self): return self
    def max(self, *a, **k): return 0.0
    def all(self, *a, **k): return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs): return np.zeros(self.shape).view(Equal)

class Everything(dict):
    """A dict that has every key and whose values are whatever it is asked to be."""
    def __contains__(self, key): return True
    def __len__(self): return 10**6
    def get(self, key, default=None): return self[key]

def backprop(X, Y, params, activation="relu"):
    m, n = X.shape[0], [W.shape[1] for W, _ in params]
    out = Everything()
    for l, (W, b) in enumerate(params, start=1):
        for name, shape in ((f"Z{l}", (m, n[l - 1])), (f"A{l}", (m, n[l - 1])), (f"dZ{l}", (m, n[l - 1])),
                            (f"dW{l}", W.shape), (f"db{l}", b.shape), (f"dA{l}", (m, n[l - 1]))):
            if name != f"dA{len(params)}":
                out[name] = np.zeros(shape).view(Equal)
    out["J"] = np.zeros(()).view(Equal)
    return out
'''


@holds_in(*GRADER_SIDE)
def test_lying_array_and_dict_subclasses_are_judged_by_their_numbers(boundary, cli, tmp_path, no_leftovers):
    write_class(tmp_path / "class", {"liar.py": LIAR, "zz-alice.py": CORRECT})
    _, rows, _ = grade(cli, tmp_path / "class", boundary)
    assert rows["liar.py"]["score"] == 0 and rows["liar.py"]["status"] == "mismatch"
    assert rows["zz-alice.py"]["score"] == MAX


# ---- the answer key ------------------------------------------------------------------------------------------

ANSWER_KEYS = {
    "crosscheck.reference": "from crosscheck.reference import backprop as answer_key\n",
    "crosscheck.engine": "import crosscheck.engine.check\n",
    "the checkout's reference": f"import sys; sys.path.insert(0, {str(ROOT)!r})\nimport crosscheck.reference\n",
    "caught": "try:\n    import crosscheck.reference\nexcept ImportError:\n    pass\n",
}


@holds_in(*GRADER_SIDE)
@pytest.mark.parametrize("how", ANSWER_KEYS)
def test_importing_the_reference_is_forbidden_and_earns_nothing(how, boundary, cli, tmp_path, no_leftovers):
    write_class(tmp_path / "class", {"cheat.py": ANSWER_KEYS[how] + CORRECT, "zz-alice.py": CORRECT})
    _, rows, _ = grade(cli, tmp_path / "class", boundary)
    cheat = rows["cheat.py"]
    assert cheat["status"] == "forbidden" and cheat["score"] == 0
    assert "crosscheck's own module" in cheat["error"] and "imports crosscheck" in cheat["error"]
    assert all(t["score"] == 0 for t in cheat["tests"])
    assert rows["zz-alice.py"]["score"] == MAX


def test_a_students_own_reference_py_is_theirs_to_import(cli, tmp_path):
    write_class(tmp_path / "class", {"kim/reference.py": "import numpy as np\n\ndef relu(Z):\n    return np.maximum(Z, 0)\n",
                                     "kim/backprop.py": "from reference import relu\n" + CORRECT.replace(
                                         "np.maximum(Z, 0)", "relu(Z)")})
    _, rows, _ = grade(cli, tmp_path / "class", "auto")
    assert rows["kim"]["status"] == "ok" and rows["kim"]["score"] == MAX


TORCH = "import torch\n" + CORRECT


@holds_in(*GRADER_SIDE)
def test_an_autograd_framework_is_forbidden_in_grade_unless_allowed(boundary, cli, tmp_path, no_leftovers):
    write_class(tmp_path / "class", {"kim.py": TORCH, "zz-alice.py": CORRECT})
    _, rows, _ = grade(cli, tmp_path / "class", boundary)
    assert rows["kim.py"]["status"] == "forbidden" and rows["kim.py"]["score"] == 0
    assert "imports torch, an autograd framework" in rows["kim.py"]["error"]
    assert "--allow torch lets it" in rows["kim.py"]["error"]
    assert rows["zz-alice.py"]["score"] == MAX
    pytest.importorskip("torch")
    _, rows, _ = grade(cli, tmp_path / "class", boundary, "--allow", "torch")
    assert rows["kim.py"]["status"] == "ok" and rows["kim.py"]["score"] == MAX


def test_a_students_own_module_by_a_frameworks_name_is_theirs(cli, tmp_path):
    write_class(tmp_path / "class", {"kim/autograd.py": "def grad(f):\n    return f\n",
                                     "kim/backprop.py": "import autograd\n" + CORRECT})
    _, rows, _ = grade(cli, tmp_path / "class", "auto")
    assert rows["kim"]["status"] == "ok" and rows["kim"]["score"] == MAX


def test_compare_and_the_api_run_autograd_code_but_say_a_grader_would_refuse_it(cli, tmp_path):
    pytest.importorskip("torch")
    import crosscheck
    path = write_class(tmp_path, {"kim.py": TORCH}) / "kim.py"
    code, out, _ = cli("compare", "--frameworks", "none", "--impl", path, "--probe", "lecture")
    assert code == 0 and "✓ all 12 tensors agree" in out
    assert "⚠ a grader would refuse it: it imports torch" in out
    report = crosscheck.check(str(path), probes="lecture")
    assert report.ok and report.run.imports == ["torch"] and "a grader would refuse it" in str(report)
    assert "a grader would refuse it" in report._repr_html_()


def test_compare_refuses_the_reference_with_a_line_that_says_so(cli, tmp_path):
    path = write_class(tmp_path, {"cheat.py": ANSWER_KEYS["crosscheck.reference"] + CORRECT}) / "cheat.py"
    code, out, err = cli("compare", "--frameworks", "none", "--impl", path)
    assert code == 2 and "cheat.py: imports crosscheck, crosscheck's own module" in err


# ---- the checker's /proc and environment -----------------------------------------------------------------------

SNOOP = r'''
import glob, os
found = []
for pattern in ("/proc/*/environ", "/proc/*/cmdline", "/proc/*/maps", "/proc/*/fd/*"):
    for path in glob.glob(pattern):
        try:
            data = open(path, "rb").read(1 << 20) if "/fd/" not in path else os.readlink(path).encode()
        except Exception:
            continue
        found.append(path)
        if b"SECRET" in data or b"crosscheck-grader" in data:
            print("FOUND", path, data[:4000])
try:
    ppid = os.getppid()
    mem = open(f"/proc/{ppid}/mem", "rb")
    print("READ THE CHECKER'S MEMORY", ppid)
except Exception:
    pass
print("environment", sorted(os.environ), os.environ.get("SECRET"))
print("snooped", len(found))
'''


@holds_in(*CONTAINED)
def test_the_checker_cannot_be_read_through_proc_and_its_environment_never_leaks(boundary, tmp_path, no_leftovers):
    write_class(tmp_path / "class", {"snoop.py": attack(SNOOP), "zz-alice.py": CORRECT})
    out = tmp_path / "out"
    done = grade_process(tmp_path / "class", boundary, "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    written = everything_written(out) + done.stdout + done.stderr
    assert SECRET not in written and "FOUND" not in written and "READ THE CHECKER'S MEMORY" not in written
    feedback = (out / "feedback" / "snoop.py.txt").read_text()
    environment = re.search(r"environment (\[.*?\]) None", feedback)
    assert environment, feedback  # the code ran, and printed what it saw
    # PWD: bwrap sets it to the working directory it made, inside
    assert set(eval(environment.group(1))) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "PWD",
                                               "MALLOC_ARENA_MAX", *sandbox.THREADS}


# ---- peers' files and pipes ------------------------------------------------------------------------------------

def tamper(folder, out):
    return f"""
        import glob, os
        peers = [p for where in ({str(folder)!r}, "/home", "/tmp") for p in glob.glob(where + "/**/zz-*.py", recursive=True)]
        for path in peers:
            try:
                open(path, "w").write({WRONG!r})
                print("overwrote", path)
            except Exception:
                pass
        mine = {{str(os.getpid()), "self", "thread-self"}}
        for path in glob.glob("/proc/*/fd/*"):   # every pipe and file of any other process it can reach
            if path.split("/")[2] in mine:
                continue
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                os.write(fd, b"\\x00" * 8 + b"garbage" * 1000)
                print("wrote into", path)
            except Exception:
                pass
        try:
            os.makedirs({str(out)!r}, exist_ok=True)
            open({str(out / "grades.csv")!r}, "w").write("aa-mallory.py,45,45")
            print("wrote the grades")
        except Exception:
            pass
        """


@holds_in(*CONTAINED)
def test_peers_files_and_pipes_are_out_of_reach(boundary, cli, tmp_path, no_leftovers):
    folder, out = tmp_path / "class", tmp_path / "out"
    peers = {f"zz-peer{i}.py": CORRECT for i in range(3)}
    write_class(folder, {"aa-mallory.py": attack(tamper(folder, out)), **peers})
    before = {name: (folder / name).read_bytes() for name in peers}
    _, rows, _ = grade(cli, folder, boundary, "--jobs", "2", "--out", out)
    assert {name: (folder / name).read_bytes() for name in peers} == before
    assert all(rows[name]["score"] == MAX for name in peers)
    feedback = (out / "feedback" / "aa-mallory.py.txt").read_text()
    assert "overwrote" not in feedback and "wrote into" not in feedback
    with open(out / "grades.csv", newline="") as f:  # the grader's, whatever the code wrote where it could
        table = list(csv.DictReader(f))
    assert [(r["submission"], r["score"]) for r in table] == [("aa-mallory.py", "50")] + [(p, "50") for p in peers]


# ---- processes that outlive their submission -------------------------------------------------------------------

def daemon(results):
    return f"""
        import os, subprocess, time, json
        subprocess.Popen(["sleep", "31337.5"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                for _ in range(60):
                    time.sleep(0.1)
                    try:
                        open({str(results)!r}, "w").write(json.dumps({{"score": 45, "output": "forged"}}))
                    except Exception:
                        pass
                os._exit(0)
            os._exit(0)
        """


@holds_in(*EVERY)  # the grader's own kill, and each boundary's
def test_no_process_outlives_its_submission_to_rewrite_the_results(boundary, tmp_path, no_leftovers):
    results = tmp_path / "results.json"
    write_class(tmp_path / "submission", {"backprop.py": attack(daemon(results), base=WRONG)})
    # --force, as the Gradescope kit runs it: with no boundary the daemon can write the file while it lives
    done = grade_process(tmp_path / "submission", boundary, "--gradescope", results, "--timeout", "10", "--force")
    assert done.returncode == 1, done.stderr
    time.sleep(0.5)  # a survivor writes every 0.1 s: five chances to rewrite it
    document = json.loads(results.read_text())
    assert document["score"] == WRONG_SCORE and "forged" not in results.read_text()
    assert processes_with("31337.5") == []


# ---- killing or pausing the checker --------------------------------------------------------------------------

PAUSE = """
    import os, signal, time
    for target in (os.getppid(), -1):
        for sig in (signal.SIGSTOP, signal.SIGTERM):
            try:
                os.kill(target, sig)
            except Exception:
                pass
    time.sleep(3)
    for target in (os.getppid(), -1):
        try:
            os.kill(target, signal.SIGCONT)
        except Exception:
            pass
    """


@holds_in(*CONTAINED)
def test_the_checker_cannot_be_killed_or_paused(boundary, tmp_path, no_leftovers):
    write_class(tmp_path / "class", {"aa-pause.py": attack(PAUSE), "zz-alice.py": CORRECT})
    start = time.monotonic()
    done = grade_process(tmp_path / "class", boundary, "--timeout", "2", "--json")
    seconds = time.monotonic() - start
    assert done.returncode == 1, done.stderr
    rows = {row["submission"]: row for row in json.loads(done.stdout)["submissions"]}
    assert rows["aa-pause.py"]["status"] == "timeout" and rows["aa-pause.py"]["score"] == 0
    assert rows["zz-alice.py"]["score"] == MAX and seconds < 30


def test_a_reply_that_comes_after_the_deadline_is_a_timeout(tmp_path):
    """The checker itself stopped (SIGSTOP) while the code answers, and resumed after its deadline: the answer
    that waits in the pipe is late, a timeout — not a pass."""
    path = write_class(tmp_path, {"slow.py": attack("import time; time.sleep(1)\n")}) / "slow.py"
    script = "import sys; from crosscheck.cli import main; sys.exit(main(sys.argv[1:]))"
    checker = subprocess.Popen([sys.executable, "-c", script, "compare", "--frameworks", "none", "--impl", str(path),
                                "--timeout", "2", "--probe", "lecture", "--sandbox", "none"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        time.sleep(1.2)  # started, and into the call
        checker.send_signal(signal.SIGSTOP)
        time.sleep(3)
        checker.send_signal(signal.SIGCONT)
        out, err = checker.communicate(timeout=60)
    finally:
        checker.kill()
    assert checker.returncode == 2 and "ran longer than the 2 s timeout" in err


# ---- floods --------------------------------------------------------------------------------------------------

FLOODS = {
    "one-file": """
        import os
        written = 0
        try:
            with open(os.path.join(os.environ["HOME"], "flood"), "wb") as f:
                for _ in range(64):
                    f.write(b"x" * 2**20); f.flush(); written += 2**20
        except OSError:
            pass
        print("wrote", written)
        """,
    "many-files": """
        import os
        written = 0
        try:
            for i in range(16384):
                with open(os.path.join(os.environ["HOME"], f"f{i}"), "wb") as f:
                    f.write(b"y" * 4096)
                written += 4096
        except OSError:
            pass
        print("wrote", written)
        """,
}


@holds_in(*CONTAINED)
@pytest.mark.parametrize("flood", FLOODS)
def test_a_flood_of_files_stops_at_the_output_limit(flood, boundary, cli, tmp_path, no_leftovers):
    write_class(tmp_path / "class", {"aa-flood.py": attack(FLOODS[flood]), "zz-alice.py": CORRECT})
    _, rows, _ = grade(cli, tmp_path / "class", boundary, "--output-limit", "4", "--timeout", "20")
    assert rows["aa-flood.py"]["status"] == "output" and rows["aa-flood.py"]["score"] == 0
    assert "more than the 4 MB output limit" in rows["aa-flood.py"]["hint"]
    assert rows["zz-alice.py"]["score"] == MAX


@holds_in("bwrap")
def test_the_sandbox_has_no_other_place_to_write(cli, tmp_path, boundary, no_leftovers):
    probe = """
        import os
        for folder in ("/", "/tmp/..", "/usr", "/opt/crosscheck-worker", "/dev/shm", "/var/tmp"):
            try:
                open(os.path.join(folder, "x"), "w").write("x")
                print("WROTE", folder)
            except Exception:
                pass
        """
    write_class(tmp_path / "class", {"probe.py": attack(probe)})
    out = tmp_path / "out"
    _, rows, _ = grade(cli, tmp_path / "class", boundary, "--out", out)
    assert rows["probe.py"]["score"] == MAX and "WROTE" not in everything_written(out)


# ---- process and memory bombs -------------------------------------------------------------------------------

BOMBS = {
    "fork-bomb": ("""
        import os, time
        for _ in range(100000):
            try:
                os.fork()
            except OSError:
                time.sleep(0.001)
        """, ("timeout", "error", "crashed", "memory")),
    "memory-across-processes": ("""
        import os, time
        for _ in range(6):
            if os.fork() == 0:
                hold = b"m" * (150 * 2**20)
                time.sleep(30)
                os._exit(0)
        time.sleep(30)
        """, ("memory",)),
}


@holds_in(*CONTAINED)
@pytest.mark.parametrize("bomb", BOMBS)
def test_process_and_memory_bombs_end_with_their_submission(bomb, boundary, cli, tmp_path, no_leftovers):
    source, statuses = BOMBS[bomb]
    write_class(tmp_path / "class", {"aa-bomb.py": attack(source), "zz-alice.py": CORRECT})
    _, rows, _ = grade(cli, tmp_path / "class", boundary, "--timeout", "4", "--memory", "600")
    assert rows["aa-bomb.py"]["status"] in statuses and rows["aa-bomb.py"]["score"] == 0, rows["aa-bomb.py"]["hint"]
    if bomb == "memory-across-processes":
        assert "and the processes it started needed more than the 600 MB memory limit together" in \
            rows["aa-bomb.py"]["hint"]
    assert rows["zz-alice.py"]["score"] == MAX


# ---- names and messages that would act where they land ---------------------------------------------------------

NAMES = ["=HYPERLINK(\"http://x\",\"45\")", "+1+1", "-2", "@SUM(A1)", "eve\nmallory,45,45,100,ok",
         "\x1b[2J\x1b[31mred", "\ttab", "\rreturn"]
INJECTION = "\x1b]0;owned\x07 <script>alert(1)</script> [x](javascript:alert(1)) **bold** `code`\n# Heading"


@holds_in(*GRADER_SIDE)
def test_names_and_messages_are_neutralised_where_they_land(boundary, cli, tmp_path, no_leftovers):
    folder, out = tmp_path / "class", tmp_path / "out"
    write_class(folder, {f"{name}/backprop.py": WRONG for name in NAMES})
    write_class(folder, {"zz-inject.py": attack(f"raise ValueError({INJECTION!r})\n")})
    code, stdout, _ = cli("grade", folder, "--sandbox", boundary, "--out", out)
    assert code == 1
    summary = (out / "summary.txt").read_text()
    for text in [stdout, summary, *(p.read_text() for p in (out / "feedback").iterdir())]:
        assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    table = summary.split("\n\n")[0].splitlines()
    assert len(table) == 2 + len(NAMES) + 1  # a row each: no name forged one
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + len(NAMES) + 1
    for row in rows[1:]:
        assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r")) and "\n" not in row[0]
        assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)
    results = json.loads((out / "results" / "zz-inject.py.json").read_text())
    text = results["output"] + "".join(t["output"] for t in results["tests"])
    assert "<script>" not in text and "\\<script\\>" in text and "\n# Heading" not in text
    assert "[x](javascript" not in text and "**bold**" not in text


def test_html_of_a_report_escapes_what_the_code_says(tmp_path):
    import crosscheck
    path = write_class(tmp_path, {"inject.py": attack(f"raise ValueError({INJECTION!r})\n")}) / "inject.py"
    html = crosscheck.check(str(path))._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "\x1b" not in html


# ---- symbolic links --------------------------------------------------------------------------------------------

@holds_in(*GRADER_SIDE)
def test_a_symbolic_link_never_grades_another_students_code_or_quotes_a_file(boundary, cli, tmp_path,
                                                                              no_leftovers):
    folder, out = tmp_path / "class", tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.ipynb").write_text(f"{SECRET} is not JSON\n")
    (outside / "helper.py").write_text("import numpy as np\n\ndef relu(Z):\n    return np.maximum(Z, 0)\n")
    write_class(folder, {"alice/backprop.py": CORRECT, "gina/backprop.py": "from helper import relu\n" +
                         CORRECT.replace("np.maximum(Z, 0)", "relu(Z)")})
    (folder / "bob").mkdir()
    os.symlink(folder / "alice" / "backprop.py", folder / "bob" / "backprop.py")   # a peer's file
    os.symlink(folder / "alice" / "backprop.py", folder / "carl.py")                # a peer's file, alone
    os.symlink(folder / "alice", folder / "dave")                                   # a peer's folder
    (folder / "eve").mkdir()
    os.symlink(outside / "notes.ipynb", folder / "eve" / "homework.ipynb")          # a file outside the class
    os.symlink(outside / "helper.py", folder / "gina" / "helper.py")                # a helper outside the class
    _, rows, _ = grade(cli, folder, boundary, "--out", out)
    assert rows["alice"]["score"] == MAX
    for name in ("bob", "carl.py", "dave", "eve"):
        assert rows[name]["score"] == 0 and rows[name]["status"] == "missing", (name, rows[name])
    assert rows["gina"]["score"] == 0 and "No module named 'helper'" in rows["gina"]["error"]
    assert SECRET not in everything_written(out)


# ---- the package on disk ----------------------------------------------------------------------------------------

def package_digest():
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(PACKAGE.rglob("*.py"))}


@holds_in(*CONTAINED)
def test_the_package_cannot_be_patched_by_a_submission(boundary, cli, tmp_path, no_leftovers):
    from crosscheck.student import worker
    targets = [worker.__file__, str(PACKAGE / "engine" / "tensors.py"), "/opt/crosscheck-worker/worker.py",
               "/opt/crosscheck-worker/styles/lecture.py"]
    patch = f"""
        for path in {targets!r}:
            try:
                with open(path, "a") as f:
                    f.write("\\nraise SystemExit('patched')\\n")
                print("PATCHED", path)
            except Exception:
                pass
        """
    before = package_digest()
    write_class(tmp_path / "class", {"aa-patch.py": attack(patch), "zz-bob.py": WRONG, "zz-carl.py": CORRECT})
    out = tmp_path / "out"
    _, rows, _ = grade(cli, tmp_path / "class", boundary, "--out", out)
    assert package_digest() == before and "PATCHED" not in everything_written(out)
    assert rows["zz-bob.py"]["score"] == WRONG_SCORE and rows["zz-carl.py"]["score"] == MAX


# ---- the checker's stdout ---------------------------------------------------------------------------------------

FORGE_STDOUT = """
    import glob, os
    for path in [f"/proc/{os.getppid()}/fd/1", *glob.glob("/proc/*/fd/1"), *glob.glob("/proc/*/fd/2")]:
        try:
            with open(path, "w") as f:
                f.write('{"ok": true, "forged": 1}\\n')
        except Exception:
            pass
    """


@holds_in(*CONTAINED)
def test_the_checkers_stdout_cannot_be_written_by_a_submission(boundary, tmp_path, no_leftovers):
    write_class(tmp_path / "class", {"forger.py": attack(FORGE_STDOUT), "zz-bob.py": WRONG})
    done = grade_process(tmp_path / "class", boundary, "--json")
    assert done.returncode == 1 and "forged" not in done.stdout + done.stderr
    document = json.loads(done.stdout)  # one JSON document, the grader's
    assert [row["score"] for row in document["submissions"]] == [MAX, WRONG_SCORE]


# ---- the boundary is named, and said where there is none ------------------------------------------------------

def test_the_boundary_is_named_in_the_summary_csv_and_results(cli, tmp_path):
    write_class(tmp_path / "class", {"alice.py": CORRECT})
    out = tmp_path / "out"
    code, stdout, _ = cli("grade", tmp_path / "class", "--sandbox", "none", "--out", out)
    assert code == 0 and "sandbox: ⚠ none (--sandbox none): the code ran as" in stdout
    assert "sandbox: ⚠ none" in (out / "summary.txt").read_text()
    with open(out / "grades.csv", newline="") as f:
        assert next(csv.DictReader(f))["sandbox"] == "none"
    assert json.loads((out / "results" / "alice.py.json").read_text())["extra_data"]["sandbox"] == "none"


def test_without_bwrap_auto_falls_back_and_says_so_and_bwrap_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    sandbox.choose.cache_clear()
    try:
        path = write_class(tmp_path, {"alice.py": CORRECT}) / "alice.py"
        code, out, _ = cli("compare", "--frameworks", "none", "--impl", path, "--probe", "lecture")
        assert code == 0 and re.search(r"sandbox +⚠ (user|none) .*bwrap is not installed", out)
        code, out, err = cli("compare", "--frameworks", "none", "--impl", path, "--sandbox", "bwrap")
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "--sandbox bwrap: bwrap cannot run here: bwrap is not installed" in err
    finally:
        sandbox.choose.cache_clear()


def test_the_budget_bounds_a_submissions_time_in_all(cli, tmp_path):
    write_class(tmp_path / "class", {"slow.py": attack("import time; time.sleep(0.6)\n")})
    start = time.monotonic()
    _, rows, _ = grade(cli, tmp_path / "class", "auto", "--timeout", "5", "--budget", "2")
    row = rows["slow.py"]
    assert time.monotonic() - start < 6 and 0 < row["score"] < MAX
    assert any("the time budget of 2 s for every probe ran out" in t["output"] for t in row["tests"])


def test_the_checker_is_not_dumpable_once_it_has_run_a_worker(tmp_path):
    """Its /proc entries (environment, memory, file descriptors) are root's then, closed to its own user's
    processes."""
    import ctypes

    import crosscheck
    crosscheck.check(str(write_class(tmp_path, {"alice.py": CORRECT}) / "alice.py"), probes="lecture")
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE


def test_the_output_limit_counts_every_worker_of_a_submission(cli, tmp_path):
    """600 KB printed before the worker dies, on the two probes with m ≠ 300: each worker alone is under the 1 MB
    limit, the two together are not — the second fails on the output limit, not on its end."""
    source = attack("""
        import os, sys
        if X.shape[0] != 300:
            print("x" * 600_000, flush=True)
            os._exit(1)
        """)
    path = write_class(tmp_path, {"chatty.py": source}) / "chatty.py"
    code, out, _ = cli("compare", "--frameworks", "none", "--impl", path, "--output-limit", "1", "--json")
    probes = {probe["name"]: probe for probe in json.loads(out)["probes"]}
    assert code == 1 and probes["odd-m"]["kind"] == "ended" and probes["m1"]["kind"] == "output"
    assert "more than the 1 MB output limit" in probes["m1"]["error"]


def test_bwrap_started_by_an_unprivileged_user_holds_too(tmp_path):
    """A student's own machine: the checker is not root, bwrap makes a user namespace, the worker keeps that user
    and no privilege — and the private folder is still all it can write."""
    import shutil
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("becoming an unprivileged user needs root")
    python = worker_python()
    if python is None or sandbox.bwrap_path() is None:
        pytest.skip("needs bwrap and a Python the unprivileged uid can run")
    folder = Path(tempfile.mkdtemp(prefix="crosscheck-unprivileged-"))
    try:
        probe = """
            import os
            for folder in ("/", "/dev", "/dev/shm", "/usr", "/opt/crosscheck-worker"):
                try:
                    open(os.path.join(folder, "x"), "w").write("x")
                    print("WROTE", folder)
                except Exception:
                    pass
            print("AS", os.getuid())
            """
        (folder / "probe.py").write_text(attack(probe))
        folder.chmod(0o755)
        uid, lease = sandbox._lease_uid()
        try:
            numpy_folder = os.path.dirname(os.path.dirname(np.__file__))
            script = (f"import sys; sys.path[:0] = [{str(ROOT)!r}, {numpy_folder!r}]; "
                      f"from crosscheck.cli import main; sys.exit(main(sys.argv[1:]))")
            done = subprocess.run([python, "-c", script, "compare", "--frameworks", "none", "--probe", "lecture",
                                   "--impl", str(folder / "probe.py"), "--sandbox", "bwrap"], user=uid, group=uid,
                                  extra_groups=[], capture_output=True, text=True, timeout=120, cwd="/",
                                  env={"PATH": os.environ["PATH"], "HOME": str(folder)})
        finally:
            os.close(lease)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if "bwrap cannot run here" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr
    assert "sandbox     bwrap" in done.stdout and f"│ AS {uid}" in done.stdout and "WROTE" not in done.stdout
