"""The repository's three packages keep to their paths.

- ``resnet_book`` (what notebooks import, what Colab installs) needs only Keras, NumPy and
  Matplotlib (and a backend), and imports nothing of the grader or the authors' tools;
- ``resnet_grader`` (the instructors' path) never imports Keras, NumPy or the helper: it starts
  in well under a second and runs where Keras is absent;
- ``book_tools`` (the authors' tools) may read the grader's conventions, not the helper;
- no module imports itself through others (no import cycle).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from book_tools.repository import CACHE, ROOT, SOLUTIONS

PACKAGES = ("resnet_book", "resnet_grader", "book_tools")
STDLIB = set(sys.stdlib_module_names)
# Third-party modules each package may import (top-level names), beyond the standard library.
ALLOWED = {
    "resnet_book": {"keras", "numpy", "matplotlib", "myst_nb", "IPython",
                    "jax", "tensorflow", "torch"},  # devices.py asks whichever backend runs
    "resnet_grader": {"nbformat", "nbval", "pytest"},
    "book_tools": {"nbformat", "nbclient", "yaml", "playwright", "resnet_grader",
                   "sphinx", "jupyter_cache",  # sphinx_ext runs inside the book's build
                   "pybtex", "sphinxcontrib"},  # and registers citations' styles there
}


def modules(package: str) -> dict[str, Path]:
    folder = ROOT / package
    found = {}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


ALL_MODULES = {name: path for package in PACKAGES for name, path in modules(package).items()}


def imports(name: str, path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions too), as absolute names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            # `from . import models` imports a submodule
            found.update(f"{module}.{alias.name}" for alias in node.names
                         if f"{module}.{alias.name}" in ALL_MODULES)
    return found


def project_edges() -> dict[str, set[str]]:
    edges = {}
    for name, path in ALL_MODULES.items():
        targets = set()
        for module in imports(name, path):
            # importing a.b.c runs a, a.b and a.b.c
            parts = module.split(".")
            targets.update(".".join(parts[:i]) for i in range(1, len(parts) + 1)
                           if ".".join(parts[:i]) in ALL_MODULES)
        # a package's own __init__ runs before any of its modules: not a cycle to report
        edges[name] = {t for t in targets if t != name and not name.startswith(t + ".")}
    return edges


def test_every_package_is_found():
    assert {name.split(".")[0] for name in ALL_MODULES} == set(PACKAGES)
    assert "resnet_grader.conventions" in ALL_MODULES


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a module graph, each as a path that ends where it starts."""
    state: dict[str, str] = {}
    found = []

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_the_cycle_search_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"b"}}) == []


def test_no_import_cycle():
    found = cycles(project_edges())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_what_its_path_allows(package):
    wrong = {}
    for name, path in modules(package).items():
        outside = {module.split(".")[0] for module in imports(name, path)} - {package} - STDLIB
        if outside - ALLOWED[package]:
            wrong[name] = sorted(outside - ALLOWED[package])
    assert not wrong, f"{package} imports what its path must not: {wrong}"


def _grader_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["optional-dependencies"]["grader"]


@pytest.fixture(scope="module")
def grader_venv():
    """A virtual environment with the grader's declared dependencies and nothing else: no
    Keras, no NumPy. The grader runs in it from the checkout."""
    venv = CACHE / "grader-venv"
    stamp = venv / "requirements.txt"
    wanted = "\n".join(_grader_requirements()) + "\n"
    python = venv / "bin" / "python"
    if not (stamp.exists() and stamp.read_text() == wanted and python.exists()):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        install = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                                  "--disable-pip-version-check", *_grader_requirements()],
                                 capture_output=True, text=True, timeout=600)
        assert install.returncode == 0, install.stderr[-2000:]
        stamp.write_text(wanted)
    return python


def test_grader_describes_an_assignment_where_keras_is_absent(grader_venv):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    absent = subprocess.run([str(grader_venv), "-c", "import keras"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert absent.returncode != 0 and "No module named 'keras'" in absent.stderr
    start = time.perf_counter()
    described = subprocess.run(
        [str(grader_venv), "-m", "resnet_grader", "--reference",
         str(SOLUTIONS / "resnet50_assignment.ipynb"), "--describe"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - start
    assert described.returncode == 0, described.stderr
    assert "identity_block: 3 points" in described.stdout
    assert "hidden check 1" in described.stdout
    print(f"--describe without Keras: {seconds:.2f} s")


def test_grader_starts_in_well_under_a_second(grader_venv):
    code = ("import time; start = time.perf_counter(); import resnet_grader.cli, sys; "
            "print(time.perf_counter() - start, 'keras' in sys.modules, 'numpy' in sys.modules)")
    result = subprocess.run([str(grader_venv), "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    seconds, keras_loaded, numpy_loaded = result.stdout.split()
    assert (keras_loaded, numpy_loaded) == ("False", "False")
    assert float(seconds) < 0.5, f"importing the grader took {float(seconds):.2f} s"
