"""crosscheck train — not built yet (placeholder so the command line can list it)."""


def add_arguments(parser):
    pass


def run(args):
    from .errors import UsageError
    raise UsageError("'crosscheck train' is not built yet")
