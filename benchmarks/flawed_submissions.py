"""Grade a handful of deliberately flawed ResNet-50 submissions, as a class would hand them in.

Writes the submissions into DIR/submissions/, grades them with the grader's own command into
DIR/out/, and prints grades.csv. The flaws are the usual ones: BatchNormalization fixed to
``training=True``, the shortcut added after the last ReLU, a projection shortcut without
stride, an endless loop, a notebook saved by Colab with a marker line deleted, a truncated
file, and the untouched exercise.

    python -m benchmarks.flawed_submissions /tmp/flawed            # then read /tmp/flawed/out
    python -m benchmarks.flawed_submissions /tmp/flawed --jobs 1 --cell-timeout 60
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from book_tools.repository import ROOT
REFERENCE = ROOT / "solutions" / "resnet50_assignment.ipynb"

from book_tools.exercises import make_exercise
from resnet_grader.conventions import marker_name


def _with(name: str, old: str, new: str, count: int = 1) -> nbformat.NotebookNode:
    """The reference with one answer cell edited (``count`` times old -> new; -1: all)."""
    nb = nbformat.read(REFERENCE, as_version=4)
    cell = next(c for c in nb.cells if marker_name(c.source) == name)
    if old not in cell.source:
        raise ValueError(f"{old!r} is not in the answer cell of {name}")
    cell.source = cell.source.replace(old, new, count)
    return nb


def _colab_saved(nb: nbformat.NotebookNode) -> str:
    """What Colab saves: the student's name and photo in each cell, no tags, a widget state."""
    data = json.loads(nbformat.writes(nb))
    data["metadata"] = {"colab": {"provenance": []},
                        "widgets": {"application/vnd.jupyter.widget-state+json": {"a": 1}},
                        "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    for cell in data["cells"]:
        cell["metadata"] = {"executionInfo": {"status": "ok", "user": {
            "displayName": "A. Student", "photoUrl": "https://lh3.googleusercontent.com/a/x"}}}
    return json.dumps(data)


def submissions() -> dict:
    solution = nbformat.read(REFERENCE, as_version=4)
    marker_deleted = nbformat.read(REFERENCE, as_version=4)
    cell = next(c for c in marker_deleted.cells if marker_name(c.source) == "ResNet50")
    cell.source = cell.source.split("\n", 1)[1]
    text = nbformat.writes(solution)
    return {
        "solution.ipynb": solution,
        "exercise_untouched.ipynb": make_exercise(solution),
        "batch_norm_always_training.ipynb": _with(
            "identity_block", "momentum=0.9)(X)", "momentum=0.9)(X, training=True)", -1),
        "shortcut_after_relu.ipynb": _with(
            "identity_block",
            "        X = layers.Add()([X, shortcut])\n    X = layers.Activation(\"relu\")(X)",
            "        X = layers.Add()([layers.Activation(\"relu\")(X), shortcut])\n"
            "    else:\n        X = layers.Activation(\"relu\")(X)"),
        "shortcut_without_stride.ipynb": _with(
            "convolutional_block", "shortcut = layers.Conv2D(F3, 1, strides=s,",
            "shortcut = layers.Conv2D(F3, 1,"),
        "endless_loop.ipynb": _with("train_resnet50", "    ### BEGIN SOLUTION\n",
                                    "    ### BEGIN SOLUTION\n    while True:\n        pass\n"),
        "colab_marker_deleted.ipynb": _colab_saved(marker_deleted),
        "truncated.ipynb": text[: len(text) // 3],
    }


def write_submissions(folder: Path) -> list[Path]:
    """Write :func:`submissions` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in submissions().items():
        path = folder / name
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--cell-timeout", type=float, default=60)
    args = parser.parse_args(argv)
    folder = args.folder / "submissions"
    count = len(write_submissions(folder))
    command = [sys.executable, "-m", "resnet_grader", "--reference", str(REFERENCE),
               "--out", str(args.folder / "out"), "--regrade",
               "--cell-timeout", str(args.cell_timeout), str(folder)]
    if args.jobs:
        command += ["--jobs", str(args.jobs)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT)
    print(f"batch of {count} in {time.perf_counter() - start:.0f} s")
    print((args.folder / "out" / "grades.csv").read_text())
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
