"""Extractive answers (pure): the sentences of the retrieved passages that best match the
question, stitched together with numbered citations. Used when no language model is configured,
and labelled as such."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from graphready.documents.chunking import split_sentences
from graphready.retrieval.text import terms

SNIPPET_CHARS = 300
_SENTENCE_ENDS = (".", "!", "?", '"', "”", "’", ")", "…")


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with what a citation needs."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Citation:
    """A numbered source of an answer: ``id`` is the document (or passage) id."""

    number: int
    id: str
    chunk_id: str
    title: str
    snippet: str
    score: float


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer text whose ``[n]`` markers refer to ``citations``."""

    text: str
    citations: list[Citation]


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    passage_rank: int
    position: int
    sentence: str


def snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def _candidates(question: str, passages: Sequence[Passage]) -> list[_Candidate]:
    wanted = Counter(terms(question))
    sentences = [(r, i, s) for r, p in enumerate(passages)
                 for i, s in enumerate(split_sentences(p.text))]
    df: Counter[str] = Counter()
    for _, _, sentence in sentences:
        df.update(set(terms(sentence)))
    n = max(len(sentences), 1)
    out = []
    for rank, position, sentence in sentences:
        if sentence.lstrip().startswith("#"):
            continue
        present = set(terms(sentence))
        title_terms = set(terms(passages[rank].title))
        overlap = sum(math.log(1 + n / df[t]) for t in wanted if t in present)
        overlap += 0.5 * sum(1 for t in wanted if t in title_terms and t not in present)
        score = overlap / math.sqrt(1 + 0.1 * len(present)) + 1.0 / (rank + 2)
        if not sentence.rstrip().endswith(_SENTENCE_ENDS):
            score *= 0.5
        out.append(_Candidate(score, rank, position, sentence.strip()))
    return out


def extractive_answer(question: str, passages: Sequence[Passage], max_sentences: int = 3) -> Answer:
    """The best ``max_sentences`` sentences (at most two from one passage), best first, each
    followed by the number of its passage. No passages: an answer that says so."""
    if not passages:
        return Answer("I found nothing in the documents about that.", [])
    chosen: list[_Candidate] = []
    per_passage: Counter[int] = Counter()
    seen: set[str] = set()
    for cand in sorted(_candidates(question, passages), key=lambda c: -c.score):
        key = cand.sentence.casefold()
        if not cand.sentence or key in seen or per_passage[cand.passage_rank] >= 2:
            continue
        chosen.append(cand)
        seen.add(key)
        per_passage[cand.passage_rank] += 1
        if len(chosen) == max_sentences:
            break
    numbers: dict[int, int] = {}
    parts = []
    snippets: dict[int, list[str]] = {}
    for cand in chosen:
        number = numbers.setdefault(cand.passage_rank, len(numbers) + 1)
        snippets.setdefault(cand.passage_rank, []).append(cand.sentence)
        parts.append(f"{cand.sentence} [{number}]")
    citations = [
        Citation(number, passages[rank].doc_id, passages[rank].chunk_id, passages[rank].title,
                 snippet(" … ".join(snippets[rank])), round(passages[rank].score, 6))
        for rank, number in numbers.items()
    ]
    return Answer(" ".join(parts), citations)


def _source_of(sentence: str, candidates: Sequence[Passage]) -> Passage | None:
    """The candidate passage that contains ``sentence`` (whitespace-insensitive), else the
    first candidate."""
    wanted = " ".join(sentence.split())
    for passage in candidates:
        if wanted and wanted in " ".join(passage.text.split()):
            return passage
    return candidates[0] if candidates else None


def community_answer(
    reports: Sequence[tuple[str, str, Sequence[Passage]]], intro: str
) -> Answer:
    """An answer from community reports ``(title, summary, source passages)``: one item per
    report with its first summary sentence, citing the passage that sentence was drawn from."""
    if not reports:
        return Answer("The knowledge graph has no community that matches.", [])
    lines = [intro]
    citations: list[Citation] = []
    numbers: dict[str, int] = {}
    for title, summary, candidates in reports:
        first = next(iter(split_sentences(summary)), summary).strip()
        passage = _source_of(first, candidates)
        marker = ""
        if passage is not None:
            number = numbers.get(passage.chunk_id)
            if number is None:
                number = numbers[passage.chunk_id] = len(citations) + 1
                citations.append(Citation(number, passage.doc_id, passage.chunk_id,
                                          passage.title, snippet(first), round(passage.score, 6)))
            marker = f" [{number}]"
        lines.append(f"- {title}: {first}{marker}")
    return Answer("\n".join(lines), citations)
