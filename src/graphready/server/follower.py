"""A follower's build loop: a worker other than 0 of ``graphready serve --workers N``
(``cluster.py``). It never builds: it loads what is persisted, then every ``FOLLOW_S`` loads
each index the builder completed (the store's synced fingerprint changed), reports the
builder's status (less what it has yet to load), and hides the uploads deleted through any
process. A build asked of it goes to the builder as a request file; the count of questions it
answers with the language model goes to the builder as a file too (``shared.py``)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from graphready.config import Settings
from graphready.curation.log import applied_digest, log_path
from graphready.llm.gate import ModelGate
from graphready.stores.registry import Stores

from .cluster import Sharing, WorkerRole
from .indexes import EmbedderSource, IndexLoader, OnIndex
from .library import INDEXES, Library
from .readiness import Readiness
from .shared import RequestKind, SharedFolder, mirror_readiness

log = logging.getLogger("graphready.server")

FOLLOW_S = 0.5
"""How often a follower looks for new indexes and the builder's status."""
REQUEST_SHOWN_S = 5.0
"""How long a follower reports ``building`` for a build it asked for that the builder has not
yet reported."""


class FollowerLoop:
    """A worker other than 0: loads what the builder built and reports its status. ``gate``
    counts the questions this process answers with the language model."""

    def __init__(self, settings: Settings, stores: Stores, readiness: Readiness,
                 library: Library, on_index: OnIndex, role: WorkerRole,
                 gate: ModelGate, embedder: EmbedderSource | None = None) -> None:
        self.indexes = IndexLoader(settings, stores, readiness, library, on_index, embedder)
        """The indexes this process answers with, and how new ones are loaded."""
        self.sharing = Sharing(role, library, stores.catalog, SharedFolder(settings.data_dir))
        self._stores = stores
        self._edit_log = log_path(settings)
        self._readiness = readiness
        self._library = library
        self._gate = gate
        self._background: asyncio.Task[None] | None = None
        self._seen: dict[str, str | None] = {}
        """The synced fingerprint of each index as this process last loaded it."""
        self._status: dict[str, Any] | None = None
        self._status_version: tuple[int, int] | None = None
        self._requested_at: float | None = None
        self._questions = asyncio.Event()
        self._questions.set()  # write 0 at once, over what a dead predecessor left
        self._queue_watch = readiness.watch_queue(settings)  # /status shows it here too

    async def open(self) -> None:
        """As a single server."""
        await self.indexes.open()

    def start(self, build: bool, initial: bool = True) -> None:
        """Load what is persisted, then follow the builder (``build`` and ``initial`` are
        ignored: the builder builds)."""
        log.info("startup phase 2: loading persisted indexes in the background, then "
                 "following the builder")
        self._background = asyncio.create_task(self._first_load(), name="graphready-load")
        self.sharing.task(self._follow(), "graphready-follow")
        self.sharing.task(self._publish_questions(), "graphready-questions")

    async def rebuild(self) -> bool:
        """Ask the builder for a build: now, or after the one it is running (True if none
        was running)."""
        running = self._readiness.building
        await self._post("build")
        return not running

    def request_build(self) -> None:
        """Ask the builder to build the documents' changes (now or after its current build)."""
        task = asyncio.get_running_loop().create_task(self._post("changes"))
        task.add_done_callback(_log_failure)

    def questions_changed(self, count: int) -> None:
        """Have the builder know (``_publish_questions`` writes the count)."""
        self._questions.set()

    async def wait_loaded(self) -> None:
        """Wait until the persisted indexes are loaded."""
        if self._background is not None:
            await asyncio.shield(self._background)

    async def wait_persisted(self) -> None:
        """The same: a follower's phase 2 only loads."""
        await self.wait_loaded()

    async def close(self) -> None:
        """Stop following; stop loading; stop reading the queue."""
        await self.sharing.close()
        if self._background is not None:
            self._background.cancel()
            await asyncio.gather(self._background, return_exceptions=True)
        if self._queue_watch is not None:
            self._queue_watch.close()

    async def _publish_questions(self) -> None:
        """Write this process's question count whenever it changes (one writer: in order)."""
        written: int | None = None
        index = self.sharing.role.index
        while True:
            await self._questions.wait()
            self._questions.clear()
            count = self._gate.questions
            if count != written:
                try:
                    await asyncio.to_thread(self.sharing.folder.write_questions, index, count)
                    written = count
                except OSError as exc:
                    log.warning("worker %d: cannot share its question count: %s", index, exc)

    async def _post(self, kind: RequestKind) -> None:
        await asyncio.to_thread(self.sharing.folder.post_request, kind)
        self._requested_at = time.monotonic()
        self._readiness.building = True

    def _fingerprints(self) -> dict[str, str | None]:
        stores = self._stores
        graph = stores.graph.synced_fingerprint()
        edits = applied_digest(self._edit_log)  # a curated graph is new too
        return {"keyword": stores.keyword.synced_fingerprint(),
                "vectors": stores.vectors.synced_fingerprint(),
                "graph": f"{graph} edits={edits}" if graph is not None and edits else graph}

    async def _first_load(self) -> None:
        synced = await asyncio.to_thread(self._fingerprints)  # before loading: never miss one
        self._readiness.building = False
        await self.indexes.load_persisted()
        tools = self.indexes.current.tools
        loaded = {"keyword": tools.keyword, "vectors": tools.vectors, "graph": tools.graph}
        self._seen = {name: fp for name, fp in synced.items() if loaded[name] is not None}

    async def _follow(self) -> None:
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)
        await self.sharing.repeat(FOLLOW_S, self._follow_once)

    async def _follow_once(self) -> None:
        synced = await asyncio.to_thread(self._fingerprints)
        changed = [name for name in INDEXES
                   if synced[name] is not None and synced[name] != self._seen.get(name)]
        indexes = self.indexes
        for name in changed:
            if name == "keyword":
                indexes.swap_keyword()
            elif name == "vectors":
                await indexes.load_vectors(None)
            else:
                await indexes.load_graph(None)
            self._seen[name] = synced[name]
            log.info("worker %d: loaded the %s index the builder built",
                     self.sharing.role.index, name)
        if changed:
            await asyncio.to_thread(self._library.refresh_coverage, changed)
            await indexes.refresh_counts()
        shared = self.sharing.folder
        version = await asyncio.to_thread(shared.status_version)
        if version != self._status_version:
            self._status = await asyncio.to_thread(shared.read_status)
            self._status_version = version
        self._report(synced)
        await self.sharing.hide_deleted(synced["keyword"])

    def _report(self, synced: dict[str, str | None]) -> None:
        """Report the builder's status, except what this process has yet to load."""
        readiness = self._readiness
        if self._status is not None:
            mirror_readiness(readiness, self._status)
        for name in ("vectors", "graph"):
            stage = readiness.stages[name]
            if stage.state == "done" and synced[name] != self._seen.get(name):
                stage.state = "running"
                readiness.building = True
        if self._requested_at is not None:  # asked for, not yet reported by the builder
            if readiness.building or time.monotonic() - self._requested_at > REQUEST_SHOWN_S:
                self._requested_at = None
            else:
                readiness.building = True


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("cannot pass a build request to the builder: %s", task.exception())
