"""Running a chapter top to bottom on the GPU profile's code path, rehearsed on the CPU.

A reader with a GPU runs the ``full`` profile, which no machine that builds this book has.
``RESNET_BOOK_REHEARSAL=1`` runs it here: the profile's own name, text, schedule and
augmentation, and the GPU switches (mixed bfloat16 precision, XLA, several steps per call),
shrunk only in data (256 training images at 8x8) and epochs (one). Its numbers mean nothing, so its
conclusion checks report instead of failing, as in a student's notebook; any other error
fails the test. Fashion-MNIST stands in for CIFAR-10, which cannot be downloaded here.

As in the book build, a run that several chapters report is trained once: the rehearsals of one
test session share a run cache (``$RESNET_BOOK_RUN_CACHE``) in that session's temporary folder,
which both pytest-xdist workers see and no later session reuses. The chapter that trains such a
run first takes it through the GPU path; the others read it, and run all their own code on
that path.

The chapters are rehearsed by two test files, so that pytest-xdist (one file per worker)
can run them side by side: ``test_rehearsal_chapters_2_3_6.py`` and
``test_rehearsal_chapters_1_4_5.py``.
"""
from __future__ import annotations

import os

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .nbtools import CHAPTERS, is_training_cell, read

REHEARSAL_ENV = {
    "RESNET_BOOK_PROFILE": "full",
    "RESNET_BOOK_DATASET": "fashion_mnist",
    "RESNET_BOOK_REHEARSAL": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
CELL_TIMEOUT_S = 900
# The chapters each rehearsal test file runs, by the start of their file names.
GROUPS = {"2_3_6": ("02_", "03_", "06_"), "1_4_5": ("01_", "04_", "05_")}


def chapters(group: str) -> list:
    return [path for path in CHAPTERS if path.name.startswith(GROUPS[group])]


def _outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


def session_run_cache(tmp_path_factory):
    """The run cache that every rehearsal of this test session shares."""
    base = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker's folder lies in the session's own.
    session = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return session / "rehearsal-run-cache"


def set_rehearsal_environment(monkeypatch, tmp_path_factory):
    for name, value in REHEARSAL_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RESNET_BOOK_RUN_CACHE", str(session_run_cache(tmp_path_factory)))
    # As in a student's run: a conclusion this tiny run does not show is reported, not raised.
    monkeypatch.delenv("RESNET_BOOK_STRICT_CLAIMS", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)


def rehearse(path):
    """Run the chapter at ``path`` on the rehearsed GPU path and check what it printed."""
    nb = read(path)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed on the rehearsed GPU path:\n{str(error)[-4000:]}",
                    pytrace=False)
    training = [cell for cell in nb.cells if is_training_cell(cell)]
    assert training, f"{path.name} has no training cell to rehearse"
    for cell in training:
        first_line = _outputs_text(cell).splitlines()[0]
        # The line every training cell prints names the profile and the GPU switches in use.
        assert "profile full" in first_line, first_line
        assert "rehearsing the GPU path" in first_line, first_line
        assert "mixed_bfloat16, XLA True, 16 steps per call" in first_line, first_line
        assert "augmented" in first_line, first_line
        assert "Fashion-MNIST" in first_line, first_line
        # and nothing on stderr (TensorFlow's warnings, XLA's notices) beside it
        stderr = [o.get("text", "") for o in cell.get("outputs", [])
                  if o.get("name") == "stderr"]
        assert not any(stderr), f"{path.name}: stray stderr in a training cell: {stderr}"
    printed = "".join(_outputs_text(cell) for cell in nb.cells if cell.cell_type == "code")
    reported = [line for line in printed.splitlines() if line.startswith("✗ The text says")]
    shared = [line for line in printed.splitlines() if "read from the run cache" in line]
    print(f"{path.name}: {len(reported)} conclusion(s) this tiny run did not show (reported); "
          f"{len(shared)} network(s) read, in whole or part, from the session's run cache")
