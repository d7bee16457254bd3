"""Build the graded notebook for one submission, run it under nbval, read the results back."""
from __future__ import annotations

import json
import os
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
from .conventions import (ID_KEY, is_visible_check, neutralize, text_outputs,
                          without_expected_output_call)

PLUGIN_MODULE = "resnet_grader.plugin"
# The folder that holds this package, for the nbval run to import the plugin from.
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)

# The kernel's environment for every graded run: same numbers on every CPU, no GPU, no noise.
FIXED_ENV = {
    "PYTHONHASHSEED": "0",
    "RESNET_BOOK_PROFILE": "quick",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    "MPLBACKEND": "agg",
}

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
    """End the kernel of a run that was cut short (it runs in a session of its own), if that
    process is still there and still works in this run's folder."""
    try:
        if Path(os.readlink(f"/proc/{pid}/cwd")) != folder.resolve():
            return
    except OSError:
        return  # gone already (or no /proc: the kernel ends itself when its parent has gone)
    _kill_group(pid)


# Starting a kernel can fail for reasons that have nothing to do with the submission: a port
# jupyter_client picked may be taken by another kernel starting at the same moment.
KERNEL_START_ATTEMPTS = 3


def run_notebook(nb, *, cell_timeout: float, total_timeout: float, threads: int | None = None,
                 python: str = sys.executable) -> RunResult:
    """Run ``nb`` under nbval (lax) in a fresh kernel in a temporary folder; start it again if
    its kernel could not start (no cell has run then, so nothing of the submission is lost)."""
    logs = []
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        run = _run_once(nb, cell_timeout=cell_timeout, total_timeout=total_timeout,
                        threads=threads, python=python)
        if run.event != "kernel-start":
            break
        logs.append(f"--- attempt {attempt}: the kernel could not start ---\n{run.log}")
    if logs and run.event != "kernel-start":
        run.log = "\n".join(logs + [run.log])[-4000:]
    return run


def _run_once(nb, *, cell_timeout: float, total_timeout: float, threads: int | None,
              python: str) -> RunResult:
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="resnet-grader-") as work:
        # work/ holds the run's private files; work/nb/ is the kernel's working folder, and the
        # plugin deletes the notebook from it once nbval has read it.
        work = Path(work)
        (work / "nb").mkdir()
        path = work / "nb" / "graded.ipynb"
        nbformat.write(nb, path)
        (work / "pytest.ini").write_text("[pytest]\n")
        results = work / "results.jsonl"
        (work / "tmp").mkdir()
        # temporary files of pytest and the kernel (connection files, ...) go with the run
        env = {**os.environ, **FIXED_ENV, "TMPDIR": str(work / "tmp")}
        env["PYTHONPATH"] = os.pathsep.join(
            [PACKAGE_PARENT, *filter(None, [os.environ.get("PYTHONPATH")])])
        if threads:
            for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                         "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[name] = str(threads)
        command = [python, "-m", "pytest", "-c", str(work / "pytest.ini"), "--rootdir",
                   str(work), "--confcutdir", str(work), "-p", "no:cacheprovider",
                   "-p", "nbval.plugin", "-p", PLUGIN_MODULE, "-q", "--color=no",
                   "-W", "ignore", "--nbval-lax", "--nbval-current-env",
                   f"--nbval-cell-timeout={cell_timeout:g}",
                   "--nbval-kernel-startup-timeout=120",
                   f"--grade-results={results}", "--grade-remove-notebook", str(path)]
        with open(work / "pytest.log", "w") as log, _RUNNING_LOCK:
            if _STOPPING.is_set():
                raise Stopped("the batch is being stopped")
            process = subprocess.Popen(command, cwd=work, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
            _RUNNING[process.pid] = process
        timed_out = False
        try:
            process.wait(timeout=total_timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(process.pid, None)
                if process.poll() is None:
                    _kill_group(process.pid)   # pytest and anything it started in its group
            process.wait()
        result = _read_results(results)
        kernel = result.pop("kernel_pid", None)
        if kernel:
            _end_kernel(kernel, work / "nb")
        run = RunResult(records=result, seconds=time.monotonic() - start,
                        log=(work / "pytest.log").read_text(errors="replace")[-4000:])
    for index in sorted(run.records):
        event = run.records[index].get("event")
        if event:
            run.event, run.event_cell = event, index
            break
    if run.event is None and timed_out:
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
