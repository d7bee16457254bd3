"""Verdicts for the visible checks of an exercise, in the notebook a student runs.

Each visible check of an exercise notebook starts with a call that states what the check should
print, as the reference solution printed it::

    rb.expect_output('''\\
    output shape: (2, 6, 6, 8)
    ''', hint="Two 3x3 convolutions of 8 filters: ...")
    ...the check's code...

When the cell has run, a line under its output says whether the check passed, or what differs
and the hint. It needs nothing but IPython, which runs every notebook (Jupyter, Colab): no
extra install and no saved file. Outside IPython there is no end of a cell to wait for, so the
call only says to compare by eye.

The instructors' grader compares the reference's checks itself, and a student's self-check
(``python -m resnet_grader --self-check``) removes this call before it runs a check.
"""
from __future__ import annotations

import io
import sys

PASSED = "✓ Check passed: the output is the expected output above."
FAILED = "✗ Check failed"


class _Tee(io.TextIOBase):
    """Writes to the stream it wraps and keeps a copy of the text."""

    def __init__(self, stream):
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text):
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    @property
    def encoding(self):
        return getattr(self.stream, "encoding", "utf-8")


def _normalised(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")] if text.strip() else []


def verdict(expected: str, got: str, error: BaseException | None = None,
            hint: str | None = None) -> str:
    """The verdict line(s) for a check that printed ``got`` (and raised ``error``, if any)."""
    hint_line = f"\n  Hint: {hint}" if hint else ""
    if error is not None:
        if isinstance(error, NotImplementedError):
            why = "an answer it uses is not written yet (NotImplementedError)"
        else:
            why = f"the cell raised {type(error).__name__}: {error}"
        return f"{FAILED}: {why}.{hint_line}"
    want, have = _normalised(expected), _normalised(got)
    if want == have:
        return PASSED
    for number, (line_want, line_have) in enumerate(zip(want, have), start=1):
        if line_want != line_have:
            break
    else:
        number = min(len(want), len(have)) + 1
        line_want = want[number - 1] if number <= len(want) else "(nothing more)"
        line_have = have[number - 1] if number <= len(have) else "(nothing more)"
    return (f"{FAILED}: line {number} of the output differs from the expected output above.\n"
            f"  expected: {line_want}\n"
            f"  yours:    {line_have}{hint_line}")


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def expect_output(expected: str, hint: str | None = None) -> None:
    """State what the rest of this cell should print; a verdict follows when the cell ends."""
    shell = _ipython()
    if shell is None:
        print("(The verdict needs Jupyter or Colab: compare the output with the expected "
              "output above by eye.)")
        return
    tee = _Tee(sys.stdout)
    sys.stdout = tee

    def after_cell(result):
        shell.events.unregister("post_run_cell", after_cell)
        if sys.stdout is tee:
            sys.stdout = tee.stream
        got = tee.copy.getvalue()
        if result.result is not None:
            got += shell.display_formatter.format(result.result)[0].get("text/plain", "") + "\n"
        error = result.error_in_exec or result.error_before_exec
        print(verdict(expected, got, error, hint))

    shell.events.register("post_run_cell", after_cell)
