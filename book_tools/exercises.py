"""Generate the student notebooks in ``exercises/`` from the references in ``solutions/``.

The solution notebook is the single source; the markers it uses are defined in
:mod:`resnet_grader.conventions`. The exercise keeps every cell but hidden checks, with each
answer region replaced by a placeholder that raises ``NotImplementedError``, and no outputs;
each visible check starts with the reference's output and hint (``rb.expect_output``, which
prints a verdict in the student's notebook) and keeps that output in its metadata for
self-checks.

    python -m book_tools.exercises             # rewrite exercises/ from solutions/
    python -m book_tools.exercises --check     # fail if any exercise differs (the tests run this)
    python -m book_tools.exercises --execute   # first rerun each solution, storing its outputs
    python -m book_tools.exercises --execute solutions/02_residual_block.ipynb   # just one
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
import textwrap
from pathlib import Path

from resnet_grader.conventions import (BEGIN_SOLUTION as BEGIN, END_SOLUTION as END,
                                       EXPECTED_OUTPUT_CALL, GRADING_ENV, HINT, HINT_MORE,
                                       META_KEY, PLACEHOLDER, hints, is_hidden_check,
                                       is_visible_check, printed_text, text_outputs)

from .repository import ROOT

# Characters of code the book's code box shows without scrolling, at a 1280 px wide window
# (measured in Chromium on a built page): every line a reader sees, generated ones included.
CODE_WIDTH = 77

_REGION = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*$",
                     re.MULTILINE | re.DOTALL)


class SolutionFormatError(ValueError):
    """A solution notebook whose markers do not pair up."""


def strip_solution(source: str, where: str = "cell") -> str:
    """Replace every BEGIN/END SOLUTION region of ``source`` with the placeholder."""
    if source.count(BEGIN) != source.count(END):
        raise SolutionFormatError(
            f"{where}: {source.count(BEGIN)} '{BEGIN}' but {source.count(END)} '{END}' lines; "
            "every answer region needs both, on lines of their own.")
    stripped = _REGION.sub(lambda m: PLACEHOLDER.format(indent=m.group(1)), source)
    if BEGIN in stripped or END in stripped:
        raise SolutionFormatError(f"{where}: a '{BEGIN}' / '{END}' pair is out of order.")
    return stripped


def make_exercise(solution):
    """The student notebook for a solution notebook (both ``nbformat`` nodes)."""
    exercise = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(exercise.cells):
        if is_hidden_check(cell):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source, where=f"cell {index}")
            cell.outputs = []
            cell.execution_count = None
            for key in ("execution", "collapsed", "scrolled"):
                cell.metadata.pop(key, None)
        cells.append(cell)
    exercise.cells = cells
    return exercise


def _string(text: str) -> str:
    """``text`` as a Python string literal: double-quoted unless it holds double quotes only."""
    text = text.replace("\\", "\\\\")
    if '"' in text and "'" not in text:
        return "'" + text + "'"
    return '"' + text.replace('"', '\\"') + '"'


def _hint_argument(hint: str, indent: int, width: int = CODE_WIDTH) -> str:
    """``hint="..."``, split over lines of at most ``width`` characters where it is long."""
    one_line = f"hint={_string(hint)}"
    if indent + len(one_line) + 1 <= width:
        return one_line
    # never break inside a word: the pieces are joined back with a space
    lines = textwrap.wrap(hint, width - indent - len("hint=(") - 4,
                          break_on_hyphens=False, break_long_words=False)
    parts = [_string(line + " ") for line in lines[:-1]] + [_string(lines[-1])]
    pad = " " * (indent + len("hint=("))
    return "hint=(" + ("\n" + pad).join(parts) + ")"


def expected_output_call(expected: str, hint: str | None) -> str:
    """The line(s) a student's check starts with: what it should print, and the hint."""
    if '"""' in expected or "\\" in expected:
        literal = _string(expected)
    else:
        literal = '"""\\\n' + expected + '"""'
    call = f"rb.{EXPECTED_OUTPUT_CALL}({literal}"
    if hint:
        last_line = call.rsplit("\n", 1)[-1]
        call += ", " + _hint_argument(hint, len(last_line) + 2)
    return call + ")"


def student_check(source: str, outputs) -> str:
    """A visible check as the student's notebook shows it: its leading comments (without the
    hints), then the expected output and the hint, then the check's code."""
    lines = source.split("\n")
    header = 0
    while header < len(lines) and lines[header].lstrip().startswith("#"):
        header += 1
    kept = [line for line in lines[:header]
            if not (HINT.match(line) or HINT_MORE.match(line))]
    printed = printed_text(outputs)
    expected = printed["stdout"] + printed["result"]
    hint = " ".join(hints(source)) or None
    return "\n".join(kept + [expected_output_call(expected, hint)] + lines[header:])


def add_expected_outputs(exercise, solution):
    """A copy of ``exercise`` (made from ``solution`` by :func:`make_exercise`) whose visible
    checks carry the solution's text outputs in their metadata (``META_KEY``) and start with
    them, as the student's form of the check (:func:`student_check`).

    Visible checks are matched in order: the generator keeps them all, in the same order.
    """
    exercise = copy.deepcopy(exercise)

    def checks(nb):
        return [cell for cell in nb.cells if is_visible_check(cell)]

    for target, source in zip(checks(exercise), checks(solution)):
        target.metadata[META_KEY] = {"expected_output": text_outputs(source.get("outputs"))}
        target.source = student_check(source.source, source.get("outputs"))
    return exercise


def exercise_text(solution_path: Path) -> str:
    import nbformat

    solution = nbformat.read(solution_path, as_version=4)
    # Each visible check carries the reference's output in its metadata, so a student can
    # run `python -m resnet_grader --self-check` on their notebook without the reference.
    exercise = add_expected_outputs(make_exercise(solution), solution)
    return nbformat.writes(exercise) + "\n"


def pairs(root: Path = ROOT, only=None):
    """(solution, exercise) paths for every notebook in ``solutions/`` (or those in ``only``)."""
    root = Path(root)
    wanted = {Path(p).name for p in only} if only else None
    for solution in sorted((root / "solutions").glob("*.ipynb")):
        if wanted is None or solution.name in wanted:
            yield solution, root / "exercises" / solution.name


def execute_solution(path: Path, timeout: int = 900) -> None:
    """Run a solution notebook top to bottom and store its outputs.

    The stored outputs are what nbval compares the visible checks against when grading, so the
    kernel runs with the grader's fixed variables (``GRADING_ENV``: quick profile, no GPU, fixed
    hash seed, ...) on top of this process's environment, whatever machine or settings it has.
    """
    import os

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}
                   ).execute(env={**os.environ, **GRADING_ENV})
    nbformat.write(notebook, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate exercises/ from solutions/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if an exercise is not what would be generated")
    parser.add_argument("--execute", action="store_true",
                        help="first rerun every solution notebook in the grader's environment "
                             "and store its outputs")
    parser.add_argument("solutions", nargs="*", help="only these solution notebooks")
    args = parser.parse_args(argv)
    missing = [p for p in args.solutions if not (ROOT / "solutions" / Path(p).name).exists()]
    if missing:
        parser.error(f"no such solution notebook: {', '.join(missing)}")
    if args.execute and args.check:
        parser.error("--execute writes notebooks; it cannot be combined with --check")
    if args.execute:
        for solution, _ in pairs(only=args.solutions):
            print(f"executing {solution.relative_to(ROOT)}")
            execute_solution(solution)
    stale = []
    for solution, exercise in pairs(only=args.solutions):
        text = exercise_text(solution)
        if exercise.exists() and exercise.read_text() == text:
            continue
        if args.check:
            stale.append(exercise)
        else:
            exercise.parent.mkdir(exist_ok=True)
            exercise.write_text(text)
            print(f"wrote {exercise.relative_to(ROOT)}")
    for path in stale:
        print(f"{path.relative_to(ROOT)} is out of date with solutions/", file=sys.stderr)
    if stale:
        print("Run `python -m book_tools.exercises` and commit the result.", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
