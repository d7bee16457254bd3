"""Citations that would read alike are told apart: "He et al., 2016a" and "2016b".

The styles are the ones ``_config.yml`` names, looked up by those names as sphinxcontrib-bibtex
looks them up, and they format the entries the way its domain does (sort, label, format; then
each citation from the formatted entry of the bibliography it points to). A tiny Jupyter Book
with the book's citation settings shows the same in the HTML.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pybtex.database
import pybtex.plugin
import pybtex_docutils
import pytest
import yaml
from sphinxcontrib.bibtex.plugin import find_plugin as find_reference_style
from sphinxcontrib.bibtex.style.referencing import format_references
from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo

from book_tools import citations
from book_tools.repository import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
SPHINX = CONFIG["sphinx"]["config"]
BIB = ROOT / "references.bib"


@pytest.fixture(scope="module", autouse=True)
def registered():
    citations.register()


def _render(text) -> str:
    """Plain text of a citation as the docutils backend renders it for a page."""
    nodes = text.render(pybtex_docutils.Backend())
    return "".join(node.astext() for node in nodes)


def formatted(bib: pybtex.database.BibliographyData, keys=None) -> dict:
    """For each entry of a bibliography listing ``keys`` (all by default): its label, its text in
    the list, and its citations by role ("p": parenthetical, "t": textual, "year")."""
    style = pybtex.plugin.find_plugin("pybtex.style.formatting",
                                      SPHINX["bibtex_default_style"])()
    entries = style.sort([bib.entries[key] for key in (keys or bib.entries)])
    labels = style.format_labels(entries)
    reference_style = find_reference_style("sphinxcontrib.bibtex.style.referencing",
                                           SPHINX["bibtex_reference_style"])()
    page = SimpleNamespace(name="html")  # citing and cited on one page: no URI to resolve
    out = {}
    for label, entry in zip(labels, entries):
        entry_text = style.format_entry(label, entry)
        info = SphinxReferenceInfo(builder=page, fromdocname="p", todocname="p",
                                   citation_id="id", title=None, pre_text="", post_text="")
        cited = {role: _render(format_references(reference_style, role,
                                                 [(entry, entry_text, info)]))
                 for role in ("p", "t", "year")}
        out[entry.key] = {"label": entry_text.label,
                          "text": entry_text.text.render_as("text"), **cited}
    return out


def test_the_book_cites_with_the_lettering_styles():
    assert SPHINX["bibtex_reference_style"] == citations.STYLE
    assert SPHINX["bibtex_default_style"] == citations.STYLE


def test_no_two_entries_of_references_bib_are_cited_or_labelled_alike():
    book = formatted(pybtex.database.parse_file(BIB))
    for what in ("label", "p", "t"):
        seen = {}
        for key, entry in book.items():
            assert entry[what] not in seen, (
                f"{key} and {seen[entry[what]]} both read {entry[what]!r} ({what})")
            seen[entry[what]] = key


def test_he_et_al_2016_are_a_and_b_in_text_and_in_the_list():
    book = formatted(pybtex.database.parse_file(BIB))
    deep, identity = book["he2016deep"], book["he2016identity"]
    assert (deep["p"], identity["p"]) == ("[He et al., 2016a]", "[He et al., 2016b]")
    assert (deep["t"], identity["t"]) == ("He et al. [2016a]", "He et al. [2016b]")
    assert (deep["year"], identity["year"]) == ("2016a", "2016b")
    # The list shows each entry under the label its citations read, and its year lettered too.
    assert (deep["label"], identity["label"]) == ("He et al., 2016a", "He et al., 2016b")
    assert deep["text"].endswith(" 2016a.") and identity["text"].endswith(" 2016b.")
    # A year of their own needs no letter, and the .bib keeps the bare year.
    assert book["he2015delving"]["p"] == "[He et al., 2015]"
    assert book["he2015delving"]["label"] == "He et al., 2015"
    assert pybtex.database.parse_file(BIB).entries["he2016deep"].fields["year"] == "2016"


NAMESAKES = r"""
@misc{zz, author = {Lee, Ann and Kim, Bo and Park, Cy}, title = {Alpha}, year = {2020}}
@misc{yy, author = {Lee, Ann and Kim, Bo and Park, Cy}, title = {Gamma}, year = {2020}}
@misc{xx, author = {Lee, Ann and Kim, Bo and Park, Cy}, title = {Beta}, year = {2020}}
@misc{ww, author = {Lee, Dan and Ng, Eve and Ito, Flo}, title = {Delta}, year = {2020}}
@misc{vv, author = {Lee, Ann and Kim, Bo and Park, Cy}, title = {Epsilon}, year = {2021}}
@misc{uu, author = {Lee, Ann and Kim, Bo}, title = {Zeta}, year = {2020}}
"""


def test_letters_go_to_whatever_would_read_alike_in_the_lists_order():
    bib = pybtex.database.parse_string(NAMESAKES, "bibtex")
    cited = {key: entry["p"] for key, entry in formatted(bib).items()}
    # Every "Lee et al., 2020" is lettered, another first author's included (the citation
    # prints only "Lee et al."), in the order of the list: by authors, then title.
    assert cited == {"zz": "[Lee et al., 2020a]", "xx": "[Lee et al., 2020b]",
                     "yy": "[Lee et al., 2020c]", "ww": "[Lee et al., 2020d]",
                     "vv": "[Lee et al., 2021]", "uu": "[Lee and Kim, 2020]"}
    # Collisions are among the entries a bibliography lists: one cited alone keeps its year.
    assert formatted(bib, ["yy", "vv", "uu"])["yy"]["p"] == "[Lee et al., 2020]"


def _jupyter_book() -> str:
    here = Path(sys.executable).parent / "jupyter-book"
    found = str(here) if here.exists() else shutil.which("jupyter-book")
    if not found:
        pytest.fail(f"jupyter-book is not installed next to this Python ({sys.executable})")
    return found


def test_a_book_with_these_settings_shows_the_letters(tmp_path):
    """The book's own citation settings and extension, on two pages that cite both papers."""
    config = {
        "title": "Citations", "author": "tests",
        "execute": {"execute_notebooks": "off"},
        "bibtex_bibfiles": [str(BIB)],
        "sphinx": {"local_extensions": {"book_tools.sphinx_ext": str(ROOT)},
                   "config": {name: value for name, value in SPHINX.items()
                              if name.startswith("bibtex_")}},
    }
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: references\n")
    (tmp_path / "intro.md").write_text(
        "# Intro\n\n{cite}`he2016deep` {cite:t}`he2016identity` {cite}`he2015delving`\n")
    (tmp_path / "references.md").write_text((ROOT / "references.md").read_text())
    build = subprocess.run([_jupyter_book(), "build", ".", "-W", "-n", "--keep-going"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    html = tmp_path / "_build" / "html"

    def text(page):
        return re.sub(r"<[^>]+>", "", (html / page).read_text())

    intro, listed = text("intro.html"), text("references.html")
    assert "[He et al., 2016a]" in intro and "He et al. [2016b]" in intro
    assert "[He et al., 2015]" in intro
    for label in ("He et al., 2016a", "He et al., 2016b", "He et al., 2015"):
        assert f"[{label}]" in listed
    assert "HZRS16" not in listed
