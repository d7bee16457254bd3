"""Hostile submissions against the real grader (``python -m resnet_grader``) and its sandbox.

Each submission is the tiny reference's solution (tests/grading_fixtures/reference.ipynb, NumPy
only) with a few lines added to its first answer cell, ``relu``; all are graded as one batch,
as an instructor would. The tests then check the scores, statuses and feedback, and the machine:
files that must not exist, processes that must not run, a gradebook that must not change after
the grader exits, a listening socket that must see no connection.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from resnet_grader.sandbox import Limits, bwrap_command
from .test_grade import PARTS, REFERENCE, ROOT, answer_cell, feedback, grade, points, \
    reference, rows, submission, write

TOKEN = f"hostile{uuid.uuid4().hex[:12]}"   # in every path and command line the attacks use
HOME = Path.home()
PROCESS_LIMIT = 256
OUTPUT_LIMIT_MB = 64

# A process that leaves the kernel (double fork, setsid), looks for the grader's command line
# in /proc to find the gradebook, waits for the grader to exit, then appends a forged row.
LURKER = """\
import os, sys, time
out, deadline = {out!r}, time.monotonic() + 60
grader = None
while time.monotonic() < deadline:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{{pid}}/cmdline", "rb").read().decode().split("\\0")
        except OSError:
            continue
        if "resnet_grader" in argv and "--out" in argv:
            grader, out = pid, argv[argv.index("--out") + 1]
    if grader and not os.path.exists(f"/proc/{{grader}}"):
        break
    time.sleep(0.1)
with open(os.path.join(out, "grades.csv"), "a") as gradebook:
    gradebook.write("forged.ipynb,2,5,3,10,10,graded,,0,0\\n")
"""

DETACHED = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", {lurker!r}, {token!r}])
    os._exit(0)
os.wait()
# the answer fails unless the lurker really runs (so that this test tests something)
deadline = time.monotonic() + 10
while not any({token!r}.encode() in open(f"/proc/{{p}}/cmdline", "rb").read()
              for p in os.listdir("/proc") if p.isdigit()):
    assert time.monotonic() < deadline, "the detached process did not start"
    time.sleep(0.1)
"""

WRITES_OUTSIDE = """
open("/tmp/{token}-tmp", "w").write("in the sandbox, /tmp is its own scratch folder")
open({home!r} + "/{token}-home", "w").write("the grading user's home")
"""

SNOOPS = """
import os
def seen(path):
    try:
        return sorted(os.listdir(path)) if os.path.isdir(path) else len(open(path).read())
    except OSError as error:
        return type(error).__name__
raise RuntimeError(f"saw reference={{seen({reference!r})}} "
                   f"submissions={{seen({submissions!r})}} out={{seen({out!r})}}")
"""

NETWORK = """
import socket
def attempt(how):
    try:
        how()
        return "connected"
    except OSError as error:
        return type(error).__name__
loopback = attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
internet = attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
dns = attempt(lambda: socket.getaddrinfo("pypi.org", 443))
raise ConnectionError(f"loopback={{loopback}} internet={{internet}} dns={{dns}}")
"""

PRINTS_60_MB = """
print("x" * 60_000_000)
"""

FLOODS_STDOUT = """
import os
for _ in range(4096):
    os.write(1, b"x" * 2**20)   # below print(): straight to the kernel's standard output
"""

FILLS_SCRATCH = """
with open("/tmp/{token}-big", "wb") as big:
    for _ in range(4096):
        big.write(b"x" * 2**20)
"""

# Bounded by construction (2,048 sleeping processes) even where no cgroup holds the limit, so
# that the machine survives if the limit were not enforced at all.
STORM = """
import subprocess, sys, time
code = "import os, time\\nfor _ in range(11):\\n    os.fork()\\ntime.sleep(600)\\n"
subprocess.Popen([sys.executable, "-S", "-c", code, {token!r}])
time.sleep(30)
"""


def hostile(extra: str):
    """The solution with ``extra`` lines added to the relu answer cell."""
    relu = answer_cell(reference(), "relu").source.rstrip("\n") + "\n" + extra
    return submission(relu=relu)


def token_processes() -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if TOKEN.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    out = tmp_path_factory.mktemp("hostile-grades") / "out"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    write(folder, "solution.ipynb", reference())
    lurker = LURKER.format(out=str(out))
    write(folder, "detached.ipynb", hostile(DETACHED.format(lurker=lurker, token=TOKEN)))
    write(folder, "writes_outside.ipynb",
          hostile(WRITES_OUTSIDE.format(token=TOKEN, home=str(HOME))))
    write(folder, "snoops.ipynb", hostile(SNOOPS.format(
        reference=str(REFERENCE), submissions=str(folder), out=str(out))))
    write(folder, "network.ipynb", hostile(NETWORK.format(port=port)))
    write(folder, "prints_60_mb.ipynb", hostile(PRINTS_60_MB))
    write(folder, "floods_stdout.ipynb", hostile(FLOODS_STDOUT))
    write(folder, "fills_scratch.ipynb", hostile(FILLS_SCRATCH.format(token=TOKEN)))
    write(folder, "fork_storm.ipynb", hostile(STORM.format(token=TOKEN)))
    start = time.monotonic()
    result = grade("--reference", REFERENCE, "--out", out, "--cell-timeout", "60",
                   "--process-limit", PROCESS_LIMIT, "--output-limit", OUTPUT_LIMIT_MB, folder)
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    gradebook = (out / "grades.csv").read_bytes()
    time.sleep(3)   # the lurker acts within 0.1 s of the grader's exit, if it still runs
    try:
        connection = listener.accept()
    except BlockingIOError:
        connection = None
    listener.close()
    print(f"hostile batch of 9 graded in {seconds:.0f} s")
    return {"out": out, "rows": rows(out), "gradebook_at_exit": gradebook,
            "connection": connection, "stdout": result.stdout, "seconds": seconds}


def test_the_solution_still_gets_full_marks(hostile_batch):
    row = hostile_batch["rows"]["solution.ipynb"]
    assert points(row) == PARTS and row["status"] == "graded"


def test_a_detached_process_dies_with_the_sandbox_and_forges_nothing(hostile_batch):
    row = hostile_batch["rows"]["detached.ipynb"]
    # relu passed: the lurker was running (the answer checks it) when the cell ended
    assert points(row) == PARTS and row["status"] == "graded"
    assert token_processes() == []
    gradebook = hostile_batch["out"] / "grades.csv"
    assert gradebook.read_bytes() == hostile_batch["gradebook_at_exit"]
    assert "forged" not in gradebook.read_text()
    assert set(rows(hostile_batch["out"])) == set(hostile_batch["rows"])


def test_writes_outside_the_scratch_folder_are_refused(hostile_batch):
    assert not Path(f"/tmp/{TOKEN}-tmp").exists()    # the sandbox's /tmp is its own
    assert not (HOME / f"{TOKEN}-home").exists()
    row = hostile_batch["rows"]["writes_outside.ipynb"]
    assert row["status"] == "write-denied"
    assert points(row) == {**PARTS, "relu": 0}
    text = feedback(hostile_batch, "writes_outside.ipynb")
    assert "Read-only file system" in text and "tried to write outside its own folder" in text


def test_the_reference_submissions_and_gradebook_are_invisible(hostile_batch):
    text = feedback(hostile_batch, "snoops.ipynb")
    # the reference is covered by /dev/null (which cannot be opened there); the submissions
    # and the gradebook are in the machine's /tmp, which the sandbox does not have
    seen = re.search(r"saw reference=([^\s`]+) submissions=([^\s`]+) out=([^\s`]+)", text)
    assert seen, text
    assert seen[1] in ("0", "PermissionError")
    assert seen[2] in ("[]", "FileNotFoundError") and seen[3] in ("[]", "FileNotFoundError")


# Looks for graded notebooks (the reference's hidden checks are in them) in the folder the
# grader's TMPDIR names, as a submission that guessed a cluster job's scratch would.
GLOBS_TMPDIR = """
import glob
found = glob.glob({scratch!r} + "/**/*.ipynb", recursive=True)
leaked = sum("HIDDEN CHECK" in open(path).read() for path in found)
raise RuntimeError(f"found={{len(found)}} leaked={{leaked}}")
"""


def test_the_graders_own_files_stay_hidden_when_tmpdir_is_outside_tmp(tmp_path):
    """A cluster job's TMPDIR is often on job-local scratch, not under /tmp: the graded
    notebook the grader keeps there must be as invisible as under /tmp."""
    scratch = Path("/var/tmp") / f"{TOKEN}-scratch"
    scratch.mkdir()
    try:
        folder, out = tmp_path / "submissions", tmp_path / "out"
        folder.mkdir()
        write(folder, "globs.ipynb", hostile(GLOBS_TMPDIR.format(scratch=str(scratch))))
        result = grade("--reference", REFERENCE, "--out", out, "--cell-timeout", "60", folder,
                       env={"TMPDIR": str(scratch)})
        assert result.returncode == 0, result.stderr
        text = (out / "feedback" / "globs.md").read_text()
        seen = re.search(r"found=(\d+) leaked=(\d+)", text)
        assert seen, text   # the attack ran and reported
        assert seen.groups() == ("0", "0"), text
        assert rows(out)["globs.ipynb"]["status"] == "graded"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_a_tmpdir_that_holds_python_is_refused_with_what_to_do(tmp_path):
    """Hiding such a folder would hide Python from the sandbox: the grader stops at once and
    says what to set, rather than grade with the folder visible."""
    import sys

    prefix = Path(sys.prefix).resolve()
    folder = tmp_path / "submissions"
    folder.mkdir()
    write(folder, "solution.ipynb", reference())
    result = grade("--reference", REFERENCE, "--out", tmp_path / "out", folder,
                   env={"TMPDIR": str(prefix.parent)})
    assert result.returncode == 2, result.stderr
    assert "not grading" in result.stderr and "Point TMPDIR at a folder" in result.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_hidden_folder_is_empty_and_read_only_in_the_sandbox(tmp_path):
    """The same for a folder outside /tmp (an --out folder in a course's folder): bwrap covers
    it with an empty read-only tmpfs."""
    secret = Path("/var/tmp") / TOKEN
    secret.mkdir()
    try:
        (secret / "grades.csv").write_text("file,total\n")
        probe = "ls -A {0}; touch {0}/forged 2>&1 || true".format(secret)
        command = bwrap_command(["/bin/sh", "-c", probe], hidden=[secret], limits=Limits(),
                                workdir=Path("/"))
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "grades.csv" not in result.stdout and "Read-only file system" in result.stdout
        assert sorted(p.name for p in secret.iterdir()) == ["grades.csv"]
    finally:
        shutil.rmtree(secret)


def test_a_hidden_file_stays_hidden_inside_a_folder_bound_back_from_tmp(tmp_path):
    """A checkout under /tmp (a CI clone): its folders are bound back for Python to import
    from, and the reference inside it must stay hidden all the same."""
    checkout = tmp_path / "checkout"
    (checkout / "fixtures").mkdir(parents=True)
    reference = checkout / "fixtures" / "reference.ipynb"
    reference.write_text("the reference")
    probe = f"cat {reference} 2>&1; ls {checkout}/fixtures"
    command = bwrap_command(["/bin/sh", "-c", probe], hidden=[reference], limits=Limits(),
                            workdir=Path("/"), readable=[checkout])
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "reference.ipynb" in result.stdout   # the folder is there ...
    assert "the reference" not in result.stdout  # ... but not what the file holds


def test_no_network_not_even_the_machines_loopback(hostile_batch):
    assert hostile_batch["connection"] is None
    text = feedback(hostile_batch, "network.ipynb")
    assert "loopback=ConnectionRefusedError" in text
    assert "internet=connected" not in text and "dns=connected" not in text


def test_a_60_mb_print_is_graded(hostile_batch):
    row = hostile_batch["rows"]["prints_60_mb.ipynb"]
    assert points(row) == PARTS and row["status"] == "graded"


def test_an_output_flood_is_stopped_at_the_output_limit(hostile_batch):
    # what the kernel writes to its file descriptor 1 lands in pytest's capture file, in the
    # scratch folder; a file of its own too: both stop at the scratch folder's size
    for name in ("floods_stdout.ipynb", "fills_scratch.ipynb"):
        row = hostile_batch["rows"][name]
        assert row["status"] == "output-limit", name
        assert points(row) == {**PARTS, "relu": 0}, name   # the write failed; the run went on
        assert f"more than the {OUTPUT_LIMIT_MB} MB a submission may write" in row["note"]
        assert f"{OUTPUT_LIMIT_MB} MB" in feedback(hostile_batch, name)
    assert not Path(f"/tmp/{TOKEN}-big").exists()


def test_a_fork_storm_is_stopped_at_the_process_limit(hostile_batch):
    row = hostile_batch["rows"]["fork_storm.ipynb"]
    assert row["status"] == "process-limit" and row["total"] == "0"
    text = feedback(hostile_batch, "fork_storm.ipynb")
    assert f"ran more than {PROCESS_LIMIT} processes and threads at once" in text
    assert token_processes() == []


# Holds 1 GiB of touched memory (every page written) for as long as it is let.
HOARDS_MEMORY = """
import numpy as _np, time as _time
_hoard = _np.ones(2**27)   # 2**27 float64: 1 GiB
_time.sleep(60)
"""


def test_a_memory_hog_is_stopped_at_the_memory_limit(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write(folder, "hoards_memory.ipynb", hostile(HOARDS_MEMORY))
    start = time.monotonic()
    result = grade("--reference", REFERENCE, "--out", tmp_path / "out", "--cell-timeout",
                   "120", "--memory-limit", "600", folder)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 45, "not stopped before the cell's sleep ended"
    row = rows(tmp_path / "out")["hoards_memory.ipynb"]
    assert row["status"] == "memory-limit" and points(row)["relu"] == 0, row
    assert "600 MB of memory" in row["note"]


def test_without_bubblewrap_the_grader_refuses_unless_told_to_run_unsandboxed(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write(folder, "solution.ipynb", reference())
    no_bwrap = {"PATH": str(tmp_path)}   # a PATH on which there is no bwrap
    command = ["--reference", REFERENCE, "--out", tmp_path / "out", folder]
    result = grade(*command, env=no_bwrap)
    assert result.returncode == 2
    assert "not grading" in result.stderr and "apt-get install bubblewrap" in result.stderr
    assert "--unsafe-no-sandbox" in result.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
    result = grade(*command, "--unsafe-no-sandbox", env=no_bwrap)
    assert result.returncode == 0, result.stderr
    assert "unsandboxed" in result.stderr
    assert points(rows(tmp_path / "out")["solution.ipynb"]) == PARTS


def test_a_students_self_check_runs_without_bubblewrap_and_says_so(tmp_path):
    """A student checks their own notebook: no sandbox is needed to run one's own code."""
    from book_tools.exercises import add_expected_outputs

    write(tmp_path, "mine.ipynb", add_expected_outputs(submission(), reference()))
    result = grade("--self-check", tmp_path / "mine.ipynb", env={"PATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "running without a sandbox" in result.stderr
    assert "Total: **10 / 10** points" in result.stdout


def test_bad_limits_are_refused(tmp_path, capsys):
    from .test_grade import grade_here

    assert grade_here("--reference", REFERENCE, "--out", tmp_path / "o", "--memory-limit", "0",
                      REFERENCE) != 0
    assert "must be at least 1" in capsys.readouterr().err


def test_where_the_machine_forbids_namespaces_the_grader_stops_at_once_and_says_so(tmp_path):
    """A cluster node that forbids namespaces: here a user namespace whose kernel limit on
    mount namespaces is 0, so bwrap cannot make one (the kernel refuses, ENOSPC)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to forbid namespaces for this test")
    folder = tmp_path / "subs"
    folder.mkdir()
    write(folder, "solution.ipynb", reference())
    out = tmp_path / "out"
    grader = shlex.join([sys.executable, "-m", "resnet_grader", "grade", "--reference",
                         str(REFERENCE), "--out", str(out), str(folder)])
    start = time.monotonic()
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "sh", "-c",
         f"echo 0 > /proc/sys/user/max_mnt_namespaces && exec {grader}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert "not grading" in result.stderr and "bwrap could not make a sandbox" in result.stderr
    assert "--unsafe-no-sandbox" in result.stderr
    assert time.monotonic() - start < 30
    assert not (out / "grades.csv").exists()
