"""Where the book's checkout is: the one place the tools, tests and benchmarks learn it.

The authoring tools run from a checkout of the repository (they are not part of what Colab
installs), so the checkout is the folder above this package.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if not (ROOT / "_config.yml").is_file():
    raise ImportError(
        f"book_tools runs from a checkout of the book's repository, and {ROOT} is not one "
        "(no _config.yml there): clone the repository and run it from there.")

CHAPTERS = ROOT / "chapters"
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"
BUILD_HTML = ROOT / "_build" / "html"
CACHE = ROOT / ".cache"
