"""Retrieved passages as the short answer reads them (pure): their sentences as an answer quotes
them, the labels of each kind of answer, the passages about a thing, and how near a typed span
sits to the question's words."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from graphready.documents.chunking import chunk_sentences
from graphready.documents.markdown import plain
from graphready.retrieval.text import terms

from .tagging import Span

LABELS: dict[str, frozenset[str]] = {
    "person": frozenset({"PERSON"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
    "date": frozenset({"DATE"}),
    "number": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    "nationality": frozenset({"NORP", "GPE", "LANGUAGE"}),
    "organisation": frozenset({"ORG"}),
    "work": frozenset({"WORK_OF_ART", "ORG", "PRODUCT", "EVENT"}),
    "thing": frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "WORK_OF_ART", "EVENT",
                        "PRODUCT", "LANGUAGE", "LAW"}),
}
"""The tagger's labels (spaCy's) that answer each kind of question."""


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved passage, as the short answer reads it."""

    title: str
    text: str


def sentences_of(source: Source) -> list[str]:
    """The sentences of ``source`` as an answer quotes them (:func:`chunk_sentences`: a title
    line is never glued to the sentence after it; headings left out; Markdown syntax removed)."""
    return [text for s in chunk_sentences(source.text, source.title)
            if not s.heading and (text := plain(s.text))]


def about(thing: str, sources: Sequence[Source]) -> list[Source]:
    """The passages about ``thing``: those whose title is its name, else those that name it."""
    key = " ".join(terms(thing))
    return [s for s in sources if " ".join(terms(s.title)) == key] or [
        s for s in sources if thing.casefold() in s.text.casefold()]


def closeness(sentence: str, span: Span, words: Collection[str]) -> float:
    """1 when one of ``words`` (a question's terms, a cue like "died") is next to the span in
    ``sentence``, less further off; 0 when none is in it."""
    folded = sentence.casefold()
    positions = [i for t in words if len(t) > 2 and (i := folded.find(t)) >= 0]
    if not positions:
        return 0.0
    distance = min(abs(p - span.start) for p in positions)
    return 1.0 / (1.0 + distance / 30.0)
