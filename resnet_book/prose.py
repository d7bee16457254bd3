"""What the text says about a run: numbers glued in from it, conclusions checked on it.

The prose never types a number a run produces: :func:`glue` hands it to the page. A chapter's prose says things such as "plain-56 trains worse than plain-20". The run that the
page shows is the evidence, so each such sentence has a :func:`claim` beside it that tests it
on the same run. What happens when a claim does not hold depends on who is running:

- the book build and the test suite set ``RESNET_BOOK_STRICT_CLAIMS=1``: a claim that fails is
  an error, so a change that stops a run from showing what the text says cannot be published;
- anyone else (a student in Colab, a reader on their own machine) gets a note that says what
  the text claims and what this run got, and the notebook goes on. Runs differ with the
  profile, the hardware and the seed, and a different outcome is a result, not a bug.

A claim can be limited to the profiles the sentence speaks of (``profiles=("quick",)``); in
other profiles it is not checked and says so.
"""
from __future__ import annotations

from .profiles import env_flag, get_profile

STRICT_VARIABLE = "RESNET_BOOK_STRICT_CLAIMS"


class ClaimFailed(AssertionError):
    """A conclusion the text draws did not hold on this run (strict mode only)."""


def strict() -> bool:
    """True where a failed claim is an error: the book build and the tests set the switch."""
    return env_flag(STRICT_VARIABLE)


def claim(holds, text: str, got=None, *, profiles=None, profile=None) -> bool | None:
    """Check one conclusion of the text on this run.

    ``holds`` is the test (a bool), ``text`` the sentence as the reader meets it, ``got`` what
    this run measured (shown when the claim fails). ``profiles``: the names of the run profiles
    the sentence speaks of (default: every profile); elsewhere the claim is skipped. ``profile``:
    the run's profile (default: :func:`resnet_book.get_profile`).

    Prints one line. Returns True when the claim holds, False when it does not (outside strict
    mode), None when this profile is not one the sentence speaks of. In strict mode a failed
    claim raises :class:`ClaimFailed`.
    """
    if profiles is not None:
        if isinstance(profiles, str):
            profiles = (profiles,)
        if profile is None:
            profile = get_profile()
        if profile.name not in profiles:
            print(f"– not checked in the {profile.name} profile (the text says this of the "
                  f"{' and '.join(profiles)} profile): {text}")
            return None
    if bool(holds):
        print(f"✓ {text}")
        return True
    found = "" if got is None else f" This run got: {got}."
    if strict():
        raise ClaimFailed(f"The text says: {text}.{found} ({STRICT_VARIABLE} is set, so a "
                          "claim that fails stops the build; change the text or the run.)")
    print(f"✗ The text says: {text}.{found} Your run came out differently from the book's: "
          "runs differ with the profile, the hardware and the random seed. The notebook goes "
          "on; read the text's sentence as a statement about the book's run.")
    return False


def glue(name: str, value, display: bool = False):
    """Make ``value`` available to the book's Markdown as ``{glue:text}`name```.

    Under Jupyter Book (myst-nb installed) the value is glued into the page; elsewhere, as
    in Colab, there is nothing to glue into, so the value is simply returned and shows as the
    cell's result when it ends the cell.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=display)
    return value


def mean_range(values, digits: int = 1, unit: str = "") -> str:
    """Several seeds' figures as the text reports them: "7.9 % (7.2–8.7 %)", the mean and, in
    brackets, the lowest and the highest. One value is shown as it is."""
    values = [float(value) for value in values]
    if not values:
        raise ValueError("mean_range() needs at least one value")
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}{unit}"
    return (f"{mean:.{digits}f}{unit} ({min(values):.{digits}f}–"
            f"{max(values):.{digits}f}{unit})")
