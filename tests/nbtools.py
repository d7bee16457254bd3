"""Shared notebook plumbing for the tests: find cells, cut notebooks, run nbval."""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from book_tools import repository
from book_tools.repository import ROOT
from resnet_grader.conventions import is_answer_cell  # noqa: F401 (the tests' name for it)

CHAPTERS = sorted(repository.CHAPTERS.glob("*.ipynb"))
EXERCISES = sorted(repository.EXERCISES.glob("*.ipynb"))
SOLUTIONS = sorted(repository.SOLUTIONS.glob("*.ipynb"))
ALL_NOTEBOOKS = CHAPTERS + EXERCISES + SOLUTIONS

# A training cell is one that calls the book's training path (resnet_book.train or
# resnet_book.train_seeds), or the assignment's own (train_resnet50, whose answer cell is cut
# too).
TRAINING_CALL = re.compile(r"\b(rb\.train|rb\.train_seeds|train_resnet50)\(")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def chapter_cells(chapter: str, starts: tuple[str, ...], *, folder: str = "chapters",
                  **names) -> tuple[dict, list[str]]:
    """Run the chapter's code cells that start with one of ``starts`` (and nothing else), in
    a namespace holding keras, layers, np, rb and ``names``; return the namespace they filled
    and the first line of each cell run. ``folder`` holds the notebook ("solutions" for an
    exercise's reference)."""
    import keras
    import numpy as np
    from keras import layers

    import resnet_book

    namespace = {"keras": keras, "layers": layers, "np": np, "rb": resnet_book, **names}
    ran = []
    for cell in read(ROOT / folder / chapter).cells:
        if cell.cell_type == "code" and cell.source.startswith(starts):
            exec(compile(cell.source, chapter, "exec"), namespace)
            ran.append(cell.source.split("\n", 1)[0])
    return namespace, ran


def is_training_cell(cell) -> bool:
    return cell.cell_type == "code" and bool(TRAINING_CALL.search(cell.source))


def first_index(nb, predicate) -> int:
    """Index of the first cell matching ``predicate``, or the number of cells."""
    return next((i for i, cell in enumerate(nb.cells) if predicate(cell)), len(nb.cells))


def cut_before(nb, predicate) -> nbformat.NotebookNode:
    """A copy of ``nb`` holding only the cells before the first that matches."""
    cut = copy.deepcopy(nb)
    cut.cells = cut.cells[: first_index(nb, predicate)]
    return cut


def run_nbval(notebook: Path, *, python: str = sys.executable, env: dict | None = None,
              cwd: Path | None = None, timeout: float = 900, extra=()) -> subprocess.CompletedProcess:
    """Run ``notebook`` under nbval (lax: only cells marked NBVAL_CHECK_OUTPUT are compared)."""
    command = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval-lax",
               "--nbval-current-env", "--nbval-cell-timeout=600", str(notebook), *extra]
    full_env = {**os.environ, "RESNET_BOOK_PROFILE": "quick", **(env or {})}
    return subprocess.run(command, cwd=cwd or notebook.parent, env=full_env, text=True,
                          capture_output=True, timeout=timeout)
