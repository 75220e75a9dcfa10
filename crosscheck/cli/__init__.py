"""The `crosscheck` command: compare (the default), gradcheck, train, bench, bugs, tune, analyze, grade.

Each subcommand is a module here with two functions, add_arguments(parser) and run(args) -> int, which
only declares its options, calls the engine (crosscheck.check, .training, .benchmarks, .bugs) and prints
what crosscheck.render makes of the result; and EXAMPLES, the end of its --help: "examples:", then one line each,
a command as it is typed (it must parse) and, after two spaces or more, what it does.

The exit code is the contract, in every subcommand: 0 everything checked agrees, 1 a mismatch, 2 bad input,
an implementation that fails, or nothing checked at all.  Exit 2 ends here: one line on stderr, nothing
written, and with --json exactly one JSON document on stdout, {"ok": false, "error": "…", …}.
"""
import argparse
import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything can import TensorFlow

from crosscheck import output  # noqa: E402
from crosscheck.errors import worded  # noqa: E402
from crosscheck.reference.errors import InputError  # noqa: E402

# name -> (module, one-line help)
COMMANDS = {
    "compare": ("crosscheck.cli.compare", "check every tensor of the network in each framework (default)"),
    "gradcheck": ("crosscheck.cli.gradcheck", "check the reference's gradients against finite differences"),
    "train": ("crosscheck.cli.train", "train the same network in every framework and compare the runs"),
    "bench": ("crosscheck.cli.bench", "time batched matmul and training steps across frameworks"),
    "bugs": ("crosscheck.cli.bugs", "run the catalogue of classic backprop mistakes through the checks"),
    "tune": ("crosscheck.cli.tune", "random search of α, λ and the width on a dev split; the best again in Keras"),
    "analyze": ("crosscheck.cli.analyze", "error analysis: bias and variance, the confusion matrix, the surest mistakes"),
    "grade": ("crosscheck.cli.grade", "grade a class's submissions: each in its own worker, points, CSV, Gradescope"),
}


EXAMPLES = """\
examples:
  crosscheck compare --impl my_backprop.py      check your backprop against the reference, tensor by tensor
  crosscheck compare                            the reference against PyTorch, TensorFlow, Keras and JAX
  crosscheck grade submissions/ --out graded/   grade a class
  crosscheck COMMAND --help                     each command's options and examples
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError(message)


def build_parser():
    from crosscheck import __version__
    parser = _Parser(prog="crosscheck", description="The lecture's network, checked tensor by tensor in every framework.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"crosscheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip(),
                                 epilog=getattr(module, "EXAMPLES", None),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["compare", *argv]  # bare `crosscheck` is `crosscheck compare`
    wants_json = "--json" in argv  # until the options are parsed: a bad option gets a JSON document too
    try:
        args = build_parser().parse_args(argv)
        wants_json = bool(getattr(args, "json", False))
        return args.run(args)
    except (InputError, argparse.ArgumentTypeError) as exc:
        return fail(worded(exc, "flag"), wants_json, getattr(exc, "details", None), getattr(exc, "report", None))
    except KeyboardInterrupt:
        return fail("interrupted", wants_json, code=130, prefix="crosscheck: ")
    except BrokenPipeError:  # `crosscheck … | head`: the reader has gone; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def fail(message, wants_json, details=None, report=None, code=2, prefix="crosscheck: error: "):
    """The end of a run that failed: the JSON document or the report on stdout, one line on stderr."""
    if wants_json:
        document = {"ok": False, "error": message}
        document.update((key, value) for key, value in (details or {}).items() if key not in document)
        output.emit_json(document)
    elif report:
        print(report)
    print(f"{prefix}{message}", file=sys.stderr)
    return code
