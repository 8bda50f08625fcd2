"""Which named-entity mentions of spaCy's small model are not names: the rules by which the
offline extractor (:mod:`graphready.extraction.spacy_nlp`) keeps a mention out of the named
entities.

On a hand-judged sample of the offline graph (``benchmarks/entity_precision.py``) the
recogniser's mistakes are common words it took for names because they were capitalised (at the
start of a sentence, in capitals, in a heading) or written in lowercase, exclamations, and names
cut at the wrong place. Names cut after a function word (``Ludwig III of``) are kept: dropping
or trimming them cost recall on the dev halves (2Wiki's family questions walk through them).
Each rule reads the mention and its sentence only, in linear time:

- ``lowercase``: the mention has no capital letter in a text that has capitals (``bell``,
  ``gruel``): a common noun, kept as a concept rather than a name;
- ``file name``: a word of it holds an underscore (``Podcast_with_X.txt``);
- ``common word``: it is one word, capitalised only by its place (the first word of its
  sentence, or a word of four letters or more in capitals), that English uses as an adjective,
  adverb or verb and never as a noun (``Merry Christmas``, ``PLEASANT``, ``Sometimes,``);
- ``heading``: its first word names a part of a document (``Chapter 8``, ``CHAPTER XIV``,
  ``Section 4``, ``STAVE``);
- ``degree or honorific``: it is an academic degree or an honorific alone (``PhD``, ``B.A.``,
  ``Sr.``, ``Mrs``);
- ``exclamation``: it is one word followed by ``!``, the only word of its sentence, that English
  uses as a verb, adjective or adverb (``Halloo!``, ``Hurrah!``, ``Hush!``; a name, ``Tris!``,
  ``Jacob!``, ``Peter!``, is no word or a noun only, and stays).

English words and their classes are WordNet's, as spaCy's English lemmatizer ships them
(``lemma_index``). Nouns are not judged by the ``common word`` rule: WordNet lists names
among its nouns (``london``, ``marley``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Rule = Literal["lowercase", "file name", "heading", "degree or honorific", "common word",
               "exclamation"]

DOCUMENT_PARTS = frozenset({"chapter", "chapters", "section", "sections", "stave", "staves"})
"""First words of a heading or a reference to a part of the document."""

DEGREES_AND_HONORIFICS = frozenset({
    "PhD", "Ph.D", "DPhil", "D.Phil", "BSc", "B.Sc", "MSc", "M.Sc", "MBA", "M.B.A", "LL.B",
    "B.A", "M.A", "B.S", "M.S", "Sr", "Jr", "Mr", "Mrs", "MR", "MRS",
})
"""Degrees and honorifics as written, without a final full stop: forms that are also
acronyms of names (``BSC``, ``MA``, ``MS``) are not among them."""

MIN_CAPITALS_WORD = 4
"""The shortest word in capitals that is judged as a common word (shorter ones are acronyms)."""

WORD_CLASSES = ("adj", "adv", "verb", "noun")


@dataclass(frozen=True, slots=True)
class CommonWords:
    """English words (lowercase lemmas) used as adjectives, adverbs or verbs, and those of them
    never used as nouns."""

    not_only_nouns: Set[str]
    not_nouns: Set[str]

    @classmethod
    def of(cls, classes: Mapping[str, Set[str]]) -> CommonWords:
        """From word classes (``adj``, ``adv``, ``verb``, ``noun``) to their words."""
        nouns = classes.get("noun", frozenset())
        others = set().union(*(classes.get(name, frozenset()) for name in WORD_CLASSES[:3]))
        return cls(frozenset(others), frozenset(others - nouns))

    @classmethod
    def load(cls, lookups_dir: Path) -> CommonWords:
        """From the ``lemma_index`` table of a spaCy lemmatizer's lookups folder."""
        from spacy.lookups import Lookups

        table = Lookups().from_disk(lookups_dir).get_table("lemma_index")
        return cls.of({name: frozenset(table.get(name, ())) for name in WORD_CLASSES})

    def is_not_only_noun(self, word: str) -> bool:
        """Whether the lowercase ``word`` is an adjective, adverb or verb (a noun too, or not)."""
        return word in self.not_only_nouns

    def is_not_noun(self, word: str) -> bool:
        """Whether the lowercase ``word`` is an adjective, adverb or verb and never a noun."""
        return word in self.not_nouns


def has_capitals(text: str) -> bool:
    """Whether ``text`` has an uppercase letter."""
    return any(ch.isupper() for ch in text)


def is_file_name(words: Sequence[str]) -> bool:
    """Whether a word of a name holds an underscore (a file name, not a name)."""
    return any("_" in word for word in words)


def _starts_sentence(token: Any) -> bool:
    """Whether only punctuation or space comes before ``token`` in its sentence."""
    start = token.sent.start
    doc = token.doc
    return all(doc[i].is_punct or doc[i].is_space for i in range(token.i - 1, start - 1, -1))


def _is_exclamation(token: Any) -> bool:
    """Whether ``token`` is followed by ``!`` and is the one word of its sentence."""
    doc = token.doc
    if token.i + 1 >= len(doc) or doc[token.i + 1].text != "!":
        return False
    return all(t.i == token.i or t.is_punct or t.is_space for t in token.sent)


def not_a_name(span: Any, common: CommonWords, cased: bool) -> Rule | None:
    """The rule (see the module docstring) by which the spaCy ``span`` of a named-entity mention
    is not a name, or None; ``cased``: whether the text it is in has capitals at all."""
    if cased and not has_capitals(span.text):
        return "lowercase"
    words = [t.text for t in span]
    if is_file_name(words):
        return "file name"
    if words[0].casefold() in DOCUMENT_PARTS:
        return "heading"
    if span.text.removesuffix(".") in DEGREES_AND_HONORIFICS:
        return "degree or honorific"
    if len(span) != 1:
        return None
    token = span[0]
    word = token.lower_
    if common.is_not_only_noun(word) and _is_exclamation(token):
        return "exclamation"
    positional = (token.is_upper and len(token.text) >= MIN_CAPITALS_WORD) \
        or _starts_sentence(token)
    if positional and common.is_not_noun(word):
        return "common word"
    return None
