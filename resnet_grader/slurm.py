"""``python -m resnet_grader slurm``: grade a course as a Slurm job array, then merge.

The command writes two batch scripts into ``DIR/slurm/`` (for the instructor to read and adapt):
``grade.sbatch``, an array of N tasks, each grading its shard (``--shard auto``) in its sandbox
and then helping the others with what they have not started (``--share-work auto``), and
``merge.sbatch``, which joins the shards once every task has ended, whatever each did
(``--dependency=afterany``). It submits both with ``sbatch`` and prints the job ids. Each task's
own log goes to ``DIR/slurm/logs/``.

Running the same command again grades only what is missing: each shard's gradebook keeps the
rows it finished, so a cancelled task, a time-out or a lost node costs only its own rows.
``--wait`` waits for both jobs and exits 1 if a submission was left ungraded, naming it.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .shards import ShardError, merge

POLL_SECONDS = 2.0


class SlurmError(RuntimeError):
    """Slurm could not be used; the message says what happened and what to do."""


def _script(directives: list[str], command: list[str], workdir: Path) -> str:
    lines = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives), "set -euo pipefail",
             f"cd {shlex.quote(str(workdir))}", "exec " + shlex.join(command), ""]
    return "\n".join(lines)


def write_scripts(*, out: Path, shards: int, grade_arguments: list[str],
                  submissions: list[str], sbatch_options: list[str],
                  python: str = sys.executable, workdir: Path | None = None) -> tuple[Path, Path]:
    """Write ``DIR/slurm/grade.sbatch`` and ``merge.sbatch``; return their paths."""
    out = Path(out).resolve()
    workdir = Path(workdir or Path.cwd()).resolve()
    folder, logs = out / "slurm", out / "slurm" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    grade = _script(
        ["--job-name=resnet-grader", f"--array=0-{shards - 1}",
         f"--output={logs}/grade-%A_%a.out", *sbatch_options],
        [python, "-m", "resnet_grader", "grade", *grade_arguments, "--out", str(out),
         "--shard", "auto", "--share-work", "auto", *submissions], workdir)
    # The merge needs one CPU for a few seconds, whatever the grading tasks asked for.
    merge_job = _script(
        ["--job-name=resnet-grader-merge", f"--output={logs}/merge-%j.out",
         *[o for o in sbatch_options if not o.startswith(("--cpus-per-task", "--mem",
                                                           "--array"))]],
        [python, "-m", "resnet_grader", "merge", "--out", str(out), *submissions], workdir)
    paths = folder / "grade.sbatch", folder / "merge.sbatch"
    for path, text in zip(paths, (grade, merge_job)):
        path.write_text(text)
        path.chmod(0o755)
    return paths


def _sbatch(arguments: list[str]) -> str:
    if shutil.which("sbatch") is None:
        raise SlurmError("sbatch is not on PATH: run this on a Slurm login node (or install "
                         "the Slurm client tools); the batch scripts are written all the same")
    result = subprocess.run(["sbatch", "--parsable", *arguments], capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SlurmError(f"sbatch {shlex.join(arguments)} failed: "
                         f"{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip().split(";")[0]


def submit(grade_script: Path, merge_script: Path) -> tuple[str, str]:
    """Submit the array, then the merge after it; return both job ids."""
    array = _sbatch([str(grade_script)])
    merge_job = _sbatch([f"--dependency=afterany:{array}", str(merge_script)])
    return array, merge_job


def wait_for(jobs: list[str], poll: float = POLL_SECONDS) -> None:
    """Return once Slurm lists none of ``jobs`` (nor any task of them) any more."""
    while True:
        result = subprocess.run(["squeue", "-h", "-j", ",".join(jobs), "-o", "%i"],
                                capture_output=True, text=True)
        if result.returncode == 0 and not result.stdout.strip():
            return
        if result.returncode != 0 and "Invalid job id" in result.stderr:
            return   # gone from the controller's memory: ended
        time.sleep(poll)


def check_merged(out: Path, expected: list[str]) -> list[str]:
    """Merge what the tasks wrote and return the submissions still without a row."""
    try:
        return merge(out, expected).missing
    except ShardError:
        return sorted(expected)   # no shard wrote anything
