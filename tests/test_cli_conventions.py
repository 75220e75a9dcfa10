"""The command line as people expect it: examples at the end of every --help (each one parses), one name for one
thing in every subcommand (--examples M, --batch-size B; the old --batch still works, hidden), `compare --impl`
against the reference alone unless --frameworks says more, and the pip command for a framework not installed."""
import json
import shlex
import sys

import pytest

from crosscheck import adapters
from crosscheck.cli import COMMANDS, build_parser


def help_of(name, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    return capsys.readouterr().out


def examples_of(text):
    """The command lines of a --help's examples: after "examples:", each line's command (before two spaces)."""
    lines = text.split("\nexamples:\n", 1)[1].splitlines()
    return [line.strip().split("  ")[0] for line in lines if line.strip().startswith("crosscheck ")]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_help_ends_with_examples_that_parse(name, capsys):
    text = help_of(name, capsys)
    commands = examples_of(text)
    assert len(commands) >= 2, text[-500:]
    for command in commands:
        argv = shlex.split(command.split(" > ")[0])[1:]
        if "--help" in argv:
            continue
        parsed = build_parser().parse_args(argv)   # a bad example would raise (crosscheck.cli._Parser.error)
        assert parsed.command == name, command


def test_the_top_level_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    assert examples_of(capsys.readouterr().out)[0] == "crosscheck compare --impl my_backprop.py"


@pytest.mark.parametrize("name", ["compare", "gradcheck"])
def test_examples_is_the_name_for_how_many_and_batch_still_works_unseen(name, capsys):
    parser = build_parser()
    assert parser.parse_args([name, "--examples", "7"]).batch == 7
    assert parser.parse_args([name, "--batch", "7"]).batch == 7       # an old script keeps working
    assert parser.parse_args([name]).batch == 300
    text = help_of(name, capsys)
    assert "--examples M" in text and "--batch " not in text and "--batch M" not in text


def test_compare_with_an_impl_checks_the_reference_only_and_says_how_to_add_the_frameworks(cli):
    code, out, _ = cli("compare", "--impl", "examples/my_backprop.py", "--probe", "lecture")
    assert code == 0 and out.splitlines()[-1] == (
        "frameworks: none compared (the reference is itself checked against them by `crosscheck compare`); "
        "--frameworks all adds PyTorch, TensorFlow, Keras and JAX")
    code, out, _ = cli("compare", "--impl", "examples/my_backprop.py", "--probe", "lecture", "--json")
    assert code == 0 and set(json.loads(out)["frameworks"]) == {"impl"}
    assert build_parser().parse_args(["compare"]).frameworks is None  # decided in run(): all without --impl


def test_compare_with_frameworks_all_adds_them(cli, monkeypatch):
    for name in adapters.having("check"):  # none installed: each says so, with the pip command
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setattr(adapters, "_loaded", {})
    code, out, _ = cli("compare", "--impl", "examples/my_backprop.py", "--probe", "lecture", "--frameworks", "all",
                       "--json")
    frameworks = json.loads(out)["frameworks"]
    assert set(frameworks) == {"impl", *adapters.having("check")}
    assert frameworks["torch"]["reason"].endswith("(pip install 'backprop-crosscheck[torch]')")
    assert frameworks["jax"]["reason"].endswith("(pip install 'backprop-crosscheck[jax]')")
    assert frameworks["tensorflow"]["reason"].endswith("(pip install 'backprop-crosscheck[tensorflow]')")


def test_a_framework_not_installed_says_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(adapters.Unavailable) as excinfo:
        adapters.setup("torch")
    assert str(excinfo.value).startswith("torch: ") and \
        str(excinfo.value).endswith("(pip install 'backprop-crosscheck[torch]')")
    assert {name: f.pip for name, f in adapters.FRAMEWORKS.items()} == {
        "numpy": None, "torch": "pip install 'backprop-crosscheck[torch]'",
        "tensorflow": "pip install 'backprop-crosscheck[tensorflow]'", "jax": "pip install 'backprop-crosscheck[jax]'",
        "keras": "pip install 'backprop-crosscheck[tensorflow]'", "cupy": "pip install cupy-cuda12x"}


def test_every_extra_a_framework_names_is_in_pyproject():
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path
    extras = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    named = {f.install for f in adapters.FRAMEWORKS.values() if f.install and not f.install.startswith("cupy")}
    assert named <= set(extras), named - set(extras)
