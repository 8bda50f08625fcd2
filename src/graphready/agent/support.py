"""Whether a sentence a language model wrote is supported by the passages it cites (pure).

A sentence is supported when every number it states is written in the cited passages, and the
passages hold enough of its key terms: the content words of the sentence (stop words dropped,
plurals folded, a word also found by its first five letters, so "designed" meets "design"),
each name (a capitalised word past the sentence's first) counting ``NAME_WEIGHT`` times a common
word. ``THRESHOLD`` is the share of that weight the passages must hold.

``NAME_WEIGHT`` and ``THRESHOLD`` were calibrated by ``benchmarks/calibrate_support.py`` on
the development halves' gold facts (MuSiQue's single-hop decompositions, 2Wiki's evidence
triples, HotpotQA's question with its answer): 1,033 facts against the passage that holds them
(supported), 1,031 against another passage, 1,033 with their answer swapped for another fact's
(unsupported). The pair that catches the most unsupported pairs while flagging at most 5% of the
supported ones: name weight 4, threshold 0.70, which flags 4.7% of the supported facts and
catches 94.3% of those told against another passage and 93.0% of the swapped answers (a number
missing from the passages counts as unsupported whatever the share)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graphready.retrieval.text import STOPWORDS, fold, terms, words

NAME_WEIGHT = 4.0
THRESHOLD = 0.7
ANSWER_WORDS = frozenset({"yes", "true", "false", "correct"})
"""Words that answer rather than state: never key terms."""
PREFIX = 5
"""Letters a longer word and a passage's word must share to count as the same word."""


@dataclass(frozen=True, slots=True)
class Support:
    """How well cited passages hold a sentence: ``share`` of its key terms' weight found,
    ``missing_numbers`` the numbers it states that they do not, and the verdict."""

    share: float
    missing_numbers: tuple[str, ...]
    supported: bool


def _key(term: str) -> str:
    return term[:PREFIX] if len(term) > PREFIX else term


def _weights(sentence: str, name_weight: float) -> dict[str, float]:
    """The sentence's key terms with their weights (a name's terms weigh ``name_weight``)."""
    out: dict[str, float] = {}
    for i, word in enumerate(words(sentence)):
        if any(ch.isdigit() for ch in word):
            continue  # numbers are checked whole
        found = terms(word)
        if not found or found[0] in ANSWER_WORDS:
            continue
        named = i > 0 and word[:1].isupper() and word.casefold() not in STOPWORDS
        weight = name_weight if named else 1.0
        term = found[0]
        out[term] = max(out.get(term, 0.0), weight)
    return out


def _numbers(text: str) -> list[str]:
    """The numbers written in ``text`` (digits only: "1,912" and "1912" alike)."""
    out = []
    for word in words(text):
        digits = "".join(ch for ch in word if ch.isdigit())
        if digits and len(digits) >= max(1, sum(ch.isalpha() for ch in word)):
            out.append(digits)
    return out


def support(sentence: str, passages: Sequence[str], threshold: float = THRESHOLD,
            name_weight: float = NAME_WEIGHT) -> Support:
    """Whether ``passages`` (the texts the sentence cites) support ``sentence``."""
    text = " ".join(passages)
    held = set(terms(text))
    keys = {_key(t) for t in held}
    wanted = _weights(sentence, name_weight)
    total = sum(wanted.values())
    found = sum(w for t, w in wanted.items() if t in held or _key(fold(t)) in keys)
    share = found / total if total else 1.0
    numbers = set(_numbers(text))
    missing = tuple(dict.fromkeys(n for n in _numbers(sentence) if n not in numbers))
    return Support(round(share, 4), missing, not missing and share >= threshold)
