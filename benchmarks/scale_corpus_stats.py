"""The statistics ``scale_corpus.py`` compares between the source and each generated corpus.

Per chunk (over every chunk, streamed): characters, mentions (all, and named: any type but
concepts and titles) and extracted relations. Over the whole corpus: distinct entity keys and
distinct related key pairs, counted as 64-bit hashes in sorted arrays (aliases not merged).
Over a *window* (the source, or the last full pass over it in a generated corpus, so that the
two are alike in size): the graph the build assembles from those extractions
(``assemble_graph``: aliases merged), its entity degrees (distinct neighbours), the chunks
per entity, and the level-0 community sizes of ``detect_communities`` with the default
settings.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from graphready.communities.hierarchy import detect_communities
from graphready.extraction.assemble import assemble_graph
from graphready.knowledge import ChunkExtraction

COMMUNITY_MAX_SIZE = 40
COMMUNITY_LEVELS = 3
"""The defaults of ``GRAPHREADY_COMMUNITY_MAX_SIZE`` and ``GRAPHREADY_COMMUNITY_LEVELS``."""
GENERIC_TYPES = frozenset({"CONCEPT", "TITLE"})
_MERGE_EVERY = 4_000_000


def _hash64(text: str) -> int:
    """A stable signed 64-bit hash (Python's own ``hash`` of a string varies per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(),
                          "little", signed=True)


class DistinctCounter:
    """How many distinct strings were added, as 64-bit hashes merged into a sorted array now
    and then: 8 bytes per distinct string."""

    def __init__(self) -> None:
        self._seen = np.empty(0, dtype=np.int64)
        self._pending = array("q")

    def add(self, text: str) -> None:
        """Count ``text``."""
        self._pending.append(_hash64(text))
        if len(self._pending) >= _MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        fresh = np.frombuffer(self._pending, dtype=np.int64)
        self._pending = array("q")
        self._seen = np.union1d(self._seen, fresh)

    def count(self) -> int:
        """The distinct strings added so far."""
        self._merge()
        return int(self._seen.size)


@dataclass
class CorpusStats:
    """The streamed statistics of one corpus's chunks."""

    chars: list[int] = field(default_factory=list)
    mentions: list[int] = field(default_factory=list)
    named: list[int] = field(default_factory=list)
    relations: list[int] = field(default_factory=list)
    entity_keys: DistinctCounter = field(default_factory=DistinctCounter)
    key_pairs: DistinctCounter = field(default_factory=DistinctCounter)

    def add(self, chars: int, extraction: ChunkExtraction) -> None:
        """Count one chunk of ``chars`` characters and its extraction."""
        self.chars.append(chars)
        self.mentions.append(len(extraction.mentions))
        self.named.append(sum(m.type not in GENERIC_TYPES for m in extraction.mentions))
        self.relations.append(len(extraction.relations))
        for mention in extraction.mentions:
            self.entity_keys.add(mention.key)
        for relation in extraction.relations:
            first, second = sorted((relation.source, relation.target))
            self.key_pairs.add(f"{first}\x1f{second}")

    def summary(self) -> dict[str, float]:
        """The figures of the table, by row name."""
        chunks = len(self.chars)
        out = {"chunks": float(chunks)}
        for name, values in (("chunk chars", self.chars), ("mentions per chunk", self.mentions),
                             ("named mentions per chunk", self.named),
                             ("extracted relations per chunk", self.relations)):
            array = np.asarray(values, dtype=np.float64)
            out[f"{name}: mean"] = float(array.mean()) if chunks else 0.0
            out[f"{name}: p50"] = float(np.percentile(array, 50)) if chunks else 0.0
            out[f"{name}: p95"] = float(np.percentile(array, 95)) if chunks else 0.0
        out["distinct entity keys per chunk (whole corpus)"] = \
            self.entity_keys.count() / max(chunks, 1)
        out["distinct related key pairs per chunk (whole corpus)"] = \
            self.key_pairs.count() / max(chunks, 1)
        return out


def _quantiles(prefix: str, values: Sequence[int]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    if not array.size:
        return {f"{prefix}: {q}": 0.0 for q in ("mean", "p50", "p90", "p99", "max")}
    return {f"{prefix}: mean": float(array.mean()),
            f"{prefix}: p50": float(np.percentile(array, 50)),
            f"{prefix}: p90": float(np.percentile(array, 90)),
            f"{prefix}: p99": float(np.percentile(array, 99)),
            f"{prefix}: max": float(array.max())}


def graph_stats(extractions: Iterable[ChunkExtraction], chunks: int) -> dict[str, float]:
    """The assembled graph of a window of ``chunks`` chunks: entities and relations per chunk,
    entity degree and chunks per entity, community counts and level-0 sizes."""
    entities, relations = assemble_graph(extractions)
    degree: dict[str, int] = dict.fromkeys((e.id for e in entities), 0)
    for relation in relations:
        degree[relation.source] += 1
        degree[relation.target] += 1
    degrees = list(degree.values())
    nodes = detect_communities([e.id for e in entities],
                               [(r.source, r.target, r.weight) for r in relations],
                               COMMUNITY_MAX_SIZE, COMMUNITY_LEVELS)
    top = [len(n.members) for n in nodes if n.level == 0]
    out = {"window chunks": float(chunks),
           "entities per chunk": len(entities) / max(chunks, 1),
           "relations per chunk": len(relations) / max(chunks, 1),
           "entities with no relation (share)": sum(d == 0 for d in degrees) / max(len(degrees), 1),
           "entities with one relation (share)": sum(d == 1 for d in degrees)
           / max(len(degrees), 1)}
    out.update(_quantiles("entity degree", degrees))
    out.update(_quantiles("chunks per entity", [len(e.chunk_ids) for e in entities]))
    out["communities per chunk (all levels)"] = len(nodes) / max(chunks, 1)
    out.update(_quantiles("level-0 community size", top))
    return out


def table(columns: Sequence[tuple[str, dict[str, float]]]) -> str:
    """A Markdown table: one row per statistic, one column per corpus."""
    rows: list[str] = []
    for _, figures in columns:
        rows.extend(name for name in figures if name not in rows)
    lines = ["| statistic | " + " | ".join(name for name, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for row in rows:
        cells = [_cell(figures.get(row)) for _, figures in columns]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    if value == int(value) and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"
