"""A pytest plugin, loaded with ``-p resnet_grader.plugin`` into the nbval run of one graded
notebook, that writes one JSON line per notebook cell to the file named by ``--grade-results``.

The grader marks every code cell of the notebook it builds with its own id
(``metadata.resnet_book_grade.cell``) and reads each nbval item's cell from ``item.cell``, so
nothing here depends on how nbval names or numbers its items. What it handles beyond that:

- a kernel that dies (``os._exit``, a segfault, the OOM killer) is noticed within a second,
  instead of after nbval's whole cell timeout;
- the first cell that times out, kills the kernel, exits or runs out of memory stops the run
  (``session.shouldstop``): nbval would run the later cells as xfail/xpass, which prove nothing;
- for a failed cell, the expected (stored) and obtained outputs are written as plain text. The
  failure text pytest formats (the check's source, colour codes) is never used.
"""
from __future__ import annotations

import json
import os
import resource
import time
from queue import Empty

import pytest

from .conventions import ID_KEY, printed_text

FATAL_ERRORS = {"SystemExit": "exited", "MemoryError": "out-of-memory",
                "_ArrayMemoryError": "out-of-memory", "ResourceExhaustedError": "out-of-memory"}


class KernelDied(RuntimeError):
    """The kernel process ended while a cell was running."""


def _patch_nbval_kernel() -> None:
    """Make nbval's wait for a cell's reply notice a dead kernel at once."""
    from nbval.kernel import RunningKernel

    if getattr(RunningKernel.await_reply, "_grade_patched", False):
        return
    original = RunningKernel.await_reply

    def await_reply(self, msg_id, timeout=None):
        if timeout is None or not hasattr(self, "km"):
            return original(self, msg_id, timeout=timeout)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Empty()
            try:
                msg = self.get_message(stream="shell", timeout=min(1.0, left))
            except Empty:
                if not self.is_alive():
                    raise KernelDied("the kernel process ended") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["content"]["status"] == "aborted":
                    raise RuntimeError("Kernel aborted execution request")
                return

    await_reply._grade_patched = True
    RunningKernel.await_reply = await_reply


def pytest_addoption(parser):
    parser.addoption("--grade-results", default=None,
                     help="write one JSON line per notebook cell here (resnet_grader)")
    parser.addoption("--grade-results-fd", type=int, default=None,
                     help="the same, to this inherited file descriptor (the grader's file, "
                          "which the sandboxed kernel cannot open)")
    parser.addoption("--grade-file-limit", type=int, default=None,
                     help="largest file, in bytes, that this run and its kernel may write")
    parser.addoption("--grade-remove-notebook", action="store_true",
                     help="delete the notebooks once collected, before any code runs")


def pytest_collection_finish(session):
    """Once nbval has read the graded notebook, delete it: the code it runs then cannot read the
    reference's stored outputs or hidden checks from its working folder."""
    if session.config.getoption("grade_remove_notebook"):
        for item in session.items:
            path = getattr(item, "path", None)
            if path is not None and path.suffix == ".ipynb" and path.exists():
                path.unlink()


def _not_dumpable() -> None:
    """Keep other processes of the same user (the kernel runs the submission's code) from
    opening this process's file descriptors through /proc or tracing it: only a process with
    CAP_SYS_PTRACE, which the sandbox drops, may then."""
    try:
        import ctypes

        PR_SET_DUMPABLE = 4
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass   # not Linux: nothing to protect against here


def pytest_configure(config):
    limit = config.getoption("grade_file_limit")
    if limit:
        # inherited by the kernel: the files it writes stay under the output limit
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    path, fd = config.getoption("grade_results"), config.getoption("grade_results_fd")
    config._grade_results = None
    if fd is not None:
        _not_dumpable()
        config._grade_results = os.fdopen(fd, "a", encoding="utf-8")
    elif path:
        config._grade_results = open(path, "a", encoding="utf-8")
    if config._grade_results is not None:
        _patch_nbval_kernel()


def pytest_unconfigure(config):
    stream = getattr(config, "_grade_results", None)
    if stream is not None:
        stream.close()


def _write(config, record: dict) -> None:
    stream = config._grade_results
    if stream is not None:
        stream.write(json.dumps(record) + "\n")
        stream.flush()
        os.fsync(stream.fileno())


# Feedback shows the first 40 lines (4,000 characters) of what a cell printed; a 60 MB print
# need not be written out whole.
RECORDED_CHARS = 20_000


def _clipped(text: dict) -> dict:
    return {key: value[:RECORDED_CHARS] if isinstance(value, str) else value
            for key, value in text.items()}


def _kernel_pid(item):
    kernel = getattr(item.parent, "kernel", None)
    km = getattr(kernel, "km", None)
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    if pid is None:
        process = getattr(provisioner, "process", None) or getattr(km, "kernel", None)
        pid = getattr(process, "pid", None)
    return pid


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if getattr(item, "cell", None) is not None and not getattr(item.session, "_grade_pid", None):
        pid = _kernel_pid(item)
        if pid:
            item.session._grade_pid = pid
            _write(item.config, {"kernel_pid": pid})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cell = getattr(item, "cell", None)
    if cell is None or item.config._grade_results is None:
        return
    cell_id = cell.get("metadata", {}).get(ID_KEY, {}).get("cell")
    if call.when == "setup":
        if report.failed:  # the kernel could not start
            _write(item.config, {"cell": cell_id, "outcome": "failed", "event": "kernel-start",
                                 "message": "the kernel could not start"})
            item.session.shouldstop = "the kernel could not start"
        return
    if call.when != "call":
        return
    record = {"cell": cell_id, "outcome": report.outcome}
    if hasattr(report, "wasxfail") or getattr(item.parent, "_grade_stopped", False):
        # nbval runs cells after a timeout as xfail/xpass: they prove nothing.
        record["outcome"] = "not-run"
    elif report.failed:
        exc = call.excinfo.value if call.excinfo else None
        got = printed_text(getattr(item, "test_outputs", None))
        record["got"] = _clipped(got)
        record["expected"] = _clipped(printed_text(cell.get("outputs")))
        kernel = getattr(item.parent, "kernel", None)
        alive = kernel is not None and kernel.is_alive()
        message = str(exc) if exc is not None else ""
        if isinstance(exc, KernelDied) or "Kernel dead" in message or (
                not alive and not item.parent.timed_out):
            record["event"] = "kernel-died"
        elif item.parent.timed_out:
            record["event"] = "timed-out"
        elif got.get("ename") in FATAL_ERRORS:
            record["event"] = FATAL_ERRORS[got["ename"]]
        elif message.startswith("Cell outputs differ"):
            record["reason"] = "mismatch"
        else:
            record["reason"] = "error"
        if "event" in record:
            item.parent._grade_stopped = True
            item.session.shouldstop = f"grading stopped: {record['event']}"
    _write(item.config, record)
