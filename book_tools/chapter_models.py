"""Extract the networks the chapters save for later chapters into ``resnet_book/models.py``.

A chapter marks a code cell whose definitions later chapters reuse with a first line

    # Saved in resnet_book.models for later chapters.

This tool reads the chapters in order, takes the definitions (functions, classes, constants)
of every marked cell, and writes them, unchanged, into the helper package's ``models`` module,
with the imports they need. Where a later chapter defines a name again (chapter 4's
``residual_block``, which generalises chapter 2's), the later definition replaces the earlier
one, as in Dive into Deep Learning's ``#@save``.

    python -m book_tools.chapter_models            # rewrite resnet_book/models.py
    python -m book_tools.chapter_models --check    # fail if it differs (the tests check this)
"""
from __future__ import annotations

import argparse
import ast
import builtins
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .repository import ROOT, CHAPTERS

MARKER = "# Saved in resnet_book.models for later chapters."
MODULE = ROOT / "resnet_book" / "models.py"
COMMAND = "python -m book_tools.chapter_models"

# The only imports a saved cell may rely on: the generated module must load with Keras (and
# NumPy) alone, without Matplotlib and without the rest of the helper package.
IMPORTS = {"keras": "import keras", "layers": "from keras import layers",
           "np": "import numpy as np"}
_DEFINITIONS = (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)


class SavedCellError(ValueError):
    """A marked cell that cannot go into the helper package as it is."""


@dataclass(frozen=True)
class Definition:
    chapter: str   # the notebook's file name, e.g. "02_residual_block.ipynb"
    name: str
    source: str    # the definition's code, as the chapter writes it


def chapter_number(chapter: str) -> int:
    return int(chapter.split("_", 1)[0])


def _names(node: ast.stmt, chapter: str) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = [t.id for t in targets if isinstance(t, ast.Name)]
    if len(names) != len(targets):
        raise SavedCellError(f"{chapter}: a saved assignment must bind plain names")
    return names


def cell_definitions(source: str, chapter: str) -> list[Definition]:
    """The definitions of one marked cell (its source without the marker line), each with
    the unindented comment lines right above it."""
    lines = source.splitlines()
    definitions = []
    for node in ast.parse(source, filename=chapter).body:
        if not isinstance(node, _DEFINITIONS):
            code = lines[node.lineno - 1].strip()
            raise SavedCellError(
                f"{chapter}: a saved cell may only define functions, classes and constants; "
                f"`{code}` would run when resnet_book.models is imported. Move it to a cell "
                "of its own, without the marker.")
        decorators = getattr(node, "decorator_list", [])
        first = (decorators[0] if decorators else node).lineno
        while first > 1 and lines[first - 2].startswith("#"):
            first -= 1
        text = "\n".join(lines[first - 1:node.end_lineno])
        for name in _names(node, chapter):
            definitions.append(Definition(chapter, name, text))
    return definitions


def saved_definitions(chapters: Path = CHAPTERS) -> list[Definition]:
    """Every definition of every marked cell, chapter by chapter, in the order of the cells."""
    import nbformat

    definitions = []
    for path in sorted(Path(chapters).glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code" or MARKER not in cell.source:
                continue
            first, _, rest = cell.source.partition("\n")
            if first.strip() != MARKER:
                raise SavedCellError(f"{path.name}, cell {index}: the line '{MARKER}' must be "
                                     "the cell's first line")
            definitions += cell_definitions(rest, path.name)
    return definitions


def latest(definitions: list[Definition]) -> dict[str, Definition]:
    """Each saved name's definition from the last chapter that defines it (one chapter may
    not save a name twice)."""
    by_name: dict[str, Definition] = {}
    for definition in definitions:
        earlier = by_name.get(definition.name)
        if earlier is not None and earlier.chapter == definition.chapter:
            raise SavedCellError(f"{definition.chapter} saves {definition.name} twice")
        by_name[definition.name] = definition
    return by_name


def free_names(sources: list[str]) -> set[str]:
    """Names the code reads but never binds (nor are built in): what it needs imported."""
    loaded, bound = set(), set(dir(builtins))
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.alias):
                bound.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
    return loaded - bound


def _replaced_by(names: list[str], chapters: list[int]) -> str:
    verb = "is" if len(names) == 1 else "are"
    return (f"its {' and '.join(names)} {verb} replaced by chapter "
            f"{' and '.join(map(str, chapters))}'s")


def _header(definitions: list[Definition], by_name: dict[str, Definition]) -> str:
    listing = []
    for chapter in dict.fromkeys(d.chapter for d in definitions):
        names = list(dict.fromkeys(d.name for d in definitions if d.chapter == chapter))
        kept = [n for n in names if by_name[n].chapter == chapter]
        replaced = [n for n in names if n not in kept]
        line = f"- chapter {chapter_number(chapter)}, chapters/{chapter}: {', '.join(kept)}"
        if replaced:
            later = sorted({chapter_number(by_name[n].chapter) for n in replaced})
            line += f" ({_replaced_by(replaced, later)})"
        listing.append(textwrap.fill(line, 95, subsequent_indent="  ",
                                     break_on_hyphens=False))
    listing = "\n".join(listing)
    return f'''"""The networks the chapters build and later chapters reuse, taken from the chapters.

Generated by ``{COMMAND}`` from the chapters' code cells whose first
line is

    {MARKER}

Do not edit this file: change the chapter and run that command again (a test fails while the
two differ). Where a later chapter defines a name again, its definition replaces the earlier one.

{listing}
"""'''


def generate(chapters: Path = CHAPTERS) -> str:
    """The text of ``resnet_book/models.py`` for the chapters' marked cells."""
    definitions = saved_definitions(chapters)
    if not definitions:
        raise SavedCellError(f"no chapter in {chapters} has a cell marked '{MARKER}'")
    by_name = latest(definitions)
    kept = [d for d in definitions if by_name[d.name] is d]
    needed = free_names([d.source for d in kept])
    unknown = sorted(needed - set(IMPORTS))
    if unknown:
        raise SavedCellError(
            f"the saved cells use {', '.join(unknown)}, which no saved cell defines; a saved "
            f"definition may rely only on other saved definitions and on "
            f"{', '.join(IMPORTS.values())}")
    imports = "\n".join(line for name, line in IMPORTS.items() if name in needed)
    parts = [_header(definitions, by_name) + "\n" + imports]
    for chapter in dict.fromkeys(d.chapter for d in definitions):
        comment = f"# Chapter {chapter_number(chapter)}: chapters/{chapter}"
        replaced = [d.name for d in definitions
                    if d.chapter == chapter and by_name[d.name] is not d]
        if replaced:
            later = sorted({chapter_number(by_name[n].chapter) for n in replaced})
            comment += f"\n# {_replaced_by(replaced, later).capitalize()}, below."
        sources = list(dict.fromkeys(d.source for d in kept if d.chapter == chapter))
        parts.append(comment + "\n\n" + "\n\n\n".join(sources) if sources else comment)
    return "\n\n\n".join(parts) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Write resnet_book/models.py from the chapters' saved cells.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if resnet_book/models.py is not what "
                             "would be generated")
    args = parser.parse_args(argv)
    try:
        text = generate()
    except SavedCellError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    where = MODULE.relative_to(ROOT)
    current = MODULE.read_text() if MODULE.exists() else None
    if current == text:
        print(f"{where} is up to date with chapters/")
        return 0
    if args.check:
        print(f"{where} is out of date with the chapters' saved cells.\n"
              f"Run `{COMMAND}` and commit the result.", file=sys.stderr)
        return 1
    MODULE.write_text(text)
    print(f"wrote {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
