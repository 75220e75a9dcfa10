"""The one exception the reference raises for bad input, and how any exception reads in one line."""


class InputError(ValueError):
    """Bad input to the reference: the message names the problem in one line."""


def one_line(exc):
    """An exception as one line: 'TypeName: the first line of its message'."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
