"""Grade submitted notebooks against a reference notebook (the instructors' path).

    python -m resnet_grader --reference solutions/X.ipynb --out DIR SUBMISSION...
    python -m resnet_grader --reference solutions/X.ipynb --describe
    python -m resnet_grader --self-check my_exercise.ipynb

For each submission the grader builds a notebook from the reference with only the student's
graded answer cells swapped in (found by their ``# GRADED FUNCTION: <name>`` line, else by their
``def``/``class``), runs it under nbval in a kernel of its own inside a bubblewrap sandbox
(:mod:`resnet_grader.sandbox`), and writes ``DIR/grades.csv`` and
``DIR/feedback/<submission>.md``. The conventions a reference follows (points, checks, hints)
are defined in :mod:`resnet_grader.conventions`.

This package never imports Keras or the book's helper package: it reads notebooks, and the
kernels it starts import what the notebooks import. Its own dependencies are the project's
``grader`` extra.
"""
from .assignment import (NotGradable, ReferenceError_, find_answers, parse_assignment,
                         read_cells)
from .conventions import META_KEY
from .grader import Grade, Settings, grade_submission, load_reference, self_check

__all__ = ["Grade", "Settings", "grade_submission", "load_reference", "self_check",
           "META_KEY", "NotGradable", "ReferenceError_", "find_answers", "parse_assignment",
           "read_cells"]
