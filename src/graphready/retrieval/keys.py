"""The keys graph-local search matches names on: an entity's or a title's words, normalised."""

from __future__ import annotations

import re

from graphready.extraction.normalize import entity_key

_WORD = re.compile(r"[^\W_]+")
_DISAMBIGUATION = re.compile(r"(?<!\s)\s*\([^()]*\)\s*$")
"""A parenthesised ending; the lookbehind starts a match only at the first space of a run, so
a long run of spaces is scanned once (a match from inside it would have matched from its start)."""


def link_key(name: str) -> str:
    """The key that question n-grams, entity names and titles are matched on: the words of the
    normalised name (:func:`entity_key`) joined by single spaces, punctuation inside dropped."""
    return " ".join(_WORD.findall(entity_key(name)))


def title_keys(title: str) -> tuple[str, str | None]:
    """The link key of a document title and, for a title ending in a parenthesised
    disambiguation (``Alien (film)``), the key of the title without it (``alien``)."""
    full = link_key(title)
    short = _DISAMBIGUATION.sub("", title)
    alias = link_key(short) if short != title else None
    return full, (alias if alias and alias != full else None)
