"""The one encoding of a :class:`~graphready.knowledge.ChunkExtraction` that every graph store
persists: compact JSON (``{"m": [[name, key, type], ...], "r": [[source, target, label], ...]}``),
so an extraction cache written by one backend reads the same in another."""

from __future__ import annotations

import json

from graphready.knowledge import ChunkExtraction, ExtractedRelation, Mention


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
