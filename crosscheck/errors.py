"""Errors that end the command with one line and exit code 2."""
from reference.errors import InputError


class UsageError(InputError):
    """A bad option, name, file or user implementation: one line, exit code 2, nothing written."""
