"""The store protocols. Each kind of store is a small protocol with one module per
implementation; ``tests/contract/`` runs one suite against every implementation.

A derived store (keyword, vector, graph) records the catalog *fingerprint* (a hash of the set of
chunk ids) it was last completely synced to: an index is complete exactly when its fingerprint
equals the catalog's, and a build killed half-way never writes it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from graphready.documents.types import Chunk, Document, SkippedFile, SourceFile
from graphready.extraction.contributions import Contribution, ContributionIndex
from graphready.knowledge import ChunkExtraction, Community, Entity, KnowledgeGraph, Relation

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a chunk id and a score (higher is better)."""

    chunk_id: str
    score: float


@dataclass(frozen=True, slots=True)
class Lease:
    """The build lease of a store: who holds it, until when, and how far it got."""

    owner: str
    expires: float
    """Unix time when it lapses: the holder's ``time.time()`` at its last acquire (or renew)
    plus its ``ttl_s``."""
    stage: str
    """What the holder reports it is doing, e.g. ``"graph.extract"``."""
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class SourceChange:
    """What applying one source file changed in the catalog."""

    added_chunk_ids: tuple[str, ...]
    removed_chunk_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CatalogDocument:
    """One document the catalog holds: the source it came from, and its chunks' ids."""

    source: str
    id: str
    title: str
    content_hash: str
    chunk_ids: tuple[str, ...]


class Catalog(Protocol):
    """Documents and chunks, by source file. The single source of truth for what exists."""

    def sources(self) -> dict[str, str]:
        """Every known source file's path mapped to the hash of its bytes."""
        ...

    def apply_source(
        self, source: SourceFile, documents: Sequence[Document], chunks: Sequence[Chunk]
    ) -> SourceChange:
        """Make the catalog hold exactly these documents and chunks for ``source``, atomically."""
        ...

    def remove_source(self, path: str) -> SourceChange:
        """Forget a source file and everything that came from it, atomically."""
        ...

    def chunk_ids(self) -> set[str]: ...

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that exist, in the order asked."""
        ...

    def iter_chunks(self) -> Iterator[Chunk]: ...

    def fingerprint(self) -> str:
        """A hash of the set of chunk ids: equal fingerprints mean equal content."""
        ...

    def document_count(self) -> int: ...

    def documents(self, ids: Collection[str] | None = None) -> list[CatalogDocument]:
        """Every document (or those with one of ``ids``), ordered by id then source, with its
        chunk ids in order."""
        ...

    def chunk_count(self) -> int: ...

    def set_skipped(self, skipped: Sequence[SkippedFile]) -> None:
        """Replace the list of files skipped by the last scan."""
        ...

    def skipped(self) -> list[SkippedFile]: ...

    def close(self) -> None: ...


class DerivedStore(Protocol):
    """What every index derived from the catalog has: its ids and its sync mark."""

    def ids(self) -> set[str]:
        """The chunk ids this store holds (for a graph store: the chunks extracted)."""
        ...

    def synced_fingerprint(self) -> str | None:
        """The catalog fingerprint this store was last completely synced to, if any."""
        ...

    def mark_synced(self, fingerprint: str) -> None: ...

    def close(self) -> None: ...


class LeaseStore(Protocol):
    """A store shared by several processes that build into it (replicas on one server, or
    ``serve`` and ``index`` on one data dir) holds one build lease, so that one of them builds
    and the others wait (see ``indexing/lease.py``). The vector and graph stores each hold their
    own."""

    def acquire_lease(
        self, owner: str, ttl_s: float, stage: str = "", done: int = 0, total: int = 0
    ) -> bool:
        """Take the build lease, or renew it (and update its progress) when ``owner`` holds
        it; True when ``owner`` holds it afterwards. The lease then expires ``ttl_s`` seconds
        after the caller's ``time.time()`` (server clocks are never used). A lease whose
        ``expires`` is in the past is free. Atomic: two callers racing for a free lease never
        both get True, even from different processes sharing the store."""
        ...

    def release_lease(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (otherwise do nothing)."""
        ...

    def current_lease(self) -> Lease | None:
        """The lease if one is held and not expired (by the caller's clock), else None."""
        ...


class KeywordIndex(DerivedStore, Protocol):
    """Full-text search over chunks (BM25 or similar)."""

    def add(self, chunks: Sequence[Chunk]) -> None: ...

    def remove(self, chunk_ids: Iterable[str]) -> None: ...

    def search(self, query: str, k: int) -> list[Hit]:
        """The best ``k`` chunks for free text ``query``; any text is accepted, none raises."""
        ...


class VectorStore(DerivedStore, LeaseStore, Protocol):
    """Dense vectors of chunks, searched by cosine similarity."""

    def model_id(self) -> str | None:
        """The embedder the stored vectors came from (vectors of another model are stale)."""
        ...

    def set_model_id(self, model_id: str) -> None: ...

    def add(self, ids: Sequence[str], vectors: Vectors) -> None: ...

    def remove(self, ids: Iterable[str]) -> None: ...

    def refresh(self) -> None:
        """Reload what other processes committed (a search reads an in-memory copy)."""
        ...

    def search(self, query: Vectors, k: int) -> list[Hit]:
        """The ``k`` chunks nearest to one L2-normalised query vector."""
        ...


class GraphStore(DerivedStore, LeaseStore, Protocol):
    """Per-chunk extractions (a cache that makes rebuilds incremental) and the assembled graph,
    which is replaced in one piece so that no partial graph is ever loaded."""

    def add_extractions(self, items: Sequence[ChunkExtraction]) -> None: ...

    def remove_extractions(self, chunk_ids: Iterable[str]) -> None: ...

    def iter_extractions(self) -> Iterator[ChunkExtraction]: ...

    def replace_graph(self, graph: KnowledgeGraph, fingerprint: str) -> None:
        """Store ``graph`` in place of the previous one and mark it synced, atomically."""
        ...

    def load_graph(self) -> KnowledgeGraph | None:
        """The last complete graph, or None when none was ever completed."""
        ...

    def extractor_id(self) -> str | None:
        """Who wrote the stored extractions (``OFFLINE_EXTRACTOR``, or an LLM extractor's id);
        None when never recorded (a store written before ids were: the offline extractor)."""
        ...

    def set_extractor_id(self, extractor_id: str) -> None:
        """Record the extractor; a different one than stored (or none) deletes every stored
        extraction, so that extractions of two extractors are never mixed, and forgets the
        synced fingerprint. The assembled graph stays loadable until it is replaced; a graph
        without a synced fingerprint is one another extractor built."""
        ...


@dataclass(frozen=True, slots=True)
class CommunityRow:
    """Where a stored community sits in the hierarchy: its id, level, parent and members."""

    id: str
    level: int
    parent: str | None
    entity_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GraphChange:
    """A change to the stored graph, applied in one piece with its sync fingerprint
    (:meth:`IncrementalGraphStore.apply_graph_change`). ``entity_ids``: the stored entities
    rewritten or deleted (a deleted one's relations are in ``relation_pairs``);
    ``relation_pairs``: the stored relations (source, target) rewritten or deleted;
    ``entities`` and ``relations``: the rows written (new or rewritten).
    ``community_ids``: the communities rewritten or deleted; ``communities``: the rows written.
    ``added`` and ``removed``: the contributions (chunk ids, for ``removed``) that enter and
    leave the contribution index. ``full``: the change replaces the whole graph and index (the
    ids are then ignored)."""

    entity_ids: frozenset[str]
    relation_pairs: frozenset[tuple[str, str]]
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]
    community_ids: frozenset[str]
    communities: tuple[Community, ...]
    added: tuple[Contribution, ...]
    removed: tuple[str, ...]
    full: bool = False


@runtime_checkable
class IncrementalGraphStore(GraphStore, ContributionIndex, Protocol):
    """A graph store that updates its graph in place: it keeps, with the graph, the
    contributions it was built from (:mod:`graphready.extraction.contributions`), reads the
    parts of the graph a change reaches, and applies a :class:`GraphChange` atomically. Reads
    see the last complete graph."""

    def incremental_ready(self) -> bool:
        """Whether the stored graph was written with its contribution index (by
        :meth:`apply_graph_change`, not :meth:`GraphStore.replace_graph`)."""
        ...

    def get_extractions(self, chunk_ids: Collection[str]) -> list[ChunkExtraction]:
        """The stored extractions of those of ``chunk_ids`` that have one, by chunk id."""
        ...

    def graph_part(self, entity_ids: Collection[str],
                   inner: bool = False) -> tuple[list[Entity], list[Relation]]:
        """The entities with these ids (by id) and every relation touching one (with
        ``inner``: both ends among them), by pair."""
        ...

    def edges(self, among: Collection[str] | None = None) -> list[tuple[str, str, float]]:
        """Every relation (with ``among``: every one with both ends among those entities) as
        (source, target, weight), by pair."""
        ...

    def total_weight(self) -> float:
        """The sum of every relation's weight."""
        ...

    def community_rows(self) -> list[CommunityRow]:
        """Every community's place in the hierarchy."""
        ...

    def get_communities(self, ids: Collection[str]) -> list[Community]:
        """The communities with these ids."""
        ...

    def apply_graph_change(self, change: GraphChange, fingerprint: str) -> None:
        """Apply ``change`` and mark the store synced to ``fingerprint``, atomically."""
        ...

    def counts(self) -> dict[str, int]:
        """The number of entities, relations and communities of the stored graph."""
        ...
