"""What graph stores share: the one encoding of a :class:`~graphready.knowledge.ChunkExtraction`
every store persists (compact JSON, ``{"m": [[name, key, type], ...], "r": [[source, target,
label], ...]}``, so an extraction cache written by one backend reads the same in another), the
item JSON the server stores load graphs from, and the check of what a store refuses."""

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


def encode_extraction(item: ChunkExtraction) -> str:
    """The JSON payload of one chunk's extraction (the chunk id is stored beside it)."""
    return json.dumps({
        "m": [[m.name, m.key, m.type] for m in item.mentions],
        "r": [[r.source, r.target, r.label] for r in item.relations],
    }, ensure_ascii=False, separators=(",", ":"))


def decode_extraction(chunk_id: str, payload: str) -> ChunkExtraction:
    """The extraction of chunk ``chunk_id`` from its :func:`encode_extraction` payload."""
    data = json.loads(payload)
    return ChunkExtraction(
        chunk_id,
        tuple(Mention(*m) for m in data["m"]),
        tuple(ExtractedRelation(*r) for r in data["r"]),
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


def decode_graph(data: Iterable[str]) -> KnowledgeGraph:
    """The graph from the ``data`` JSON of its stored items (``[kind, position, ...]``, kind 0
    entity, 1 relation, 2 community), in their stored order; relations by entity pair."""
    parts: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    for item in json.loads("[" + ",".join(data) + "]"):
        parts[item[0]].append(item)
    entity_rows, relation_rows, community_rows = parts
    entity_rows.sort(key=lambda row: row[1])
    relation_rows.sort(key=lambda row: (row[1], row[2]))
    community_rows.sort(key=lambda row: row[1])
    return KnowledgeGraph(
        tuple(Entity(i, name, kind, tuple(chunks))
              for _, _, i, name, kind, chunks in entity_rows),
        tuple(Relation(s, t, label, float(weight), tuple(chunks))
              for _, s, t, label, weight, chunks in relation_rows),
        tuple(Community(i, level, parent, tuple(members), title, summary, tuple(chunks))
              for _, _, i, level, parent, members, title, summary, chunks in community_rows),
    )
