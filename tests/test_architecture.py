"""The shape of the house: data flows one way (cli → classroom → render → student, course → engine → adapters →
reference), no import cycles, one framework per folder listed once, installed names that are ours alone, and an
installed wheel that works from anywhere — even from a folder holding a student's reference.py and adapters/."""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crosscheck import adapters

ROOT = Path(__file__).resolve().parents[1]
# the repository's folders and the names they are installed under (pyproject.toml's package-dir)
PACKAGES = {"reference": "crosscheck.reference", "adapters": "crosscheck.adapters", "crosscheck": "crosscheck"}


def module_name(path):
    folder, *parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join([PACKAGES[folder], *parts])


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}

# each part of the house and the parts it may import (besides itself)
BASE = ("crosscheck.errors", "crosscheck.output", "crosscheck.console")
ALLOWED = {
    "package": {"classroom"},  # crosscheck/__init__.py: crosscheck.check and Report, loaded on first use
    "reference": set(),
    "adapters": {"reference"},
    "base": {"reference"},
    "engine": {"reference", "adapters", "base"},
    "student": {"reference", "base", "engine"},
    "course": {"reference", "adapters", "base", "engine"},
    "benchmarks": {"reference", "adapters", "base"},
    "bugs": {"reference", "adapters", "base", "engine", "student", "course"},
    "render": {"reference", "adapters", "base", "engine", "student", "course", "bugs", "benchmarks"},
    "classroom": {"reference", "adapters", "base", "engine", "student", "render"},
    "cli": {"package", "reference", "adapters", "base", "engine", "student", "course", "bugs", "benchmarks", "render",
            "classroom"},
}


def part(name):
    """The part of the house a module belongs to: reference, adapters, base, engine, student, …, cli."""
    if name in BASE:
        return "base"
    if name == "crosscheck":
        return "package"
    if name == "crosscheck.__main__":
        return "cli"
    first = name.split(".")[1]
    return first if first in ALLOWED else "base"


def imports(name):
    """The project modules a module imports, anywhere in it (lazy imports inside functions count too)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` depends on the module; `from module import name` on the module
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_data_flows_one_way(name):
    """Each part imports only the parts below it: the engine never the command line, rendering or the classroom."""
    mine = part(name)
    upward = sorted(target for target in imports(name) if part(target) not in ALLOWED[mine] | {mine})
    assert not upward, (f"{name} ({mine}) imports {', '.join(f'{t} ({part(t)})' for t in upward)}; {mine} may import "
                        f"only {', '.join(sorted(ALLOWED[mine])) or 'itself'}")


def test_nothing_imports_the_top_level_names_reference_or_adapters():
    """Inside the project they are crosscheck.reference and crosscheck.adapters, as installed."""
    files = [p for folder in ("crosscheck", "reference", "adapters", "tests", "bench") for p in (ROOT / folder).rglob("*.py")]
    for path in files + [ROOT / "conftest.py"]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            bad = [n for n in names if n.split(".")[0] in ("reference", "adapters")]
            assert not bad, f"{path.relative_to(ROOT)}:{node.lineno} imports {bad[0]}: write crosscheck.{bad[0]}"


def test_the_installed_packages_are_the_folders():
    tomllib = pytest.importorskip("tomllib")
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    folders = sorted(module_name(p) for package in PACKAGES for p in (ROOT / package).rglob("__init__.py"))
    assert sorted(listed) == folders


def test_no_import_cycles():
    graph = {name: imports(name) for name in MODULES}
    state, stack = {}, []

    def visit(name):
        state[name] = "open"
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_frameworks_are_imported_only_inside_adapters():
    frameworks = {"torch", "tensorflow", "jax", "keras", "optax", "cupy"}
    for name, path in MODULES.items():
        if name.startswith("crosscheck.adapters."):
            continue
        tree = ast.parse(path.read_text(), str(path))
        used = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        used |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and not node.level}
        assert not used & frameworks, f"{name} imports {', '.join(sorted(used & frameworks))}"


def test_each_framework_folder_is_in_the_registry_with_its_roles():
    folders = sorted(p.name for p in (ROOT / "adapters").iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(adapters.FRAMEWORKS)
    for name, framework in adapters.FRAMEWORKS.items():
        present = sorted(role for role in adapters.ROLES if (ROOT / "adapters" / name / f"{role}.py").exists())
        assert present == sorted(framework.roles), f"adapters/{name}/ has {present}, the registry says {framework.roles}"


def test_importing_crosscheck_and_its_pytest_plugin_imports_no_framework_and_not_even_numpy():
    """`import crosscheck` is free (crosscheck.check loads the API on first use), and so is the pytest plugin
    that every pytest run of an environment with the package loads."""
    heavy = ("numpy", "torch", "tensorflow", "jax", "keras", "optax", "cupy", "matplotlib")
    code = ("import sys, crosscheck, crosscheck.classroom.pytest_plugin; "
            f"print([m for m in sys.modules if m.split('.')[0] in {heavy!r} or "
            "m.startswith(('crosscheck.reference', 'crosscheck.adapters', 'crosscheck.engine'))])")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    code = ("import sys, crosscheck; crosscheck.check; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy) - {'numpy'}!r}))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", "the API imports a framework before a check asks for one"


def test_the_pytest_plugin_is_declared_as_a_pytest11_entry_point():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"crosscheck": "crosscheck.classroom.pytest_plugin"}
    import crosscheck.classroom.pytest_plugin as plugin
    assert callable(plugin.pytest_addoption) and callable(plugin.crosscheck)


STUDENT_FILES = {  # a student's folder as a new user's might be: names that once shadowed the package's own
    "reference.py": "raise ImportError('the student reference.py was imported')\n",
    "adapters/__init__.py": "raise ImportError('the student adapters/ was imported')\n",
}


@pytest.mark.slow
def test_an_installed_wheel_runs_from_a_folder_holding_reference_py_and_adapters(tmp_path, wheel):
    """pip wheel, a fresh virtual environment with NumPy only, and the commands and the Python API run from a folder
    that is not the checkout and holds a student's reference.py and adapters/ package."""
    venv, folder = tmp_path / "venv", tmp_path / "student"
    (folder / "adapters").mkdir(parents=True)
    for name, text in STUDENT_FILES.items():
        (folder / name).write_text(text)
    (folder / "homework.py").write_text((ROOT / "examples" / "my_backprop.py").read_text())
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", python, "install", "--no-compile", "-c", ROOT / "constraints.txt", wheel],
                   check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*argv):
        return subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=300)

    installed = run(python, "-c", "import importlib.metadata as m; print(sorted({f.parts[0] for f in "
                                  "m.distribution('backprop-crosscheck').files if f.suffix == '.py'}))")
    assert installed.stdout.strip() == "['crosscheck']", installed.stdout  # nothing else at the top level
    where = run(python, "-c", "import crosscheck, crosscheck.reference as r, crosscheck.adapters as a; "
                              "print(crosscheck.__file__, r.__file__, a.__file__)")
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout and where.stdout.count(str(venv)) == 3
    version = run(venv / "bin" / "crosscheck", "--version")
    assert version.returncode == 0 and version.stdout.split()[-1] == where_version(python, folder, env)
    compare = run(venv / "bin" / "crosscheck", "compare", "--impl", "homework.py", "--json")
    assert compare.returncode == 0, compare.stderr
    document = json.loads(compare.stdout)
    assert document["ok"] and document["config"]["layers"] == [2, 4, 3]
    module = run(python, "-m", "crosscheck", "compare", "--impl", "homework.py", "--probe", "lecture")
    assert module.returncode == 0, module.stderr
    api = run(python, "-c", "import crosscheck; r = crosscheck.check('homework.py'); print(r.ok, len(r.comparisons))")
    assert api.returncode == 0 and api.stdout.split() == ["True", "12"], api.stderr
    plugin = run(python, "-c", "from importlib.metadata import entry_points; "
                               "print([e.value for e in entry_points(group='pytest11') if e.name == 'crosscheck'])")
    assert plugin.stdout.strip() == "['crosscheck.classroom.pytest_plugin']"
    bench = run(venv / "bin" / "crosscheck", "bench", "--quick", "--frameworks", "numpy", "--configs", "lecture",
                "--dtypes", "float64", "--no-self-check", "--json")  # both ops from the wheel, the fewest cases
    assert bench.returncode == 0, bench.stderr
    assert {r["op"] for r in json.loads(bench.stdout)["results"]} == {"batched_matmul", "train_step"}


def where_version(python, folder, env):
    return subprocess.run([python, "-c", "import crosscheck; print(crosscheck.__version__)"], cwd=folder, env=env,
                          capture_output=True, text=True, check=True).stdout.strip()
