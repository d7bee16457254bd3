"""Build the graded notebook for one submission, run it under nbval in a sandbox, read the
results back."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .assignment import Assignment
from .conventions import (GRADING_ENV, ID_KEY, is_visible_check, neutralize, text_outputs,
                          without_expected_output_call)
from .sandbox import (MB, SCRATCH, Limits, OutputTail, ProcessCgroup, Watchdog, bwrap_command,
                      grader_temp_folder, kill_tree)

# Events of a run the grader stopped because it went over a limit of the sandbox.
LIMIT_EVENTS = ("memory-limit", "process-limit", "output-limit")

PLUGIN_MODULE = "resnet_grader.plugin"
# The folder that holds this package, for the nbval run to import the plugin from.
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)

# The environment of every graded run: the one its reference's outputs were stored in, no
# figures drawn, and no pytest plugin but those the grader names (what a check prints depends
# on neither).
FIXED_ENV = {**GRADING_ENV, "MPLBACKEND": "agg", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

# Processes of runs in progress, so that an interrupted batch can end them (by their ids).
_RUNNING: dict[int, subprocess.Popen] = {}
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


class Stopped(RuntimeError):
    """The batch is being stopped: no new run starts."""


def build_notebook(assignment: Assignment, answers: dict | None, *, self_check: bool = False):
    """The notebook that is run: the reference's code cells (outputs only on visible checks),
    with each graded answer cell replaced by the student's (``answers``: name -> Answer)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}}
    answer_cells = {p.cell: p.name for p in assignment.parts.values()}
    checked = {c.cell for c in assignment.checks if c.kind == "visible"}
    for index, cell in enumerate(assignment.cells):
        source = cell.source
        if index in answer_cells:
            if answers is not None:
                answer = answers[answer_cells[index]]
                source = (neutralize(answer.source) if answer.source is not None else
                          f"# The submission has no usable answer cell for "
                          f"{answer_cells[index]}.")
            else:
                source = neutralize(source)
        if index in assignment.skipped:
            source = "# (a cell marked SKIPPED WHEN GRADING: not run by the grader)"
        code = nbformat.v4.new_code_cell(source)
        code.metadata = {ID_KEY: {"cell": index}}
        if cell.tags:
            code.metadata["tags"] = list(cell.tags)
        if index in checked:
            if self_check:
                code.source = without_expected_output_call(source)
            stored = cell.expected_output if self_check else cell.outputs
            code.outputs = [nbformat.from_dict(o) for o in text_outputs(stored)]
            code.execution_count = 1
        elif is_visible_check(cell):
            # a visible check the grade does not use: still run, never compared
            code.source = neutralize(source)
        nb.cells.append(code)
    return nb


@dataclass
class RunResult:
    records: dict = field(default_factory=dict)   # cell index -> record from the plugin
    event: str | None = None                      # timed-out, kernel-died, exited, ...
    event_cell: int | None = None
    seconds: float = 0.0
    log: str = ""


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _end_kernel(pid: int, folder: Path) -> None:
    """End the kernel of an unsandboxed run that was cut short (it runs in a session of its
    own), if that process is still there and still works in this run's folder."""
    try:
        if Path(os.readlink(f"/proc/{pid}/cwd")) != folder.resolve():
            return
    except OSError:
        return  # gone already (or no /proc: the kernel ends itself when its parent has gone)
    _kill_group(pid)


# Starting a kernel can fail for reasons that have nothing to do with the submission: a port
# jupyter_client picked may be taken by another kernel starting at the same moment.
KERNEL_START_ATTEMPTS = 3


@dataclass(frozen=True)
class Isolation:
    """How a run is kept from the machine: in a sandbox (see :mod:`resnet_grader.sandbox`) that
    cannot see ``hidden`` (the reference, the submissions, the out folder), or, only when the
    instructor asked for it, unsandboxed with the instructor's rights; the limits hold in both."""
    sandboxed: bool = True
    hidden: tuple = ()
    limits: Limits = Limits()


def run_notebook(nb, *, cell_timeout: float, total_timeout: float, threads: int | None = None,
                 python: str = sys.executable, isolation: Isolation = Isolation()) -> RunResult:
    """Run ``nb`` under nbval (lax) in a fresh kernel in a sandbox; start it again if its
    kernel could not start (no cell has run then, so nothing of the submission is lost)."""
    logs = []
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        run = _run_once(nb, cell_timeout=cell_timeout, total_timeout=total_timeout,
                        threads=threads, python=python, isolation=isolation)
        if run.event != "kernel-start":
            break
        logs.append(f"--- attempt {attempt}: the kernel could not start ---\n{run.log}")
    if logs and run.event != "kernel-start":
        run.log = "\n".join(logs + [run.log])[-4000:]
    return run


def _environment(work: Path, threads: int | None, sandboxed: bool) -> dict:
    # temporary files of pytest and the kernel (connection files, ...) go with the run
    env = {**os.environ, **FIXED_ENV, "TMPDIR": str(work / "tmp")}
    if sandboxed:
        env["HOME"] = str(work / "home")   # the real home is hidden; this one is scratch
        env.pop("KERAS_HOME", None)        # its data sets are bound into the scratch home
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT, *filter(None, [os.environ.get("PYTHONPATH")])])
    if threads:
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                     "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    return env


def _run_once(nb, *, cell_timeout: float, total_timeout: float, threads: int | None,
              python: str, isolation: Isolation) -> RunResult:
    start = time.monotonic()
    limits = isolation.limits
    with tempfile.TemporaryDirectory(prefix="resnet-grader-") as host:
        # host/ holds what the grader keeps from the run: the graded notebook (the reference's
        # outputs and hidden checks: the sandbox never sees this folder, pytest gets a copy) and
        # the results, which pytest writes to a file descriptor it inherits (the kernel does
        # not). work/ is the run's folder: the sandbox's scratch, or host/work unsandboxed; its
        # nb/ is the kernel's working folder, whose notebook the plugin deletes once read.
        host = Path(host)
        nbformat.write(nb, host / "graded.ipynb")
        (host / "pytest.ini").write_text("[pytest]\n")
        work = SCRATCH if isolation.sandboxed else host / "work"
        notebook = work / "nb" / "graded.ipynb"
        env = _environment(work, threads, isolation.sandboxed)
        with open(host / "results.jsonl", "wb") as results, \
                open(host / "graded.ipynb", "rb") as notebook_copy, \
                open(host / "pytest.ini", "rb") as ini_copy:
            command = [python, "-m", "pytest", "-c", str(work / "pytest.ini"), "--rootdir",
                       str(work), "--confcutdir", str(work), "-p", "no:cacheprovider",
                       "-p", "nbval.plugin", "-p", PLUGIN_MODULE, "-q", "--color=no",
                       "--tb=no", "-W", "ignore", "--nbval-lax", "--nbval-current-env",
                       f"--nbval-cell-timeout={cell_timeout:g}",
                       "--nbval-kernel-startup-timeout=120",
                       f"--grade-results-fd={results.fileno()}",
                       f"--grade-file-limit={limits.output_mb * MB}",
                       "--grade-remove-notebook", str(notebook)]
            if isolation.sandboxed:
                # host/ lies in the grader's temporary folder, with every other run's
                command = bwrap_command(
                    command, hidden=[*isolation.hidden, grader_temp_folder()], limits=limits,
                    workdir=work,
                    readable=[Path(PACKAGE_PARENT)],
                    folders=[work / "nb", work / "tmp", work / "home"],
                    files={notebook_copy.fileno(): notebook,
                           ini_copy.fileno(): work / "pytest.ini"})
                passed = (results.fileno(), notebook_copy.fileno(), ini_copy.fileno())
            else:
                (work / "nb").mkdir(parents=True)
                (work / "tmp").mkdir()
                shutil.copyfile(host / "graded.ipynb", notebook)
                shutil.copyfile(host / "pytest.ini", work / "pytest.ini")
                passed = (results.fileno(),)
            run = _supervise(command, env=env, cwd=work if not isolation.sandboxed else host,
                             pass_fds=passed, limits=limits, total_timeout=total_timeout)
        records = _read_results(host / "results.jsonl")
        kernel = records.pop("kernel_pid", None)
        if kernel and not isolation.sandboxed:
            _end_kernel(kernel, work / "nb")
    run.records = records
    run.seconds = time.monotonic() - start
    cells = [cell.metadata[ID_KEY]["cell"] for cell in nb.cells]
    if run.event in LIMIT_EVENTS:
        # the cell that was running when the run was killed: the first without a result (or
        # the one whose kernel died at the kill); it and the cells after it did not finish
        run.event_cell = next((c for c in cells if c not in records
                               or records[c].get("event")), None)
        if run.event_cell in records:
            records[run.event_cell]["event"] = run.event
        return run
    for index in sorted(run.records):
        event = run.records[index].get("event")
        if event:
            run.event, run.event_cell = event, index
            break
    return run


def _supervise(command, *, env, cwd, pass_fds, limits: Limits, total_timeout: float):
    """Start ``command``, watch its limits and its total time, and end it with all it started.
    The returned RunResult has the log tail and, if it was stopped, the event."""
    cgroup = ProcessCgroup.create(limits.tasks)
    if cgroup:
        command = cgroup.command(command)
    try:
        with _RUNNING_LOCK:
            if _STOPPING.is_set():
                raise Stopped("the batch is being stopped")
            process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True, pass_fds=pass_fds)
            _RUNNING[process.pid] = process
        return _watch(process, limits, cgroup, total_timeout)
    finally:
        if cgroup:
            cgroup.remove()


def _watch(process, limits: Limits, cgroup: ProcessCgroup | None, total_timeout: float):
    def kill():
        kill_tree(process.pid)
        _kill_group(process.pid)
        if cgroup:
            cgroup.kill()   # unsandboxed, also what left the process tree

    watchdog = Watchdog(process.pid, limits, kill, cgroup)
    output = OutputTail(process.stdout, limits.output_mb * MB, watchdog.over)
    watchdog.start()
    output.start()
    timed_out = False
    try:
        process.wait(timeout=total_timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        watchdog.stop()
        with _RUNNING_LOCK:
            _RUNNING.pop(process.pid, None)
            if process.poll() is None:
                kill()   # pytest and everything it started
        process.wait()
        # unsandboxed, a process that escaped the group may hold the pipe open: do not wait
        output.join(timeout=5)
        watchdog.join()
    run = RunResult(log=output.text)
    if watchdog.exceeded:
        run.event = watchdog.exceeded
    elif timed_out:
        run.event = "submission-timed-out"
    return run


def _read_results(path: Path) -> dict:
    records: dict = {}
    if not path.exists():
        return records
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill
        if "kernel_pid" in record:
            records["kernel_pid"] = record["kernel_pid"]
        elif isinstance(record.get("cell"), int):
            records[record["cell"]] = record
    return records


def stop_all() -> None:
    """End every run in progress (their process groups only) and start no new one."""
    with _RUNNING_LOCK:
        _STOPPING.set()
        for process in _RUNNING.values():
            if process.poll() is None:
                _kill_group(process.pid)
