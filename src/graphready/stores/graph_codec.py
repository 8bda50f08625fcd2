"""What graph stores share: the one encoding of a :class:`~graphready.knowledge.ChunkExtraction`
every store persists (compact JSON, ``{"m": [[name, key, type, description?], ...], "r":
[[source, target, label, description?, weight?], ...]}``, trailing defaults left out, so offline
payloads are what they always were and old ones still decode; an extraction cache written by one
backend reads the same in another), the item JSON the server stores load graphs from (items
without the later fields decode with their defaults), and the check of what a store refuses."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from graphready.knowledge import (
    ChunkExtraction,
    Community,
    Entity,
    ExtractedRelation,
    KnowledgeGraph,
    Mention,
    Relation,
)


def _mention_row(m: Mention) -> list[Any]:
    return [m.name, m.key, m.type, m.description] if m.description else [m.name, m.key, m.type]


def _relation_row(r: ExtractedRelation) -> list[Any]:
    row: list[Any] = [r.source, r.target, r.label]
    if r.weight != 1.0:
        return [*row, r.description, r.weight]
    return [*row, r.description] if r.description else row


def encode_extraction(item: ChunkExtraction) -> str:
    """The JSON payload of one chunk's extraction (the chunk id is stored beside it)."""
    return json.dumps({
        "m": [_mention_row(m) for m in item.mentions],
        "r": [_relation_row(r) for r in item.relations],
    }, ensure_ascii=False, separators=(",", ":"))


def decode_extraction(chunk_id: str, payload: str) -> ChunkExtraction:
    """The extraction of chunk ``chunk_id`` from its :func:`encode_extraction` payload."""
    data = json.loads(payload)
    return ChunkExtraction(
        chunk_id,
        tuple(Mention(*m) for m in data["m"]),
        tuple(ExtractedRelation(*r[:3], *r[3:4], *(float(w) for w in r[4:5]))
              for r in data["r"]),
    )


def compact_json(value: Any) -> str:
    """JSON without spaces, non-ASCII kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def graph_problem(graph: KnowledgeGraph) -> str | None:
    """Why ``graph`` cannot be stored (as every store refuses it): duplicate entity ids, entity
    pairs or community ids, and relations whose ends are not entities of the graph."""
    entity_ids = {e.id for e in graph.entities}
    if len(entity_ids) != len(graph.entities):
        return "duplicate entity id"
    if len({(r.source, r.target) for r in graph.relations}) != len(graph.relations):
        return "duplicate relation (source, target)"
    for r in graph.relations:
        if r.source not in entity_ids or r.target not in entity_ids:
            return f"relation {r.source!r} -> {r.target!r} names an entity the graph lacks"
    if len({c.id for c in graph.communities}) != len(graph.communities):
        return "duplicate community id"
    return None


def entity_item(position: int, e: Entity, chunk_ids: list[str]) -> str:
    """The ``data`` JSON of an entity stored at ``position`` (kind 0)."""
    return compact_json([0, position, e.id, e.name, e.type, chunk_ids, e.description])


def relation_item(r: Relation) -> str:
    """The ``data`` JSON of a relation (kind 1; relations are ordered by their pair)."""
    return compact_json([1, r.source, r.target, r.label, r.weight, r.chunk_ids, r.description])


def community_item(position: int, c: Community) -> str:
    """The ``data`` JSON of a community stored at ``position`` (kind 2)."""
    return compact_json([2, position, c.id, c.level, c.parent, c.entity_ids, c.title, c.summary,
                         c.chunk_ids, c.rating])


def decode_graph(data: Iterable[str]) -> KnowledgeGraph:
    """The graph from the ``data`` JSON of its stored items (``[kind, position, ...]``, kind 0
    entity, 1 relation, 2 community; as :func:`entity_item`, :func:`relation_item`,
    :func:`community_item` write them, or without their last field, as they were written before
    descriptions and ratings), in their stored order; relations by entity pair. Items stored
    at one position (0: a graph changed in place) come in the order a build writes them in:
    entities by id, communities by level, then size (largest first), then id."""
    parts: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    for item in json.loads("[" + ",".join(data) + "]"):
        parts[item[0]].append(item)
    entity_rows, relation_rows, community_rows = parts
    entity_rows.sort(key=lambda row: (row[1], row[2]))
    relation_rows.sort(key=lambda row: (row[1], row[2]))
    community_rows.sort(key=lambda row: (row[1], row[3], -len(row[5]), row[2]))
    return KnowledgeGraph(
        tuple(Entity(i, name, kind, tuple(chunks), *rest)
              for _, _, i, name, kind, chunks, *rest in entity_rows),
        tuple(Relation(s, t, label, float(weight), tuple(chunks), *rest)
              for _, s, t, label, weight, chunks, *rest in relation_rows),
        tuple(Community(i, level, parent, tuple(members), title, summary, tuple(chunks),
                        *(float(r) for r in rest))
              for _, _, i, level, parent, members, title, summary, chunks, *rest
              in community_rows),
    )
