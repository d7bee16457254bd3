"""What the exercise generator would add for ``--self-check``: each visible check's expected
output, copied from the solution into the exercise cell's metadata.

    exercise cell metadata:  {"resnet_book": {"expected_output": [<the solution's outputs>]}}

Only text outputs are kept (stdout, stderr and the ``text/plain`` of results), which is what
nbval compares for the book's checks (it never compares images).
"""
from __future__ import annotations

import copy

from .notebook import CHECK_OUTPUT, META_KEY


def _text_only(output: dict) -> dict | None:
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        return {"output_type": "stream", "name": output.get("name", "stdout"),
                "text": "".join(text) if isinstance(text, list) else text}
    if kind in ("execute_result", "display_data"):
        text = output.get("data", {}).get("text/plain")
        if text is None:
            return None
        out = {"output_type": kind, "data": {"text/plain": "".join(text) if isinstance(
            text, list) else text}, "metadata": {}}
        if kind == "execute_result":
            out["execution_count"] = 1
        return out
    return None


def add_expected_outputs(exercise, solution):
    """A copy of ``exercise`` (an nbformat notebook made from ``solution`` by the generator)
    whose visible check cells carry the solution's outputs in ``metadata.resnet_book``.

    Visible checks are matched in order: the generator keeps them all, in the same order.
    """
    exercise = copy.deepcopy(exercise)

    def checks(nb):
        return [c for c in nb.cells if c.cell_type == "code" and CHECK_OUTPUT.search(c.source)]

    for target, source in zip(checks(exercise), checks(solution)):
        outputs = [o for o in (_text_only(o) for o in source.get("outputs", [])) if o]
        target.metadata[META_KEY] = {"expected_output": outputs}
    return exercise
