"""The notebook conventions of the book, defined here once.

The exercise generator (``book_tools.exercises``), the grader and the tests all read them from
this module. A reference (solution) notebook follows them; the README's Instructors section
describes them for people.

- An answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines; the exercise gets
  :data:`PLACEHOLDER` at the same indentation instead.
- A graded answer cell starts with ``# GRADED FUNCTION: <name>``, where ``<name>`` is the function
  or class it defines; a line ``# POINTS: <n>`` among its lines gives the part's points (1 when
  absent). The points are read from the reference only.
- A visible check is a code cell with a ``# NBVAL_CHECK_OUTPUT`` line (or the
  ``nbval-check-output`` tag): nbval compares what it prints with the reference's stored output.
- A hidden check is a code cell whose first line starts with ``# HIDDEN CHECK`` (optionally
  ``: <part>``): the exercise generator drops it; it passes when it raises nothing.
- A check belongs to the parts named by a ``# PART: <name>[, <name>]`` line in it; else (a hidden
  check) to the part named after ``# HIDDEN CHECK:``; else to the parts of its section that its
  code uses by name (see :func:`resnet_grader.assignment.parse_assignment`).
- ``# HINT: <text>`` lines in a check cell are shown in the feedback when that check fails; a
  hint goes on over the comment lines right after it that are indented by two spaces or more.
- A code cell whose first line starts with ``# SKIPPED WHEN GRADING`` is not run when grading.
- A released exercise's visible check carries the reference's text output in its metadata,
  ``{META_KEY: {"expected_output": [...]}}``, for a student's self-check, and starts with
  ``rb.expect_output(<that text>, hint=...)``, which prints a verdict under the check in the
  student's notebook; the grader removes that call before it compares (see
  :func:`without_expected_output_call`).

Only text is compared: a cell's outputs are reduced by :func:`text_outputs` (stdout, stderr and
the ``text/plain`` of results), which is what nbval compares for the book's checks.

A reference's outputs are stored (``python -m book_tools.exercises --execute``) and compared (the
grader) in a kernel whose environment has :data:`GRADING_ENV` on top of the caller's.
"""
from __future__ import annotations

import ast
import re

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
PLACEHOLDER = ("{indent}# YOUR CODE HERE\n"
               "{indent}raise NotImplementedError(\"Replace this line with your code.\")")
PLACEHOLDER_LINE = "# YOUR CODE HERE"
GRADED_FUNCTION = "# GRADED FUNCTION:"
HIDDEN_CHECK = "# HIDDEN CHECK"
CHECK_OUTPUT_LINE = "# NBVAL_CHECK_OUTPUT"
CHECK_OUTPUT_TAG = "nbval-check-output"
SKIPPED_WHEN_GRADING = "# SKIPPED WHEN GRADING"
META_KEY = "resnet_book"  # cell metadata of a released exercise: {"expected_output": [...]}
# cell metadata of the notebook the grader runs: {"cell": <index among the reference's code cells>}
ID_KEY = "resnet_book_grade"
# A released exercise's visible check starts with a call to this function of the helper
# package (resnet_book.checks), which states the expected output and prints a verdict.
EXPECTED_OUTPUT_CALL = "expect_output"

# The environment variables that decide what a reference's checks print, with the values they
# have wherever its outputs are stored or compared: a reference executed on a GPU machine, or
# under an author's own settings, stores what the grader's kernel prints. An empty value counts
# as unset (for the helper package) or as no device (for CUDA). Thread counts are not here: the
# grader gives each run its share of the CPUs it has, which differs between machines and
# batches, so a check must print the same whatever they are (the rule on checks keeps float
# noise out of what they print). Nor is Matplotlib's backend: the grader draws nothing
# (``agg``), while a stored reference keeps its figures for people to read; checks never draw.
GRADING_ENV = {
    "PYTHONHASHSEED": "0",             # the order of a set of strings
    "CUDA_VISIBLE_DEVICES": "",        # no GPU, which rounds differently and names itself
    "KERAS_BACKEND": "tensorflow",     # not ~/.keras/keras.json's (the sandbox hides that file)
    "RESNET_BOOK_PROFILE": "quick",
    "RESNET_BOOK_DATASET": "",         # the quick profile's own data set
    "RESNET_BOOK_REHEARSAL": "",
    "TF_CPP_MIN_LOG_LEVEL": "3",       # no TensorFlow log lines on stderr, which checks compare
}

MARKER = re.compile(r"^[ \t]*#[ \t]*GRADED FUNCTION[ \t]*:[ \t]*([A-Za-z_]\w*)", re.M)
POINTS = re.compile(r"^[ \t]*#[ \t]*POINTS[ \t]*:[ \t]*(\d+(?:\.\d+)?)[ \t]*$", re.M)
PART = re.compile(r"^[ \t]*#[ \t]*PARTS?[ \t]*:[ \t]*(.+?)[ \t]*$", re.M)
HINT = re.compile(r"^[ \t]*#[ \t]*HINT[ \t]*:[ \t]*(.*?)[ \t]*$")
HINT_MORE = re.compile(r"^[ \t]*#[ \t]{2,}(\S.*?)[ \t]*$")
HIDDEN = re.compile(r"^[ \t]*#[ \t]*HIDDEN CHECK\b[ \t]*:?[ \t]*([A-Za-z_]\w*)?")
NBVAL_MARKER = re.compile(r"^[ \t]*#+[ \t]*(NBVAL_[A-Z_]+|PYTEST_VALIDATE_IGNORE_OUTPUT)\b.*$",
                          re.M)
CHECK_OUTPUT = re.compile(r"^[ \t]*#+[ \t]*NBVAL_CHECK_OUTPUT[ \t]*$", re.M)
SKIPPED = re.compile(r"^[ \t]*#[ \t]*SKIPPED WHEN GRADING\b")


def _source(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else getattr(cell, "source", "")
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return source if isinstance(source, str) else ""


def _tags(cell) -> list:
    tags = getattr(cell, "tags", None)
    if tags is None and isinstance(cell, dict):
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return [tag for tag in tags or [] if isinstance(tag, str)]


def _is_code(cell) -> bool:
    kind = cell.get("cell_type") if isinstance(cell, dict) else getattr(cell, "cell_type", None)
    return kind == "code"


def is_visible_check(cell) -> bool:
    """A code cell whose printed output nbval compares with the reference's."""
    return _is_code(cell) and (bool(CHECK_OUTPUT.search(_source(cell)))
                               or CHECK_OUTPUT_TAG in _tags(cell))


def is_hidden_check(cell) -> bool:
    """A check only graders run: the exercise generator drops it."""
    return _is_code(cell) and _source(cell).lstrip().startswith(HIDDEN_CHECK)


def is_skipped(cell) -> bool:
    """A cell the grader does not run (first line ``# SKIPPED WHEN GRADING``)."""
    return _is_code(cell) and bool(SKIPPED.match(_source(cell).lstrip("\n")))


def is_answer_cell(cell) -> bool:
    """A cell a student writes in: a graded answer, a solution region, or its placeholder."""
    source = _source(cell)
    return _is_code(cell) and (bool(MARKER.search(source)) or BEGIN_SOLUTION in source
                               or PLACEHOLDER_LINE in source)


def marker_name(source: str) -> str | None:
    """The graded name of an answer cell: its first non-blank line is the marker."""
    for line in source.splitlines():
        if line.strip():
            match = MARKER.match(line)
            return match.group(1) if match else None
    return None


def hints(source: str) -> list[str]:
    """The hints of a check cell, each joined with its continuation lines."""
    found: list[str] = []
    lines = source.splitlines()
    for index, line in enumerate(lines):
        match = HINT.match(line)
        if not match:
            continue
        text = [match.group(1)] if match.group(1) else []
        for following in lines[index + 1:]:
            more = HINT_MORE.match(following)
            if not more or HINT.match(following):
                break
            text.append(more.group(1))
        if text:
            found.append(" ".join(text))
    return found


def neutralize(source: str) -> str:
    """A student's answer cell with nbval's comment markers made inert (nbval obeys them)."""
    return NBVAL_MARKER.sub("# (an nbval marker was removed here by the grader)", source)


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""


def text_outputs(outputs) -> list[dict]:
    """A cell's outputs as nbval compares them for the book's checks: streams, and the
    ``text/plain`` of results and displays (images and other data dropped), strings joined."""
    kept = []
    for output in outputs or []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            kept.append({"output_type": "stream", "name": output.get("name", "stdout"),
                         "text": _joined(output.get("text", ""))})
        elif kind in ("execute_result", "display_data"):
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            if "text/plain" not in data:
                continue
            out = {"output_type": kind, "data": {"text/plain": _joined(data["text/plain"])},
                   "metadata": {}}
            if kind == "execute_result":
                out["execution_count"] = 1
            kept.append(out)
    return kept


def printed_text(outputs) -> dict:
    """What a student would see printed, by stream: ``stdout``, ``stderr``, ``result`` (the
    text of results and displays), ``error`` (``Name: message``) and ``ename``."""
    out = {"stdout": "", "stderr": "", "result": "", "error": ""}
    for output in text_outputs(outputs):
        if output["output_type"] == "stream":
            out["stderr" if output["name"] == "stderr" else "stdout"] += output["text"]
        else:
            text = output["data"]["text/plain"]
            out["result"] += text + ("\n" if text and not text.endswith("\n") else "")
    for output in outputs or []:
        if isinstance(output, dict) and output.get("output_type") == "error":
            out["error"] = f"{output.get('ename', '')}: {output.get('evalue', '')}".strip()
            out["ename"] = output.get("ename", "")
    return out


def without_expected_output_call(source: str) -> str:
    """A student's visible check without its ``rb.expect_output(...)`` statement, so that it
    prints exactly what the reference's check prints. Code that does not parse is returned as
    it is (running it reports the error)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.split("\n")
    for node in reversed(tree.body):
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == EXPECTED_OUTPUT_CALL):
            del lines[node.lineno - 1:node.end_lineno]
    return "\n".join(lines)
