"""Notebook hygiene, exercises in step with solutions, setup cells in step with _config.yml.

Solutions run top to bottom under nbval through pytest's own collection (see
``testpaths`` in pyproject.toml), chapters in the book build (tests/test_book.py); exercises
run here up to their first answer cell.
"""
import json
import re

import nbformat
import pytest

from book_tools import exercises, setup_cell
from resnet_grader import conventions

from .nbtools import (ALL_NOTEBOOKS, CHAPTERS, EXERCISES, ROOT, SOLUTIONS, cut_before,
                      is_answer_cell, read, run_nbval)

ids = [str(p.relative_to(ROOT)) for p in ALL_NOTEBOOKS]
ABSOLUTE_PATH = re.compile(r"(?<![\w.])(/root/|/home/|/work/|/tmp/|/usr/|[A-Z]:\\\\)")


def test_there_is_a_notebook_of_each_kind():
    assert CHAPTERS and EXERCISES and SOLUTIONS
    assert [p.name for p in EXERCISES] == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ids)
def test_notebook_is_valid_with_kernelspec_and_setup_cell(path):
    nb = read(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first = nb.cells[0]
    assert first.cell_type == "code" and first.source.startswith(setup_cell.FIRST_LINE)
    assert "remove-cell" in first.metadata.get("tags", [])


def test_every_setup_cell_agrees_with_config():
    assert setup_cell.main(["--check"]) == 0, "run python -m book_tools.setup_cell --write"
    url, branch = setup_cell.repository()
    for path in ALL_NOTEBOOKS:
        assert f'"git+{url}@{branch}"' in read(path).cells[0].source, path


@pytest.mark.parametrize("path", CHAPTERS + EXERCISES, ids=lambda p: str(p.relative_to(ROOT)))
def test_chapters_and_exercises_carry_no_outputs(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"cell {index} has outputs"


HIDDEN_FROM_READERS = {"remove-cell", "remove-input"}


@pytest.mark.parametrize("path", CHAPTERS + EXERCISES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_a_reader_sees_fits_the_page(path):
    """No line wider than the page's code box (the browser test measures the built pages)."""
    wide = [f"cell {index}: {line!r}" for index, cell in enumerate(read(path).cells)
            if cell.cell_type == "code"
            and not HIDDEN_FROM_READERS & set(cell.metadata.get("tags", []))
            for line in cell.source.splitlines() if len(line) > exercises.CODE_WIDTH]
    assert not wide, (f"{len(wide)} lines longer than {exercises.CODE_WIDTH} characters:\n"
                      + "\n".join(wide))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_solutions_keep_the_outputs_checks_compare(path):
    checks = [c for c in read(path).cells if conventions.is_visible_check(c)]
    assert checks, "a solution notebook needs visible checks"
    for cell in checks:
        assert cell.outputs, f"check without stored output:\n{cell.source[:200]}"
        assert all(o.get("name") != "stderr" for o in cell.outputs), "stderr in a check"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ids)
def test_no_absolute_paths(path):
    text = json.dumps(read(path))
    match = ABSOLUTE_PATH.search(text)
    assert match is None, f"absolute path {text[match.start():match.start() + 60]!r}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=ids)
def test_no_markdown_line_starts_with_a_percent_sign(path):
    """MyST reads a line that starts with % as a comment and drops it from the page, which
    silently cuts a sentence wrapped before "% ..." (it happened in chapter 5)."""
    comments = [line for cell in read(path).cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.lstrip().startswith("%")]
    assert not comments, f"{path.name}: rewrap these lines so they do not start with %: {comments}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_graded_cells_are_marked_and_paired(path):
    graded = [c for c in read(path).cells
              if c.cell_type == "code" and conventions.marker_name(c.source)]
    assert len(graded) >= 2
    names = [conventions.marker_name(c.source) for c in graded]
    assert len(set(names)) == len(names), f"duplicate graded names {names}"
    for cell, name in zip(graded, names):
        assert conventions.BEGIN_SOLUTION in cell.source
        assert re.search(rf"^(def|class) {re.escape(name)}\b", cell.source, re.M), name


def test_exercises_are_generated_from_solutions_byte_for_byte():
    for solution, exercise in exercises.pairs():
        assert exercise.exists(), f"missing {exercise}: run python -m book_tools.exercises"
        assert exercise.read_text() == exercises.exercise_text(solution), (
            f"{exercise.name} differs from what solutions/ generates: "
            "run python -m book_tools.exercises")


def test_generator_strips_answers_and_hidden_checks():
    solution = nbformat.v4.new_notebook()
    solution.cells = [
        nbformat.v4.new_code_cell("# GRADED FUNCTION: f\ndef f(x):\n    ### BEGIN SOLUTION\n"
                                  "    return 2 * x\n    ### END SOLUTION"),
        nbformat.v4.new_code_cell("# HIDDEN CHECK\nassert f(3) == 6"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(f(1))",
                                  outputs=[nbformat.v4.new_output("stream", text="2\n")]),
    ]
    exercise = exercises.make_exercise(solution)
    assert [c.source for c in exercise.cells] == [
        "# GRADED FUNCTION: f\ndef f(x):\n    # YOUR CODE HERE\n"
        "    raise NotImplementedError(\"Replace this line with your code.\")",
        "# NBVAL_CHECK_OUTPUT\nprint(f(1))",
    ]
    assert exercise.cells[1].outputs == []
    assert solution.cells[2].outputs, "the solution itself must be left untouched"


def test_generator_rejects_unpaired_markers():
    with pytest.raises(exercises.SolutionFormatError, match="END SOLUTION"):
        exercises.strip_solution("### BEGIN SOLUTION\nx = 1\n")


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: str(p.relative_to(ROOT)))
def test_exercise_runs_up_to_its_first_answer_cell(path, tmp_path):
    nb = read(path)
    cut = cut_before(nb, is_answer_cell)
    assert 1 < len(cut.cells) < len(nb.cells)
    target = tmp_path / path.name
    nbformat.write(cut, target)
    result = run_nbval(target)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("path", SOLUTIONS + EXERCISES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_question_has_a_folded_model_answer(path):
    """A question leaves room for the student's answer, then a model answer folded away
    (<details>, which Jupyter, Colab and the book all fold)."""
    cells = read(path).cells
    questions = [i for i, c in enumerate(cells)
                 if c.cell_type == "markdown" and "**Question.**" in c.source]
    for index in questions:
        following = [c.source for c in cells[index + 1:index + 4] if c.cell_type == "markdown"]
        answers = [s for s in following if s.startswith("<details>\n<summary>Model answer")]
        assert answers, f"cell {index}: a question without a model answer after it"
        assert answers[0].rstrip().endswith("</details>") and len(answers[0]) > 300


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_visible_check_has_a_hint(path):
    checks = [c for c in read(path).cells if conventions.is_visible_check(c)]
    missing = [c.source.splitlines()[1] for c in checks if not conventions.hints(c.source)]
    assert not missing, f"visible checks without a # HINT: line: {missing}"
