"""Run what students open (chapters, exercises) as Google Colab would: alone, in Colab's
versions, helper not installed.

Each notebook is copied on its own into an empty folder (no checkout beside it) and run under
nbval with the Python of a Colab-like virtual environment (``tests/colab_env.py``: Python 3.13,
TensorFlow 2.20.0, Keras 3.13.2, NumPy 2.1.3, Matplotlib 3.10.0, no ``resnet-book``). Its
first cell, the setup cell, must install the helper package itself: the tests point it at a
wheel built from a clean copy of this checkout through ``RESNET_BOOK_SOURCE`` (there is no
network to GitHub here).

The chapters' training cells are expensive and the book build runs them all: here chapter 1
runs top to bottom and the other chapters are cut before their first training cell.
Each exercise runs top to bottom twice (without the cells the grader skips when answered): as
shipped, where every answer raises NotImplementedError and every check must say it failed, and
answered with the solution's cells, where every check must say it passed.
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from resnet_book import checks
from resnet_grader import conventions
from tests import colab_env
from tests.nbtools import (ALL_NOTEBOOKS, ROOT, cut_before, first_index, is_answer_cell,
                           is_training_cell, read, run_nbval)

# Notebooks run top to bottom (training included); every other one is cut. One whole chapter
# shows that training, figures and checked claims work under Colab's pinned packages; the
# shortest (chapter 4, about 100 s here) does, and the book build runs every chapter whole.
FULL_RUNS = ("chapters/04_matching_dimensions.ipynb",)
CUT_TIMEOUT = 900  # seconds for a whole cut notebook under nbval (the setup cell pip-installs)
FULL_TIMEOUT = 1800

# What Colab's runtime does not set and the test runner's environment might: the notebook
# must not see them.
LEAKY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "KERAS_BACKEND",
                   "RESNET_BOOK_DATASET", "RESNET_BOOK_SOURCE", "RESNET_BOOK_REHEARSAL")
RUN_ENV = {
    "RESNET_BOOK_PROFILE": "quick",  # what a CPU runtime would pick anyway; explicit here
    "RESNET_BOOK_STRICT_CLAIMS": "1",  # the tests, unlike a student, fail on a failed claim
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def relative(path: Path) -> str:
    """The path from the repository root (the test id); the bare name outside the checkout."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def is_full_run(path: Path) -> bool:
    return relative(path) in FULL_RUNS


def cut_predicate(path: Path):
    """Where a notebook is cut: its first training cell (exercises: or first answer cell)."""
    if path.resolve().parent.name == "exercises":
        return lambda cell: is_training_cell(cell) or is_answer_cell(cell)
    return is_training_cell


def colab_copy(path: Path, folder: Path, *, full: bool) -> Path:
    """``path`` alone in ``folder`` (which must be empty), cut unless ``full``."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise ValueError(f"{folder} is not empty: a notebook must run alone")
    nb = read(path)
    if not full:
        nb = cut_before(nb, cut_predicate(path))
    target = folder / path.name
    nbformat.write(nb, target)
    return target


@functools.cache
def _environment() -> colab_env.ColabEnv | str:
    """The Colab-like venv, built once per test session; a message where it could not be."""
    try:
        return colab_env.ensure_colab_env()
    except colab_env.ColabEnvError as error:
        return f"Could not build the Colab-like environment: {error}"


def colab_environment() -> colab_env.ColabEnv:
    """The Colab-like venv, or a test failure (never a skip) saying why there is none."""
    env = _environment()
    if isinstance(env, str):
        pytest.fail(env, pytrace=False)
    return env


@functools.cache
def package_source() -> Path:
    """A clean copy of the files git sees in this checkout, for the setup cell to pip-install.

    Like ``pip install git+<repo>``, which builds from a clone: installing from the checkout
    itself would leave a ``build/`` folder in it, and setuptools reuses a stale ``build/lib``
    (a deleted module would still be installed).
    """
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.fail(f"`git ls-files` failed in {ROOT}:\n{listed.stderr}", pytrace=False)
    folder = Path(tempfile.mkdtemp(prefix="resnet-book-source-"))
    atexit.register(shutil.rmtree, folder, True)
    source = folder / "residual-networks"
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    if not (source / "pyproject.toml").exists():
        pytest.fail(f"{ROOT} has no pyproject.toml for the setup cell to install", pytrace=False)
    return source


@functools.cache
def package_wheel() -> Path:
    """The helper package built once from :func:`package_source`, for every setup cell of the
    session to install (building it anew in each run would cost seconds of CPU each time)."""
    folder = Path(tempfile.mkdtemp(prefix="resnet-book-wheel-"))
    atexit.register(shutil.rmtree, folder, True)
    built = colab_environment().pip("wheel", "--quiet", "--no-deps", "--wheel-dir",
                                    str(folder), str(package_source()))
    wheels = sorted(folder.glob("resnet_book-*.whl"))
    if built.returncode != 0 or len(wheels) != 1:
        pytest.fail(f"Could not build the helper package's wheel:\n{built.stderr}",
                    pytrace=False)
    return wheels[0]


def helper_origin(env: colab_env.ColabEnv, cwd: Path) -> str | None:
    """Where ``resnet_book`` would be imported from in ``env`` (None: not importable)."""
    probe = subprocess.run(
        [str(env.python), "-c",
         "import importlib.util; s = importlib.util.find_spec('resnet_book'); "
         "print(s.origin if s else '')"],
        cwd=cwd, capture_output=True, text=True, env=_clean_environ())
    if probe.returncode != 0:
        pytest.fail(f"Could not ask {env.python} for resnet_book:\n{probe.stderr}",
                    pytrace=False)
    return probe.stdout.strip() or None


def _clean_environ() -> dict:
    return {k: v for k, v in os.environ.items() if k not in LEAKY_VARIABLES}


def tail(text: str, limit: int = 8000) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]


def run_like_colab(path: Path, workdir: Path, *, full: bool,
                   env: colab_env.ColabEnv | None = None) -> subprocess.CompletedProcess:
    """Run ``path`` alone in an empty folder under ``workdir`` in the Colab-like venv.

    Uninstalls the helper package first, and checks afterwards that the notebook's setup cell
    installed it again without changing Colab's pinned packages.
    """
    env = env or colab_environment()
    uninstall = env.pip("uninstall", "-y", colab_env.HELPER_DISTRIBUTION)
    assert uninstall.returncode == 0, f"pip uninstall failed:\n{uninstall.stderr}"
    assert helper_origin(env, workdir) is None, (
        "resnet_book is still importable in the Colab-like environment after uninstalling it: "
        "the notebook's setup cell would not be tested")

    notebook = colab_copy(path, workdir / "notebook", full=full)
    saved = {k: os.environ.pop(k) for k in LEAKY_VARIABLES if k in os.environ}
    start = time.perf_counter()
    try:
        result = run_nbval(notebook, python=str(env.python),
                           env={"RESNET_BOOK_SOURCE": str(package_wheel()), **RUN_ENV},
                           timeout=FULL_TIMEOUT if full else CUT_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{path.name} ran past {error.timeout} s in the Colab-like environment",
                    pytrace=False)
    finally:
        os.environ.update(saved)
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    cells = len(read(notebook).cells)
    print(f"{relative(path)}: {'full' if full else 'cut'} run of {cells} cells "
          f"in {seconds:.1f} s under nbval")
    if result.returncode != 0:
        pytest.fail(f"{relative(path)} failed when run alone in the Colab-like environment "
                    f"({'whole notebook' if full else f'first {cells} cells'}); nbval's output "
                    f"ends:\n{tail(output)}", pytrace=False)

    assert_setup_cell_installed_the_helper(env, workdir, relative(path))
    return result


def assert_setup_cell_installed_the_helper(env: colab_env.ColabEnv, workdir: Path, name: str):
    """After a run: the notebook's setup cell installed the helper package into the venv,
    and that changed none of Colab's pinned packages."""
    shown = env.pip("show", colab_env.HELPER_DISTRIBUTION)
    assert shown.returncode == 0, (
        f"{name} passed, but its setup cell did not install "
        f"{colab_env.HELPER_DISTRIBUTION}:\n{shown.stdout}{shown.stderr}")
    origin = helper_origin(env, workdir)
    assert origin and str(env.root) in origin, f"resnet_book is imported from {origin}"
    versions = env.versions(tuple(colab_env.COLAB_PINS))
    if versions != colab_env.COLAB_PINS:
        colab_env.invalidate(env.root)  # rebuild it next time rather than test in a changed one
        pytest.fail(f"Installing the helper package changed Colab's packages: {versions} "
                    f"instead of {colab_env.COLAB_PINS}", pytrace=False)


def test_full_runs_exist():
    """The notebooks that must run top to bottom are there (else nothing trains here)."""
    missing = [name for name in FULL_RUNS if not (ROOT / name).exists()]
    assert not missing, f"missing notebooks: {missing}"


def test_colab_environment():
    """The Colab-like venv builds (or is reused) and has Colab's versions, and no helper."""
    env = colab_environment()
    print(f"Colab-like environment {'built' if env.created else 'reused'} "
          f"in {env.seconds:.1f} s: {env.root}")
    assert env.versions(tuple(colab_env.COLAB_PINS)) == colab_env.COLAB_PINS


@pytest.mark.parametrize("path", [p for p in ALL_NOTEBOOKS if p.parent.name == "chapters"],
                         ids=relative)
def test_notebook_runs_alone_in_colab(path, tmp_path):
    """Chapters. The exercises run whole below, answers missing and answered; answered, they
    run their solution's code (all but its hidden checks, which nbval runs in the suite)."""
    run_like_colab(path, tmp_path, full=is_full_run(path))


# --- check verdicts in the student's notebook -------------------------------------------------

EXECUTE = Path(__file__).with_name("colab_execute.py")


def solved(exercise: Path) -> nbformat.NotebookNode:
    """The exercise as a student who answered everything right has it: each cell with a
    placeholder holds the solution's cell of the same id; cells the grader skips (long
    training) are left out."""
    nb = read(exercise)
    solution = {cell.id: cell.source for cell in read(ROOT / "solutions" / exercise.name).cells}
    cells = []
    for cell in nb.cells:
        if conventions.is_skipped(cell):
            continue
        if cell.cell_type == "code" and conventions.PLACEHOLDER_LINE in cell.source:
            cell.source = solution[cell.id]
        cells.append(cell)
    nb.cells = cells
    return nb


def executed_like_colab(nb, name: str, workdir: Path, *, allow_errors: bool):
    """``nb`` run alone in an empty folder in the Colab-like venv's kernel (the setup cell
    installs the helper package), returned with its outputs."""
    env = colab_environment()
    uninstall = env.pip("uninstall", "-y", colab_env.HELPER_DISTRIBUTION)
    assert uninstall.returncode == 0, f"pip uninstall failed:\n{uninstall.stderr}"
    folder = workdir / "notebook"
    folder.mkdir(parents=True)
    source, target = folder / name, workdir / f"executed-{name}"
    nbformat.write(nb, source)
    command = [str(env.python), str(EXECUTE), str(source), str(target)]
    command += ["--allow-errors"] if allow_errors else []
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                            timeout=FULL_TIMEOUT,
                            env={**_clean_environ(), **RUN_ENV,
                                 "RESNET_BOOK_SOURCE": str(package_wheel())})
    assert result.returncode == 0, f"{name} did not run:\n{tail(result.stderr)}"
    print(f"{name}: run in {time.perf_counter() - start:.0f} s (errors allowed: {allow_errors})")
    assert_setup_cell_installed_the_helper(env, workdir, name)
    return read(target)


def check_verdicts(nb) -> list[str]:
    """The verdict line under each visible check, in order ('' where there is none)."""
    found = []
    for cell in nb.cells:
        if conventions.is_visible_check(cell):
            printed = conventions.printed_text(cell.get("outputs"))["stdout"]
            lines = [line for line in printed.splitlines()
                     if line.startswith((checks.PASSED[:1], checks.FAILED[:1]))]
            found.append(lines[-1] if lines else "")
    return found


EXERCISES = [path for path in ALL_NOTEBOOKS if path.parent.name == "exercises"]


@pytest.mark.parametrize("path", EXERCISES, ids=relative)
def test_every_check_says_passed_for_a_right_answer_in_colab(path, tmp_path):
    nb = executed_like_colab(solved(path), path.name, tmp_path, allow_errors=False)
    verdicts = check_verdicts(nb)
    assert verdicts and all(v == checks.PASSED for v in verdicts), verdicts


@pytest.mark.parametrize("path", EXERCISES, ids=relative)
def test_every_check_says_failed_for_a_missing_answer_in_colab(path, tmp_path):
    """The exercise as shipped: every answer still raises NotImplementedError. Everything
    before the first answer cell runs without an error."""
    nb = executed_like_colab(read(path), path.name, tmp_path, allow_errors=True)
    verdicts = check_verdicts(nb)
    assert verdicts and all(v.startswith(checks.FAILED) for v in verdicts), verdicts
    before = nb.cells[:first_index(nb, is_answer_cell)]
    errors = [o for c in before if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors, f"an error before the first answer cell: {errors[0].get('evalue')}"
