"""Extractive answers (pure): the sentences of the retrieved passages that best match the
question, quoted as written (without Markdown syntax, never a heading or a title line) and each
followed by the number of its citation. Used when no language model is configured, and labelled
as such. A citation points at one sentence: its passage and where the sentence is in the
passage's text (``start``, ``end``); each quoted sentence is a :class:`Claim` that it supports."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from graphready.documents.chunking import Sentence, chunk_sentences
from graphready.documents.markdown import plain
from graphready.retrieval.text import terms

SNIPPET_CHARS = 300
_SENTENCE_ENDS = (".", "!", "?", '"', "”", "’", ")", "…")


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with what a citation needs (``page``: its PDF page, else None)."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    score: float
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source of an answer: ``id`` is the document (or passage) id. ``start`` and
    ``end`` are where the cited sentence is in the passage's text (None when the citation is a
    whole passage); ``page`` is its page in a PDF (a PDF is chunked page by page), None for
    other formats."""

    number: int
    id: str
    chunk_id: str
    title: str
    snippet: str
    score: float
    start: int | None = None
    end: int | None = None
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """One sentence of an answer, the numbers of the citations it carries, and whether they
    support it (a quoted sentence is supported by the passage it is quoted from)."""

    text: str
    citations: tuple[int, ...]
    supported: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer text whose ``[n]`` markers refer to ``citations``; ``claims`` are its sentences
    that say something about the documents (not its framing lines), in order."""

    text: str
    citations: list[Citation]
    claims: tuple[Claim, ...] = ()


@dataclass(frozen=True, slots=True)
class Quote:
    """A sentence of a passage as an answer quotes it: ``text`` is its plain text, ``sentence``
    where it is in the passage."""

    passage: Passage
    sentence: Sentence
    text: str


def snippet(text: str) -> str:
    """``text`` on one line, cut at a word boundary to at most ``SNIPPET_CHARS`` characters."""
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text[: SNIPPET_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(" ,;:") + "…"


def quotes(passage: Passage) -> list[Quote]:
    """The sentences of ``passage`` that may be quoted: headings and title lines left out,
    Markdown syntax removed."""
    out = []
    for sentence in chunk_sentences(passage.text, passage.title):
        text = plain(sentence.text)
        if not sentence.heading and text:
            out.append(Quote(passage, sentence, text))
    return out


class Quoting:
    """Numbers quotes as they are cited, one citation per quoted sentence."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self.claims: list[Claim] = []
        self._numbers: dict[tuple[str, int], int] = {}

    def cite(self, quote: Quote) -> str:
        """``quote`` followed by its citation marker, the citation and the claim recorded."""
        key = (quote.passage.chunk_id, quote.sentence.start)
        number = self._numbers.get(key)
        if number is None:
            number = self._numbers[key] = len(self.citations) + 1
            p = quote.passage
            self.citations.append(Citation(number, p.doc_id, p.chunk_id, p.title,
                                           snippet(quote.text), round(p.score, 6),
                                           quote.sentence.start, quote.sentence.end, p.page))
        self.claims.append(Claim(quote.text, (number,), True))
        return f"{quote.text} [{number}]"

    def answer(self, text: str) -> Answer:
        return Answer(text, self.citations, tuple(self.claims))


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    passage_rank: int
    position: int
    quote: Quote


def _candidates(question: str, passages: Sequence[Passage]) -> list[_Candidate]:
    wanted = Counter(terms(question))
    sentences = [(r, i, q) for r, p in enumerate(passages) for i, q in enumerate(quotes(p))]
    df: Counter[str] = Counter()
    for _, _, quote in sentences:
        df.update(set(terms(quote.text)))
    n = max(len(sentences), 1)
    out = []
    for rank, position, quote in sentences:
        present = set(terms(quote.text))
        title_terms = set(terms(passages[rank].title))
        overlap = sum(math.log(1 + n / df[t]) for t in wanted if t in present)
        overlap += 0.5 * sum(1 for t in wanted if t in title_terms and t not in present)
        score = overlap / math.sqrt(1 + 0.1 * len(present)) + 1.0 / (rank + 2)
        if not quote.text.endswith(_SENTENCE_ENDS):
            score *= 0.5
        out.append(_Candidate(score, rank, position, quote))
    return out


def extractive_answer(question: str, passages: Sequence[Passage], max_sentences: int = 3) -> Answer:
    """The best ``max_sentences`` sentences (at most two from one passage), best first, each
    followed by the number of its citation. No passages: an answer that says so."""
    if not passages:
        return Answer("I found nothing in the documents about that.", [])
    chosen: list[_Candidate] = []
    per_passage: Counter[int] = Counter()
    seen: set[str] = set()
    for cand in sorted(_candidates(question, passages), key=lambda c: -c.score):
        key = cand.quote.text.casefold()
        if key in seen or per_passage[cand.passage_rank] >= 2:
            continue
        chosen.append(cand)
        seen.add(key)
        per_passage[cand.passage_rank] += 1
        if len(chosen) == max_sentences:
            break
    quoting = Quoting()
    return quoting.answer(" ".join(quoting.cite(cand.quote) for cand in chosen))
