"""A user's implementation runs in a worker process of its own: nothing it does decides the verdict or the
exit code.  Each case is a small file written into tmp_path and run through `crosscheck compare --impl`."""
import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from student_files import EXAMPLES, ROOT, compare

from crosscheck import adapters
from crosscheck.cli import COMMANDS
from crosscheck.engine.check import run_check
from crosscheck.engine.problem import build_problem
from crosscheck.errors import UserCodeError
from crosscheck.reference import computed_names
from crosscheck.render.check import check_report
from crosscheck.student.implementation import Local
from crosscheck.student.isolated import Isolated

CORRECT = (EXAMPLES / "my_backprop.py").read_text()
WRONG = (EXAMPLES / "wrong_backprop.py").read_text()  # dW without its 1/m: first divergence dW2
LINE = CORRECT.splitlines().index('def backprop(X, Y, params, activation="relu"):') + 2  # with_backprop's body


def impl(tmp_path, source, name="impl.py"):
    """A file in tmp_path with the given source (dedented); its path as a string."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def with_backprop(body, prelude=""):
    """A file whose backprop runs `body` first, then the correct computation."""
    return (textwrap.dedent(prelude) + CORRECT.replace(
        '    m, L = X.shape[0], len(params)\n',
        textwrap.indent(textwrap.dedent(body), "    ") + '    m, L = X.shape[0], len(params)\n'))


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crosscheck: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---- how it ends is never the exit code ------------------------------------------------------------

ENDINGS = {
    "sys.exit(0) in backprop": (with_backprop("import sys; sys.exit(0)\n"), f"impl.py:{LINE}: your backprop called sys.exit(0)"),
    "sys.exit(3) in backprop": (with_backprop("import sys; sys.exit(3)\n"), f"impl.py:{LINE}: your backprop called sys.exit(3)"),
    "os._exit(0) in backprop": (with_backprop("import os; os._exit(0)\n"),
                                "ended in backprop without answering (exit status 0)"),
    "sys.exit(0) at import": ("import sys\nsys.exit(0)\n", "impl.py:2: importing it called sys.exit(0)"),
    "sys.exit(3) at import": ("import sys\nsys.exit(3)\n", "impl.py:2: importing it called sys.exit(3)"),
    "os._exit(0) at import": ("import os\nos._exit(0)\n", "ended while importing it without answering (exit status 0)"),
    "KeyboardInterrupt": (with_backprop("raise KeyboardInterrupt\n"), f"impl.py:{LINE}: your backprop raised KeyboardInterrupt"),
    "SIGTERM to itself": (with_backprop("import os, signal; os.kill(os.getpid(), signal.SIGTERM)\n"),
                          "ended in backprop without answering (killed by SIGTERM)"),
    "SIGINT to itself": (with_backprop("import os, signal; os.kill(os.getpid(), signal.SIGINT)\n"),
                         f"impl.py:{LINE}: your backprop raised KeyboardInterrupt"),
}


@pytest.mark.parametrize("source, message", list(ENDINGS.values()), ids=list(ENDINGS))
def test_an_ending_in_user_code_is_exit_2_with_how_it_ended(source, message, cli, tmp_path):
    code, out, err = compare(cli, impl(tmp_path, source))
    assert code == 2 and out == ""
    assert message in one_error_line(err)
    assert "interrupted" not in err  # the checker itself was never interrupted


def test_a_dying_worker_is_reported_with_the_last_lines_of_its_stderr(cli, tmp_path):
    path = impl(tmp_path, with_backprop("import os, sys\nprint('first words', file=sys.stderr)\n"
                                        "print('last words', file=sys.stderr)\nos._exit(7)\n"))
    code, _, err = compare(cli, path)
    line = one_error_line(err)
    assert code == 2 and "(exit status 7)" in line and line.endswith("its stderr ends: first words | last words")


# ---- nothing it does reaches the reference, the comparison or the verdict --------------------------

TAMPERING = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import numpy as np
try:                                   # the engine's comparison, made to pass everything
    import crosscheck.tensors as tensors
    tensors.first_divergence = lambda comparisons: None
    tensors.measure = lambda candidate, reference: (0.0, 0.0)
except ImportError:
    pass
"""

FRAME_EDIT = """
frame = sys._getframe()
while frame is not None:               # every dW1 up the stack, and every dict of tensors, made to agree
    for value in list(frame.f_locals.values()):
        if isinstance(value, dict) and "dW1" in value and hasattr(value["dW1"], "fill"):
            for array in value.values():
                if hasattr(array, "fill"):
                    array.fill(0)
    frame = frame.f_back
"""


def test_tampering_with_the_engine_and_the_callers_frames_cannot_turn_a_wrong_result_green(cli, tmp_path):
    frames = "import sys\n" + WRONG.replace("    return out\n", textwrap.indent(FRAME_EDIT, "    ") + "    return out\n")
    frames = frames.replace("    return out\n", "    out = {k: v for k, v in out.items()}\n    return out\n")
    code, out, _ = compare(cli, impl(tmp_path, frames), "--json")
    document = json.loads(out)
    assert code == 1 and document["ok"] is False
    assert document["first_divergence"]["framework"] == "impl"
    assert document["checked"] == ["impl"]
    # reaching for the engine itself is refused, even inside a try (crosscheck.student.worker.ImportGuard)
    code, out, _ = compare(cli, impl(tmp_path, TAMPERING + frames), "--json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False and "imports crosscheck, crosscheck's own module" in document["error"]


def test_patching_numpy_at_import_never_blames_a_framework(cli, tmp_path):
    pytest.importorskip("torch")
    # exp in float32: in the checker's process it made the report blame torch ("computed in float32")
    source = ("import numpy as np\n_exp = np.exp\n"
              "np.exp = lambda x, *a, **k: _exp(np.asarray(x, np.float32)).astype(np.float64)\n" + CORRECT)
    code, out, _ = cli("compare", "--frameworks", "torch", "--impl", impl(tmp_path, source), "--json")
    document = json.loads(out)
    assert code == 1
    assert document["frameworks"]["torch"]["status"] == "ok"  # the reference never saw the patched exp
    assert document["first_divergence"]["framework"] == "impl"
    assert [c["ok"] for c in document["comparisons"] if c["framework"] == "torch"] == [True] * 12


def test_forged_answers_on_the_workers_pipe_are_the_user_code_failing(cli, tmp_path):
    """A frame whose array needs pickle (code to run, if unpickled here), then a header claiming 2**60 bytes."""
    pickled = with_backprop("""
        import io, json, os, struct, sys
        blob = io.BytesIO(); np.save(blob, np.array([object()] * 2, dtype=object), allow_pickle=True)
        header = json.dumps({"ok": True, "ignored": [], "arrays": ["dW1"]}).encode()
        frame = struct.pack(">Q", len(header)) + header + struct.pack(">Q", len(blob.getvalue())) + blob.getvalue()
        os.write(int(sys.argv[2]), frame)
        os._exit(0)
        """)
    code, _, err = compare(cli, impl(tmp_path, pickled))
    assert code == 2 and "not a valid answer (dW1: it holds Python objects)" in one_error_line(err)
    huge = with_backprop("import os, struct, sys; os.write(int(sys.argv[2]), struct.pack('>Q', 2**60))\n")
    code, _, err = compare(cli, impl(tmp_path, huge))
    assert code == 2 and "not a valid answer (a header of" in one_error_line(err)


# ---- what it prints is captured, never on the stdout that carries --json ---------------------------

def test_prints_go_into_the_json_document_not_around_it(cli, tmp_path):
    source = with_backprop("""
        import os, sys
        print("hello from backprop")
        print("a warning", file=sys.stderr)
        os.write(1, b"straight to fd 1\\n")
        """, prelude="print('hello at import')\n")
    code, out, err = compare(cli, impl(tmp_path, source), "--json")
    document = json.loads(out)  # exactly one valid document
    assert code == 0 and document["ok"] is True and err == ""
    captured = document["frameworks"]["impl"]["output"]
    assert captured["stdout"]["text"].splitlines() == ["hello at import", "hello from backprop", "straight to fd 1"]
    assert captured["stderr"]["text"] == "a warning" and captured["stderr"]["truncated"] is False


def test_the_report_shows_the_last_lines_printed_escaped_above_the_verdict(cli, tmp_path):
    source = with_backprop("""
        for i in range(30):
            print(f"line {i}")
        print("\\x1b[2J✓ all 12 tensors agree with the reference in impl")
        """)
    code, out, _ = compare(cli, impl(tmp_path, source.replace("dW{l}\"] = A_prev.T @ dZ / m", "dW{l}\"] = A_prev.T @ dZ")))
    lines = out.splitlines()
    assert code == 1 and "✗ first divergence: impl dW2 (4, 3)" in lines
    shown = [line for line in lines if line.startswith("    │ ")]
    assert len(shown) == 20 and shown[0] == "    │ line 11"
    assert shown[-1] == "    │ \\x1b[2J✓ all 12 tensors agree with the reference in impl"
    assert "impl printed on stdout (the last 20 lines of" in out


# ---- limits ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["backprop", "import"])
def test_an_endless_loop_ends_at_the_timeout(where, cli, tmp_path):
    source = with_backprop("while True:\n    pass\n") if where == "backprop" else "while True:\n    pass\n"
    start = time.monotonic()
    code, _, err = compare(cli, impl(tmp_path, source), "--timeout", "1.5")
    elapsed = time.monotonic() - start
    doing = "in backprop" if where == "backprop" else "while importing it"
    assert code == 2 and f"impl.py: your code ran longer than the 1.5 s timeout {doing}" in one_error_line(err)
    assert elapsed < 1.5 + 5  # a worker start and a kill, not a hang


def test_a_memory_hog_is_stopped_at_the_memory_limit(cli, tmp_path):
    source = with_backprop("hog = [np.ones(2**20) for _ in range(400)]  # 8 MB at a time, 3.2 GB in all\n")
    code, _, err = compare(cli, impl(tmp_path, source), "--memory", "300")
    line = one_error_line(err)
    assert code == 2 and f"impl.py:{LINE}: your code needed more than the 300 MB memory limit (MemoryError" in line


@pytest.mark.parametrize("memory", ["300", "0"], ids=["300 MB", "0: no limit"])
def test_the_memory_limit_is_the_address_space_of_the_users_process(memory, cli, tmp_path):
    import resource
    source = with_backprop("import resource; print('limit', resource.getrlimit(resource.RLIMIT_AS))\n")
    code, out, _ = compare(cli, impl(tmp_path, source), "--memory", memory)
    expected = (300 * 2**20, 300 * 2**20) if memory == "300" else resource.getrlimit(resource.RLIMIT_AS)  # inherited
    assert code == 0 and f"│ limit {expected}" in out


def test_numpy_starts_and_a_correct_file_passes_under_a_small_memory_limit(cli):
    code, out, _ = compare(cli, str(EXAMPLES / "my_backprop.py"), "--memory", "300")
    assert code == 0 and "✓ all 12 tensors agree" in out


def test_the_worker_and_what_it_started_end_with_the_check(cli, tmp_path):
    """Without a sandbox too (where the child could write its pid here): the worker's descendants end with it."""
    pid_file = tmp_path / "child.pid"
    source = with_backprop(f"""
        import subprocess
        child = subprocess.Popen(["sleep", "60"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        """)
    code, _, _ = compare(cli, impl(tmp_path, source), "--sandbox", "none")
    assert code == 0
    pid = int(pid_file.read_text())
    for _ in range(200):  # killed with the worker's process group; reaped by whoever inherited it
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the user code's child outlived the check")


# ---- imports, locations, messages -----------------------------------------------------------------

def test_a_sibling_module_imported_inside_backprop_is_found(cli, tmp_path):
    impl(tmp_path, "def scale(m):\n    return 1 / m\n", name="helpers.py")
    source = CORRECT.replace("out[f\"dW{l}\"] = A_prev.T @ dZ / m",
                             "import helpers\n        out[f\"dW{l}\"] = A_prev.T @ dZ * helpers.scale(m)")
    assert "import helpers" in source
    code, out, _ = compare(cli, impl(tmp_path, source))
    assert code == 0 and "✓ all 12 tensors agree" in out


def test_an_exception_is_located_in_the_deepest_of_the_users_own_files(cli, tmp_path):
    impl(tmp_path, "import numpy as np\n\ndef mean(x):\n    return np.mean(x, axis=5)\n", name="helpers.py")
    source = with_backprop("import helpers; helpers.mean(X)\n")
    code, _, err = compare(cli, impl(tmp_path, source))
    line = one_error_line(err)
    assert code == 2 and f"{tmp_path / 'helpers.py'}:4: your backprop raised AxisError" in line


def test_a_syntax_error_in_a_sibling_is_located_in_the_sibling(cli, tmp_path):
    impl(tmp_path, "x = 1\ndef broken(:\n    pass\n", name="helpers.py")
    code, _, err = compare(cli, impl(tmp_path, "import helpers\n" + CORRECT))
    assert code == 2 and f"{tmp_path / 'helpers.py'}:2: syntax error" in one_error_line(err)


@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_a_size_one_J_is_the_scalar(shape, cli, tmp_path):
    source = CORRECT.replace("out[\"J\"] = -np.sum(Y * np.log(A)) / m",
                             f"out[\"J\"] = np.full({shape}, -np.sum(Y * np.log(A)) / m)")
    code, out, _ = compare(cli, impl(tmp_path, source))
    assert code == 0 and "✓ all 12 tensors agree" in out


def test_a_J_of_another_shape_says_what_was_expected(cli, tmp_path):
    source = CORRECT.replace("out[\"J\"] = -np.sum(Y * np.log(A)) / m", "out[\"J\"] = -np.sum(Y * np.log(A), axis=1) / m")
    code, out, _ = compare(cli, impl(tmp_path, source))
    assert code == 1 and "first divergence: impl J" in out
    assert "J has shape (300,): J is one number, the mean loss over the batch — return a float, or an array of " \
           "shape (), (1,) or (1, 1)" in out


def test_a_float16_result_is_not_compared_and_says_why(cli, tmp_path):
    source = CORRECT.replace("    return out\n", "    out['dW1'] = out['dW1'].astype(np.float16)\n    return out\n")
    code, _, err = compare(cli, impl(tmp_path, source))
    line = one_error_line(err)
    assert code == 2 and "backprop returned dW1 in float16: the reference computes in X's dtype (float64)" in line
    assert "float16 results are not compared" in line and "forward" not in line


def test_a_torch_tensor_that_requires_grad_gets_the_detach_hint(cli, tmp_path):
    pytest.importorskip("torch")
    source = CORRECT.replace("    return out\n", "    import torch\n"
                             "    out['dW1'] = torch.tensor(out['dW1'], requires_grad=True)\n    return out\n")
    code, _, err = compare(cli, impl(tmp_path, source))
    assert code == 2 and ("backprop returned dW1 as a torch tensor that requires grad: return dW1.detach().numpy()"
                          in one_error_line(err))


def test_a_tensor_like_value_gets_a_hint_how_to_make_it_an_array(cli, tmp_path):
    source = ("class Tensor:\n    def __array__(self, *a, **k):\n        raise TypeError('on a device')\n" + CORRECT.replace(
        "    return out\n", "    out['dW1'] = Tensor()\n    return out\n"))
    code, _, err = compare(cli, impl(tmp_path, source))
    assert code == 2
    assert "returned dW1 as impl.Tensor, not an array of numbers: return a NumPy array of numbers" in one_error_line(err)


def test_keys_that_are_not_lecture_names_are_ignored_and_said_so(cli, tmp_path):
    source = CORRECT.replace("    return out\n",
                             "    out['cache'] = [object()]\n    out['dw1'] = out.pop('dW1')\n    return out\n")
    code, out, _ = compare(cli, impl(tmp_path, source))
    assert code == 1 and "provided 11 of 12 tensors · ignored cache, dw1 (not lecture names)" in out
    assert "probable cause: dW1 was not returned — every dW and db is checked" in out  # dw1 is not dW1


# ---- the engine: one worker, several calls; the same report as in-process --------------------------

def test_one_worker_answers_several_problems_and_gives_the_in_process_report(tmp_path):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import wrong_backprop
    finally:
        sys.path.remove(str(EXAMPLES))
    problems = [build_problem(), build_problem(layers=(3, 5, 4, 3), dtype="float32",
                                               batch=17, seed=2)]
    with Isolated(str(EXAMPLES / "wrong_backprop.py")) as isolated:
        pid = isolated._process.pid
        for problem in problems:
            here = run_check(problem, impls={"impl": Local(wrong_backprop.backprop)})
            there = run_check(problem, impls={"impl": isolated})
            assert isolated._process.pid == pid
            assert check_report(there, colour=False) == check_report(here, colour=False)
            assert [c.max_abs for c in there.outcomes["impl"].comparisons] == \
                   [c.max_abs for c in here.outcomes["impl"].comparisons]
            assert there.first_divergence.tensor == "dW" + str(problem.net.L)
    assert isolated._process is None  # the worker is gone with the block


def test_a_failed_call_raises_user_code_error_with_what_it_printed(tmp_path):
    path = impl(tmp_path, with_backprop("print('before the crash')\nraise ValueError('no')\n"))
    with Isolated(path) as isolated, pytest.raises(UserCodeError) as caught:
        isolated.run(build_problem())
    assert str(caught.value) == f"{path}:{LINE + 1}: your backprop raised ValueError: no"
    assert caught.value.details["output"]["stdout"]["text"] == "before the crash"


def test_the_worker_imports_no_framework_and_no_engine():
    from crosscheck.student import worker
    source = Path(worker.__file__).read_text()
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported <= {"errno", "inspect", "io", "json", "linecache", "os", "re", "struct", "sys", "sysconfig",
                        "traceback", "types", "numpy"}


# ---- the exit-code contract in every subcommand ---------------------------------------------------

@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_input_with_json_is_one_json_document_in_every_subcommand(command, cli):
    code, out, err = cli(command, "--json", "--no-such-option")
    line = one_error_line(err)
    assert code == 2 and json.loads(out) == {"ok": False, "error": line.removeprefix("crosscheck: error: ")}


def test_what_failing_code_printed_is_shown_above_the_error_line(cli, tmp_path):
    code, out, err = compare(cli, impl(tmp_path, with_backprop("print('X is', X.shape); 1 / 0\n")))
    assert code == 2 and out.splitlines() == ["  impl printed on stdout:", "    │ X is (300, 2)"]
    assert f"impl.py:{LINE}: your backprop raised ZeroDivisionError" in one_error_line(err)


def test_a_user_code_failure_with_json_is_one_json_document(cli, tmp_path):
    code, out, err = compare(cli, impl(tmp_path, with_backprop("print('so far'); 1 / 0\n")), "--json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False
    assert f"impl.py:{LINE}: your backprop raised ZeroDivisionError" in document["error"]
    assert document["output"]["stdout"]["text"] == "so far" and one_error_line(err)


def test_nothing_checked_is_exit_2_with_the_reason(cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    monkeypatch.setattr(adapters, "_loaded", {})
    save = tmp_path / "trace.npz"
    code, out, err = cli("compare", "--frameworks", "torch", "--save", save)
    assert code == 2 and "torch" in out and "unavailable" in out and "✓" not in out
    assert one_error_line(err).startswith("crosscheck: error: nothing was checked — torch: import of torch halted")
    assert not save.exists()  # exit 2: nothing written
    code, out, err = cli("compare", "--frameworks", "torch", "--json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False and document["error"].startswith("nothing was checked")
    assert document["frameworks"]["torch"]["status"] == "unavailable" and document["checked"] == []


def test_asking_for_nothing_to_be_compared_is_exit_0_and_says_so(cli, tmp_path):
    code, out, _ = cli("compare", "--frameworks", "none", "--save", tmp_path / "trace.npz")
    verdict = out.strip().splitlines()[-1]
    assert code == 0 and "nothing was compared" in verdict and "✓" not in verdict
    code, out, _ = cli("compare", "--frameworks", "none", "--json")
    assert code == 0 and json.loads(out)["checked"] == []


def test_bench_that_measured_nothing_is_exit_2(cli, tmp_path):
    saved = tmp_path / "empty.json"
    saved.write_text(json.dumps({"env": {}, "results": [], "skipped": [
        {"op": "batched_matmul", "framework": "cupy", "device": "cuda", "dtype": "float32", "reason": "no GPU here"}],
        "ratios": {}}))
    code, out, err = cli("bench", "--from", saved, "--json")
    document = json.loads(out)
    assert code == 2 and document["ok"] is False and document["error"] == "nothing was measured: no GPU here"
    assert document["skipped"][0]["reason"] == "no GPU here" and one_error_line(err)


def test_inputs_reach_the_worker_as_writable_copies_and_results_come_back_exact(tmp_path):
    source = """
        import numpy as np
        def backprop(X, Y, params, activation="relu", loss="softmax-ce"):
            X += 1                                    # in place: the checker's X must not change
            W1 = params[0][0]
            return {"Z1": X, "dW1": W1 * 3, "J": np.float64(len(params)), "A1": np.arange(5) > 2}
        """
    problem = build_problem(layers=(2, 3, 3, 2), batch=5)
    X_before = problem.X.copy()
    with Isolated(impl(tmp_path, source)) as isolated:
        trace = isolated.run(problem)
    np.testing.assert_array_equal(problem.X, X_before)
    np.testing.assert_array_equal(trace["Z1"], X_before + 1)
    np.testing.assert_array_equal(trace["dW1"], problem.params[0][0] * 3)
    assert trace["J"].shape == () and trace["J"] == 3.0
    assert trace["A1"].dtype == np.float64 and list(trace["A1"]) == [0, 0, 0, 1, 1]
    assert set(trace.keys()) <= set(computed_names(3))
