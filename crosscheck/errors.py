"""Errors that end a command with one line and exit code 2, worded for whoever made the call.

The engine never names a command-line flag: an error carries the field it concerns, and its message names other
fields as {field}.  The command line words them as flags, the Python API as keyword arguments:

    raise UsageError("no such file", field="impl", value="hw.py")
    worded(exc, "flag")       '--impl hw.py: no such file'          (crosscheck compare)
    worded(exc, "keyword")    "fn_or_path='hw.py': no such file"     (crosscheck.check; also str(exc))
"""
import re

from crosscheck.reference.errors import InputError

# field -> (its flag, its keyword argument), where the two differ from --field and field
NAMES = {
    "impl": ("--impl", "fn_or_path"),
    "probe": ("--probe", "probes"),
    "l2_convention": ("--l2-convention", "l2_convention"),
    "leaky_slope": ("--leaky-slope", "leaky_slope"),
    "keep_prob": ("--keep-prob", "keep_prob"),
    "batch_norm": ("--batch-norm", "batch_norm"),
    "output_limit": ("--output-limit", "output_limit"),
}
_FIELD = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def name_of(field, how):
    """The field as a flag (how="flag": --l2-convention) or a keyword argument (how="keyword": l2_convention)."""
    flag, keyword = NAMES.get(field, (f"--{field.replace('_', '-')}", field))
    return flag if how == "flag" else keyword


def _value(value, how):
    if how == "flag":
        return ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)
    return repr(tuple(value) if isinstance(value, list) else value)


class UsageError(InputError):
    """A bad option, name or file, or an implementation that cannot be checked: one line, exit code 2.

    field    the option or argument it concerns (impl, layers, style, …), or None
    value    what was given for it (shown after the field's name)
    details  more for the --json error document, which is {"ok": false, "error": message, **details}
    report   text for stdout before the error line, without --json (e.g. the report of a run that checked nothing)
    """

    def __init__(self, message, details=None, report=None, *, field=None, value=None):
        super().__init__(message)
        self.message, self.field, self.value = message, field, value
        self.details = details or {}
        self.report = report

    def worded(self, how="keyword", field=True):
        """The message with its field named as a flag (how="flag") or a keyword argument (how="keyword"); without
        the field it concerns (field=False), only its value leads (a file's path: "hw.py: no backprop in it")."""
        text = _FIELD.sub(lambda m: name_of(m.group(1), how), self.message)
        if not field:
            return f"{self.value}: {text}" if self.value is not None else text
        if self.field is None:
            return text
        head = name_of(self.field, how)
        if self.value is not None:
            head += f" {_value(self.value, how)}" if how == "flag" else f"={_value(self.value, how)}"
        return f"{head}: {text}"

    def __str__(self):
        return self.worded("keyword")


class UserCodeError(UsageError):
    """The user's implementation failed: it raised, returned what cannot be compared, ended its process, ran
    longer than the timeout or needed more than the memory limit.  details["output"]: what it printed.

    kind   how: import, exception, result (not comparable), exit, interrupt, timeout, memory, output, ended, …
    where  the place in the user's files ("impl.py:12"), when known
    """

    def __init__(self, message, details=None, report=None, kind=None, where=None, **fields):
        super().__init__(message, details, report, **fields)
        self.kind, self.where = kind, where


class GraderError(UserCodeError):
    """What the checker's own environment lacks to check the code, through no fault of the code's: a module it
    imports that is not installed here, an extra the file needs (nbformat for a notebook), a worker that cannot
    start.  A grade is `ungraded`, never 0 points; `fix` says what to install or change, for whoever runs the
    checker (an instructor, the Gradescope kit's requirements.txt).

    module   the module that is missing, when one is
    """

    def __init__(self, message, details=None, report=None, fix=None, module=None, **fields):
        super().__init__(message, details, report, kind="grader", **fields)
        self.fix, self.module = fix, module

    def worded_fix(self, how="keyword"):
        """The fix with the fields it names worded as flags or keyword arguments, like the message."""
        return _FIELD.sub(lambda m: name_of(m.group(1), how), self.fix) if self.fix else None


def worded(exc, how):
    """Any exception's message, a UsageError's with its fields named for `how` ("flag" or "keyword")."""
    return exc.worded(how) if isinstance(exc, UsageError) else str(exc)
