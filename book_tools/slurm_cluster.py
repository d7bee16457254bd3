"""A real one-node Slurm cluster on this machine, for the grading tests and benchmarks.

Starts munged, slurmctld and slurmd (as root, from Debian's slurm-wlm and munge) with a
generated ``slurm.conf`` in a folder of the caller's (one node with this machine's CPUs,
``ProctrackType=proctrack/linuxproc``, ``TaskPlugin=task/none``, its own ports and munge
socket, so it cannot meet another cluster on the machine), and stops them afterwards.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

COMMANDS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")


class ClusterUnavailable(RuntimeError):
    """Slurm cannot be started here; the message says what is missing."""


def wait(condition, timeout: float, what: str) -> None:
    """Return once ``condition()`` holds; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def jobs(env: dict) -> list[str]:
    """The jobs Slurm lists now ("ID STATE" each). A squeue that failed (the controller busy)
    lists nothing, which must not read as "every job has ended": it asks again."""
    for _ in range(30):
        listed = subprocess.run(["squeue", "-h", "-o", "%i %t"], env=env, capture_output=True,
                                text=True)
        if listed.returncode == 0:
            return listed.stdout.splitlines()
        time.sleep(1)
    raise AssertionError(f"squeue kept failing: {listed.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
        return True
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def one_node_cluster(folder: Path):
    """Run a one-node cluster with its files in ``folder``; yield the environment
    (``SLURM_CONF`` set) in which sbatch, squeue and scancel talk to it."""
    missing = [name for name in COMMANDS if shutil.which(name) is None]
    if missing:
        raise ClusterUnavailable(f"{', '.join(missing)} not found: install Debian's slurm-wlm "
                                 "and munge (`make install` does)")
    if os.geteuid() != 0:
        raise ClusterUnavailable("starting slurmd needs root")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    munge = folder / "munge"
    munge.mkdir(exist_ok=True)
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
    (folder / "state").mkdir(exist_ok=True)
    (folder / "spool").mkdir(exist_ok=True)
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

        wait(idle, 60, "the node to come up idle")
        yield env
    finally:
        subprocess.run(["scancel", "--full", "--quiet", "-p", "grading"], env=env,
                       capture_output=True)
        for pid_file in reversed(pids):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (OSError, ValueError):
                continue
        for pid_file in reversed(pids):
            wait(lambda: not pid_file.exists() or not _alive(pid_file), 30,
                 f"{pid_file.stem} to stop")
