"""Grading a course on a real one-node Slurm cluster: ``python -m resnet_grader slurm``.

The fixture starts munged, slurmctld and slurmd (as root, from Debian's slurm-wlm and munge)
with a generated slurm.conf in a temporary folder (one node, ProctrackType=proctrack/linuxproc,
TaskPlugin=task/none, its own ports and munge socket), and stops them afterwards. The test
grades the fixtures in three array tasks, cancels the task that holds a slow submission while
it runs, runs the same command again, and checks that the merged gradebook equals one
machine's grading of the same files.
"""
from __future__ import annotations

import filecmp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resnet_grader.shards import shard_of
from .test_grade import REFERENCE, answer_cell, grade, reference, rows, submission, write
from .test_shards import course, graded_rows

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel")
SLOW = "slow.ipynb"
SLOW_SECONDS = 25


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    assert not missing, (f"{', '.join(missing)} not found: install Debian's slurm-wlm and "
                         "munge (`make install` does)")
    if os.geteuid() != 0:
        pytest.skip("starting slurmd needs root (CI runs as root)")
    folder = tmp_path_factory.mktemp("slurm")
    folder.chmod(0o755)
    munge = folder / "munge"
    munge.mkdir()
    node = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=grading", f"SlurmctldHost={node}", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={munge / 'munge.socket'}",
        f"StateSaveLocation={folder / 'state'}", f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}", f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}", f"SlurmdLogFile={folder / 'slurmd.log'}",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU", "MpiDefault=none",
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        "ReturnToService=2",
        f"NodeName={node} CPUs={os.cpu_count()} RealMemory=1000 State=UNKNOWN",
        "PartitionName=grading Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]))
    (folder / "state").mkdir()
    (folder / "spool").mkdir()
    env = {**os.environ, "SLURM_CONF": str(conf)}
    pids = [munge / "munged.pid", folder / "slurmctld.pid", folder / "slurmd.pid"]
    try:
        subprocess.run(["munged", "--force", f"--socket={munge / 'munge.socket'}",
                        f"--pid-file={pids[0]}", f"--log-file={munge / 'munged.log'}",
                        f"--seed-file={munge / 'seed'}"], check=True, capture_output=True)
        subprocess.run(["slurmctld", "-f", str(conf)], check=True, env=env)
        subprocess.run(["slurmd", "-f", str(conf)], check=True, env=env)

        def idle():
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                   text=True).stdout.split()
            return state == ["idle"]

        _wait(idle, 60, "the node to come up idle")
        yield {"env": env, "folder": folder}
    finally:
        subprocess.run(["scancel", "--full", "--quiet", "-p", "grading"], env=env,
                       capture_output=True)
        for pid_file in reversed(pids):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (OSError, ValueError):
                continue
        for pid_file in reversed(pids):
            _wait(lambda: not pid_file.exists() or not _alive(pid_file), 30,
                  f"{pid_file.stem} to stop")


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
        return True
    except (OSError, ValueError):
        return False


def _slurm(cluster, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "resnet_grader", "slurm", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=cluster["env"], cwd=Path(__file__).resolve().parents[1])


def _jobs(cluster) -> list[str]:
    return subprocess.run(["squeue", "-h", "-o", "%i %t"], env=cluster["env"],
                          capture_output=True, text=True).stdout.splitlines()


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
    slow_shard = shard_of(SLOW, 3)
    log = out / "slurm" / "logs" / f"grade-{array[1]}_{slow_shard}.out"
    # cancel the slow submission's task once its grader has started on its shard
    _wait(lambda: log.exists() and "grading " in log.read_text(), 180,
          "the slow submission's task to start grading")
    subprocess.run(["scancel", f"{array[1]}_{slow_shard}"], env=cluster["env"], check=True)
    _wait(lambda: not _jobs(cluster), 300, "the array and the merge to end")
    assert SLOW not in rows(out)   # its task was cancelled before it finished
    assert len(rows(out)) < 7

    again = _slurm(cluster, *command, "--wait")
    assert again.returncode == 0, again.stderr + again.stdout
    assert "all 7 submission(s) graded" in again.stdout
    # Not checked yet: that the rerun regrades nothing the first run finished. Two of three
    # runs of this test saw a shard that was not cancelled grade its rows again (an open bug).

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
