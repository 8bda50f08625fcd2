"""The application's state and its life: start-up in explicit phases, the background build, the
swap of new indexes into the agent's toolset, and a clean shutdown.

    phase 1 (before the server listens): open the stores; the keyword index, if one was ever
            built, can answer at once
    phase 2 (in the background): load persisted vectors and graph (in a thread), then run the
            build workers (separate processes) and swap each index in as its stage completes
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from graphready.agent.agent import Agent, ChatResult, OfflineAgent
from graphready.agent.llm_agent import LLMAgent
from graphready.config import Settings
from graphready.documents.sandbox import ParseBudget, Sandbox
from graphready.documents.types import SkippedFile
from graphready.errors import InvalidRequest, NotReady, StoreError
from graphready.explore.view import GraphView
from graphready.indexing.events import Event, StageDone, StageFailed
from graphready.indexing.supervisor import BuildSupervisor
from graphready.llm.gate import ModelGate
from graphready.llm.protocol import ChatModel, Message
from graphready.llm.registry import model_gate, open_chat_model, probe_llm
from graphready.redact import configured_urls, redact, redact_url
from graphready.retrieval.loading import load_graph, load_vectors
from graphready.retrieval.pipeline import Mode, Toolset
from graphready.stores.registry import Stores, open_stores
from graphready.stores.sqlite.recovery import quarantined

from .admission import Admission
from .library import Library, VisibleCatalog
from .llm_queue import QuestionQueue, queue_status
from .readiness import Readiness
from .watch import watch_folder

log = logging.getLogger("graphready.server")
PARSERS = 2
"""Uploaded files one server process reads at once (each in its own child process); more
wait for one, holding no thread of the server's."""
PARSER_NICENESS = 5
"""How far below the server the children that read uploads run (as the documents stage's
worker): on a busy machine requests come first."""


class AppState:
    """Everything the running app holds: settings, stores, the agent, the current toolset, the
    readiness report and the build supervisor. Created by the lifespan, closed by it."""

    def __init__(self, settings: Settings, stores: Stores,
                 chat_model: ChatModel | None = None, gate: ModelGate | None = None) -> None:
        self.settings = settings
        self.stores = stores
        self.chat_model = chat_model
        self.library = Library(settings, stores)
        """The documents (folder and uploads), their states, the deleted ones hidden."""
        self.parsers = Sandbox(ParseBudget(settings.parse_cpu_s, settings.parse_memory_mb),
                               size=PARSERS, niceness=PARSER_NICENESS)
        """Reads uploaded files, each in a child process under the parse budgets (started by
        the first upload, closed with the app)."""
        catalog = VisibleCatalog(stores.catalog, self.library)
        self.agent: Agent = OfflineAgent(catalog) if chat_model is None else LLMAgent(
            catalog, chat_model, max_steps=settings.llm_max_steps,
            tool_calling=settings.llm_tool_calling != "off", max_tokens=settings.llm_max_tokens,
            answer_deadline_s=settings.llm_answer_deadline_s)
        self.readiness = Readiness(secret_urls=configured_urls(settings))
        self.admission = Admission(settings)
        self.tools = Toolset()
        self.graph_view: GraphView | None = None
        """The loaded graph, indexed for the graph API (None until a graph is loaded)."""
        self.supervisor = BuildSupervisor(settings, self._on_event)
        self.questions = QuestionQueue(gate if gate is not None else model_gate(settings),
                                       self.supervisor.signal_questions,
                                       asyncio.get_running_loop())
        """Questions answered with the model: counted, and sent to the graph build worker."""
        if settings.graph_url is not None:
            self.readiness.graph_store = redact_url(settings.graph_url)
        if settings.vector_url is not None:
            self.readiness.vector_store = redact_url(settings.vector_url)
        self._background: asyncio.Task[None] | None = None
        self._builds = False
        self._build_again = False
        self._watch_stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False

    # -- phases ------------------------------------------------------------------------------

    @classmethod
    async def start(cls, settings: Settings, chat_model: ChatModel | None = None) -> AppState:
        """Phase 1: open the stores, the language model if one is configured (or the one
        given: tests pass a scripted model), and whatever can answer at once. Runs exactly once
        per process start (the lifespan calls it; no server hook does)."""
        stores = await asyncio.to_thread(open_stores, settings)
        gate = model_gate(settings)
        if chat_model is None:
            chat_model = await asyncio.to_thread(open_chat_model, settings, gate)
        state = cls(settings, stores, chat_model, gate)
        state.readiness.startup_runs += 1
        log.info("startup phase 1: stores opened in %s", settings.db_dir)
        state.readiness.damaged_files = await asyncio.to_thread(quarantined, settings.db_dir)
        if await asyncio.to_thread(stores.keyword.synced_fingerprint) is not None:
            state.tools = replace(state.tools, keyword=stores.keyword)
        await state._refresh_counts()
        return state

    def begin_background(self, build: bool = True) -> None:
        """Phase 2: load persisted indexes, then (if ``build``) build what is missing, in the
        background."""
        log.info("startup phase 2: loading persisted indexes%s in the background",
                 " and building" if build else "")
        self._background = asyncio.create_task(self._load_then_build(build),
                                                name="graphready-build")
        folder = self.settings.docs_dir
        if build and self.settings.watch == "on" and folder is not None:
            self._watcher = asyncio.create_task(
                watch_folder(folder, self.request_build, self._watch_stop), name="graphready-watch")

    def _checked(self, message: str, top_k: int | None) -> tuple[Toolset, int]:
        """The toolset to answer with (a snapshot) and ``k``; request limits are checked here
        so every endpoint applies the same ones."""
        settings = self.settings
        if len(message) > settings.max_message_chars:
            raise InvalidRequest(f"message: longer than {settings.max_message_chars} "
                                 "characters (GRAPHREADY_MAX_MESSAGE_CHARS)")
        k = top_k if top_k is not None else settings.default_top_k
        if k > settings.max_top_k:
            raise InvalidRequest(f"top_k: at most {settings.max_top_k} (GRAPHREADY_MAX_TOP_K)")
        tools = self.tools
        if not tools.can_answer:
            raise NotReady("nothing can answer yet: the documents are still being indexed")
        return tools, k

    async def ask(self, message: str, mode: Mode, top_k: int | None,
                  history: Sequence[Message] = ()) -> ChatResult:
        """Answer with the tools available now, in a worker thread; ``history`` holds the
        conversation's earlier turns (the language model sees them; retrieval does not)."""
        tools, k = self._checked(message, top_k)
        if self.chat_model is None:
            return await asyncio.to_thread(self.agent.chat, tools, message, mode, k, history)
        return await asyncio.to_thread(self.questions.answer, self.agent.chat, tools, message,
                                       mode, k, history)

    def ask_stream(self, message: str, mode: Mode, top_k: int | None,
                   history: Sequence[Message] = ()) -> Iterator[str | ChatResult]:
        """The answer as the agent writes it (a blocking iterator: iterate it in a thread).
        Limits and readiness are checked now, before anything is streamed."""
        tools, k = self._checked(message, top_k)
        answer = self.agent.stream(tools, message, mode, k, history)
        return answer if self.chat_model is None else self.questions.stream(answer)

    def llm_status(self) -> dict[str, Any] | None:
        """The language model's name and counters for ``/status`` (None when offline)."""
        if self.chat_model is None:
            return None
        base_url = self.settings.llm_base_url
        return {"model": self.chat_model.name,
                "base_url": redact_url(base_url) if base_url else None,
                "tool_calling": self.settings.llm_tool_calling,
                "answer_deadline_s": self.settings.llm_answer_deadline_s,
                **self.chat_model.stats.snapshot(),
                **queue_status(self.questions.gate, self.readiness.llm_build)}

    def request_build(self) -> None:
        """Build the documents' changes: now, or after the build that is running (changes
        that arrive during a build are never lost, nor applied half-way)."""
        if not self._builds:
            return
        if self._background is not None and not self._background.done():
            self._build_again = True
            return
        self._background = asyncio.create_task(self._build(), name="graphready-build")

    async def rebuild(self) -> bool:
        """Start a build (rescan the documents): now, or, while one runs, right after it (it
        may have scanned the folder before the change it is asked for); True if started now."""
        if self._background is not None and not self._background.done():
            self._build_again = True
            return False
        self._background = asyncio.create_task(self._build(), name="graphready-build")
        return True

    async def close(self) -> None:
        """Stop the build workers, wait for the background task, end the children that read
        uploads, close the stores."""
        if self._closed:
            return
        self._closed = True
        self.questions.close()
        if self._watcher is not None:
            self._watch_stop.set()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await self.supervisor.stop()
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)
        await asyncio.to_thread(self.parsers.close)
        await asyncio.to_thread(self.stores.close)
        close_model = getattr(self.chat_model, "close", None)
        if close_model is not None:
            await asyncio.to_thread(close_model)
        log.info("shutdown complete: workers stopped, stores closed")

    # -- background work ---------------------------------------------------------------------

    async def _load_then_build(self, build: bool) -> None:
        self.readiness.building = build
        self._builds = build
        try:
            await self._load_vectors(source_stage=None)
            await self._load_graph(source_stage=None)
            await asyncio.to_thread(self.library.refresh_coverage)
        except StoreError as exc:
            log.error("a store is unavailable: %s", exc)
        except Exception:
            log.exception("loading persisted indexes failed; they will be rebuilt")
        if build:
            await self._build()

    async def wait_loaded(self) -> None:
        """Wait until the background work (loading, and building if asked) has finished."""
        if self._background is not None:
            await asyncio.shield(self._background)

    async def _build(self) -> None:
        await self._build_once()
        while self._build_again and not self._closed:
            self._build_again = False
            await self._build_once()

    async def _build_once(self) -> None:
        self.readiness.restart_build()
        try:
            ok = await self.supervisor.run()
            log.info("build %s", "complete" if ok else "ended with errors")
        finally:
            self.readiness.building = False
        graph = self.readiness.stages["graph"]
        if ok or graph.state != "failed":
            return
        if self.settings.graph_url is not None and graph.cause != "llm":
            await self._rebuild_graph_when_back(self._probe_graph_store)
        elif self.settings.llm_builds_graph and graph.cause == "llm":
            await self._rebuild_graph_when_back(self._probe_llm)

    def _probe_graph_store(self) -> str | None:
        """None when the graph store answers, else why not (blocking: run in a thread)."""
        try:
            self.stores.graph.synced_fingerprint()
        except StoreError as exc:
            return f"GRAPHREADY_GRAPH_URL ({self.readiness.graph_store}): {exc}"
        return None

    def _probe_llm(self) -> str | None:
        """None when the LLM server answers, else why not (blocking: run in a thread)."""
        return probe_llm(self.settings)

    async def _rebuild_graph_when_back(self, probe: Callable[[], str | None],
                                       first_delay: float = 1.0, max_delay: float = 10.0,
                                       attempts: int = 3) -> None:
        """After a graph stage failed on a server it needs (the graph store, or the LLM that
        extracts): wait while ``probe`` says the server is unreachable (with backoff) and build
        the graph again once it answers, up to ``attempts`` times; what was already extracted
        is kept and the LLM's replies are cached, so the build resumes where it stopped. A
        failure that persists while the server answers is left to ``POST /build`` or the next
        start."""
        delay = first_delay
        while not self._closed and attempts > 0:
            await asyncio.sleep(delay)
            delay = min(2 * delay, max_delay)
            error = await asyncio.to_thread(probe)
            if probe == self._probe_graph_store:
                self.readiness.graph_store_error = error
            if error is not None:
                continue
            attempts -= 1
            log.info("the server the graph needs answers again: building the graph")
            self.readiness.building = True
            self.readiness.stages["graph"].state = "pending"
            try:
                if await self.supervisor.run_stages(["graph"]):
                    return
            finally:
                self.readiness.building = False

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, StageFailed):  # a worker's text: no configured URL's secrets
            event = replace(event, error=redact(event.error, self.readiness.secret_urls))
        self.readiness.apply(event)
        if isinstance(event, StageFailed):
            log.error("build stage %s failed: %s", event.stage, event.error)
            if event.stage == "graph" and self.settings.graph_url is not None:
                self.readiness.graph_store_error = await asyncio.to_thread(
                    self._probe_graph_store)
            return
        if not isinstance(event, StageDone):
            return
        log.info("build stage %s done in %.2fs (%s) %s", event.stage, event.seconds,
                 event.source, event.counts)
        try:
            if event.stage == "documents":
                self.tools = replace(self.tools, keyword=self.stores.keyword)
            elif event.stage == "vectors":
                await self._load_vectors(source_stage=event)
            elif event.stage == "graph":
                await self._load_graph(source_stage=event)
        except StoreError as exc:
            log.error("cannot load the %s index: %s", event.stage, exc)
        with contextlib.suppress(StoreError):
            await asyncio.to_thread(self.library.stage_done, event.stage)
        await self._refresh_counts()

    async def _load_vectors(self, source_stage: StageDone | None) -> None:
        if source_stage is not None and source_stage.source == "loaded" and self.tools.vectors \
                and not source_stage.counts.get("built_by_another_process"):
            return
        started = time.perf_counter()
        loaded = await asyncio.to_thread(load_vectors, self.settings, self.stores,
                                         self.tools.vectors.embedder if self.tools.vectors
                                         else None)
        if loaded is not None:
            self.tools = replace(self.tools, vectors=loaded)
            self.readiness.loads["vectors"] = round(time.perf_counter() - started, 3)

    async def _load_graph(self, source_stage: StageDone | None) -> None:
        if source_stage is not None and source_stage.source == "loaded" and self.tools.graph \
                and not source_stage.counts.get("built_by_another_process"):
            return
        started = time.perf_counter()
        try:
            loaded = await asyncio.to_thread(load_graph, self.stores)
        except StoreError as exc:
            if self.settings.graph_url is not None:
                self.readiness.graph_store_error = (
                    f"GRAPHREADY_GRAPH_URL ({self.readiness.graph_store}): {exc}")
            raise
        self.readiness.graph_store_error = None
        if loaded is not None:
            self.tools = replace(self.tools, graph=loaded.local, communities=loaded.communities)
            self.graph_view = loaded.view
            self.readiness.counts.update(loaded.counts)
            self.readiness.loads["graph"] = round(time.perf_counter() - started, 3)

    async def _refresh_counts(self) -> None:
        catalog = self.stores.catalog

        def read() -> tuple[int, int, list[SkippedFile]]:
            return catalog.document_count(), catalog.chunk_count(), catalog.skipped()

        documents, chunks, skipped = await asyncio.to_thread(read)
        self.readiness.counts.update(documents=documents, chunks=chunks,
                                     skipped_files=len(skipped))
        self.readiness.skipped = skipped
