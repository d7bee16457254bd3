"""The ResNet-50 assignment (solutions/resnet50_assignment.ipynb), graded as an instructor would.

The grader's robustness cases (broken files, endless loops, exits, gaming) run on a tiny
assignment in test_grade.py; here the real reference is graded on four submissions in one
batch: the solution, the untouched exercise, a solution whose identity_block fixes
``training=True`` into its BatchNormalization calls (a usual mistake with its own hint: a plain
call of the model then normalizes with batch statistics while ``predict`` infers), and one
whose convolutional_block forgets the stride on its shortcut (the network built from it is
graded with the reference's block, so that one mistake costs one part).
The solution notebook itself, training run included, runs under nbval through pytest's
collection of solutions/.
"""
from __future__ import annotations

import copy
import csv
import subprocess
import sys

import nbformat
import pytest

from book_tools.exercises import make_exercise
from resnet_grader.assignment import parse_assignment, read_cells
from resnet_grader.conventions import marker_name

from .nbtools import ROOT

REFERENCE = ROOT / "solutions" / "resnet50_assignment.ipynb"
EXERCISE = ROOT / "exercises" / "resnet50_assignment.ipynb"
PARTS = {"identity_block": 3, "convolutional_block": 3, "ResNet50": 3, "train_resnet50": 1}


def fixed_training_phase() -> nbformat.NotebookNode:
    nb = nbformat.read(REFERENCE, as_version=4)
    cell = next(c for c in nb.cells if marker_name(c.source) == "identity_block")
    assert cell.source.count("momentum=0.9)(X)") == 3
    cell.source = cell.source.replace("momentum=0.9)(X)", "momentum=0.9)(X, training=True)")
    return nb


def shortcut_without_stride() -> nbformat.NotebookNode:
    nb = nbformat.read(REFERENCE, as_version=4)
    cell = next(c for c in nb.cells if marker_name(c.source) == "convolutional_block")
    assert "shortcut = layers.Conv2D(F3, 1, strides=s," in cell.source
    cell.source = cell.source.replace("shortcut = layers.Conv2D(F3, 1, strides=s,",
                                      "shortcut = layers.Conv2D(F3, 1,")
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("assignment-submissions")
    solution = nbformat.read(REFERENCE, as_version=4)
    nbformat.write(solution, folder / "solution.ipynb")
    nbformat.write(make_exercise(copy.deepcopy(solution)), folder / "exercise.ipynb")
    nbformat.write(fixed_training_phase(), folder / "fixed_training_phase.ipynb")
    nbformat.write(shortcut_without_stride(), folder / "shortcut_without_stride.ipynb")
    out = tmp_path_factory.mktemp("assignment-grades") / "out"
    result = subprocess.run([sys.executable, "-m", "resnet_grader", "--reference",
                             str(REFERENCE), "--out", str(out), str(folder)],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    return rows, out


def points(row) -> dict:
    return {name: float(row[name]) for name in PARTS}


def test_reference_declares_four_parts_worth_ten_points():
    assignment = parse_assignment(read_cells(REFERENCE))
    assert {name: part.points for name, part in assignment.parts.items()} == PARTS
    for part in assignment.parts.values():
        kinds = {check.kind for check in part.checks}
        assert kinds == {"visible", "hidden"}, (part.name, kinds)
    # the data loading, the training runs (ResNet-50 against the plain network), their plot,
    # the sentence written from them and the accuracy target are not graded
    skipped = [assignment.cells[i].source for i in assignment.skipped]
    assert any("residual=False" in source and "copy_matching_weights(" in source
               for source in skipped)   # plain-50 starts from ResNet-50's weights
    assert any("train_resnet50(network" in source for source in skipped)
    assert any("training_loss_by_run(" in source for source in skipped)
    assert any("ended with the lower training" in source for source in skipped)
    assert any('test_accuracy["ResNet-50"] >= ' in source for source in skipped)
    # every graded block and the network are checked without their shortcuts too
    for name in ("identity_block", "convolutional_block", "ResNet50"):
        sources = [assignment.cells[check.cell].source
                   for check in assignment.parts[name].checks]
        assert any("residual=False" in source for source in sources), name


def test_solution_gets_full_marks(graded):
    rows, _ = graded
    assert points(rows["solution.ipynb"]) == PARTS
    assert rows["solution.ipynb"]["status"] == "graded"


def test_untouched_exercise_gets_nothing(graded):
    rows, _ = graded
    assert rows["exercise.ipynb"]["total"] == "0"
    assert rows["exercise.ipynb"]["status"] == "graded"


def test_batch_norm_with_a_fixed_phase_loses_that_part_with_a_hint(graded):
    rows, out = graded
    assert points(rows["fixed_training_phase.ipynb"]) == {**PARTS, "identity_block": 0}
    text = (out / "feedback" / "fixed_training_phase.md").read_text()
    section = text.split("## identity_block")[1].split("\n## ")[0]
    failed = [line for line in section.splitlines() if line.endswith("**failed**")]
    assert [line.split(" (")[0].split(":")[0] for line in failed] == ["- visible check 4",
                                                                 "- hidden check 2"]
    assert "Expected:" in section and "Hint: Call every BatchNormalization layer on its " \
        "input alone" in section
    # a failed hidden check says only that it failed: none of its source reaches the student
    assert "initializer=\"ones\"" not in text and "assert" not in text


def test_a_broken_block_costs_only_its_own_part(graded):
    rows, out = graded
    assert points(rows["shortcut_without_stride.ipynb"]) == {**PARTS, "convolutional_block": 0}
    text = (out / "feedback" / "shortcut_without_stride.md").read_text()
    resnet = text.split("## ResNet50")[1].split("\n## ")[0]
    assert resnet.startswith(": passed (3 / 3 points)")
    assert ("your `convolutional_block` did not pass, so this part was run with the "
            "reference's `convolutional_block` in its place") in resnet
