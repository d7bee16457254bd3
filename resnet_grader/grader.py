"""Grade submissions against a reference notebook: the parts' points from one nbval run each,
and a second run for a part that failed only because it builds on other failed parts."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .assignment import (Answer, Assignment, Check, NotGradable, find_answers, parse_assignment,
                         read_cells, uses_name)
from .conventions import PLACEHOLDER_LINE
from .runner import Isolation, RunResult, build_notebook, run_notebook
from .statuses import GRADED as STATUS_GRADED
EVENT_STATUS = {
    "timed-out": "timed-out",
    "submission-timed-out": "timed-out",
    "kernel-died": "kernel-died",
    "exited": "exited",
    "out-of-memory": "out-of-memory",
    "kernel-start": "kernel-failed-to-start",
    "memory-limit": "memory-limit",
    "process-limit": "process-limit",
    "output-limit": "output-limit",
}
# What the sandbox refused without stopping the run, found in the errors the cells raised:
# a status (when nothing worse happened) and what the feedback says.
REFUSALS = [
    ("[Errno 30]", "write-denied",
     "the code tried to write outside its own folder ({error}): a submission may write only "
     "in its working folder and /tmp, so the write failed"),
    ("[Errno 28]", "output-limit",
     "the code wrote more than the {output_mb} MB a submission may write (to files, to /tmp, "
     "or straight to its standard output), so a write failed ({error})"),
    ("[Errno 27]", "output-limit",
     "the code wrote a file larger than the {output_mb} MB a submission may write ({error})"),
]


@dataclass
class Settings:
    cell_timeout: float = 120.0
    total_timeout: float = 900.0
    threads: int | None = None
    isolation: Isolation = field(default_factory=Isolation)

    def run(self, nb) -> RunResult:
        return run_notebook(nb, cell_timeout=self.cell_timeout,
                            total_timeout=self.total_timeout, threads=self.threads,
                            isolation=self.isolation)


@dataclass
class CheckResult:
    check: Check
    state: str                # passed, failed, not-run
    expected: str = ""
    got: str = ""
    reason: str = ""


@dataclass
class PartResult:
    name: str
    max_points: float
    passed: bool
    found: str                # marker, def, missing, duplicated
    answer_error: str = ""
    answer_state: str = "passed"
    reason: str = ""
    checks: list = field(default_factory=list)
    # parts whose reference answers stood in for the student's failed ones when this part was
    # graded on its own (see grade_submission)
    with_reference: list = field(default_factory=list)

    @property
    def points(self) -> float:
        return self.max_points if self.passed else 0.0


@dataclass
class Grade:
    file: str
    status: str
    parts: list = field(default_factory=list)   # PartResult, in the reference's order
    notes: list = field(default_factory=list)
    message: str = ""                           # why it could not be graded at all
    submission_sha256: str = ""
    seconds: float = 0.0
    log: str = ""             # the nbval run's log, for the instructor when grading failed
    host: str = ""            # the machine that graded it
    graded_at: str = ""       # when its grading started (UTC, ISO 8601)

    @property
    def total(self) -> float:
        return sum(p.points for p in self.parts)


def sha256(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def load_reference(path: Path) -> Assignment:
    return parse_assignment(read_cells(path))


def _event_text(event: str, settings: Settings) -> str:
    limits = settings.isolation.limits
    return {
        "timed-out": f"a cell ran longer than the {settings.cell_timeout:g} s limit for one cell "
                     "(an endless loop?)",
        "submission-timed-out": f"the notebook ran longer than the {settings.total_timeout:g} s "
                                "limit for one submission",
        "kernel-died": "the Python kernel stopped (os._exit(), a crash, or too much memory)",
        "exited": "the code called sys.exit() or exit()",
        "out-of-memory": "the code ran out of memory (MemoryError)",
        "kernel-start": "the Python kernel could not start",
        "memory-limit": f"the notebook used more than the {limits.memory_mb} MB of memory a "
                        "submission may use, so the grader stopped it",
        "process-limit": f"the code ran more than {limits.tasks} processes and threads at once, "
                         "more than a submission may, so the grader stopped it",
        "output-limit": f"the code wrote more than the {limits.output_mb} MB a submission may "
                        "write (to files or straight to its standard output), so the grader "
                        "stopped it",
    }.get(event, event)


def refusals(run: RunResult, settings: Settings) -> list[tuple[str, str]]:
    """(status, note) for each kind of thing the sandbox refused during the run (a write
    outside the scratch folder, a full scratch folder), from the errors the cells raised."""
    found = {}
    for record in run.records.values():
        error = (record.get("got") or {}).get("error", "")
        for errno, status, text in REFUSALS:
            if errno in error and status not in found:
                found[status] = text.format(error=error[:200],
                                            output_mb=settings.isolation.limits.output_mb)
    return list(found.items())


def _where(assignment: Assignment, cell: int | None) -> str:
    if cell is None:
        return ""
    for part in assignment.parts.values():
        if part.cell == cell:
            return f" in the answer cell of {part.name}"
    names = assignment.parts_of_cell(cell)
    if names:
        return f" while checking {', '.join(names)}"
    return " in a cell between the graded parts"


def _shown(text: dict) -> str:
    """What a cell printed, as a student would read it."""
    if not text:
        return ""
    pieces = [text.get("stdout", ""), text.get("result", "")]
    if text.get("stderr"):
        pieces.append("[stderr]\n" + text["stderr"])
    if text.get("error"):
        pieces.append(text["error"])
    return "".join(p if p.endswith("\n") or not p else p + "\n" for p in pieces if p)


def interpret(assignment: Assignment, answers: dict | None, run: RunResult,
              settings: Settings) -> tuple[list, list, str | None]:
    """Per-part results from one run's per-cell records; also notes and the run's status."""
    stop = ""
    if run.event:
        stop = _event_text(run.event, settings) + _where(assignment, run.event_cell)
    parts = []
    for part in assignment.parts.values():
        answer = answers[part.name] if answers is not None else Answer(part.name, "", "marker")
        result = PartResult(part.name, part.points, False, answer.how)
        parts.append(result)
        if answer.how == "missing":
            result.reason = (f"no answer cell found: no code cell starts with "
                             f"`# GRADED FUNCTION: {part.name}` or defines `{part.name}`")
            continue
        if answer.how == "duplicated":
            result.reason = (f"{answer.count} cells claim to be the answer for {part.name}; keep "
                             f"exactly one cell that starts with `# GRADED FUNCTION: {part.name}`")
            continue
        record = run.records.get(part.cell)
        if record is None or record.get("outcome") == "not-run":
            result.answer_state = "not-run"
        elif record.get("outcome") != "passed":
            result.answer_state = "failed"
            result.answer_error = (_event_text(record["event"], settings) if record.get("event")
                                   else record.get("got", {}).get("error", "") or "it failed")
        for check in part.checks:
            record = run.records.get(check.cell)
            if record is None or record.get("outcome") == "not-run":
                result.checks.append(CheckResult(check, "not-run"))
            elif record.get("outcome") == "passed":
                result.checks.append(CheckResult(check, "passed"))
            else:
                reason = _event_text(record["event"], settings) if record.get("event") else ""
                result.checks.append(CheckResult(
                    check, "failed", expected=_shown(record.get("expected")),
                    got=_shown(record.get("got")), reason=reason))
        result.passed = (result.answer_state == "passed"
                         and all(c.state == "passed" for c in result.checks))
        if result.answer_state == "not-run" or any(c.state == "not-run" for c in result.checks):
            result.reason = stop or "the run ended early"
    notes = []
    status = EVENT_STATUS.get(run.event) if run.event else None
    if run.event:
        notes.append(stop)
    return parts, notes, status


def failed_dependencies(assignment: Assignment, answers: dict, parts: list) -> dict:
    """For each failed part that uses other failed parts (in its answer or its checks), those
    parts, and the failed parts their reference answers use in turn: ``{part: frozenset}``."""
    failed = {p.name for p in parts if not p.passed and p.found in ("marker", "def")}
    # a part still holding the exercise's placeholder cannot pass, whatever stands in for others
    unwritten = {name for name in failed if PLACEHOLDER_LINE in (answers[name].source or "")}

    def used_by(source: str, exclude: str) -> set:
        return {other for other in failed if other != exclude and uses_name(source, other)}

    dependencies = {}
    for name in failed - unwritten:
        part = assignment.parts[name]
        sources = [answers[name].source or ""] + [assignment.cells[c.cell].source
                                                  for c in part.checks]
        needed = set().union(*(used_by(source, name) for source in sources))
        todo = list(needed)
        while todo:
            reference = assignment.cells[assignment.parts[todo.pop()].cell].source
            for more in used_by(reference, name) - needed:
                needed.add(more)
                todo.append(more)
        if needed:
            dependencies[name] = frozenset(needed)
    return dependencies


def regrade_on_its_own(assignment: Assignment, answers: dict, grade: Grade,
                       settings: Settings) -> None:
    """Give each failed part that builds on other failed parts a second chance: run it again
    with the reference's answers in place of those parts. A part that then passes earns its
    points, and its feedback says which reference answers it was graded with; one mistake is
    not punished twice."""
    groups: dict = {}
    for name, needed in failed_dependencies(assignment, answers, grade.parts).items():
        groups.setdefault(needed, []).append(name)
    results = {part.name: i for i, part in enumerate(grade.parts)}
    for needed, names in groups.items():
        substituted = dict(answers)
        for other in needed:
            substituted[other] = Answer(other, assignment.cells[assignment.parts[other].cell]
                                        .source, "reference")
        run = settings.run(build_notebook(assignment, substituted))
        grade.seconds += run.seconds
        parts, _, _ = interpret(assignment, substituted, run, settings)
        for part in parts:
            if part.name in names and part.passed:
                part.found = grade.parts[results[part.name]].found
                part.with_reference = sorted(needed, key=list(assignment.parts).index)
                grade.parts[results[part.name]] = part


def grade_submission(assignment: Assignment, path: Path, name: str, settings: Settings) -> Grade:
    """Grade one submission file (never raises for anything the file contains)."""
    grade = Grade(file=name, status=STATUS_GRADED, submission_sha256=sha256(path))
    empty = [PartResult(p.name, p.points, False, "missing") for p in assignment.parts.values()]
    try:
        cells = read_cells(path)
    except NotGradable as error:
        grade.status, grade.message, grade.parts = error.status, error.message, empty
        return grade
    answers = find_answers(cells, assignment.parts)
    if all(a.how == "missing" for a in answers.values()):
        grade.status = "no-answer-cells"
        grade.message = ("no answer cells found: no code cell starts with a "
                         "`# GRADED FUNCTION: <name>` line or defines a graded function")
        grade.parts = empty
        return grade
    run = settings.run(build_notebook(assignment, answers))
    grade.seconds = run.seconds
    if not run.records and not run.event:
        grade.status, grade.parts = "error", empty
        grade.message = "the grader could not run the notebook"
        grade.log = run.log
        return grade
    grade.parts, grade.notes, status = interpret(assignment, answers, run, settings)
    refused = refusals(run, settings)
    grade.notes += [note for _, note in refused]
    if not status:
        regrade_on_its_own(assignment, answers, grade, settings)
    for answer in answers.values():
        if answer.how == "def":
            grade.notes.append(f"{answer.name}: answer found by its def/class line (the "
                               "`# GRADED FUNCTION` line was missing)")
        elif answer.how in ("missing", "duplicated"):
            grade.notes.append(f"{answer.name}: {answer.how} answer cell")
    if status:
        grade.status = status
    elif refused:
        grade.status = refused[0][0]
    elif any(a.how == "duplicated" for a in answers.values()):
        grade.status = "duplicated-answer-cell"
    elif any(a.how == "missing" for a in answers.values()):
        grade.status = "missing-answer-cell"
    return grade


def self_check(path: Path, settings: Settings) -> tuple[Grade, Assignment]:
    """Run a student's own notebook, comparing its visible checks with the expected outputs
    that the released exercise stores in their metadata (``resnet_book.expected_output``, see :mod:`resnet_grader.conventions`)."""
    cells = read_cells(path)
    assignment = parse_assignment(cells, self_check=True)
    grade = Grade(file=Path(path).name, status=STATUS_GRADED, submission_sha256=sha256(path))
    run = settings.run(build_notebook(assignment, None, self_check=True))
    grade.seconds = run.seconds
    grade.parts, grade.notes, status = interpret(assignment, None, run, settings)
    refused = refusals(run, settings)
    grade.notes += [note for _, note in refused]
    if status or refused:
        grade.status = status or refused[0][0]
    for part in grade.parts:
        if not assignment.parts[part.name].checks:
            part.passed = False
            part.reason = ("no visible check of this notebook stores its expected output, so "
                           "there is nothing to compare with")
    return grade, assignment
