"""Chapter 5's arithmetic about each run profile, checked at every profile's real size.

The chapter's sentences about weight decay ("in this run's steps at 0.1 the paper's decay leaves
...") depend on how many steps a profile's run has. The book builds only the quick profile, so
a sentence that is false in the full or paper profile would never fail the build. Here the
chapter's own arithmetic cells (they need no training) run for every profile at its real size,
with claims strict, so that a claim that fails at some profile's size fails the test.
"""
import dataclasses
import re

import pytest

from resnet_book.prose import ClaimFailed
from resnet_book.profiles import PROFILES

from .nbtools import ROOT, chapter_cells, read

CHAPTER = "05_resnet_family.ipynb"
# A profile's train_size None means the dataset's whole training set.
DATASET_TRAIN_SIZE = {"cifar10": 50_000, "fashion_mnist": 60_000}
# The cells that do the arithmetic, by their first line, in the chapter's order: the words for
# shares, the optimizers' decay per step, the steps at 0.1 and what decay leaves, the claims.
ARITHMETIC_CELLS = ("def how_much(", "def decay_per_step(", "steps_at_01 = ", "left_in_run = ")


def real_train_size(profile) -> int:
    return profile.train_size or DATASET_TRAIN_SIZE[profile.dataset]


def paper_batch() -> int:
    """The chapter's batch size for the paper's recipe, read from the chapter itself."""
    source = "\n".join(c.source for c in read(ROOT / "chapters" / CHAPTER).cells)
    return int(re.search(r"^PAPER_BATCH = (\d+)$", source, re.M).group(1))


def run_arithmetic(profile, **overrides):
    names = {"profile": profile, "train_size": real_train_size(profile),
             "PAPER_BATCH": paper_batch(), **overrides}
    namespace, ran = chapter_cells(CHAPTER, ARITHMETIC_CELLS, **names)
    assert len(ran) == len(ARITHMETIC_CELLS), f"chapter 5's arithmetic cells changed: {ran}"
    return namespace


# Every profile, and the GPU profiles on the whole of Fashion-MNIST (RESNET_BOOK_DATASET).
CASES = {name: profile for name, profile in PROFILES.items()}
CASES.update({f"{name} on fashion_mnist": PROFILES[name].with_dataset("fashion_mnist")
              for name in ("full", "paper")})


@pytest.mark.parametrize("case", list(CASES))
def test_chapter_5_decay_claims_hold_at_each_profiles_real_size(case, monkeypatch, capsys):
    monkeypatch.setenv("RESNET_BOOK_STRICT_CLAIMS", "1")
    profile = CASES[case]
    chapter = run_arithmetic(profile)   # a claim that fails raises ClaimFailed here
    printed = capsys.readouterr().out
    assert "✓" in printed and "✗" not in printed, printed
    size, batch = real_train_size(profile), paper_batch()
    run_steps = profile.paper_epochs(size, batch) * profile.steps_per_epoch(size, batch)
    assert chapter["steps_at_01"] == run_steps // 2
    assert chapter["left_in_run"] == pytest.approx(0.9999 ** chapter["steps_at_01"], rel=1e-2)


def test_the_arithmetic_cells_fail_strictly_when_the_text_is_wrong(monkeypatch):
    """The harness bites: with a run as short as quick's declared to be the paper profile,
    the paper profile's claim (its decay leaves as much as the paper's) fails."""
    monkeypatch.setenv("RESNET_BOOK_STRICT_CLAIMS", "1")
    pretend = dataclasses.replace(PROFILES["quick"], name="paper")
    with pytest.raises(ClaimFailed):
        run_arithmetic(pretend)


def test_no_decay_does_much_holds_in_quick_only():
    """``min(per_step.values()) ** steps_at_01 > 0.9`` ("no decay does much in this run's
    steps", with the paper's decay 0.9999 a step) holds in quick but not in full (0.86 of a
    weight left at 8 epochs) or paper (0.04): the chapter must write that sentence from the run."""
    batch = paper_batch()
    steps_at_01 = {}
    for name, profile in PROFILES.items():
        size = real_train_size(profile)
        steps_at_01[name] = (profile.paper_epochs(size, batch)
                             * profile.steps_per_epoch(size, batch) // 2)
    assert steps_at_01["paper"] == 164 * 391 // 2
    assert 0.9999 ** steps_at_01["quick"] > 0.9
    assert not 0.9999 ** steps_at_01["full"] > 0.9
    assert not 0.9999 ** steps_at_01["paper"] > 0.9


def test_chapter_5s_paper_run_is_the_papers_64000_steps_only_in_the_paper_profile():
    batch = paper_batch()
    assert batch == 128
    paper = PROFILES["paper"]
    assert paper.paper_steps == 64_000
    assert paper.steps_per_epoch(50_000, batch) == 391
    assert paper.paper_epochs(50_000, batch) == 164
    assert 163 * 391 < 64_000 <= 164 * 391
    for name in ("quick", "full"):
        profile = PROFILES[name]
        assert profile.paper_epochs(real_train_size(profile), batch) == profile.epochs
    # and the chapter trains for those epochs
    source = "\n".join(c.source for c in read(ROOT / "chapters" / CHAPTER).cells)
    assert "paper_epochs = profile.paper_epochs(train_size, PAPER_BATCH)" in source
    assert re.search(r"rb\.train_seeds\(builders, [^)]*epochs=paper_epochs", source)
