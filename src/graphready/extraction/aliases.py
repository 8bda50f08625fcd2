"""Pure alias resolution: entities that one chunk names in two ways merge into one.

Mentions merge on their normalised key (case, determiners, possessives); this goes one step
further, with evidence found inside a chunk (whose mentions include its document's title, so a
biography's subject is in every chunk of it):

- a person's shorter name (``Curie``) whose words are a strict prefix or suffix of the words of
  a longer person or title name of the same chunk (``Marie Curie``);
- an acronym (``NASA``, ``U.N.``) whose letters are the initials of the significant words of a
  longer name of the same chunk (``National Aeronautics and Space Administration``).

A short key with exactly one such longer key in a chunk is an alias there (:func:`chunk_aliases`).
Across the corpus (:class:`AliasTable`), a short key whose every chunk-local alias points to the
same long key is an alias everywhere, also in chunks that name only the short form; a short key
seen with two different long forms (``Curie``: Marie, Pierre) stays its own entity outside the
chunks that disambiguate it. Both depend only on the set of extractions, never on their order, so
an incremental rebuild assembles the same graph as a full one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from graphready.knowledge import Mention

PERSON = "PERSON"
TITLE = "TITLE"
MIN_ACRONYM = 2
MAX_ACRONYM = 8
_INITIAL_SKIP = frozenset({"of", "the", "and", "for", "in", "on", "at", "to", "a", "an", "&",
                           "de", "du", "la", "le", "der", "die", "und", "y"})
_ACRONYM = re.compile(r"(?:[A-Z]\.?){2,8}|[A-Z][A-Z0-9&]{1,7}")
_WORD = re.compile(r"[^\W_]+")


def _words(key: str) -> list[str]:
    return _WORD.findall(key)


def is_acronym(name: str) -> bool:
    """Whether ``name`` looks like an acronym: 2 to 8 capitals (dots allowed: ``U.N.``)."""
    text = name.strip()
    return bool(_ACRONYM.fullmatch(text)) and sum(ch.isalpha() for ch in text) >= MIN_ACRONYM


def initials(key: str) -> str:
    """The initials of the significant words of a normalised key (``of``, ``the`` ... skipped;
    a hyphenated word gives one initial per part)."""
    return "".join(w[0] for w in _words(key.replace("-", " ")) if w not in _INITIAL_SKIP)


def _acronym_letters(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _is_name_part(short: list[str], long: list[str]) -> bool:
    """Whether ``short`` is a strict prefix or suffix of ``long`` (as word lists)."""
    n = len(short)
    return 0 < n < len(long) and (long[:n] == short or long[-n:] == short)


def chunk_aliases(mentions: Iterable[Mention]) -> dict[str, str]:
    """Short key -> long key for the aliases one chunk's mentions show (see the module
    docstring); a short key with two candidate long keys in the chunk gets none."""
    items = {m.key: m for m in mentions}
    persons = [k for k, m in items.items() if m.type == PERSON]
    long_names = [k for k, m in items.items() if m.type in (PERSON, TITLE)]
    candidates: dict[str, set[str]] = {}
    for short in persons:
        short_words = _words(short)
        for long in long_names:
            if long != short and _is_name_part(short_words, _words(long)):
                candidates.setdefault(short, set()).add(long)
    for short, mention in items.items():
        if not is_acronym(mention.name):
            continue
        letters = _acronym_letters(mention.name)
        for long, other in items.items():
            if long != short and not is_acronym(other.name) and len(_words(long)) >= 2 \
                    and initials(long) == letters:
                candidates.setdefault(short, set()).add(long)
    return {short: next(iter(longs)) for short, longs in candidates.items() if len(longs) == 1}


@dataclass(slots=True)
class AliasTable:
    """Chunk-local aliases gathered over a corpus (:meth:`add`), resolved to the corpus-wide
    ones (:meth:`resolve`)."""

    _seen: dict[str, set[str]] = field(default_factory=dict)

    def add(self, aliases: Mapping[str, str]) -> None:
        """Record one chunk's aliases."""
        for short, long in aliases.items():
            self._seen.setdefault(short, set()).add(long)

    def resolve(self) -> dict[str, str]:
        """Short key -> canonical key for every short key whose chunks all agree on one long
        key, followed through chains (an acronym of a surname's full name) to the end."""
        direct = {s: next(iter(longs)) for s, longs in self._seen.items() if len(longs) == 1}
        return {short: canonical(short, direct) for short in direct}


def canonical(key: str, aliases: Mapping[str, str]) -> str:
    """``key`` followed through ``aliases`` to a key that is no alias (a cycle, which the rules
    cannot make, stops at the smallest key of the cycle)."""
    seen = [key]
    while key in aliases:
        key = aliases[key]
        if key in seen:
            return min(seen)
        seen.append(key)
    return key
