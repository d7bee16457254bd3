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

A shard is skipped where any gradebook under ``DIR`` (another shard's, or an earlier merge)
already holds it, graded from the same file against the same reference.

``--share-work`` balances the shards of one run, whose cost no split by name can foresee (one
endless loop takes the whole cell timeout): before grading a submission a task claims it in
``DIR/claims/<run>/`` (a file created with O_EXCL, which local file systems and NFS v3 or
later make atomic), and once its own shard is done it takes the unclaimed submissions of the
other shards, in the order they were listed. A submission is graded once per run; the row goes
into the gradebook of the task that graded it. A claim belongs to its run, so running the
command again (a new run) grades what a cancelled task left unfinished.
"""
from __future__ import annotations

import csv
import hashlib
import os
import shutil
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .report import Gradebook, feedback_path, log_path, parts_of

SHARDS_FOLDER = "shards"
CLAIMS_FOLDER = "claims"


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


# --------------------------------------------------------------------------- sharing

def run_name(given: str) -> str:
    """The run whose shards share work: ``auto`` is the Slurm array job's id."""
    if given != "auto":
        if not given or "/" in given or given.startswith("."):
            raise ShardError(f"--share-work {given!r}: give a name for this run, the same in "
                             "every shard, without '/' (e.g. a CI run's id)")
        return given
    array = os.environ.get("SLURM_ARRAY_JOB_ID", "").strip()
    if not array:
        raise ShardError("--share-work: this is not a Slurm array task (no SLURM_ARRAY_JOB_ID); "
                         "give the run a name that every shard shares, e.g. --share-work "
                         "week-3")
    return f"slurm-{array}"


class Claims:
    """Which submissions the tasks of one run have taken: ``DIR/claims/<run>/<name>``."""

    def __init__(self, out: Path, run: str, shard: Shard):
        self.folder = Path(out) / CLAIMS_FOLDER / run
        self.folder.mkdir(parents=True, exist_ok=True)
        self.owner = f"shard {shard.folder_name} on {socket.gethostname()}, pid {os.getpid()}\n"

    def path(self, name: str) -> Path:
        return self.folder / urllib.parse.quote(name, safe="")

    def take(self, name: str) -> bool:
        """Claim ``name`` for this task; False where another task of the run has it."""
        try:
            descriptor = os.open(self.path(name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self.owner)
        return True


def graded_elsewhere(out: Path, own: Path, reference_sha256: str) -> dict[str, str]:
    """name -> submission sha256 of the rows graded against this reference in the other
    gradebooks under ``out``: the shards' (not ``own``) and an earlier merge's."""
    out = Path(out)
    books = [out / "grades.csv", *sorted((out / SHARDS_FOLDER).glob("*/grades.csv"))]
    found = {}
    for path in books:
        if path.parent.resolve() == Path(own).resolve() or not path.exists():
            continue
        try:
            _, rows = _read_gradebook(path)
        except (OSError, csv.Error, UnicodeDecodeError):
            continue   # not a gradebook this grader can read: merge names it
        for row in rows:
            if row.get("reference_sha256") == reference_sha256:
                found[row.get("file")] = row.get("submission_sha256")
    return found


def sharing_order(own: list, others: list) -> list[tuple[object, bool]]:
    """The order a sharing task tries submissions in, as (item, is_own) pairs: its own shard
    first, then the other shards' in the order they were listed, the order one machine
    grades them in. (A claim settles which task gets one, so tasks need not avoid each
    other's ends of a list.)"""
    return [(item, True) for item in own] + [(item, False) for item in others]


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
