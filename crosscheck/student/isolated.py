"""A user's file (or notebook), imported and called in a worker process of its own.

    with Isolated("my_backprop.py", timeout=60, memory=4096, style="lecture") as impl:
        trace = impl.run(problem)                    # as often as needed, one worker

Isolated starts crosscheck/student/worker.py inside its boundary (crosscheck.student.sandbox: bwrap, an unprivileged
user, or none), in a session of its own, and talks to it over two pipes, in frames of JSON and np.save'd arrays
(never pickle).  Everything the worker sends is read as hostile: a frame's sizes are bounded by what the request
can return, names are the lecture's, values arrays of real numbers; anything else — any byte sequence, any
exception while reading it — is "not a valid answer", and a reply that comes after the deadline is a timeout.  A
call that raises, returns something that cannot be compared, ends the process, runs past the timeout, needs more
memory than the limit (its processes together), writes more than the output limit (its files and what it prints,
together) or imports what it may not is a UserCodeError: one line naming the file and line.
"""
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

from crosscheck.errors import GraderError, UsageError, UserCodeError
from crosscheck.reference.trace import computed_names
from crosscheck.student import sandbox as sandbox_module
from crosscheck.student import styles, worker
from crosscheck.student.implementation import Implementation, call_inputs, call_options, clean, resolve_style, to_trace
from crosscheck.student.notebooks import notebook_cells

STYLES_DIRECTORY = os.path.dirname(os.path.abspath(styles.__file__))
STARTUP_SECONDS = 60      # Python and NumPy starting in the worker: not the user's time
TAIL_BYTES, TAIL_LINES = 4096, 20
MAX_NAMES = 1000
WATCH_SECONDS = 0.2       # how often the processes' memory together is looked at
# autograd frameworks: the worker notes each one the code imports (a report says a grader would refuse it), and
# refuses those a grader refuses (crosscheck.student.runner.Limits.refuse)
AUTOGRAD = ("torch", "tensorflow", "keras", "tf_keras", "jax", "jaxlib", "flax", "optax", "haiku", "equinox",
            "autograd", "mxnet", "paddle", "chainer", "theano", "pytensor", "tinygrad", "mlx", "micrograd", "mygrad",
            "oneflow", "mindspore", "torchvision", "functorch", "pytorch_lightning", "lightning")
# a module's name -> the package that installs it, where the two differ (what a missing module's fix says)
PACKAGES = {"sklearn": "scikit-learn", "PIL": "pillow", "cv2": "opencv-python", "yaml": "pyyaml",
            "skimage": "scikit-image", "bs4": "beautifulsoup4", "IPython": "ipython", "mpl_toolkits": "matplotlib",
            "google": "protobuf", "attr": "attrs", "dateutil": "python-dateutil"}
# what native code says on stderr before it dies of a failed allocation
OUT_OF_MEMORY = ("memoryerror", "memory allocation", "cannot allocate memory", "bad_alloc", "out of memory",
                 "failed to map segment")


class Isolated(Implementation):
    """A user's file, imported and called in a worker process of its own; a context manager that owns the worker.

    path     the file, as the user named it (messages show it so)
    timeout  seconds per call into the user's code; the import is a call
    memory   MB of address space for the worker (RLIMIT_AS), NumPy and the user's imports included; 0: no limit
    style    lecture, dls or cs231n (STYLES): how the worker calls into the file
    layout   rows or columns; None: the style's own (dls: columns), else rows
    entry    the function or class to call (None: the style's: backprop, L_model_forward…, the CS231n class)
    output_limit  MB the code may write: its stdout and stderr and its files together (and each file: RLIMIT_FSIZE);
             past it the worker is killed and the call fails (kind "output"); None: no limit.  output_used: bytes
             the submission's earlier workers wrote, counted against it
    sandbox  the boundary: "auto", "bwrap", "user", "none" (crosscheck.student.sandbox.choose) or a Boundary
    home     what the worker's private folder holds a copy of: the student's folder or the file alone (grade);
             None: the file's folder (compare, the API; crosscheck.student.sandbox.Cell)
    processes  how many processes (threads included) the code may run at once
    refuse   autograd frameworks it may not import (AUTOGRAD): importing one is a failure of kind "forbidden"; it may
             never import crosscheck's own modules
    A file ending in .ipynb is a notebook: its code cells run in order in the worker, then it is called like a file.

    After close(), peak_memory_mb is the worker's peak resident memory (VmHWM, read just before it is stopped;
    None where that is not known: a worker that had already died, a system without /proc).
    """

    def __init__(self, path, timeout=60.0, memory=4096, name="impl", style="lecture", layout=None, entry=None,
                 output_limit=None, sandbox="auto", home=None, processes=32, refuse=(), output_used=0):
        self.style_module, self.layout = resolve_style(style, layout)
        self.path, self.name, self.timeout, self.memory = os.fspath(path), name, timeout, memory
        self.output_limit, self.output_used = output_limit, output_used
        self.boundary = sandbox if isinstance(sandbox, sandbox_module.Boundary) else sandbox_module.choose(sandbox)
        self.home, self.processes, self.refuse = home, processes, frozenset(refuse)
        self.imports = []          # autograd frameworks the code imported (not refused)
        self.written = 0           # bytes it wrote (printed and in files), once closed
        self.peak_memory_mb = None
        self.style, self.entry = self.style_module.NAME, entry
        self.loader = "notebook" if self.path.endswith(".ipynb") else "module"
        self.function = entry
        self.description = None
        self.notes = []
        self._process = self._tmp = self._requests = self._replies = self._cell = None
        self._final_output = None
        self._array_names, self._array_bytes = (), 0   # what the pending request's reply may hold
        self._watched = 0.0

    @property
    def closed(self):
        """Whether its worker has ended (or never started)."""
        return self._process is None

    # ---- the session ----

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        """Start the worker, import the file in it; UsageError for a file that cannot be checked."""
        if not os.path.exists(self.path):
            raise UsageError("no such file", field="impl", value=self.path)
        if os.path.isdir(self.path):
            raise UsageError("is a directory, not a Python file", field="impl", value=self.path)
        if not os.access(self.path, os.R_OK):
            raise UsageError("cannot read it (permission denied)", field="impl", value=self.path)
        try:
            self._start(os.path.abspath(self.path))
        except BaseException:  # a failed start (or ^C) leaves no process behind
            self.close()
            raise

    def _start(self, absolute):
        sandbox_module.harden_checker()
        self._tmp = tempfile.mkdtemp(prefix="crosscheck-impl-")  # the captures: the checker's, never the worker's
        self._captured = {stream: os.path.join(self._tmp, stream) for stream in ("stdout", "stderr")}
        extra = [] if self._builtin_style() else [os.path.abspath(self.style_module.__file__)]
        limit = self._output_left()
        self._cell = sandbox_module.Cell(self.boundary, absolute, home=self.home, output_limit=limit,
                                         processes=self.processes, extra_files=extra)
        config = {**self._cell.config(), "memory": int(self.memory), "output": int(limit or 0),
                  "frameworks": list(AUTOGRAD), "refuse": sorted(self.refuse),
                  "subreaper": self.boundary.kind != "bwrap"}
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        self._requests, self._replies = requests_w, replies_r
        try:
            with open(self._captured["stdout"], "wb") as out, open(self._captured["stderr"], "wb") as err:
                self._process = self._cell.start(
                    [self.boundary.python, "-I", "-B", "-u", self._cell.worker, str(requests_r), str(replies_w),
                     json.dumps(config)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, pass_fds=(requests_r, replies_w))
        finally:
            os.close(requests_r)
            os.close(replies_w)
        for fd in (self._requests, self._replies):
            os.set_blocking(fd, False)
            with contextlib.suppress(AttributeError, OSError):  # larger pipes: fewer wake-ups for large arrays (Linux)
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 2**20)
        if not self._cell.started(time.monotonic() + STARTUP_SECONDS):
            raise self._ended("while starting")
        meta, _ = self._receive(time.monotonic() + STARTUP_SECONDS, "while starting")
        if meta.get("ready") is None:
            raise self._malformed("its first message was not the worker's")
        load = self._style_request({"op": "load", "loader": self.loader, "path": self._cell.inside_path,
                                    "entry": self.entry})
        if self.loader == "notebook":
            load["cells"] = notebook_cells(self.path)
        reply = self._request(load, {}, "while running it" if self.loader == "notebook" else "while importing it")[0]
        self.notes = _strings(reply.get("notes"))
        kinds = reply.get("defines")
        if not isinstance(kinds, dict):
            raise self._malformed("the list of what the file defines is missing")
        if self.style == "lecture":
            self.function = self.entry or self.style_module.ENTRY
            if self.function not in kinds:
                raise self._fail(UsageError, self.style_module.needs(self.entry) + _other_style_hint(kinds),
                                 field="impl", value=self.path)
            if kinds[self.function] == "other":
                raise self._fail(UsageError, f"{self.function} is not a function", field="impl", value=self.path)
        reply = self._request(self._style_request({"op": "describe", "entry": self.entry}), {}, "while reading it")[0]
        entry = reply.get("entry")
        if not isinstance(entry, str):
            others = [clean(o, 80) for o in reply.get("others") or [] if isinstance(o, str)][:10]
            read = f" (how it was read: {'; '.join(self.notes)})" if self.notes else ""  # a skipped cell, a helper
            raise self._fail(UsageError, self.style_module.needs(self.entry, others) + read, field="impl",
                             value=self.path)
        self.function = clean(entry, 80)
        l2_name, depth = reply.get("l2_name"), reply.get("depth")
        others = reply.get("others") if isinstance(reply.get("others"), list) else []
        activation = reply.get("activation")
        self.description = {"entry": self.function, "l2_name": l2_name if isinstance(l2_name, str) else None,
                            "any_depth": reply.get("any_depth") is True,
                            "depth": depth if isinstance(depth, int) and 1 <= depth <= 100 else None,
                            "others": [clean(o, 80) for o in others[:10] if isinstance(o, str)],
                            "activation": activation if isinstance(activation, str) else None,
                            # a style that does not say runs what its module says it can
                            "extensions": _strings(reply["extensions"]) if "extensions" in reply
                            else list(self.style_module.EXTENSIONS or ()),
                            "extension_l2": reply.get("extension_l2", True) is True, "notes": self.notes}

    def _builtin_style(self):
        return os.path.dirname(os.path.abspath(self.style_module.__file__)) == STYLES_DIRECTORY

    def _style_request(self, request):
        """A request for the style: its name, and its file when the worker does not know it (styles.register)."""
        request["caller"] = self.style
        if not self._builtin_style():
            request["style_path"] = os.path.abspath(self.style_module.__file__)
        return request

    def run(self, problem):
        """The user's code on the problem, in the worker: its tensors as a Trace in rows, validated."""
        options = call_options(problem.net, self.description["l2_name"])
        request = self._style_request({"op": "call", "function": self.function, "options": options})
        self._batch = problem.X.shape[0]
        # the reply holds the lecture's tensors of this network, none larger than the widest matrix its sizes make
        widest = max((*problem.X.shape, *problem.net.sizes))
        masks = {f"D{l}" for l in range(1, problem.net.L) if problem.net.dropout(l)}  # a style may read the code's own
        self._array_names = frozenset(computed_names(problem.net)) | masks
        self._array_bytes = 16 * widest**2 + 2**16
        try:
            reply, result = self._request(request, call_inputs(problem, self.layout), f"in {self.function}")
        finally:
            self._array_names, self._array_bytes = (), 0
        ignored = reply.get("ignored", [])
        if not (isinstance(ignored, list) and len(ignored) <= MAX_NAMES and all(isinstance(k, str) for k in ignored)):
            raise self._malformed("the list of ignored keys is not a list of strings")
        said = {"notes": _strings(reply.get("notes")), "calls": _strings(reply.get("calls"))}
        try:
            return to_trace(result, [clean(k, 40) for k in ignored], problem.X, self.name, self.path, self.layout, said)
        except UsageError:
            raise
        except Exception as exc:  # whatever the arrays are, the checker does not fail on them
            raise self._malformed(f"arrays that cannot be read ({type(exc).__name__})") from None

    def close(self):
        """Stop the worker and everything it started (then, and only then, is anything written of it); keep what it
        printed and how much it wrote."""
        if self._process is not None:
            self._final_output = self.output
            self._kill()
        for fd in ("_requests", "_replies"):
            if getattr(self, fd) is not None:
                os.close(getattr(self, fd))
                setattr(self, fd, None)
        if self._cell is not None:
            self._cell.close()
            self._cell = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def output(self):
        if self._process is None or self._tmp is None:
            return self._final_output
        return {stream: tail(path) for stream, path in self._captured.items()}

    # ---- the protocol, from this side ----

    def _request(self, meta, arrays, doing):
        """Send a request, wait up to the timeout for its reply; (reply, arrays), or UserCodeError."""
        if self._process is None:
            raise UsageError("its worker has already ended", field="impl", value=self.path)
        deadline = time.monotonic() + self.timeout
        self._send(meta, arrays, deadline, doing)
        reply, result = self._receive(deadline, doing)
        if time.monotonic() > deadline:  # it answered, but late (it may have stopped the checker meanwhile)
            raise self._timed_out(doing)
        if self._flooded():  # whatever it answered: what it printed past the limit was cut off (RLIMIT_FSIZE)
            raise self._flood(doing)
        self._imported(reply.get("imports"))
        if reply.get("ok") is True:
            return reply, result
        raise self._error(reply.get("error"))

    def _imported(self, imports):
        """What the code imported that the checker cares about: crosscheck's own modules (always refused), the
        autograd frameworks (refused where `refuse` says; otherwise noted for the report)."""
        if imports is None:
            return
        if not (isinstance(imports, dict) and all(isinstance(v, list) and len(v) <= 20 and
                                                  all(isinstance(n, str) for n in v) for v in imports.values())):
            raise self._malformed("the list of its imports is not lists of names")
        own = [clean(n, 80) for n in imports.get("own", [])]
        frameworks = [clean(n, 80) for n in imports.get("frameworks", []) if n in AUTOGRAD]
        refused = [n for n in frameworks if n in self.refuse]
        if own:
            raise self._fail(UserCodeError, f"{self.path}: imports {own[0]}, crosscheck's own module (the reference, "
                                            f"the engine, the adapters): a submission computes every tensor itself",
                             kind="forbidden")
        if refused:
            raise self._fail(UserCodeError, f"{self.path}: imports {refused[0]}, an autograd framework: this "
                                            f"assignment computes the gradients by hand ({{allow}} {refused[0]} "
                                            f"lets it)", kind="forbidden")
        self.imports = list(dict.fromkeys(self.imports + frameworks))

    def _send(self, meta, arrays, deadline, doing):
        header = json.dumps({**meta, "arrays": list(arrays)}).encode()
        parts = [worker.LENGTH.pack(len(header)) + header]
        for array in arrays.values():
            npy_header, data = worker.npy_parts(array)
            parts += [worker.LENGTH.pack(len(npy_header) + data.nbytes) + npy_header, data.cast("B") if data.nbytes else b""]
        for part in parts:
            view = memoryview(part)
            while view:
                try:
                    view = view[os.write(self._requests, view):]
                except BlockingIOError:
                    self._wait(deadline, doing, write=True)
                except BrokenPipeError:
                    raise self._ended(doing) from None

    def _receive(self, deadline, doing):
        """(meta, arrays) of one frame, whatever bytes come: a frame larger than the request can return, JSON that
        is not an object or too deep, an array that is not one — anything — is not a valid answer."""
        size = worker.LENGTH.unpack(self._read(worker.LENGTH.size, deadline, doing))[0]
        if size > worker.MAX_HEADER:
            raise self._malformed(f"a header of {size} bytes")
        try:
            meta = json.loads(self._read(size, deadline, doing).decode("utf-8"))
        except UserCodeError:
            raise
        except Exception:  # not UTF-8, not JSON, nested past the parser's depth, numbers past its digits
            raise self._malformed("a header that is not JSON") from None
        names = meta.get("arrays", []) if isinstance(meta, dict) else None
        if not (isinstance(names, list) and len(names) <= MAX_NAMES and all(isinstance(n, str) for n in names)
                and len(set(names)) == len(names)):
            raise self._malformed("the names of its arrays are not distinct strings")
        unknown = [n for n in names if n not in self._array_names]
        if unknown:
            raise self._malformed(f"an array named {clean(unknown[0], 40)!r}, which the request did not ask for")
        arrays = {}
        for name in names:
            size = worker.LENGTH.unpack(self._read(worker.LENGTH.size, deadline, doing))[0]
            if size > self._array_bytes:
                raise self._malformed(f"{clean(name, 40)} announced as {size} bytes, more than any tensor of this "
                                      f"problem could be ({self._array_bytes})")
            try:
                arrays[name] = worker.npy_array(self._read(size, deadline, doing))
            except UserCodeError:
                raise
            except Exception as exc:
                raise self._malformed(f"{clean(name, 40)}: {clean(str(exc), 80)}") from None
        return meta, arrays

    def _read(self, n, deadline, doing):
        """n bytes from the worker, straight into one buffer."""
        buffer = bytearray(n)
        view, got = memoryview(buffer), 0
        while got < n:
            try:
                count = os.readv(self._replies, [view[got:]])
            except BlockingIOError:
                self._wait(deadline, doing)
                continue
            if not count:
                raise self._ended(doing)
            got += count
        return buffer

    def _wait(self, deadline, doing, write=False):
        """Until the pipe is ready; the worker's end or the deadline raise."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out(doing)
            poller = select.poll()  # not select.select: a process with many files may hand us an fd above 1024
            poller.register(self._requests if write else self._replies, select.POLLOUT if write else select.POLLIN)
            if poller.poll(1000 * min(remaining, 0.05)):  # ready, or the other end closed (the read or write says)
                return
            if self._flooded():
                raise self._flood(doing)
            if self._exited():  # a child it left behind may hold the pipe open: do not wait for its end
                raise self._ended(doing)
            self._watch(doing)

    def _watch(self, doing):
        """Every WATCH_SECONDS: the memory of every process inside together, against the memory limit (one process
        alone is held by its address-space limit)."""
        now = time.monotonic()
        if not self.memory or now - self._watched < WATCH_SECONDS:
            return
        self._watched = now
        processes = self._cell.processes(self._process)
        total = sum(rss for _, rss in processes) / 1024
        if len(processes) > 1 and total > self.memory:
            raise self._fail(UserCodeError, f"{self.path}: your code and the processes it started needed more than "
                                            f"the {self.memory} MB memory limit together ({total:.0f} MB in "
                                            f"{len(processes)} processes) {doing}", kind="memory")

    # ---- how it ended ----

    def _exited(self):
        """Whether the worker has ended, without reaping it (its pid stays ours until we kill its group)."""
        if not hasattr(os, "waitid"):  # macOS: reaped, then; its group is killed by pid all the same
            return self._process.poll() is not None
        return os.waitid(os.P_PID, self._process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def _kill(self):
        """SIGKILL to everything inside the worker's boundary (it and whatever it started, new sessions too), then
        reap it; its exit status."""
        self.written = self._printed() + (self._cell.written() or 0)
        peaks = [_peak_resident_mb(pid) for pid, _ in self._cell.processes(self._process)]
        self.peak_memory_mb = max((p for p in peaks if p is not None), default=None)
        status = self._cell.kill(self._process)
        self._process = None
        return status

    def _output_left(self):
        """Bytes the code may still write (None: no limit)."""
        return None if not self.output_limit else max(1, int(self.output_limit * 2**20) - self.output_used)

    def _printed(self):
        total = 0
        for path in self._captured.values():
            with contextlib.suppress(OSError):
                total += os.path.getsize(path)
        return total

    def _flooded(self):
        """Where the code wrote past the output limit — stdout, stderr, or "files" (its private folder) — counting
        all it wrote together, and what earlier workers of the submission wrote; None when it has not."""
        if not self.output_limit or self._tmp is None or self._cell is None:
            return None
        sizes = {}
        for stream, path in self._captured.items():
            with contextlib.suppress(OSError):
                sizes[stream] = os.path.getsize(path)
        sizes["files"] = self._cell.written() or 0
        if sum(sizes.values()) < self._output_left():
            return None
        return max(sizes, key=sizes.get)

    def _flood(self, doing, stream=None):
        stream = stream or self._flooded() or "stdout"
        what = "wrote more than the {:g} MB output limit in files" if stream == "files" else \
            "printed more than the {:g} MB output limit on " + stream
        return self._fail(UserCodeError, f"{self.path}: your code {what.format(self.output_limit)} {doing}",
                          kind="output")

    def _fail(self, error, message, **extra):
        """The worker stopped, and the error to raise, with what the user's code printed."""
        output = self.output
        self.close()
        return error(message, details={"output": output}, **extra)

    def _timed_out(self, doing):
        if doing == "while starting":  # before any of the code ran: this machine's trouble, not the code's
            return self._fail(GraderError, f"the worker process did not start within {STARTUP_SECONDS} s",
                              fix=f"crosscheck's worker did not start within {STARTUP_SECONDS} s on this machine: "
                                  f"a machine this loaded grades with fewer {{jobs}}", field="impl", value=self.path)
        return self._fail(UserCodeError, f"{self.path}: your code ran longer than the {self.timeout:g} s timeout "
                                         f"{doing}", kind="timeout")

    def _ended(self, doing):
        end = time.monotonic() + 2  # the pipe closed: the process is ending
        while not self._exited() and time.monotonic() < end:
            time.sleep(0.01)
        output = self._final_output = self.output
        status = self._kill()
        self.close()
        if status < 0:
            name = signal.Signals(-status).name if -status in signal.valid_signals() else f"signal {-status}"
            why = {signal.SIGKILL: ": out of memory?", signal.SIGSEGV: ": a crash in native code?"}.get(-status, "")
            how = f"killed by {name}{why}"
        else:
            how = f"exit status {status}"
        stderr = [line for line in (output or {}).get("stderr", {}).get("text", "").splitlines() if line.strip()]
        last = f"; its stderr ends: {clean(' | '.join(stderr[-3:]), 240)}" if stderr else ""
        details = {"output": output}
        if doing == "while starting":  # before any of the code ran: this machine's trouble, not the code's
            return GraderError(f"the worker process could not start ({how}; {{memory}} {self.memory} MB must leave "
                               f"room for Python and NumPy){last}", details=details, field="impl", value=self.path,
                               fix=f"crosscheck's worker could not start here ({how}): check {{memory}} (it must "
                                   f"leave room for Python and NumPy) and {{sandbox}} (docs/untrusted-code.md)")
        if self.memory and any(sign in line.lower() for line in stderr[-3:] for sign in OUT_OF_MEMORY):
            # native code (a BLAS, a framework's allocator) that ran out of address space and gave up
            return UserCodeError(f"{self.path}: your code needed more than the {self.memory} MB memory limit {doing} "
                                 f"({how}){last}", details=details, kind="memory")
        if self.output_limit and any((output or {}).get(s, {}).get("bytes", 0) >= self.output_limit * 2**20
                                     for s in ("stdout", "stderr")):  # killed by SIGXFSZ where it is not ignored
            return UserCodeError(f"{self.path}: your code printed more than the {self.output_limit:g} MB "
                                 f"output limit {doing}", details=details, kind="output")
        return UserCodeError(f"{self.path}: the process running your code ended {doing} without answering "
                             f"({how}){last}", details=details, kind="ended")

    def _outside(self, text):
        """The worker's words with its private paths as the user knows them."""
        return self._cell.outside(text) if self._cell is not None else text

    def _malformed(self, why):
        return self._fail(UserCodeError, f"{self.path}: the process running your code sent something that is not "
                                         f"a valid answer ({why}); did your code write to the worker's pipes?")

    def _error(self, error):
        """The UserCodeError for a worker's {"ok": false, "error": …} reply."""
        if not (isinstance(error, dict) and isinstance(error.get("message"), str)):
            return self._malformed("an error without a message")
        kind, message, located = error.get("kind"), clean(self._outside(error["message"])), error.get("where")
        place = self.path
        if (isinstance(located, list) and len(located) == 2 and isinstance(located[0], str)
                and isinstance(located[1], int)):
            own = os.path.basename(self.path)
            file = clean(self._outside(located[0]), 200)
            if "#cell" in file:  # a notebook's code cell
                notebook, cell = file.rsplit("#cell", 1)
                name = self.path if notebook == own else notebook
                place = f"{name}, code cell {cell}, line {located[1]}"
            else:
                beside = os.path.join(os.path.dirname(self.path), file)
                name = self.path if file == own else file if os.path.isabs(file) else beside
                place = f"{name}:{located[1]}"
        via = error.get("via")
        if (isinstance(via, list) and len(via) == 3 and isinstance(via[0], str) and isinstance(via[1], int)
                and isinstance(via[2], str)):  # raised in a course helper: the student's line, then the helper's
            place += f" → {clean(via[0], 200)}:{via[1]} in {clean(via[2], 80)}"
        if kind == "module":  # what this Python lacks: the grader's to install, not the code's mistake
            module = clean(error.get("module") or "", 80) or None
            text = f"{place}: {message}"
            extra = dict(fix=missing_module_fix(module), module=module, where=place)
            if self.description is not None:
                return GraderError(text, details={"output": self.output}, **extra)
            return self._fail(GraderError, text, **extra)
        if kind == "memory":
            message = (f"your code needed more than the {self.memory} MB memory limit ({message})" if self.memory else
                       f"your code ran out of memory ({message})")
            return self._fail(UserCodeError, f"{place}: {message}", kind=kind)
        hint = self._layout_hint(message) if kind in ("exception", "refused") else None
        text = f"{place}: {message}" + (f" — {hint}" if hint else "")
        if kind in ("exception", "result", "exit", "interrupt", "call", "refused") and self.description is not None:
            # the worker is alive and answers the next call: a probe may fail and the next one run
            details = {"output": self.output}
            if kind == "refused":  # why it cannot be asked this problem (the runner skips the deeper probe for it)
                details["refused"] = clean(error.get("refused") or message)
            return UserCodeError(text, details=details, kind=kind, where=place)
        return self._fail(UserCodeError, text, kind=kind)

    def _layout_hint(self, message):
        """For a matrix product whose shapes do not fit X: the layout the code expects, when it is the other one."""
        m = getattr(self, "_batch", None)
        if not m or not re.search(r"not aligned|mismatch in its core dimension|could not be broadcast|shapes? ", message):
            return None
        if not re.search(rf"\b{m}\b", message):
            return None
        if self.layout == "rows" and self.style == "lecture":
            return f"X is (m, n0) with m = {m} in the row layout: if your code expects X as (n0, m), run with {{layout}} columns"
        if self.layout == "columns" and self.style == "lecture":
            return (f"X is (n0, m) with m = {m} in the column layout: if your code expects X as (m, n0), run without "
                    f"{{layout}} columns")
        return None


def missing_module_fix(module):
    """What to do about a module the code imports that is not installed where the checker runs (one line)."""
    if not module:
        return "a module the code imports is not installed where crosscheck runs"
    package = PACKAGES.get(module, module)
    return (f"the grader's Python has no module {module}: if the course allows it, install it where crosscheck runs "
            f"(pip install {package}; the Gradescope kit: a line {package} in requirements.txt); if {module} is a "
            f"file of the student's, it was not handed in")


def _peak_resident_mb(pid):
    """The peak resident memory of a live process, in MB (Linux: VmHWM); None where it cannot be read.

    Not the rusage of wait4: its ru_maxrss counts the checker's own memory, which the child shared between the
    fork and the exec of the worker."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def tail(path, max_bytes=TAIL_BYTES, max_lines=TAIL_LINES):
    """{"text": the last lines of a capture file, "bytes": its size, "truncated": whether text is less than it}."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            f.seek(max(0, size - max_bytes))
            data = f.read(max_bytes)
    except OSError:
        return {"text": "", "bytes": 0, "truncated": False}
    lines = data.decode("utf-8", "replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # it starts mid-line
    kept = lines[-max_lines:]
    text = "\n".join(kept)
    return {"text": text, "bytes": size, "truncated": len(kept) < len(lines) or size > max_bytes}


def _strings(value, limit=50):
    """A list of strings from the worker (notes, calls, extensions), each made one clean line; [] for anything else."""
    if not isinstance(value, list):
        return []
    return [clean(item, 300) for item in value[:limit] if isinstance(item, str)]


def _other_style_hint(kinds):
    """When a file without backprop is written in a course's style, which style reads it."""
    style = styles.which(kinds)
    return f" — it looks like {styles.get(style).TITLE}: run with {{style}} {style}" if style else ""
