"""The gradebook's statuses are defined in one place, and the README lists every one."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from resnet_grader.statuses import GRADED, STATUSES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "resnet_grader"


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def statuses_set_in(source: str) -> set[str]:
    """Every string the code puts into a status: ``status="x"``, ``....status = "x"``,
    ``NotGradable("x", ...)``, the values of ``EVENT_STATUS`` and the statuses of
    ``REFUSALS``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "status":
            found.add(_literal(node.value))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    found.add(_literal(node.value))
                if isinstance(target, ast.Name) and target.id == "EVENT_STATUS":
                    found.update(_literal(value) for value in node.value.values)
                if isinstance(target, ast.Name) and target.id == "REFUSALS":
                    found.update(_literal(entry.elts[1]) for entry in node.value.elts)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "NotGradable":
            found.add(_literal(node.args[0]))
    return found - {None}


def test_the_scan_finds_statuses_in_each_form_the_grader_uses():
    source = ('grade = Grade(file=n, status="a")\ngrade.status = "b"\n'
              'raise NotGradable("c", "why")\nEVENT_STATUS = {"x": "d"}\n'
              'REFUSALS = [("[Errno 30]", "e", "text")]\n')
    assert statuses_set_in(source) == {"a", "b", "c", "d", "e"}


def test_every_status_the_grader_sets_is_defined_in_statuses():
    used = set()
    for path in sorted(PACKAGE.glob("*.py")):
        used |= statuses_set_in(path.read_text(encoding="utf-8"))
    assert used, "the scan found no status at all: it no longer matches the code"
    assert used - set(STATUSES) == set(), "statuses not in resnet_grader/statuses.py"
    # GRADED is set through its name, which the scan does not follow
    assert set(STATUSES) - used - {GRADED} == set(), "statuses defined but never set"


def test_the_readme_lists_every_status_with_its_meaning():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| status | what it means |\n", 1)[1].split("\n\n", 1)[0]
    listed = dict(re.findall(r"^\| `([a-z-]+)` \| (.+?) \|$", table, re.M))
    assert set(listed) == set(STATUSES)
    for status, meaning in STATUSES.items():
        assert listed[status] == meaning, status
