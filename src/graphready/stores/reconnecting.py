"""A graph store on a server that may be down: it opens the real store on first use, and opens
it afresh on the next call after any call failed (a restarted server may have lost what the old
connection set up), so graphready starts, and answers from retrieval, while the graph server
is unreachable, and carries on by itself once it is back."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TypeVar

from graphready.errors import StoreError
from graphready.extraction.contributions import Contribution
from graphready.knowledge import ChunkExtraction, Community, Entity, KnowledgeGraph, Relation
from graphready.stores.base import (
    CommunityRow,
    GraphChange,
    GraphStore,
    IncrementalGraphStore,
    Lease,
)

T = TypeVar("T")


class ReconnectingGraphStore:
    """A ``GraphStore`` that delegates to the store ``opener`` returns, opening it lazily.
    Every method raises the opener's ``StoreError`` while the server cannot be reached. It is
    an ``IncrementalGraphStore`` too: the in-place methods go to a store that has them (one
    that has not is never ``incremental_ready``, and takes a full change as a replace)."""

    def __init__(self, opener: Callable[[], GraphStore], where: str) -> None:
        self.where = where
        self._opener = opener
        self._inner: GraphStore | None = None
        self._lock = threading.Lock()

    def _store(self) -> GraphStore:
        with self._lock:
            if self._inner is None:
                self._inner = self._opener()
            return self._inner

    def _call(self, use: Callable[[GraphStore], T]) -> T:
        store = self._store()
        try:
            return use(store)
        except StoreError:
            with self._lock:
                if self._inner is store:
                    self._inner = None
            with contextlib.suppress(StoreError):
                store.close()
            raise

    def ids(self) -> set[str]:
        return self._call(lambda s: s.ids())

    def synced_fingerprint(self) -> str | None:
        return self._call(lambda s: s.synced_fingerprint())

    def mark_synced(self, fingerprint: str) -> None:
        self._call(lambda s: s.mark_synced(fingerprint))

    def add_extractions(self, items: Sequence[ChunkExtraction]) -> None:
        self._call(lambda s: s.add_extractions(items))

    def remove_extractions(self, chunk_ids: Iterable[str]) -> None:
        self._call(lambda s: s.remove_extractions(chunk_ids))

    def iter_extractions(self) -> Iterator[ChunkExtraction]:
        return self._call(lambda s: iter(list(s.iter_extractions())))

    def replace_graph(self, graph: KnowledgeGraph, fingerprint: str) -> None:
        self._call(lambda s: s.replace_graph(graph, fingerprint))

    def load_graph(self) -> KnowledgeGraph | None:
        return self._call(lambda s: s.load_graph())

    def extractor_id(self) -> str | None:
        return self._call(lambda s: s.extractor_id())

    def set_extractor_id(self, extractor_id: str) -> None:
        self._call(lambda s: s.set_extractor_id(extractor_id))

    def acquire_lease(
        self, owner: str, ttl_s: float, stage: str = "", done: int = 0, total: int = 0
    ) -> bool:
        return self._call(lambda s: s.acquire_lease(owner, ttl_s, stage, done, total))

    def release_lease(self, owner: str) -> None:
        self._call(lambda s: s.release_lease(owner))

    def current_lease(self) -> Lease | None:
        return self._call(lambda s: s.current_lease())

    # -- IncrementalGraphStore ----------------------------------------------------------------

    def _incremental(self, use: Callable[[IncrementalGraphStore], T]) -> T:
        def checked(store: GraphStore) -> T:
            if not isinstance(store, IncrementalGraphStore):
                raise StoreError(f"the graph store at {self.where} does not change in place")
            return use(store)
        return self._call(checked)

    def incremental_ready(self) -> bool:
        return self._call(lambda s: isinstance(s, IncrementalGraphStore)
                          and s.incremental_ready())

    def apply_graph_change(self, change: GraphChange, fingerprint: str) -> None:
        def apply(store: GraphStore) -> None:
            if isinstance(store, IncrementalGraphStore):
                store.apply_graph_change(change, fingerprint)
            elif change.full:
                store.replace_graph(KnowledgeGraph(change.entities, change.relations,
                                                   change.communities), fingerprint)
            else:
                raise StoreError(f"the graph store at {self.where} does not change in place")
        self._call(apply)

    def graph_chunk_ids(self) -> set[str]:
        return self._incremental(lambda s: s.graph_chunk_ids())

    def contributions(self, chunk_ids: Collection[str]) -> list[Contribution]:
        return self._incremental(lambda s: s.contributions(chunk_ids))

    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        return self._incremental(lambda s: s.key_counts(keys))

    def chunks_of_keys(self, keys: Collection[str]) -> set[str]:
        return self._incremental(lambda s: s.chunks_of_keys(keys))

    def alias_votes(self) -> dict[str, dict[str, int]]:
        return self._incremental(lambda s: s.alias_votes())

    def get_extractions(self, chunk_ids: Collection[str]) -> list[ChunkExtraction]:
        return self._incremental(lambda s: s.get_extractions(chunk_ids))

    def graph_part(self, entity_ids: Collection[str],
                   inner: bool = False) -> tuple[list[Entity], list[Relation]]:
        return self._incremental(lambda s: s.graph_part(entity_ids, inner))

    def edges(self, among: Collection[str] | None = None) -> list[tuple[str, str, float]]:
        return self._incremental(lambda s: s.edges(among))

    def total_weight(self) -> float:
        return self._incremental(lambda s: s.total_weight())

    def community_rows(self) -> list[CommunityRow]:
        return self._incremental(lambda s: s.community_rows())

    def get_communities(self, ids: Collection[str]) -> list[Community]:
        return self._incremental(lambda s: s.get_communities(ids))

    def counts(self) -> dict[str, int]:
        return self._incremental(lambda s: s.counts())

    def close(self) -> None:
        with self._lock:
            inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()
