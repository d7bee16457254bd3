"""Grading a course in shards, and joining the shards' gradebooks (``merge``).

``--shard K/N`` grades only the submissions of shard K (0 to N-1). A submission's shard is
decided by its name alone (a hash of it), so the split does not change when the files are
listed in another order or on another machine, and each of N jobs can pick its own share of
one folder. Each shard keeps its gradebook and feedback in ``DIR/shards/K-of-N/``;
``python -m resnet_grader merge --out DIR`` joins them into ``DIR/grades.csv`` and
``DIR/feedback/``.

``--shard auto`` reads K and N from a Slurm job array (``SLURM_ARRAY_TASK_ID`` less
``SLURM_ARRAY_TASK_MIN``, and ``SLURM_ARRAY_TASK_COUNT``); ``--shard auto/N`` takes N as given
and K from Slurm or, in a Kubernetes Indexed Job, from ``JOB_COMPLETION_INDEX``.
"""
from __future__ import annotations

import csv
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .report import Gradebook, feedback_path, log_path, parts_of

SHARDS_FOLDER = "shards"


class ShardError(ValueError):
    """A --shard value or a merge that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @property
    def folder_name(self) -> str:
        return f"{self.index}-of-{self.count}"

    def out(self, out: Path) -> Path:
        """Where this shard's gradebook and feedback go under ``--out``."""
        return Path(out) / SHARDS_FOLDER / self.folder_name

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index


def shard_of(name: str, count: int) -> int:
    """The shard (0 to count-1) of the submission called ``name``: from a hash of the name."""
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % count


def _index_from_environment() -> int:
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    if task is not None:
        return int(task) - int(os.environ.get("SLURM_ARRAY_TASK_MIN", "0"))
    index = os.environ.get("JOB_COMPLETION_INDEX")
    if index is not None:
        return int(index)
    raise ShardError("--shard auto: this is neither a Slurm array task (no "
                     "SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (no "
                     "JOB_COMPLETION_INDEX); give the shard as K/N, e.g. --shard 0/4")


def parse_shard(text: str) -> Shard:
    """``K/N``, ``auto`` or ``auto/N`` (see the module's notes)."""
    try:
        if text == "auto":
            if "SLURM_ARRAY_TASK_ID" not in os.environ:
                if "JOB_COMPLETION_INDEX" in os.environ:
                    raise ShardError("--shard auto in a Kubernetes Indexed Job: give the "
                                     "number of shards too, e.g. --shard auto/4 for "
                                     "completions: 4")
                _index_from_environment()
            count_text = os.environ.get("SLURM_ARRAY_TASK_COUNT")
            if count_text is None:
                raise ShardError("--shard auto: Slurm did not set SLURM_ARRAY_TASK_COUNT "
                                 "(Slurm before 21.08?); give the count, e.g. --shard auto/4")
            index, count = _index_from_environment(), int(count_text)
        else:
            first, _, second = text.partition("/")
            count = int(second)
            index = _index_from_environment() if first == "auto" else int(first)
    except ValueError as error:
        if isinstance(error, ShardError):
            raise
        raise ShardError(f"--shard {text}: give K/N with whole numbers, e.g. --shard 0/4, "
                         "or auto (a Slurm array) or auto/N") from None
    if count < 1 or not 0 <= index < count:
        raise ShardError(f"--shard {text}: the shard must be between 0 and N-1 (here "
                         f"{index} of {count}); shards are numbered from 0")
    return Shard(index, count)


# --------------------------------------------------------------------------- merge

@dataclass
class MergeResult:
    rows: int
    missing: list[str]
    sources: list[Path]


def _read_gradebook(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def merge(out: Path, expected: list[str] | None = None) -> MergeResult:
    """Join ``out/shards/*/grades.csv`` (and an earlier ``out/grades.csv``) into
    ``out/grades.csv``, their feedback into ``out/feedback/`` and the logs of submissions
    the grader failed on into ``out/logs/``.

    One row per submission. Refuses (ShardError, nothing written) gradebooks with other
    columns or graded against another reference. Where two gradebooks hold the same
    submission, the one written last wins. ``expected``: the names of the submissions that
    should have a row; those that have none are returned in ``missing``. Running it again
    changes nothing.
    """
    out = Path(out)
    shard_books = sorted((out / SHARDS_FOLDER).glob("*/grades.csv"))
    merged = out / "grades.csv"
    sources = ([merged] if merged.exists() else []) + shard_books
    if not shard_books and not merged.exists():
        raise ShardError(f"nothing to merge: no {out / SHARDS_FOLDER}/*/grades.csv (grade "
                         "with --shard K/N and the same --out first)")
    parts, reference, rows, origin = None, None, {}, {}
    # oldest first, so that a gradebook written later wins a submission both hold
    for path in sorted(sources, key=lambda p: p.stat().st_mtime_ns):
        columns, book_rows = _read_gradebook(path)
        found = parts_of(columns)
        if found is None:
            raise ShardError(f"{path} is not a gradebook this grader wrote (columns "
                             f"{', '.join(columns)})")
        if parts is None:
            parts, parts_from = found, path
        elif found != parts:
            raise ShardError(f"{path} grades the parts {', '.join(found)}, but {parts_from} "
                             f"grades {', '.join(parts)}: these were graded for different "
                             "assignments; merge only shards of one grading")
        for row in book_rows:
            if reference is None:
                reference, reference_from = row["reference_sha256"], path
            elif row["reference_sha256"] != reference:
                raise ShardError(
                    f"{path} was graded against another reference (sha256 "
                    f"{row['reference_sha256'][:12]}...) than {reference_from} "
                    f"({reference[:12]}...): grade every shard with the same --reference "
                    "(--regrade), or give another --out")
            rows[row["file"]] = row
            origin[row["file"]] = path.parent
    book = Gradebook(merged, parts, 0, reference)
    rows = {name: book.in_latest_format(row) for name, row in rows.items()}
    book.rows = dict(rows)
    book._mine = set(rows)
    book.save()
    for name, folder in origin.items():
        if folder == out:
            continue   # the earlier merge's own feedback is already in place
        for where in (feedback_path, log_path):
            source = where(folder, name)
            if source.exists():
                target = where(out, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    missing = sorted(set(expected or ()) - set(rows))
    return MergeResult(rows=len(rows), missing=missing, sources=sources)
