"""Grading a course on a real one-node Slurm cluster: ``python -m resnet_grader slurm``.

The fixture starts munged, slurmctld and slurmd (as root, from Debian's slurm-wlm and munge)
with a generated slurm.conf in a temporary folder (one node, ProctrackType=proctrack/linuxproc,
TaskPlugin=task/none, its own ports and munge socket), and stops them afterwards. The test
grades the fixtures in three array tasks that share the work, cancels the task that claimed a
slow submission while it grades it, runs the same command again, and checks that nothing was
graded twice and that the merged gradebook equals one machine's grading of the same files.
"""
from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from book_tools.slurm_cluster import jobs, one_node_cluster, wait
from .test_grade import (REFERENCE, answer_cell, grade, graded_rows, reference, rows,
                         submission, write)
from .test_shards import course

SLOW = "slow.ipynb"
SLOW_SECONDS = 25


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("starting slurmd needs root (CI runs as root)")
    folder = tmp_path_factory.mktemp("slurm")
    with one_node_cluster(folder) as env:   # fails, saying what to install, without Slurm
        yield {"env": env, "folder": folder}


def _slurm(cluster, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "resnet_grader", "slurm", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=cluster["env"], cwd=Path(__file__).resolve().parents[1])


def test_a_course_on_slurm_survives_a_cancelled_task_and_equals_one_machines_grading(
        cluster, tmp_path):
    folder = course(tmp_path / "course")
    relu = answer_cell(reference(), "relu").source.rstrip("\n")
    write(folder, SLOW, submission(relu=f"{relu}\nimport time\ntime.sleep({SLOW_SECONDS})\n"))
    out = tmp_path / "out"
    command = ["--reference", REFERENCE, "--out", out, "--shards", 3, "--cpus-per-task", 1,
               "--cell-timeout", 60, folder]
    first = _slurm(cluster, *command)
    assert first.returncode == 0, first.stderr
    array = re.search(r"grading array job (\d+) \(3 tasks\), merge job (\d+)", first.stdout)
    assert array, first.stdout
    assert (out / "slurm" / "grade.sbatch").read_text().count("--shard auto") == 1
    # cancel the task grading the slow submission once it has claimed it
    claim = out / "claims" / f"slurm-{array[1]}" / SLOW
    wait(lambda: claim.exists() and "shard " in claim.read_text(), 180,
         "a task to claim the slow submission")
    slow_task = re.search(r"shard (\d)-of-3", claim.read_text())[1]
    subprocess.run(["scancel", f"{array[1]}_{slow_task}"], env=cluster["env"], check=True)
    wait(lambda: not jobs(cluster["env"]), 300, "the array and the merge to end")
    first_rows = rows(out)
    assert SLOW not in first_rows   # its task was cancelled before it finished
    assert len(first_rows) < 7
    books = [set(rows(book.parent)) for book in (out / "shards").glob("*/grades.csv")]
    assert sum(map(len, books)) == len(set().union(*books))   # no submission graded twice

    again = _slurm(cluster, *command, "--wait")
    assert again.returncode == 0, again.stderr + again.stdout
    assert "all 7 submission(s) graded" in again.stdout
    second = re.search(r"grading array job (\d+)", again.stdout)[1]
    regraded = []
    for shard in range(3):
        text = (out / "slurm" / "logs" / f"grade-{second}_{shard}.out").read_text()
        regraded += re.findall(r"^\[[^\]]+\] (\S+): ", text, re.M)
    # the second run graded exactly what the first left without a row, each once
    assert sorted(regraded) == sorted(set(rows(out)) - set(first_rows))
    assert SLOW in regraded

    whole = grade("--reference", REFERENCE, "--out", tmp_path / "whole", "--cell-timeout", 60,
                  folder)
    assert whole.returncode == 0, whole.stderr
    assert graded_rows(out) == graded_rows(tmp_path / "whole")
    comparison = filecmp.dircmp(tmp_path / "whole" / "feedback", out / "feedback")
    assert comparison.left_only == comparison.right_only == comparison.diff_files == []
    assert len(comparison.same_files) == 7


def test_without_sbatch_the_scripts_are_written_and_the_command_says_why(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    write(folder, "one.ipynb", reference())
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    result = subprocess.run([sys.executable, "-m", "resnet_grader", "slurm", "--reference",
                             str(REFERENCE), "--out", str(tmp_path / "out"), "--shards", "2",
                             "--partition", "gpu", "--sbatch-option=--account=course",
                             str(folder)], capture_output=True, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert result.returncode == 2 and "sbatch is not on PATH" in result.stderr
    script = (tmp_path / "out" / "slurm" / "grade.sbatch").read_text()
    assert "#SBATCH --array=0-1" in script and "#SBATCH --partition=gpu" in script
    assert "#SBATCH --account=course" in script
    merge_script = (tmp_path / "out" / "slurm" / "merge.sbatch").read_text()
    assert "resnet_grader merge --out" in merge_script and "--array" not in merge_script
