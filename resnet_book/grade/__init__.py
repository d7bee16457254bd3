"""Grade submitted notebooks against a reference notebook (the instructors' path).

    python -m resnet_book.grade --reference solutions/X.ipynb --out DIR SUBMISSION...
    python -m resnet_book.grade --self-check my_exercise.ipynb

For each submission the grader builds a notebook from the reference with only the student's
graded answer cells swapped in (found by their ``# GRADED FUNCTION: <name>`` line, else by their
``def``/``class``), runs it under nbval in a kernel of its own, and writes ``DIR/grades.csv`` and
``DIR/feedback/<submission>.md``. The conventions the reference follows (points, checks, hints)
are described in :mod:`resnet_book.grade.notebook`.
"""
from .grader import Grade, Settings, grade_submission, load_reference, self_check
from .notebook import (META_KEY, NotGradable, ReferenceError_, find_answers, parse_assignment,
                       read_cells)
from .expected import add_expected_outputs

__all__ = ["Grade", "Settings", "grade_submission", "load_reference", "self_check",
           "META_KEY", "NotGradable", "ReferenceError_", "find_answers", "parse_assignment",
           "read_cells", "add_expected_outputs"]
