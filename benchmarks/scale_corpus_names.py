"""Synthetic, name-like words for ``scale_corpus.py``: in each *universe* (one pass over the
source chunks), every word of the source's names gets a word of its own.

A word is remapped by its casefolded form, so ``TOTO`` and ``Toto`` stay one entity (the case
of each occurrence is kept: ``Kavelo``, ``KAVELO``). Words are grouped by length; within a
group, (universe, rank of the word) numbers the words, and that number is scrambled by a
seeded affine bijection and spelled as alternating consonants and vowels of a length whose
alphabet holds every number (``Teutberga`` -> ``Rodifaneb``). So no two (word, universe) pairs
share a synthetic word (no two entities merge by accident), a short source word may get a
slightly longer one, and the mapping depends only on the seed, the vocabulary and the number
of universes it is sized for (at least ``MIN_UNIVERSES``, so every corpus of up to that many
passes over the source is a prefix of the largest). One-letter words (initials) map to a
letter by a per-universe rotation.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from graphready.extraction.normalize import STOPWORDS

CONSONANTS = "bcdfghklmnprstvz"
VOWELS = "aeiou"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_UNIVERSES = 64
"""The names are sized for this many universes at least (64 passes over the seven sets is
about 1,400,000 chunks); a larger corpus sizes them for what it needs, and its names differ."""
WORD = re.compile(r"[^\W\d_]+")
"""A run of letters (one character class, repeated: linear)."""


def spelled_space(length: int) -> int:
    """How many words of ``length`` letters the consonant-vowel spelling has."""
    consonants: int = len(CONSONANTS) ** ((length + 1) // 2)
    vowels: int = len(VOWELS) ** (length // 2)
    return consonants * vowels


def spell(number: int, length: int) -> str:
    """``number`` (below :func:`spelled_space`) as ``length`` letters, consonant first."""
    letters = []
    for position in range(length):
        alphabet = CONSONANTS if position % 2 == 0 else VOWELS
        number, digit = divmod(number, len(alphabet))
        letters.append(alphabet[digit])
    return "".join(letters)


def is_name_word(word: str, vocabulary: frozenset[str] | set[str]) -> bool:
    """Whether an occurrence of ``word`` in the text is remapped: capitalised and, casefolded,
    a word of the source's names."""
    return word[:1].isupper() and word.casefold() in vocabulary


def with_case(synthetic: str, source: str) -> str:
    """``synthetic`` in the case of ``source``: upper case for an all-capitals word, else
    capitalised."""
    if len(source) > 1 and source.isupper():
        return synthetic.upper()
    return synthetic[:1].upper() + synthetic[1:]


@dataclass(frozen=True, slots=True)
class _LengthClass:
    count: int
    length: int
    multiplier: int
    offset: int
    size: int


class NameSpace:
    """The bijection from (casefolded source word, universe) to a synthetic word."""

    def __init__(self, vocabulary: Iterable[str], seed: int, universes: int) -> None:
        by_length: dict[int, list[str]] = {}
        for word in sorted(set(vocabulary)):
            by_length.setdefault(len(word), []).append(word)
        self.universes = max(universes, MIN_UNIVERSES)
        self._rank: dict[str, int] = {}
        self._classes: dict[int, _LengthClass] = {}
        for length, words in by_length.items():
            self._rank.update((word, rank) for rank, word in enumerate(words))
            rng = random.Random(f"{seed}/{length}")
            if length == 1:
                self._classes[1] = _LengthClass(len(words), 1, 1, rng.randrange(26), 26)
                continue
            out = max(length, 2)
            while spelled_space(out) < self.universes * len(words):
                out += 1
            size = spelled_space(out)
            multiplier = rng.randrange(1, size)
            while multiplier % 2 == 0 or multiplier % 5 == 0:  # coprime to 2^a 5^b
                multiplier += 1
            self._classes[length] = _LengthClass(len(words), out, multiplier % size,
                                                 rng.randrange(size), size)

    def __contains__(self, word: str) -> bool:
        return word in self._rank

    def word(self, word: str, universe: int) -> str:
        """The synthetic word (lower case) of casefolded ``word`` in ``universe``."""
        if not 0 <= universe < self.universes:
            raise ValueError(f"universe {universe} outside the {self.universes} sized for")
        group = self._classes[len(word)]
        if group.length == 1:
            return LETTERS[(LETTERS.find(word) + 7 * universe + group.offset) % 26]
        number = universe * group.count + self._rank[word]
        synthetic = spell((number * group.multiplier + group.offset) % group.size, group.length)
        return synthetic + "a" if synthetic in STOPWORDS else synthetic


class Universe:
    """One universe's remapping, with the words and names it has made so far (a cache, dropped
    with the universe: memory bounded by the source's vocabulary)."""

    def __init__(self, space: NameSpace, index: int) -> None:
        self.index = index
        self._space = space
        self._words: dict[str, str] = {}
        self._texts: dict[str, str] = {}

    def word(self, source: str) -> str:
        """The synthetic word of casefolded ``source``."""
        found = self._words.get(source)
        if found is None:
            found = self._words[source] = self._space.word(source, self.index)
        return found

    def render(self, literals: tuple[str, ...], slots: tuple[str, ...]) -> str:
        """A template's text: ``literals`` with the remapped ``slots`` (source words, in the
        case they had) between them."""
        parts = [literals[0]]
        for source, literal in zip(slots, literals[1:], strict=True):
            parts.append(with_case(self.word(source.casefold()), source))
            parts.append(literal)
        return "".join(parts)

    def text(self, source: str) -> str:
        """``source`` (a name, a title) with every name word remapped."""
        found = self._texts.get(source)
        if found is None:
            found = self._texts[source] = WORD.sub(self._remap_match, source)
        return found

    def _remap_match(self, match: re.Match[str]) -> str:
        word = match.group(0)
        folded = word.casefold()
        if word[:1].isupper() and folded in self._space:
            return with_case(self.word(folded), word)
        return word


def template(text: str, vocabulary: frozenset[str] | set[str]) -> tuple[tuple[str, ...],
                                                                        tuple[str, ...]]:
    """``text`` cut into literals and the name words between them (``Universe.render``)."""
    literals: list[str] = []
    slots: list[str] = []
    start = 0
    for match in WORD.finditer(text):
        word = match.group(0)
        if word[:1].isupper() and word.casefold() in vocabulary:  # is_name_word, inlined
            literals.append(text[start:match.start()])
            slots.append(word)
            start = match.end()
    literals.append(text[start:])
    return tuple(literals), tuple(slots)
