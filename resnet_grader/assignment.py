"""Read notebooks leniently and find the parts, points and checks of an assignment.

The conventions a reference notebook follows are defined in :mod:`resnet_grader.conventions`.
A part passes when its answer cell runs without an error and every check of the part passes;
it then earns all its points, else none. A check's *section* is the run of graded answer cells
that precedes it: those after the last check cell that comes before them. A check without a
``# PART:`` line belongs to the parts of its section that its code uses by name, or to all of
its section if it uses none (exercises 1, exercise 2: the check after
``block_output_shapes`` and ``plain_network_parameters`` belongs to both; a check that builds a
block with an earlier part's function to test a later part belongs to the later part only).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .conventions import (HIDDEN, META_KEY, POINTS, PART, MARKER, hints, is_hidden_check,
                          is_skipped, is_visible_check, marker_name,
                          without_expected_output_call)


class NotGradable(Exception):
    """A submission that cannot be graded; ``status`` is its gradebook status."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ReferenceError_(ValueError):
    """A reference notebook that does not follow the conventions."""


@dataclass
class Cell:
    cell_type: str
    source: str
    tags: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    execution_count: int | None = None
    expected_output: list | None = None   # from metadata (self-check)


def _source(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def read_cells(path: Path) -> list[Cell]:
    """The cells of a notebook file, read as JSON without nbformat's strict validation.

    Only cell types, sources, tags, stored outputs and this package's own metadata key are
    kept: Colab's ``executionInfo`` (the student's name and photo link), widget state and any
    other metadata are dropped here.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise NotGradable("unreadable", f"the file could not be read ({error.strerror})")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise NotGradable("not-json", "the file is not JSON (truncated, or not a notebook)")
    if not isinstance(data, dict):
        raise NotGradable("not-a-notebook", "the file is JSON but not a notebook")
    version = data.get("nbformat")
    if "worksheets" in data or (isinstance(version, int) and version < 4):
        raise NotGradable("nbformat-too-old",
                          f"the notebook is in format {version}; save it as format 4 "
                          "(any current Jupyter or Colab does)")
    cells = data.get("cells")
    if not isinstance(cells, list) or not isinstance(version, int):
        raise NotGradable("not-a-notebook", "the file is JSON but not a notebook")
    result = []
    for raw_cell in cells:
        if not isinstance(raw_cell, dict):
            continue
        metadata = raw_cell.get("metadata") if isinstance(raw_cell.get("metadata"), dict) else {}
        tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
        ours = metadata.get(META_KEY) if isinstance(metadata.get(META_KEY), dict) else {}
        expected = ours.get("expected_output")
        if isinstance(expected, str):
            expected = [{"output_type": "stream", "name": "stdout", "text": expected}]
        outputs = raw_cell.get("outputs") if isinstance(raw_cell.get("outputs"), list) else []
        count = raw_cell.get("execution_count")
        result.append(Cell(
            cell_type=str(raw_cell.get("cell_type", "")),
            source=_source(raw_cell.get("source", "")),
            tags=[t for t in tags if isinstance(t, str)],
            outputs=outputs,
            execution_count=count if isinstance(count, int) else None,
            expected_output=expected if isinstance(expected, list) else None,
        ))
    return result


def code_lines(source: str) -> str:
    """``source`` without comment-only lines (to look for names the code uses)."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))


def uses_name(source: str, name: str) -> bool:
    """Whether the code of ``source`` (comments aside) uses ``name`` as a word."""
    return re.search(rf"\b{re.escape(name)}\b", code_lines(source)) is not None


@dataclass
class Check:
    cell: int                 # index among the notebook's code cells
    kind: str                 # "visible" or "hidden"
    number: int               # 1, 2, ... within its kind, in notebook order
    parts: list
    hints: list
    summary: str = ""         # visible checks only: their first line of code

    @property
    def label(self) -> str:
        return f"{self.kind} check {self.number}"

    @property
    def title(self) -> str:
        if self.kind == "visible" and self.summary:
            return f"{self.label} (`{self.summary}`)"
        return self.label


@dataclass
class Part:
    name: str
    points: float
    cell: int                 # index among the code cells
    checks: list = field(default_factory=list)


@dataclass
class Assignment:
    cells: list               # the code cells only
    parts: dict               # name -> Part, in notebook order
    checks: list
    skipped: list = field(default_factory=list)   # code cell indices not run when grading

    @property
    def max_points(self) -> float:
        return sum(p.points for p in self.parts.values())

    def parts_of_cell(self, index: int) -> list:
        names = [p.name for p in self.parts.values() if p.cell == index]
        names += [n for c in self.checks if c.cell == index for n in c.parts]
        return list(dict.fromkeys(names))


def parse_assignment(cells: list[Cell], *, self_check: bool = False) -> Assignment:
    """Parts, points and checks of a reference notebook (or, with ``self_check``, of a
    student's notebook, whose visible checks carry their expected output in metadata)."""
    code = [c for c in cells if c.cell_type == "code"]
    parts: dict[str, Part] = {}
    for index, cell in enumerate(code):
        name = marker_name(cell.source)
        if name is None:
            continue
        if name in parts:
            if self_check:
                continue
            raise ReferenceError_(f"two answer cells are marked '# GRADED FUNCTION: {name}'")
        points = POINTS.search(cell.source)
        parts[name] = Part(name, float(points.group(1)) if points else 1.0, index)
    if not parts:
        raise ReferenceError_("no cell starts with '# GRADED FUNCTION: <name>'")
    checks: list[Check] = []
    numbers = {"visible": 0, "hidden": 0}
    check_cells = [i for i, c in enumerate(code) if (is_visible_check(c) or is_hidden_check(c))
                   and i not in {p.cell for p in parts.values()}]
    for index, cell in enumerate(code):
        if index in {p.cell for p in parts.values()}:
            continue
        if is_visible_check(cell):
            kind = "visible"
        elif is_hidden_check(cell) and not self_check:
            kind = "hidden"
        else:
            continue
        numbers[kind] += 1
        names = _associated_parts(cell, index, parts, check_cells)
        if not names:
            continue  # a check before any graded part, about none: not graded
        summary = ""
        if kind == "visible":
            summary = next((line.strip() for line in
                            without_expected_output_call(cell.source).splitlines()
                            if line.strip() and not line.lstrip().startswith("#")), "")
            summary = summary if len(summary) <= 60 else summary[:57] + "..."
            if self_check and cell.expected_output is None:
                continue
            if not self_check and (cell.execution_count is None or not cell.outputs):
                raise ReferenceError_(
                    f"visible check {numbers[kind]} has no stored output: run the reference "
                    "top to bottom and save it (python -m book_tools.exercises --execute)")
        check = Check(index, kind, numbers[kind], names,
                      hints(cell.source), summary)
        checks.append(check)
        for name in names:
            parts[name].checks.append(check)
    graded_cells = {p.cell for p in parts.values()} | {c.cell for c in checks}
    skipped = [i for i, c in enumerate(code) if is_skipped(c)]
    clash = [i for i in skipped if i in graded_cells]
    if clash and not self_check:
        raise ReferenceError_("a cell marked '# SKIPPED WHEN GRADING' is a graded answer or a "
                              "check; only cells that grading does not need may be skipped")
    skipped = [i for i in skipped if i not in clash]
    if not self_check:
        unchecked = [p.name for p in parts.values() if not p.checks]
        if unchecked:
            raise ReferenceError_(
                f"no check cell belongs to {', '.join(unchecked)}: every graded part needs at "
                "least one visible or hidden check")
    return Assignment(code, parts, checks, skipped)


def _associated_parts(cell: Cell, index: int, parts: dict, checks: list) -> list:
    explicit = PART.search(cell.source)
    if explicit:
        names = [n.strip() for n in re.split(r"[,\s]+", explicit.group(1)) if n.strip()]
        unknown = [n for n in names if n not in parts]
        if unknown:
            raise ReferenceError_(f"'# PART:' names {', '.join(unknown)}, which no answer cell "
                                  "is marked with")
        return names
    hidden = HIDDEN.match(cell.source.lstrip())
    if hidden and hidden.group(1) in parts:
        return [hidden.group(1)]
    # The check's section: the answer cells after the last check that precedes the latest
    # answer cell before this check.
    before = [p for p in parts.values() if p.cell < index]
    if not before:
        return []
    latest = max(p.cell for p in before)
    boundary = max((c for c in checks if c < latest), default=-1)
    section = [p.name for p in before if boundary < p.cell <= latest]
    return [n for n in section if uses_name(cell.source, n)] or section


# --- the student's answers ----------------------------------------------------------------

@dataclass
class Answer:
    name: str
    source: str | None
    how: str                  # "marker", "def", "missing" or "duplicated"
    count: int = 0


def find_answers(cells: list[Cell], names) -> dict:
    """The student's answer cell for each graded name: the code cell carrying its marker line,
    else the one that defines it with ``def`` or ``class``."""
    code = [c for c in cells if c.cell_type == "code"]
    answers = {}
    for name in names:
        marked = [c for c in code if name in MARKER.findall(c.source)]
        if len(marked) == 1:
            answers[name] = Answer(name, marked[0].source, "marker", 1)
            continue
        if len(marked) > 1:
            answers[name] = Answer(name, None, "duplicated", len(marked))
            continue
        defining = re.compile(rf"^(?:async[ \t]+)?(?:def|class)[ \t]+{re.escape(name)}\b", re.M)
        found = [c for c in code if defining.search(c.source)]
        if len(found) == 1:
            answers[name] = Answer(name, found[0].source, "def", 1)
        elif found:
            answers[name] = Answer(name, None, "duplicated", len(found))
        else:
            answers[name] = Answer(name, None, "missing", 0)
    return answers
