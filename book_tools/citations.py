"""Author-year citations that tell apart the entries they would otherwise print alike.

sphinxcontrib-bibtex's ``author_year`` referencing style cites both of He et al.'s 2016 papers
as "He et al., 2016", and the default bibliography style (pybtex's ``alpha``) labels them
"HZRS16a" and "HZRS16b", which no citation in the text shows. The styles here, registered by
:func:`register` under one name (:data:`STYLE`) for both of sphinxcontrib-bibtex's settings,
cite them as "He et al., 2016a" and "He et al., 2016b" and list them under those labels:

- ``bibtex_reference_style``: :class:`SuffixedAuthorYearReferenceStyle`, the ``author_year``
  style whose year carries the entry's letter in every role that shows a year (``{cite}``,
  ``{cite:t}``, ``{cite:ps}``, ``{cite:year}``, ...);
- ``bibtex_default_style``: :class:`AuthorYearStyle`, pybtex's ``alpha`` (its entry templates
  and its order: authors, year, title) with each entry labelled as its parenthetical citation
  reads (:class:`AuthorYearLabelStyle`) and its year in the list carrying the same letter.

Entries take letters where their citations would otherwise read alike: the same author text as
the citation prints it ("He et al.") and the same year. The letters follow the bibliography's
order, so the first one listed is "a" (as natbib's author-year BibTeX styles letter them).
Collisions are looked for among the entries a bibliography lists, so a paper cited without its
namesake keeps its bare year; and no year need be written as "2016a" in the .bib file, which
would upset the sorting and the labels.
"""
from __future__ import annotations

import collections
import dataclasses
import functools

from pybtex.database import Entry
from pybtex.plugin import register_plugin as register_pybtex_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import Node, node
from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
from sphinxcontrib.bibtex.style import template
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

STYLE = "author_year_suffixed"
# The attribute of a formatted entry (pybtex's FormattedEntry) that carries its letter from the
# bibliography style to the citations, which see the formatted entry of the bibliography they
# point to.
YEAR_SUFFIX = "year_suffix"


def _letters(index: int) -> str:
    """The ``index``-th suffix, from 0: "a" ... "z", then "aa", "ab", ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


@functools.lru_cache(maxsize=None)
def _reference_style() -> SuffixedAuthorYearReferenceStyle:
    return SuffixedAuthorYearReferenceStyle()


def _author_and_year(entry: Entry) -> tuple[Text, Text]:
    """The author text and the year that a short citation of ``entry`` prints, unlettered."""
    style = _reference_style()
    data = {"entry": entry, "style": style}
    author = style.person.author_or_editor_or_title(full=False).format_data(data)
    return author, template.year.format_data(data)


def year_suffixes(sorted_entries) -> list[str]:
    """For each of ``sorted_entries``, in their order, the letter its year takes: "a", "b", ...
    where several entries would be cited with the same author text and year, else ""."""
    cited_as = [tuple(part.render_as("text") for part in _author_and_year(entry))
                for entry in sorted_entries]
    count = collections.Counter(cited_as)
    taken = collections.Counter()
    suffixes = []
    for key in cited_as:
        if count[key] > 1:
            suffixes.append(_letters(taken[key]))
            taken[key] += 1
        else:
            suffixes.append("")
    return suffixes


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels that read as the entries' parenthetical citations: "He et al., 2016a"."""

    def format_labels(self, sorted_entries):
        sorted_entries = list(sorted_entries)
        separator = _reference_style().author_year_sep
        for entry, suffix in zip(sorted_entries, year_suffixes(sorted_entries)):
            author, year = _author_and_year(entry)
            yield Text(author, separator, year, suffix).render_as("text")


def _with_year(entry: Entry, year: str) -> Entry:
    """A copy of ``entry`` whose year reads ``year`` (the entry itself is shared)."""
    copy = Entry(entry.original_type, fields=entry.fields, persons=entry.persons)
    copy.key = entry.key
    copy.fields["year"] = year
    return copy


class AuthorYearStyle(AlphaStyle):
    """pybtex's ``alpha`` bibliography with :class:`AuthorYearLabelStyle`'s labels, each entry's
    year carrying its letter, and the letter kept on the formatted entry for the citations."""

    default_label_style = STYLE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._suffixes = {}
        # pybtex's BaseStyle binds the label style's method to the instance in __init__, and
        # sphinxcontrib-bibtex calls it before it formats the entries.
        self.format_labels = self._format_labels

    def _format_labels(self, sorted_entries):
        sorted_entries = list(sorted_entries)
        self._suffixes = {entry.key: suffix for entry, suffix
                          in zip(sorted_entries, year_suffixes(sorted_entries))}
        return list(self.label_style.format_labels(sorted_entries))

    def format_entry(self, label, entry, *args, **kwargs):
        suffix = self._suffixes.get(entry.key, "")
        if suffix and "year" in entry.fields:
            entry = _with_year(entry, entry.fields["year"] + suffix)
        formatted = super().format_entry(label, entry, *args, **kwargs)
        setattr(formatted, YEAR_SUFFIX, suffix)
        return formatted


@node
def suffixed_year(children, data):
    """The year, followed by the letter the bibliography gave the cited entry."""
    assert not children
    return Text(template.year.format_data(data),
                getattr(data["formatted_entry"], YEAR_SUFFIX, ""))


def _suffix_years(tree):
    """A copy of the template ``tree`` with sphinxcontrib-bibtex's ``year`` node replaced by
    :func:`suffixed_year` wherever it occurs."""
    if tree is template.year:
        return suffixed_year
    if not isinstance(tree, Node):
        return tree
    copy = Node(tree.name, tree.f)
    copy.args, copy.kwargs = list(tree.args), dict(tree.kwargs)
    copy.children = [_suffix_years(child) for child in tree.children]
    return copy


@dataclasses.dataclass
class SuffixedAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's ``author_year`` style, each year followed by its entry's letter."""

    def inner(self, role_name: str) -> Node:
        # Rewriting the upstream templates, rather than copying them, keeps every role as
        # sphinxcontrib-bibtex writes it.
        return _suffix_years(super().inner(role_name))


def register() -> None:
    """Make the styles known as :data:`STYLE` to pybtex and to sphinxcontrib-bibtex."""
    register_pybtex_plugin("pybtex.style.labels", STYLE, AuthorYearLabelStyle, force=True)
    register_pybtex_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle, force=True)
    register_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", STYLE,
                           SuffixedAuthorYearReferenceStyle, force=True)
