"""Pure, extractive community reports: a title from the most central member entities and a
summary made of the source sentences that mention the most member entities.

A community whose id (a hash of its level and members) is in ``previous`` keeps its report, so a
rebuild only summarises the communities that changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from graphready.communities.hierarchy import CommunityNode
from graphready.documents.chunking import split_sentences
from graphready.knowledge import Community, Entity, Relation

ChunkTexts = Mapping[str, str] | Callable[[Sequence[str]], Mapping[str, str]]
"""Chunk texts by id: a mapping, or a function that looks up the texts of the ids it is given."""

TITLE_ENTITIES = 3
KEY_ENTITIES = 10
CANDIDATE_CHUNKS = 40
MAX_SENTENCE_CHARS = 400
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Sentence:
    chunk_id: str
    index: int
    text: str
    words: str


def _words(text: str) -> str:
    """``text`` as casefolded words between single spaces, padded, for whole-word matching."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def adjacency(relations: Sequence[Relation]) -> dict[str, list[tuple[str, float]]]:
    """Each entity's neighbours with the weights of the relations to them."""
    neighbours: dict[str, list[tuple[str, float]]] = {}
    for rel in relations:
        neighbours.setdefault(rel.source, []).append((rel.target, rel.weight))
        neighbours.setdefault(rel.target, []).append((rel.source, rel.weight))
    return neighbours


def central_members(
    members: Sequence[str],
    entities: Mapping[str, Entity],
    neighbours: Mapping[str, list[tuple[str, float]]],
) -> list[Entity]:
    """Known members by weighted degree inside the community (ties: more chunks, then name)."""
    inside = set(members)
    degree = {
        m: sum(w for other, w in neighbours.get(m, ()) if other in inside) for m in members
    }
    known = [entities[m] for m in members if m in entities]
    known.sort(key=lambda e: (-degree[e.id], -len(e.chunk_ids), e.name, e.id))
    return known


def candidate_chunks(members: Sequence[Entity]) -> list[tuple[str, list[Entity]]]:
    """The chunks holding the most member entities, with the members each holds."""
    by_chunk: dict[str, list[Entity]] = {}
    for entity in members:
        for chunk_id in entity.chunk_ids:
            by_chunk.setdefault(chunk_id, []).append(entity)
    ranked = sorted(by_chunk.items(), key=lambda item: (-len(item[1]), item[0]))
    return ranked[:CANDIDATE_CHUNKS]


def _chunk_sentences(
    chunk_id: str, texts: Mapping[str, str], cache: dict[str, list[_Sentence]]
) -> list[_Sentence]:
    sentences = cache.get(chunk_id)
    if sentences is None:
        parts = split_sentences(texts.get(chunk_id, ""))
        sentences = [_Sentence(chunk_id, i, s, _words(s)) for i, s in enumerate(parts)]
        cache[chunk_id] = sentences
    return sentences


def _pick_sentences(
    candidates: Sequence[tuple[str, list[Entity]]],
    texts: Mapping[str, str],
    cache: dict[str, list[_Sentence]],
    max_sentences: int,
) -> list[_Sentence]:
    """The sentences mentioning the most distinct member entities (ties: the chunk holding more
    members), without duplicates or run-on sentences over ``MAX_SENTENCE_CHARS``, in reading
    order (chunk rank, then position)."""
    scored: list[tuple[int, int, int, int, _Sentence]] = []
    for rank, (chunk_id, members) in enumerate(candidates):
        names = {_words(e.name) for e in members}
        for sentence in _chunk_sentences(chunk_id, texts, cache):
            if len(sentence.text) > MAX_SENTENCE_CHARS:
                continue
            hits = sum(1 for name in names if name in sentence.words)
            if hits:
                scored.append((-hits, -len(members), rank, sentence.index, sentence))
    scored.sort(key=lambda item: item[:4])
    chosen: list[tuple[int, _Sentence]] = []
    seen: set[str] = set()
    for _, _, rank, _, sentence in scored:
        if sentence.words in seen:
            continue
        seen.add(sentence.words)
        chosen.append((rank, sentence))
        if len(chosen) >= max_sentences:
            break
    chosen.sort(key=lambda item: (item[0], item[1].index))
    return [sentence for _, sentence in chosen]


def _report(
    node: CommunityNode,
    central: Sequence[Entity],
    sentences: Sequence[_Sentence],
) -> Community:
    title = ", ".join(e.name for e in central[:TITLE_ENTITIES]) or f"Community {node.id}"
    key_line = "Key entities: " + ", ".join(e.name for e in central[:KEY_ENTITIES])
    body = " ".join(s.text for s in sentences)
    summary = f"{body}\n{key_line}" if body else key_line
    chunk_ids = tuple(sorted({s.chunk_id for s in sentences}))
    return Community(node.id, node.level, node.parent, node.members, title, summary, chunk_ids)


def summarize_communities(
    nodes: Sequence[CommunityNode],
    entities: Mapping[str, Entity],
    relations: Sequence[Relation],
    chunk_text: ChunkTexts,
    previous: Mapping[str, Community],
    max_sentences: int = 4,
) -> list[Community]:
    """One report per node, in the order given. The title joins the three most central members
    (by weighted degree inside the community); the summary holds at most ``max_sentences``
    source sentences that mention the most member entities, then a ``Key entities:`` line.
    A node whose id is in ``previous`` reuses that community's title, summary, chunk ids and
    rating (an LLM report stays one);
    chunk texts are looked up only for the communities that are summarised."""
    wanted = [n for n in nodes if n.id not in previous]
    adjacent = adjacency(relations) if wanted else {}
    plans: dict[str, tuple[list[Entity], list[tuple[str, list[Entity]]]]] = {}
    for node in wanted:
        central = central_members(node.members, entities, adjacent)
        plans[node.id] = (central, candidate_chunks(central))
    if isinstance(chunk_text, Mapping):
        texts = chunk_text
    else:
        ids = sorted({c for _, candidates in plans.values() for c, _ in candidates})
        texts = chunk_text(ids) if ids else {}
    cache: dict[str, list[_Sentence]] = {}
    reports: list[Community] = []
    for node in nodes:
        old = previous.get(node.id)
        if old is not None:
            reports.append(Community(node.id, node.level, node.parent, node.members,
                                     old.title, old.summary, old.chunk_ids, old.rating))
            continue
        central, candidates = plans[node.id]
        sentences = _pick_sentences(candidates, texts, cache, max_sentences)
        reports.append(_report(node, central, sentences))
    return reports
