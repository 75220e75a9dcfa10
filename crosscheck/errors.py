"""Errors that end the command with one line and exit code 2."""
from crosscheck.reference.errors import InputError


class UsageError(InputError):
    """A bad option, name, file or user implementation: one line, exit code 2, nothing written.

    details  more for the --json error document, which is {"ok": false, "error": message, **details}
    report   text for stdout before the error line, without --json (e.g. the report of a run that checked nothing)
    """

    def __init__(self, message, details=None, report=None):
        super().__init__(message)
        self.details = details or {}
        self.report = report


class UserCodeError(UsageError):
    """The user's implementation failed: it raised, returned what cannot be compared, ended its process, ran
    longer than --timeout or needed more than --memory.  details["output"]: what it printed, when captured.

    kind   how: exception, result (not comparable), exit, interrupt, memory, … (None: its process ended)
    where  the place in the user's files ("impl.py:12"), when known
    """

    def __init__(self, message, details=None, report=None, kind=None, where=None):
        super().__init__(message, details, report)
        self.kind, self.where = kind, where
