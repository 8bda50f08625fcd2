"""The build loop: what keeps a server process's indexes current. One protocol,
:class:`BuildLoop`, with three implementations chosen by the process's role
(``lifecycle.build_loop_for``):

    SingleBuildLoop   (here) a server that is one process: runs the build workers itself
    BuilderLoop       (``builder.py``) worker 0 of ``--workers N``: a single loop that also
                      publishes its status for the followers and builds what they ask for
    FollowerLoop      (``follower.py``) the other workers: ask the builder to build, and load
                      what it published

Each loop writes the build's part of the readiness report it is given, and tells its owner of
each new index through one callback (``indexes.OnIndex``); it never reaches into the owner.

The single loop, in order: load the persisted indexes (phase 2 of start-up), then build (the
``indexing`` workers, one process per stage, supervised by ``BuildSupervisor``), swapping each
index in as its stage completes. A build asked for while one runs is queued: exactly one more
runs after it. A graph stage that failed because its graph store or its language model was
unreachable is built again once that server answers (:meth:`SingleBuildLoop._graph_when_back`),
as its event's typed cause says (``StageFailed.cause``), never its text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from graphready.config import Settings
from graphready.errors import StoreError
from graphready.indexing.events import Event, StageDone, StageFailed
from graphready.indexing.supervisor import BuildSupervisor
from graphready.llm.registry import probe_llm
from graphready.redact import redact
from graphready.stores.redis.uploads import shared_catalog
from graphready.stores.registry import Stores

from .indexes import EmbedderSource, IndexLoader, OnIndex
from .library import Library
from .readiness import Readiness
from .watch import watch_folder

if TYPE_CHECKING:  # not at run time: process_parts imports admission, which imports state
    from .follow_shared import CatalogFollower
    from .process_parts import BuildTurns

log = logging.getLogger("graphready.server")


@runtime_checkable
class BuildLoop(Protocol):
    """Keeps one server process's indexes current: loads what is persisted, builds (or has
    the builder build) what is missing or changed, and hands each new index to its owner."""

    async def open(self) -> None:
        """Phase 1, before the server listens: what can answer at once, and the counts."""

    def start(self, build: bool, initial: bool = True) -> None:
        """Phase 2, in the background: load the persisted indexes, then build if ``build``
        (and ``initial``: else the stores hold the index of every document already, and
        builds run only when asked for)."""

    def request_build(self) -> None:
        """Build the documents' changes: now, or right after the build that is running."""

    async def rebuild(self) -> bool:
        """Start a build (rescan the documents): now, or right after the one that is running;
        True if it started now."""

    def questions_changed(self, count: int) -> None:
        """This process now answers ``count`` questions with the language model (the graph
        build's model calls give way to them)."""

    async def wait_loaded(self) -> None:
        """Wait until phase 2's work (loading, and building if asked) has finished."""

    async def wait_persisted(self) -> None:
        """Wait until phase 2 has loaded the persisted indexes (not for the build after)."""

    async def close(self) -> None:
        """Stop building and following; wait for the background work to end."""


class SingleBuildLoop:
    """The build loop of a server that is one process: it runs the build workers itself.
    ``embedder`` is the process's question embedder; ``turns``, when given, the process's
    build turns: each build waits for its turn (one workspace builds at a time)."""

    def __init__(self, settings: Settings, stores: Stores, readiness: Readiness,
                 library: Library, on_index: OnIndex, embedder: EmbedderSource | None = None,
                 turns: BuildTurns | None = None) -> None:
        self._settings = settings
        self._readiness = readiness
        self._library = library
        self._turns = turns
        self.indexes = IndexLoader(settings, stores, readiness, library, on_index, embedder)
        """The indexes this process answers with, and how new ones are loaded."""
        self.supervisor = BuildSupervisor(settings, self._on_event)
        self._background: asyncio.Task[None] | None = None
        self._builds = False
        self._build_again = False
        self._watch_stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._persisted = asyncio.Event()
        self._closed = False
        self._queue_watch = readiness.watch_queue(settings)  # /status shows the build queue
        self._follower: CatalogFollower | None = None
        shared = shared_catalog(stores.catalog)
        if shared is not None:  # the catalog is the deployment's: follow its changes
            from .follow_shared import CatalogFollower

            self._follower = CatalogFollower(shared, stores.keyword, self.request_build)

    async def open(self) -> None:
        """The keyword index, if one was ever built, and the counts (and, with a shared
        catalog, the change to follow it from)."""
        if self._follower is not None:
            await self._follower.open()
        await self.indexes.open()

    def start(self, build: bool, initial: bool = True) -> None:
        """Load the persisted indexes, then (if ``build`` and ``initial``) build what is
        missing, in the background; watch the documents folder if asked to. Without
        ``initial`` the stores are known to hold the index of every document (a workspace
        loaded again): its stages are done, from what was loaded, and builds run when asked."""
        log.info("startup phase 2: loading persisted indexes%s in the background",
                 " and building" if build and initial else "")
        self._background = asyncio.create_task(self._load_then_build(build, initial),
                                               name="graphready-build")
        if self._follower is not None:
            self._follower.start()
        folder = self._settings.docs_dir
        if build and self._settings.watch == "on" and folder is not None:
            self._watcher = asyncio.create_task(
                watch_folder(folder, self.request_build, self._watch_stop), name="graphready-watch")

    def request_build(self) -> None:
        """Build the documents' changes: now, or after the build that is running (changes
        that arrive during a build are never lost, nor applied half-way). Nothing when this
        process was started without building."""
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

    def questions_changed(self, count: int) -> None:
        """Tell the graph build worker."""
        self.supervisor.signal_questions(count)

    async def wait_loaded(self) -> None:
        """Wait until the background work (loading, and building if asked) has finished."""
        if self._background is not None:
            await asyncio.shield(self._background)

    async def wait_persisted(self) -> None:
        """Wait until the persisted indexes are loaded (or their load ended)."""
        if self._background is not None:
            waiter = asyncio.ensure_future(self._persisted.wait())
            await asyncio.wait([waiter, self._background], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()

    async def close(self) -> None:
        """Stop watching, stop the build workers, wait for the background task."""
        self._closed = True
        if self._follower is not None:
            await self._follower.close()
        if self._watcher is not None:
            self._watch_stop.set()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await self.supervisor.stop()
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)
        if self._queue_watch is not None:
            self._queue_watch.close()

    # -- background work ---------------------------------------------------------------------

    async def _load_then_build(self, build: bool, initial: bool) -> None:
        readiness = self._readiness
        readiness.building = build and initial
        self._builds = build
        try:
            await self.indexes.load_persisted()
        finally:
            self._persisted.set()
        if build and initial:
            await self._build()
        elif build:
            for stage in readiness.stages.values():
                stage.state, stage.source = "done", "loaded"

    async def _build(self) -> None:
        await self._build_once()
        while self._build_again and not self._closed:
            self._build_again = False
            await self._build_once()

    async def _build_once(self) -> None:
        readiness = self._readiness
        readiness.restart_build()
        try:
            async with self._turn():
                ok = await self.supervisor.run()
            log.info("build %s", "complete" if ok else "ended with errors")
        finally:
            readiness.building = False
        graph = readiness.stages["graph"]
        if ok or graph.state != "failed":
            return
        if self._settings.graph_url is not None and graph.cause != "llm":
            await self._graph_when_back(self._probe_graph_store)
        elif self._settings.llm_builds_graph and graph.cause == "llm":
            await self._graph_when_back(self._probe_llm)

    def _turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The process's build turn for this workspace (sized by its chunks), if turns are
        shared; else nothing to wait for."""
        if self._turns is None:
            return contextlib.nullcontext()
        return self._turns.turn(lambda: self._readiness.counts.get("chunks", 0), self.supervisor)

    def _probe_graph_store(self) -> str | None:
        """None when the graph store answers, else why not (blocking: run in a thread)."""
        return self.indexes.probe_graph_store()

    def _probe_llm(self) -> str | None:
        """None when the LLM server answers, else why not (blocking: run in a thread)."""
        return probe_llm(self._settings)

    async def _graph_when_back(self, probe: Callable[[], str | None], first_delay: float = 1.0,
                               max_delay: float = 10.0, attempts: int = 3) -> None:
        """After a graph stage failed on a server it needs (the graph store, or the LLM that
        extracts): wait while ``probe`` says the server is unreachable (with backoff) and build
        the graph again once it answers, up to ``attempts`` times; what was already extracted
        is kept and the LLM's replies are cached, so the build resumes where it stopped. A
        failure that persists while the server answers is left to ``POST /build`` or the next
        start."""
        readiness = self._readiness
        delay = first_delay
        while not self._closed and attempts > 0:
            await asyncio.sleep(delay)
            delay = min(2 * delay, max_delay)
            error = await asyncio.to_thread(probe)
            if probe == self._probe_graph_store:
                readiness.graph_store_error = error
            if error is not None:
                continue
            attempts -= 1
            log.info("the server the graph needs answers again: building the graph")
            readiness.building = True
            readiness.stages["graph"].state = "pending"
            try:
                async with self._turn():
                    if await self.supervisor.run_stages(["graph"]):
                        return
            finally:
                readiness.building = False

    async def _on_event(self, event: Event) -> None:
        readiness = self._readiness
        if isinstance(event, StageFailed):  # a worker's text: no configured URL's secrets
            event = replace(event, error=redact(event.error, readiness.secret_urls))
        readiness.apply(event)
        if isinstance(event, StageFailed):
            log.error("build stage %s failed: %s", event.stage, event.error)
            if event.stage == "graph" and self._settings.graph_url is not None:
                readiness.graph_store_error = await asyncio.to_thread(self._probe_graph_store)
            return
        if not isinstance(event, StageDone):
            return
        log.info("build stage %s done in %.2fs (%s) %s", event.stage, event.seconds,
                 event.source, event.counts)
        indexes = self.indexes
        try:
            if event.stage == "documents":
                indexes.swap_keyword()
            elif event.stage == "vectors":
                await indexes.load_vectors(event)
            elif event.stage == "graph":
                await indexes.load_graph(event)
        except StoreError as exc:
            log.error("cannot load the %s index: %s", event.stage, exc)
        with contextlib.suppress(StoreError):
            await asyncio.to_thread(self._library.stage_done, event.stage)
        await indexes.refresh_counts()
