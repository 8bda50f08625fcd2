"""Typed spans of a few answer sentences, for the short answer: the ``Tagger`` protocol and its
implementations: the names the knowledge graph knows in the passages (``KnownNamesTagger``, what
the agent uses when the graph is loaded; spaCy typed them when the graph was built, so no model
runs at answer time: spaCy's recogniser in the server cost ~140 MiB and seconds at its first
answer), and a regex tagger for dates and numbers (before the graph exists)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_DATE = re.compile(
    r"\b(?:\d{1,2} [A-Z][a-z]{2,8},? \d{3,4}|[A-Z][a-z]{2,8} \d{1,2},? \d{3,4}"
    r"|[A-Z][a-z]{2,8} \d{3,4}|\d{4})\b"
)
"""A date as written ("20 March 851", "June 3, 1912", "June 1912", "1968"); a capitalised word
that is not a month leaves its year alone (:func:`_dates`)."""
_YEAR = re.compile(r"\b\d{3,4}\b")
_NUMBER = re.compile(r"\b\d+(?:,\d{3})*(?:\.\d+)?\b")
_UNITS = frozenset({"m", "metres", "meters", "metre", "meter", "ft", "feet", "km", "mi", "miles",
                    "kg", "tonnes", "tons", "cm", "mm", "sq", "square", "hectares", "acres",
                    "people", "inhabitants", "residents", "seats", "km2", "mph"})
"""Words after a number that make it a measure, not a year ("8163 m", "1500 people")."""
_NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve")


@dataclass(frozen=True, slots=True)
class Span:
    """A typed stretch of a sentence: ``label`` is a spaCy entity label (``PERSON``, ``GPE``,
    ``DATE``, ``CARDINAL``...); ``start`` is its character offset."""

    text: str
    label: str
    start: int


class Tagger(Protocol):
    """Finds typed spans in sentences."""

    def tag(self, sentences: Sequence[str]) -> list[list[Span]]:
        """One list of spans per sentence, in order."""
        ...


class RegexTagger:
    """Dates (``DATE``) and numbers (``CARDINAL``) by pattern; no names."""

    def tag(self, sentences: Sequence[str]) -> list[list[Span]]:
        """Dates first; a number inside a date is not a number of its own."""
        out = []
        for sentence in sentences:
            spans = list(_dates(sentence))
            taken = [(s.start, s.start + len(s.text)) for s in spans]
            spans += [Span(m.group(), "CARDINAL", m.start()) for m in _NUMBER.finditer(sentence)
                      if not any(a <= m.start() < b for a, b in taken)]
            out.append(sorted(spans, key=lambda s: s.start))
        return out


class KnownNamesTagger:
    """The names the knowledge graph already knows in the passages being answered from (their
    extractor's labels: the graph was tagged by spaCy when it was built), found where they are
    written, plus :class:`RegexTagger`'s dates and numbers. No model at answer time: the
    server holds no tagger of its own."""

    def __init__(self, names: Sequence[tuple[str, str]]) -> None:
        # longest first, so "Alan Turing" is taken before "Turing" where both are written
        # an all-lowercase name is a common noun the tagger took for a name ("spectre" as a
        # person): never an answer, as it never seeds the graph walk
        self._names = sorted({(n, t) for n, t in names if len(n) > 1 and not n.islower()},
                             key=lambda nt: (-len(nt[0]), nt[0]))
        self._dates_and_numbers = RegexTagger()

    def tag(self, sentences: Sequence[str]) -> list[list[Span]]:
        """Each sentence's known names (whole words, not inside a longer name), then its dates
        and numbers that no name covers."""
        out = []
        for sentence, regex_spans in zip(sentences, self._dates_and_numbers.tag(sentences),
                                         strict=True):
            taken: list[tuple[int, int]] = []
            spans = []
            for name, label in self._names:
                start = sentence.find(name)
                while start >= 0:
                    end = start + len(name)
                    if _whole_word(sentence, start, end) and not any(
                            a < end and start < b for a, b in taken):
                        spans.append(Span(name, label, start))
                        taken.append((start, end))
                    start = sentence.find(name, end)
            spans += [s for s in regex_spans if not any(
                a < s.start + len(s.text) and s.start < b for a, b in taken)]
            out.append(sorted(spans, key=lambda span: span.start))
        return out


def _whole_word(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (
        end == len(text) or not text[end].isalnum())


def _is_month(word: str) -> bool:
    return word.strip(",.").casefold()[:3] in {m[:3] for m in MONTHS}


def _measured(sentence: str, end: int) -> bool:
    """Whether the number ending at ``end`` is followed by a unit ("8163 m above sea level")."""
    following = sentence[end:end + 16].split(maxsplit=1)
    return bool(following) and following[0].strip(".,;:)").casefold() in _UNITS and (
        sentence[end:end + 1].isspace())


def _dates(sentence: str) -> list[Span]:
    out = []
    for match in _DATE.finditer(sentence):
        text = match.group()
        if text.isdigit() and _measured(sentence, match.end()):
            continue  # a measure: a number, not a year
        if text.isdigit() or any(_is_month(w) for w in text.split()):
            out.append(Span(text, "DATE", match.start()))
            continue
        year = _YEAR.search(text)
        if year is not None and len(year.group()) == 4:
            out.append(Span(year.group(), "DATE", match.start() + year.start()))
    return out


def date_key(text: str) -> tuple[int, int, int] | None:
    """``(year, month, day)`` of a date as written ("20 March 851", "June 1912", "1968"), for
    comparing; ``None`` without a year."""
    parts = [p.strip(",.").casefold() for p in text.split()]
    year = month = day = 0
    for part in parts:
        if part.isdigit():
            if len(part) >= 3:
                year = int(part)
            elif len(part) <= 2:
                day = int(part)
        else:
            month = next((i + 1 for i, m in enumerate(MONTHS) if part[:3] == m[:3]), month)
    return (year, month, day) if year else None


def number_value(text: str) -> float | None:
    """The number a span states ("1,200", "3.5", "three"), else ``None``."""
    match = _NUMBER.search(text)
    if match:
        return float(match.group().replace(",", ""))
    word = text.strip().casefold()
    return float(_NUMBER_WORDS.index(word) + 2) if word in _NUMBER_WORDS else None
