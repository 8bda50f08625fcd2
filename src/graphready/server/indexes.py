"""The indexes a server process answers with, and how a new one is swapped in. Every build loop
(``build_loop.py``, ``builder.py``, ``follower.py``) loads the keyword index, the vectors and the
graph through one :class:`IndexLoader`, which hands its owner each new :class:`Indexes` through
one callback and keeps the readiness report's counts, load times and graph store error. Loads
block on the stores: they run in a worker thread; a request keeps the indexes it started with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from graphready.config import Settings
from graphready.documents.types import SkippedFile
from graphready.embeddings.base import Embedder
from graphready.errors import StoreError
from graphready.explore.view import GraphView
from graphready.indexing.events import StageDone
from graphready.retrieval.loading import graph_file, load_graph, load_vectors
from graphready.retrieval.pipeline import Toolset
from graphready.settings_spec import env_name
from graphready.stores.registry import Stores

from .library import Library
from .readiness import Readiness

log = logging.getLogger("graphready.server")


@dataclass(frozen=True, slots=True)
class Indexes:
    """What answers now: the retrieval tools, and the graph as the graph API reads it (None
    until a graph is loaded). Immutable: a new one is made for each swap."""

    tools: Toolset = field(default_factory=Toolset)
    graph_view: GraphView | None = None


OnIndex = Callable[[Indexes], None]
"""How a build loop tells its owner about new indexes (called on the event loop)."""
EmbedderSource = Callable[[], Embedder]
"""Gives the process's question embedder (blocking: called in a worker thread)."""


class IndexLoader:
    """Loads what the stores hold into :class:`Indexes` and hands each new one to
    ``on_index``; records the counts and load times in ``readiness``. ``embedder`` gives the
    question embedder the vectors are searched with (shared by a process's workspaces); without
    it each load makes its own."""

    def __init__(self, settings: Settings, stores: Stores, readiness: Readiness,
                 library: Library, on_index: OnIndex,
                 embedder: EmbedderSource | None = None) -> None:
        self._settings = settings
        self._embedder = embedder
        self._stores = stores
        self._readiness = readiness
        self._library = library
        self._on_index = on_index
        self.current = Indexes()

    def _swap(self, indexes: Indexes) -> None:
        self.current = indexes
        self._on_index(indexes)

    async def open(self) -> None:
        """Phase 1: the keyword index, if one was ever built, answers at once; the counts."""
        keyword = self._stores.keyword
        if await asyncio.to_thread(keyword.synced_fingerprint) is not None:
            self.swap_keyword()
        await self.refresh_counts()

    async def load_persisted(self) -> None:
        """Load the vectors and the graph the stores hold, and what each index covers; a
        failure is logged (the build rebuilds what is missing)."""
        try:
            await self.load_vectors(None)
            await self.load_graph(None)
            await asyncio.to_thread(self._library.refresh_coverage)
        except StoreError as exc:
            log.error("a store is unavailable: %s", exc)
        except Exception:
            log.exception("loading persisted indexes failed; they will be rebuilt")

    def swap_keyword(self) -> None:
        """Answer with the keyword index (it reads the store directly: nothing to load)."""
        current = self.current
        self._swap(replace(current, tools=replace(current.tools, keyword=self._stores.keyword)))

    @staticmethod
    def _loaded_already(done: StageDone | None, present: object) -> bool:
        """Whether the stage ``done`` only found what is loaded already (None: load anyway)."""
        return done is not None and done.source == "loaded" and present is not None \
            and not done.counts.get("built_by_another_process")

    async def load_vectors(self, done: StageDone | None) -> None:
        """Load the stored vectors (after the vectors stage ``done``, or None: whatever the
        store holds) and answer with them."""
        vectors = self.current.tools.vectors
        if self._loaded_already(done, vectors):
            return
        started = time.perf_counter()
        source = self._embedder
        loaded = await asyncio.to_thread(
            lambda: load_vectors(self._settings, self._stores, vectors.embedder if vectors
                                 else source() if source is not None else None))
        if loaded is not None:
            current = self.current
            self._swap(replace(current, tools=replace(current.tools, vectors=loaded)))
            self._readiness.loads["vectors"] = round(time.perf_counter() - started, 3)

    async def load_graph(self, done: StageDone | None) -> None:
        """Load the stored graph (after the graph stage ``done``, or None: whatever the store
        holds) and answer with it; a graph store that fails is reported, then raised."""
        if self._loaded_already(done, self.current.tools.graph):
            return
        started = time.perf_counter()
        readiness = self._readiness
        try:
            loaded = await asyncio.to_thread(load_graph, self._stores,
                                             graph_file(self._settings))
        except StoreError as exc:
            if self._settings.graph_url is not None:
                readiness.graph_store_error = self.graph_store_error(exc)
            raise
        readiness.graph_store_error = None
        if loaded is not None:
            current = self.current
            self._swap(Indexes(replace(current.tools, graph=loaded.local,
                                       communities=loaded.communities), loaded.view))
            readiness.counts.update(loaded.counts)
            readiness.loads["graph"] = round(time.perf_counter() - started, 3)

    def graph_store_error(self, exc: StoreError) -> str:
        """What ``/status`` says of a graph store that failed with ``exc``."""
        return f"{env_name('graph_url')} ({self._readiness.graph_store}): {exc}"

    def probe_graph_store(self) -> str | None:
        """None when the graph store answers, else why not (blocking: run in a thread)."""
        try:
            self._stores.graph.synced_fingerprint()
        except StoreError as exc:
            return self.graph_store_error(exc)
        return None

    async def refresh_counts(self) -> None:
        """Read the documents, chunks and skipped files the catalog holds into the report."""
        catalog = self._stores.catalog

        def read() -> tuple[int, int, list[SkippedFile]]:
            return catalog.document_count(), catalog.chunk_count(), catalog.skipped()

        documents, chunks, skipped = await asyncio.to_thread(read)
        self._readiness.counts.update(documents=documents, chunks=chunks,
                                      skipped_files=len(skipped))
        self._readiness.skipped = skipped
