"""The one exception the reference raises for bad input."""


class InputError(ValueError):
    """Bad input to the reference: the message names the problem in one line."""
