"""The application's state and its life: start-up in explicit phases, a clean shutdown.

    phase 1 (before the server listens, :meth:`AppState.start`): open the stores and the
            language model; the keyword index, if one was ever built, can answer at once
    phase 2 (in the background, :meth:`AppState.begin_background`): the build loop loads the
            persisted vectors and graph, then builds (or follows the builder) and hands over
            each new index as it is ready

:class:`AppState` composes the parts, each in its own module: the build loop
(``build_loop.py``: one protocol, an implementation per role, chosen by :func:`build_loop_for`),
the question path (``answering.py``), the readiness report, the documents (``library.py``) and
request admission (``admission.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from graphready.agent.agent import ChatResult
from graphready.config import Settings
from graphready.embeddings.base import Embedder
from graphready.explore.view import GraphView
from graphready.llm.gate import ModelGate
from graphready.llm.protocol import ChatModel, Message
from graphready.redact import configured_urls, redact_url
from graphready.retrieval.pipeline import Mode, Toolset
from graphready.retrieval.rerank import open_reranker
from graphready.stores.registry import Stores, open_stores
from graphready.stores.sqlite.recovery import quarantined

from .answering import Answering
from .build_loop import BuildLoop, SingleBuildLoop
from .builder import BuilderLoop
from .cluster import SINGLE, WorkerRole
from .follower import FollowerLoop
from .indexes import Indexes, OnIndex
from .library import Library, VisibleCatalog
from .process_parts import BuildTurns, ProcessParts
from .readiness import Readiness

log = logging.getLogger("graphready.server")


def build_loop_for(role: WorkerRole | None, settings: Settings, stores: Stores,
                   readiness: Readiness, library: Library, on_index: OnIndex,
                   gate: ModelGate, answers_with_model: bool,
                   embedder: Callable[[], Embedder] | None = None,
                   turns: BuildTurns | None = None) -> BuildLoop:
    """The build loop of a process in ``role``: a single server's (None), the builder's or a
    follower's (``serve --workers N``); ``embedder`` gives the process's question embedder,
    ``turns`` the process's build turns (both shared by its workspaces)."""
    if role is None:
        return SingleBuildLoop(settings, stores, readiness, library, on_index, embedder, turns)
    if role.builds:
        return BuilderLoop(settings, stores, readiness, library, on_index, role,
                           gate if answers_with_model else None, embedder, turns)
    return FollowerLoop(settings, stores, readiness, library, on_index, role, gate, embedder)


class AppState:
    """Everything the running app holds: settings, stores, the documents, the readiness
    report, the indexes that answer now, the build loop and the question path. Created by the
    lifespan (:meth:`start`), closed by it."""

    def __init__(self, settings: Settings, stores: Stores, parts: ProcessParts,
                 role: WorkerRole | None = None, owns_parts: bool = False) -> None:
        self.settings = settings
        self.stores = stores
        self.parts = parts
        """What this process's workspaces share (``process_parts.py``)."""
        self._owns_parts = owns_parts
        self.chat_model = parts.chat_model
        self.role = role if role is not None else SINGLE
        """Which process of the server this is (a single server is worker 0 of 1)."""
        self.library = Library(settings, stores)
        """The documents (folder and uploads), their states, the deleted ones hidden."""
        self.parsers = parts.parsers
        """Reads uploaded files, each in a child process under the parse budgets (shared)."""
        self.readiness = Readiness(secret_urls=configured_urls(settings))
        if settings.graph_url is not None:
            self.readiness.graph_store = redact_url(settings.graph_url)
        if settings.vector_url is not None:
            self.readiness.vector_store = redact_url(settings.vector_url)
        self.admission = parts.admission
        self.reranker = open_reranker(settings, stores.catalog, asyncio.get_running_loop())
        """Reorders the passages retrieval finds (None: no reranker configured)."""
        self.tools = Toolset(reranker=self.reranker)
        """The retrieval tools that answer now (the build loop swaps in new ones)."""
        self.graph_view: GraphView | None = None
        """The loaded graph, indexed for the graph API (None until a graph is loaded)."""
        self.build = build_loop_for(role, settings, stores, self.readiness, self.library,
                                    self._new_indexes, parts.gate, parts.chat_model is not None,
                                    parts.embedder, parts.turns)
        """Keeps the indexes current (builds, or follows the builder)."""
        self.answering = Answering(settings, VisibleCatalog(stores.catalog, self.library),
                                   parts.chat_model, parts.gate, self.readiness,
                                   lambda: self.tools, self.build.questions_changed)
        """The question path."""
        self._closed = False

    def _new_indexes(self, indexes: Indexes) -> None:
        """The build loop's callback: answer with ``indexes`` from now on."""
        self.tools = replace(indexes.tools, reranker=self.reranker)
        self.graph_view = indexes.graph_view

    # -- phases ------------------------------------------------------------------------------

    @classmethod
    async def start(cls, settings: Settings, chat_model: ChatModel | None = None,
                    role: WorkerRole | None = None,
                    parts: ProcessParts | None = None) -> AppState:
        """Phase 1: open the stores, and whatever can answer at once. ``parts`` are the
        process's shared parts (the registry of workspaces passes them); without them this
        state opens its own (the language model if one is configured, or ``chat_model``:
        tests pass a scripted model) and closes them with itself. Runs once per workspace
        start (the lifespan or the registry calls it; no server hook does)."""
        stores = await asyncio.to_thread(open_stores, settings)
        owns = parts is None
        if parts is None:
            parts = await ProcessParts.open(settings, chat_model)
        state = cls(settings, stores, parts, role, owns_parts=owns)
        state.readiness.startup_runs += 1
        log.info("startup phase 1: stores opened in %s", settings.db_dir)
        state.readiness.damaged_files = await asyncio.to_thread(quarantined, settings.db_dir)
        await state.build.open()
        if role is not None:
            log.info("worker %d of %d (pid %d): %s", role.index, role.count, os.getpid(),
                     "the builder" if role.builds else "a follower")
        return state

    def begin_background(self, build: bool = True, initial: bool = True) -> None:
        """Phase 2: load persisted indexes, then (if ``build``) build what is missing, in the
        background: at once, or, without ``initial``, when asked (the stores hold the index
        of every document: ``BuildLoop.start``)."""
        self.build.start(build, initial)

    async def wait_loaded(self) -> None:
        """Wait until the background work (loading, and building if asked) has finished."""
        await self.build.wait_loaded()

    async def wait_persisted(self) -> None:
        """Wait until the persisted indexes are loaded (not for a build after them)."""
        await self.build.wait_persisted()

    async def close(self) -> None:
        """Stop the build loop and its workers, close the stores; and the shared parts when
        this state opened them (the children that read uploads, the language model)."""
        if self._closed:
            return
        self._closed = True
        self.answering.close()
        await self.build.close()
        await asyncio.to_thread(self.stores.close)
        if self.reranker is not None:
            await self.reranker.aclose()
        if self._owns_parts:
            await self.parts.close()
        log.info("shutdown complete: workers stopped, stores closed")

    # -- what the routes call ----------------------------------------------------------------

    def request_build(self) -> None:
        """Build the documents' changes, now or after the running build (``BuildLoop``)."""
        self.build.request_build()

    async def rebuild(self) -> bool:
        """Start a build now, or after the running one; True if now (``BuildLoop``)."""
        return await self.build.rebuild()

    async def ask(self, message: str, mode: Mode, top_k: int | None,
                  history: Sequence[Message] = ()) -> ChatResult:
        """Answer with the tools available now (``Answering.ask``)."""
        return await self.answering.ask(message, mode, top_k, history)

    def ask_stream(self, message: str, mode: Mode, top_k: int | None,
                   history: Sequence[Message] = ()) -> Iterator[str | ChatResult]:
        """The answer as the agent writes it (``Answering.ask_stream``)."""
        return self.answering.ask_stream(message, mode, top_k, history)

    def llm_status(self) -> dict[str, Any] | None:
        """``/status``'s ``llm`` (``Answering.llm_status``)."""
        return self.answering.llm_status()

