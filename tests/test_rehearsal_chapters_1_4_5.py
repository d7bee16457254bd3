"""Chapters 1, 4 and 5 run top to bottom on the rehearsed GPU path (see tests/rehearsal.py)."""
import pytest

from .nbtools import CHAPTERS
from .rehearsal import GROUPS, chapters, rehearse, set_rehearsal_environment

PATHS = chapters("1_4_5")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_chapter_runs_on_the_rehearsed_gpu_path(path, monkeypatch, tmp_path_factory):
    set_rehearsal_environment(monkeypatch, tmp_path_factory)
    rehearse(path)


def test_every_chapter_is_rehearsed_exactly_once():
    rehearsed = sorted(path for group in GROUPS for path in chapters(group))
    assert rehearsed == sorted(CHAPTERS), "add the new chapter to a group in tests/rehearsal.py"


def test_rehearsal_env_is_refused_for_the_quick_profile(monkeypatch):
    """Rehearsing means rehearsing a GPU profile: asking for it with `quick` is a mistake."""
    from resnet_book.profiles import get_profile

    monkeypatch.setenv("RESNET_BOOK_REHEARSAL", "1")
    with pytest.raises(ValueError, match="RESNET_BOOK_PROFILE=full"):
        get_profile("quick")
    rehearsed = get_profile("full")
    assert rehearsed.name == "full" and rehearsed.rehearsal and rehearsed.train_size == 256
