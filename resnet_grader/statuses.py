"""Every status a gradebook row can have, and what it means: the one list of them.

The grader writes nothing else into the ``status`` column (a test reads the package's source
for every status it sets and checks it is here, and that the README lists them all).
"""
from __future__ import annotations

GRADED = "graded"

STATUSES = {
    GRADED: "graded to the end; the points are the parts that passed",
    # the file itself
    "unreadable": "the file could not be read",
    "not-json": "the file is not JSON (truncated, or not a notebook)",
    "not-a-notebook": "the file is JSON but not a notebook",
    "nbformat-too-old": "a notebook of format 3 or older: save it again as format 4",
    "no-answer-cells": "no answer cell found, by marker or by definition: nothing to grade",
    "missing-answer-cell": "graded, but some part's answer cell was not found (0 points there)",
    "duplicated-answer-cell": "graded, but some part has two answer cells (0 points there)",
    # the run
    "timed-out": "a cell ran past --cell-timeout, or the whole run past --timeout",
    "kernel-died": "the kernel died while running a cell",
    "exited": "the submission's code called sys.exit() or exit()",
    "out-of-memory": "the code ran out of memory (a MemoryError)",
    "kernel-failed-to-start": "the kernel could not start, three times: a problem of the "
                              "grading machine, not of the submission; grade it again",
    # the sandbox's limits (README: "The sandbox")
    "memory-limit": "stopped at --memory-limit",
    "process-limit": "stopped at --process-limit (processes and threads at once)",
    "output-limit": "wrote more than --output-limit, to files or to its standard output",
    "write-denied": "tried to write outside its scratch folder; the write failed, the run "
                    "went on",
    # the grader
    "error": "the grader itself failed on this file; its log is in DIR/logs/; grade it "
             "again once that is fixed",
}
