"""The setup cell that opens every notebook, kept in step with ``_config.yml``.

A notebook opened alone (in Colab, from the page's launch button) has no checkout of the
book beside it, so its first cell installs this helper package from the book's repository
when it cannot be imported. The repository URL and branch are written in ``_config.yml``
once; this module renders the cell from them and rewrites or checks every notebook:

    python -m book_tools.setup_cell --write   # after changing the repository in _config.yml
    python -m book_tools.setup_cell --check   # what the tests run

``RESNET_BOOK_SOURCE`` makes the cell install from another pip source (the tests point it
at the local checkout, as there is no network to GitHub there).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .repository import ROOT

SETUP_TAG = "remove-cell"
FIRST_LINE = "# Setup: lets this notebook run on its own, e.g. in Google Colab."

TEMPLATE = '''{first_line} The book hides this cell.
import importlib.metadata, importlib.util, os, subprocess, sys

BOOK_PACKAGE = "git+{url}@{branch}"
if importlib.util.find_spec("resnet_book") is None:
    def installed(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None
    source = os.environ.get("RESNET_BOOK_SOURCE", BOOK_PACKAGE)
    numpy_before = installed("numpy")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        raise RuntimeError(f"Could not install the book's helper package from {{source}}:\\n"
                           + pip.stderr)
    if "numpy" in sys.modules and installed("numpy") != numpy_before:
        raise SystemExit("Installing the helper package changed NumPy under this running "
                         "kernel: restart it (Colab: Runtime > Restart session), then run "
                         "the notebook again from the top.")'''


def repository(root: Path | None = None) -> tuple[str, str]:
    """The repository URL and branch that ``_config.yml`` names."""
    import yaml

    config = yaml.safe_load((Path(root or ROOT) / "_config.yml").read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def setup_cell_source(url: str, branch: str) -> str:
    return TEMPLATE.format(first_line=FIRST_LINE, url=url, branch=branch)


def notebooks(root: Path | None = None) -> list[Path]:
    root = Path(root or ROOT)
    return sorted(p for folder in ("chapters", "exercises", "solutions")
                  for p in (root / folder).glob("*.ipynb"))


def _check_or_write(write: bool, root: Path | None = None) -> list[str]:
    import nbformat

    expected = setup_cell_source(*repository(root))
    problems = []
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0] if nb.cells else None
        is_setup = (first is not None and first.cell_type == "code"
                    and first.source.startswith(FIRST_LINE))
        if is_setup and first.source == expected and SETUP_TAG in first.metadata.get("tags", []):
            continue
        if not write:
            problems.append(f"{path}: first cell is not the setup cell for {repository(root)}")
            continue
        if not is_setup:
            nb.cells.insert(0, nbformat.v4.new_code_cell(expected))
            first = nb.cells[0]
        first.source = expected
        first.metadata["tags"] = sorted(set(first.metadata.get("tags", [])) | {SETUP_TAG})
        nbformat.write(nb, path)
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="rewrite every setup cell")
    group.add_argument("--check", action="store_true", help="fail if any setup cell differs")
    args = parser.parse_args(argv)
    problems = _check_or_write(write=args.write)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("Run `python -m book_tools.setup_cell --write` to bring them in step.",
              file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
