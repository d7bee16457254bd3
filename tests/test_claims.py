"""A conclusion the text draws is checked on the run: an error in the build and the tests,
a note in a student's notebook, and skipped in the profiles its sentence does not speak of."""
import pytest

from resnet_book import prose
from resnet_book.profiles import PROFILES


def test_a_claim_that_holds_says_so(capsys, monkeypatch):
    monkeypatch.setenv(prose.STRICT_VARIABLE, "1")
    assert prose.claim(2 > 1, "two beats one") is True
    assert capsys.readouterr().out == "✓ two beats one\n"


def test_a_failed_claim_is_an_error_in_strict_mode(monkeypatch):
    monkeypatch.setenv(prose.STRICT_VARIABLE, "1")
    with pytest.raises(prose.ClaimFailed, match="The text says: plain-56 trains worse.*"
                                                 "This run got: {'plain-56': 0.1}"):
        prose.claim(False, "plain-56 trains worse", got={"plain-56": 0.1})


def test_a_failed_claim_reports_and_goes_on_for_a_student(capsys, monkeypatch):
    monkeypatch.delenv(prose.STRICT_VARIABLE, raising=False)
    assert prose.claim(False, "plain-56 trains worse", got=[1, 2]) is False
    printed = capsys.readouterr().out
    assert printed.startswith("✗ The text says: plain-56 trains worse. This run got: [1, 2].")
    assert "came out differently" in printed and "goes on" in printed


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("0", False),
                                             ("", False)])
def test_the_switch_is_off_unless_set(monkeypatch, value, expected):
    monkeypatch.setenv(prose.STRICT_VARIABLE, value)
    assert prose.strict() is expected


def test_a_claim_about_one_profile_is_skipped_in_the_others(capsys, monkeypatch):
    monkeypatch.setenv(prose.STRICT_VARIABLE, "1")
    result = prose.claim(False, "only true in quick", profiles=("quick",),
                          profile=PROFILES["full"])
    assert result is None
    assert "not checked in the full profile" in capsys.readouterr().out
    with pytest.raises(prose.ClaimFailed):
        prose.claim(False, "only true in quick", profiles="quick", profile=PROFILES["quick"])


def test_several_seeds_are_reported_as_mean_and_range():
    assert prose.mean_range([7.2, 8.7, 7.8], 1, " %") == "7.9 % (7.2–8.7 %)"
    assert prose.mean_range([0.25], 2) == "0.25"
    with pytest.raises(ValueError, match="at least one value"):
        prose.mean_range([])
