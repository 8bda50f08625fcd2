"""A graph store on a server that may be down: it opens the real store on first use, and opens
it afresh on the next call after any call failed (a restarted server may have lost what the old
connection set up), so graphready starts, and answers from retrieval, while the graph server
is unreachable, and carries on by itself once it is back."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from graphready.errors import StoreError
from graphready.knowledge import ChunkExtraction, KnowledgeGraph
from graphready.stores.base import GraphStore, Lease

T = TypeVar("T")


class ReconnectingGraphStore:
    """A ``GraphStore`` that delegates to the store ``opener`` returns, opening it lazily.
    Every method raises the opener's ``StoreError`` while the server cannot be reached."""

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

    def close(self) -> None:
        with self._lock:
            inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()
