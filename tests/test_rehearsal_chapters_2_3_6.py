"""Chapters 2, 3 and 6 run top to bottom on the rehearsed GPU path (see tests/rehearsal.py)."""
import pytest

from .rehearsal import chapters, rehearse, set_rehearsal_environment

PATHS = chapters("2_3_6")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_chapter_runs_on_the_rehearsed_gpu_path(path, monkeypatch, tmp_path_factory):
    set_rehearsal_environment(monkeypatch, tmp_path_factory)
    rehearse(path)
