"""The shape of the house: data flows one way (cli → engine → adapters → reference), no import cycles, one
framework per folder listed once, and an installed wheel that works from anywhere."""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import adapters

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("reference", "adapters", "crosscheck")


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


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


def layer(name):
    if name.startswith("crosscheck.cli") or name == "crosscheck.__main__":
        return 3
    return {"reference": 0, "adapters": 1, "crosscheck": 2}[name.split(".")[0]]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_data_flows_one_way(name):
    """reference imports only reference; adapters only adapters and reference; the engine no command line."""
    upward = sorted(target for target in imports(name) if layer(target) > layer(name))
    assert not upward, f"{name} imports {', '.join(upward)}, which sit above it (cli → engine → adapters → reference)"


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
        if name.startswith("adapters."):
            continue
        tree = ast.parse(path.read_text(), str(path))
        used = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        used |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level}
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
    heavy = ("numpy", "torch", "tensorflow", "jax", "keras", "optax", "cupy", "matplotlib", "reference", "adapters")
    code = ("import sys, crosscheck, crosscheck.pytest_plugin; "
            f"print([m for m in sys.modules if m.split('.')[0] in {heavy!r}])")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    code = ("import sys, crosscheck; crosscheck.check; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy) - {'numpy', 'reference', 'adapters'}!r}))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", "the API imports a framework before a check asks for one"


def test_the_pytest_plugin_is_declared_as_a_pytest11_entry_point():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"crosscheck": "crosscheck.pytest_plugin"}
    import crosscheck.pytest_plugin as plugin
    assert callable(plugin.pytest_addoption) and callable(plugin.crosscheck)


@pytest.mark.slow
def test_an_installed_wheel_runs_from_outside_the_checkout(tmp_path):
    """pip wheel, a fresh virtual environment, and both commands run from a directory that is not the checkout."""
    wheels, venv, elsewhere = tmp_path / "wheels", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT], check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", python, "install", "-c", ROOT / "constraints.txt", *wheels.glob("*.whl")],
                   check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def crosscheck(*argv):
        return subprocess.run([venv / "bin" / "crosscheck", *argv], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=300)

    where = subprocess.run([python, "-c", "import crosscheck, adapters; print(crosscheck.__file__, adapters.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where and str(venv) in where
    plugin = subprocess.run([python, "-c", "from importlib.metadata import entry_points; "
                             "print([e.value for e in entry_points(group='pytest11') if e.name == 'crosscheck'])"],
                            cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert plugin == "['crosscheck.pytest_plugin']"  # pytest finds the plugin through the installed distribution
    bench = crosscheck("bench", "--quick", "--frameworks", "numpy", "--json")
    assert bench.returncode == 0, bench.stderr
    assert "bench/kernels.py" not in bench.stderr
    document = json.loads(bench.stdout)
    assert {r["op"] for r in document["results"]} == {"batched_matmul", "train_step"}
    assert not document["skipped"]
    steps = subprocess.run([python, "-c", "import crosscheck.bugs.steps as s; print(s.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    compare = crosscheck("compare", "--frameworks", "none", "--impl", steps, "--json")
    assert compare.returncode == 0, compare.stderr
    document = json.loads(compare.stdout)
    assert document["ok"] and document["config"]["layers"] == [2, 4, 3]
