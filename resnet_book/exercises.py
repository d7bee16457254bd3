"""Generate the student notebooks in ``exercises/`` from the references in ``solutions/``.

The solution notebook is the single source. In it:

- an answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines; the exercise gets
  a ``# YOUR CODE HERE`` line and a ``raise NotImplementedError`` at the same indentation;
- a graded answer cell starts with ``# GRADED FUNCTION: <name>``, which the exercise keeps;
- a cell whose first line starts with ``# HIDDEN CHECK`` is a check only graders run: the
  exercise leaves it out;
- outputs are the reference's: the exercise has none, but each visible check keeps the
  reference's text output in its metadata (``resnet_book.expected_output``) for self-checks.

    python -m resnet_book.exercises             # rewrite exercises/ from solutions/
    python -m resnet_book.exercises --check     # fail if any exercise differs (the tests run this)
    python -m resnet_book.exercises --execute   # first rerun each solution, storing its outputs
    python -m resnet_book.exercises --execute solutions/02_residual_block.ipynb   # just one
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HIDDEN_CHECK = "# HIDDEN CHECK"
GRADED_MARKER = "# GRADED FUNCTION:"
PLACEHOLDER = ("{indent}# YOUR CODE HERE\n"
               "{indent}raise NotImplementedError(\"Replace this line with your code.\")")

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


def is_hidden_check(cell) -> bool:
    return cell.cell_type == "code" and cell.source.lstrip().startswith(HIDDEN_CHECK)


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


def _root() -> Path:
    return Path(__file__).resolve().parent.parent


def exercise_text(solution_path: Path) -> str:
    import nbformat

    from .grade.expected import add_expected_outputs

    solution = nbformat.read(solution_path, as_version=4)
    # Each visible check carries the reference's output in its metadata, so a student can
    # run `python -m resnet_book.grade --self-check` on their notebook without the reference.
    exercise = add_expected_outputs(make_exercise(solution), solution)
    return nbformat.writes(exercise) + "\n"


def pairs(root: Path | None = None, only=None):
    """(solution, exercise) paths for every notebook in ``solutions/`` (or those in ``only``)."""
    root = Path(root or _root())
    wanted = {Path(p).name for p in only} if only else None
    for solution in sorted((root / "solutions").glob("*.ipynb")):
        if wanted is None or solution.name in wanted:
            yield solution, root / "exercises" / solution.name


def execute_solution(path: Path, timeout: int = 900) -> None:
    """Run a solution notebook top to bottom in the quick profile and store its outputs.

    The stored outputs are what nbval compares the visible checks against when grading.
    """
    import os

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    os.environ["RESNET_BOOK_PROFILE"] = "quick"
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(notebook, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate exercises/ from solutions/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if an exercise is not what would be generated")
    parser.add_argument("--execute", action="store_true",
                        help="first rerun every solution notebook and store its outputs")
    parser.add_argument("solutions", nargs="*", help="only these solution notebooks")
    args = parser.parse_args(argv)
    missing = [p for p in args.solutions if not (_root() / "solutions" / Path(p).name).exists()]
    if missing:
        parser.error(f"no such solution notebook: {', '.join(missing)}")
    if args.execute and args.check:
        parser.error("--execute writes notebooks; it cannot be combined with --check")
    if args.execute:
        for solution, _ in pairs(only=args.solutions):
            print(f"executing {solution.relative_to(_root())}")
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
            print(f"wrote {exercise.relative_to(_root())}")
    for path in stale:
        print(f"{path.relative_to(_root())} is out of date with solutions/", file=sys.stderr)
    if stale:
        print("Run `python -m resnet_book.exercises` and commit the result.", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
