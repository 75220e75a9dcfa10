"""One rule for every file a command writes (compare --save, train --plot, bench --save and --plot): never over
anything but a regular file, never through a symbolic link, over an existing file only with --force, and
always whole (a temporary file beside it, then one rename)."""
import os
import sys

import pytest

from crosscheck.bugs import steps


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A benchmark run saved as JSON, so that `bench --from` can write files without measuring anything."""
    from crosscheck.cli import main
    path = tmp_path_factory.mktemp("run") / "run.json"
    argv = ["bench", "--quick", "--frameworks", "numpy", "--shapes", "1x8x8x8", "--ops", "matmul", "--dtypes",
            "float32", "--json", "--save", str(path)]
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            assert main(argv) == 0
        finally:
            sys.stdout = stdout
    return path


def commands(saved_run):
    """flag -> argv writing `{target}` through that flag; each runs in a second or two."""
    return {
        "compare --save": ["compare", "--frameworks", "none", "--impl", steps.__file__, "--save", "{target}.npz"],
        "train --plot": ["train", "--frameworks", "numpy-reference", "--epochs", "2", "--plot", "{target}.png"],
        "bench --save": ["bench", "--from", saved_run, "--save", "{target}.json"],
        "bench --plot": ["bench", "--from", saved_run, "--plot", "{target}.svg"],
    }


COMMANDS = ["compare --save", "train --plot", "bench --save", "bench --plot"]


def run(cli, saved_run, command, target, *extra):
    argv = [str(a).replace("{target}", str(target)) for a in commands(saved_run)[command]]
    return cli(*argv, *extra)


def path_for(command, base):
    return base.with_name(base.name + {"compare --save": ".npz", "train --plot": ".png", "bench --save": ".json",
                                       "bench --plot": ".svg"}[command])


@pytest.mark.parametrize("command", COMMANDS)
def test_a_new_file_is_written_whole(cli, saved_run, command, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, err = run(cli, saved_run, command, tmp_path / "out")
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == [path_for(command, tmp_path / "out").name]  # no temporary file


@pytest.mark.parametrize("command", COMMANDS)
def test_an_existing_file_needs_force(cli, saved_run, command, tmp_path):
    pytest.importorskip("matplotlib")
    target = path_for(command, tmp_path / "out")
    target.write_bytes(b"an earlier result")
    code, out, err = run(cli, saved_run, command, tmp_path / "out")
    assert code == 2 and out == "" and "exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert target.read_bytes() == b"an earlier result"
    code, _, err = run(cli, saved_run, command, tmp_path / "out", "--force")
    assert code == 0, err
    assert target.read_bytes() != b"an earlier result"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_symbolic_link_is_refused_even_with_force(cli, saved_run, command, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours")
    link = path_for(command, tmp_path / "out")
    link.symlink_to(victim)
    code, out, err = run(cli, saved_run, command, tmp_path / "out", "--force")
    assert code == 2 and out == "" and "symbolic link" in err and len(err.strip().splitlines()) == 1
    assert link.is_symlink() and victim.read_text() == "not yours"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_is_refused_even_with_force(cli, saved_run, command, tmp_path):
    fifo = path_for(command, tmp_path / "out")
    os.mkfifo(fifo)
    code, out, err = run(cli, saved_run, command, tmp_path / "out", "--force")
    assert code == 2 and out == "" and "FIFO" in err and len(err.strip().splitlines()) == 1
    assert fifo.exists() and not fifo.is_file()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_directory_is_refused(cli, saved_run, command, tmp_path):
    path_for(command, tmp_path / "out").mkdir()
    code, out, err = run(cli, saved_run, command, tmp_path / "out", "--force")
    assert code == 2 and out == "" and "directory" in err and len(err.strip().splitlines()) == 1


def test_a_device_is_refused_even_with_force(cli, saved_run):
    """The null device stays a device: nothing ever renames a file over it."""
    code, out, err = cli("compare", "--frameworks", "none", "--impl", steps.__file__, "--save", os.devnull, "--force")
    assert code == 2 and out == "" and "device" in err
    assert not os.path.isfile(os.devnull)


@pytest.mark.parametrize("command", ["train --plot", "bench --plot"])
def test_a_missing_matplotlib_is_the_same_clear_error_everywhere(cli, saved_run, command, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails as if it were not installed
    code, out, err = run(cli, saved_run, command, tmp_path / "out")
    assert code == 2 and out == ""
    assert err.strip() == "crosscheck: error: --plot needs matplotlib: pip install 'backprop-crosscheck[plot]'"
    assert list(tmp_path.iterdir()) == []
