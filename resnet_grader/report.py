"""The gradebook (grades.csv) and the feedback files."""
from __future__ import annotations

import contextlib
import csv
import fcntl
import functools
import io
import os
import re
import tempfile
from pathlib import Path

from .grader import Grade

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MAX_LINES, MAX_CHARS = 40, 4000
# The gradebook's columns after the parts', by format. A gradebook of an earlier format is read
# with the columns it lacks left empty and written back in the latest, so adding a column
# never stops a grading from resuming. Format 2 adds where and when a row was graded.
FORMATS = {
    1: ("total", "max", "status", "note", "submission_sha256", "reference_sha256"),
    2: ("total", "max", "status", "note", "submission_sha256", "reference_sha256",
        "host", "graded_at", "seconds", "grader_version"),
}
FIXED_COLUMNS = FORMATS[max(FORMATS)]
# Where and when a row was graded (format 2's additions): differs between two gradings of the
# same files.
EVIDENCE_COLUMNS = FORMATS[2][len(FORMATS[1]):]


def parts_of(header) -> list[str] | None:
    """The part columns of a gradebook header of any known format; None if it is none."""
    header = list(header)
    for fixed in FORMATS.values():
        if header[:1] == ["file"] and len(header) > len(fixed) \
                and tuple(header[len(header) - len(fixed):]) == fixed:
            return header[1:len(header) - len(fixed)]
    return None


@functools.cache
def grader_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("resnet-book")   # the distribution that ships the grader
    except PackageNotFoundError:
        return "unknown"


def points(value: float) -> str:
    return f"{value:g}"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _clip(text: str) -> str:
    text = ANSI.sub("", text).replace("\r", "")
    lines = text.splitlines()
    clipped = len(lines) > MAX_LINES or len(text) > MAX_CHARS
    text = "\n".join(lines[:MAX_LINES])[:MAX_CHARS]
    return text + ("\n[... cut short ...]" if clipped else "")


def _block(text: str) -> str:
    text = _clip(text) or "(nothing)"
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line if line else line for line in text.splitlines())


def feedback(grade: Grade, max_points: float, *, title: str = "Feedback") -> str:
    """The Markdown a student gets: per part pass or fail; for a failed visible check what was
    expected and what the notebook printed; for a failed hidden check only that it failed (and
    its hint)."""
    lines = [f"# {title}: {grade.file}", ""]
    if grade.message:
        lines += [f"**Not graded:** {grade.message}.", "",
                  f"Total: 0 / {points(max_points)} points.", ""]
        return "\n".join(lines)
    lines += [f"Total: **{points(grade.total)} / {points(max_points)}** points.", ""]
    if grade.status != "graded":
        lines += [f"Status: {grade.status}.", ""]
    for part in grade.parts:
        verdict = "passed" if part.passed else "failed"
        lines += [f"## {part.name}: {verdict} ({points(part.points)} / "
                  f"{points(part.max_points)} points)", ""]
        if part.found == "def":
            lines += [f"- Your answer was found by its `def`/`class` line: the cell's first line "
                      f"`# GRADED FUNCTION: {part.name}` was missing. Keep that line.", ""]
        if part.found in ("missing", "duplicated"):
            lines += [f"- Not graded: {part.reason}.", ""]
            continue
        if part.with_reference:
            theirs = ", ".join(f"`{name}`" for name in part.with_reference)
            lines += [f"- Graded on its own: your {theirs} did not pass, so this part was run "
                      f"with the reference's {theirs} in its place.", ""]
        if part.reason:
            lines += [f"- Not checked to the end, the run stopped: {part.reason}.", ""]
        if part.answer_state == "failed":
            lines += [f"- Your answer cell raised an error: `{_clip(part.answer_error)}`", ""]
        elif part.answer_state == "not-run":
            lines += ["- Your answer cell: not run", ""]
        shown = {}   # what a failed visible check printed -> its title, within this part
        for result in part.checks:
            check = result.check
            if result.state in ("passed", "not-run"):
                lines.append(f"- {check.title}: {result.state.replace('-', ' ')}")
                continue
            if result.reason:   # the run stopped in this check: a hint would mislead
                lines.append(f"- {check.title}: **failed** ({result.reason})")
                continue
            if check.kind == "visible" and result.got and result.got in shown:
                # the same error again (a shape mismatch breaks every later check): its hints
                # would point elsewhere, so refer to the first one instead
                lines.append(f"- {check.title}: **failed**, printing the same as "
                             f"{shown[result.got]} (see above)")
                continue
            lines.append(f"- {check.title}: **failed**")
            if check.kind == "visible":
                shown.setdefault(result.got, check.label)
                lines += ["", "  Expected:", "", _indent(_block(result.expected)), "",
                          "  Your notebook printed:", "", _indent(_block(result.got)), ""]
            for hint in check.hints:
                lines.append(f"  - Hint: {hint}")
        lines.append("")
    if grade.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in grade.notes] + [""]
    return "\n".join(lines)


def _stem(name: str) -> str:
    return name[:-len(".ipynb")] if name.endswith(".ipynb") else name


def feedback_path(out: Path, name: str) -> Path:
    return out / "feedback" / f"{_stem(name)}.md"


def log_path(out: Path, name: str) -> Path:
    """Where the grader's own log of a submission it failed on goes (for the instructor)."""
    return out / "logs" / f"{_stem(name)}.log"


class Gradebook:
    """``grades.csv``: one row per submission, rewritten whole (atomically) after each one.

    Several graders may write one gradebook at once (two commands on one ``--out``, or shards
    that share it): each save holds a lock (``grades.csv.lock``, an fcntl lock, which NFS
    honours too), reads the rows the file holds now, and writes them back with this grader's
    own rows in place, so no writer's row is ever lost."""

    def __init__(self, path: Path, part_names, max_points: float, reference_sha256: str):
        self.path = Path(path)
        self.parts = list(part_names)
        self.max_points = max_points
        self.reference_sha256 = reference_sha256
        self.header = ["file", *self.parts, *FIXED_COLUMNS]
        self.rows: dict[str, dict] = {}
        self._mine: set[str] = set()   # rows this grader added: they win over the file's

    @contextlib.contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        with open(self.path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames and parts_of(reader.fieldnames) != self.parts:
                raise ValueError(
                    f"{self.path} was written for an assignment with the columns "
                    f"{', '.join(reader.fieldnames)}, not {', '.join(self.header)}; give "
                    "another --out folder")
            return {row["file"]: self.in_latest_format(row) for row in reader}

    def in_latest_format(self, row: dict) -> dict:
        """``row``, read from a gradebook of any known format, with this one's columns (those
        an older format lacks left empty)."""
        return {column: row.get(column) or "" for column in self.header}

    def load(self) -> None:
        """Read an existing gradebook; raise ValueError if it belongs to another assignment."""
        with self._locked():
            self.rows.update(self._read())

    def is_done(self, name: str, submission_sha256: str) -> bool:
        row = self.rows.get(name)
        return bool(row) and row.get("submission_sha256") == submission_sha256 \
            and row.get("reference_sha256") == self.reference_sha256

    def add(self, grade: Grade) -> None:
        by_name = {p.name: p for p in grade.parts}
        row = {"file": grade.file}
        for name in self.parts:
            row[name] = points(by_name[name].points) if name in by_name else "0"
        row.update({
            "total": points(grade.total), "max": points(self.max_points),
            "status": grade.status,
            "note": " | ".join([grade.message] if grade.message else grade.notes),
            "submission_sha256": grade.submission_sha256,
            "reference_sha256": self.reference_sha256,
            "host": grade.host, "graded_at": grade.graded_at,
            "seconds": f"{grade.seconds:.1f}", "grader_version": grader_version(),
        })
        self.rows[grade.file] = row
        self._mine.add(grade.file)

    def save(self) -> None:
        with self._locked():
            # rows another grader wrote since this one read the file, then this one's own
            rows = {**self._read(), **{name: self.rows[name] for name in self._mine}}
            self.rows.update(rows)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=self.header, lineterminator="\n")
            writer.writeheader()
            for name in sorted(rows):
                writer.writerow(rows[name])
            atomic_write(self.path, buffer.getvalue())
