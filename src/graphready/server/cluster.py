"""The server as several processes on one port and one data dir (``graphready serve --workers
N``). Every process answers requests. Worker 0, the builder, builds exactly as a single server
does (the same stages, the same build lease); the others, the followers, never build:

- they load each index the moment the stores hold a new complete one (the store's synced
  fingerprint changed), through the same load paths as the builder, so their toolsets follow
  the builder's within about ``FOLLOW_S`` plus the load time;
- their ``/status`` reports the builder's build (``shared.py``: state, stages, progress,
  counts, errors), with their own tools; a stage the builder finished but that a follower is
  still loading shows as ``running``, so no process says ready before it can answer with it;
- a build asked of a follower (``POST /build``, documents added or deleted) is passed to the
  builder as a request file; the uploaded documents themselves are already files in the shared
  data dir.

Deleted documents are hidden from answers on every process: an uploaded document that the
catalog still holds but whose upload file is gone was deleted (through any process), and each
process derives that from disk (:class:`DeletedUploads`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from graphready.config import Settings
from graphready.documents.uploads import SOURCE_PREFIX, is_upload
from graphready.errors import StoreError
from graphready.llm.gate import ModelGate
from graphready.llm.protocol import ChatModel
from graphready.stores.base import Catalog
from graphready.stores.registry import Stores

from .library import INDEXES, Library
from .lifecycle import AppState
from .llm_queue import QuestionQueue
from .shared import RequestKind, SharedFolder, export_readiness, mirror_readiness

log = logging.getLogger("graphready.server")

PUBLISH_S = 0.25
"""How often the builder publishes its status (when it changed) and takes build requests."""
FOLLOW_S = 0.5
"""How often a follower looks for new indexes and the builder's status."""
REQUEST_SHOWN_S = 5.0
"""How long a follower reports ``building`` for a build it asked for that the builder has not
yet reported."""


@dataclass(frozen=True, slots=True)
class WorkerRole:
    """One process among ``count``: index 0 builds, the others follow."""

    index: int
    count: int

    @property
    def builds(self) -> bool:
        """Whether this process runs the build."""
        return self.index == 0

    def status(self) -> dict[str, Any]:
        """``/status``'s ``workers``."""
        return {"count": self.count, "index": self.index, "pid": os.getpid(),
                "role": "builder" if self.builds else "follower"}


def workers_status(state: AppState) -> dict[str, Any]:
    """``/status``'s ``workers`` for any server process (one alone is worker 0 of 1)."""
    role = state.role if isinstance(state, SharedState) else WorkerRole(0, 1)
    return role.status()


async def start_state(settings: Settings, chat_model: ChatModel | None,
                      role: WorkerRole | None) -> AppState:
    """Phase 1 of a server process: a single server's state, or a builder's or follower's."""
    if role is None:
        return await AppState.start(settings, chat_model)
    kind = BuilderState if role.builds else FollowerState
    state = await kind.start(settings, chat_model)
    assert isinstance(state, SharedState)
    state.role = role
    log.info("worker %d of %d (pid %d): %s", role.index, role.count, os.getpid(),
             "the builder" if role.builds else "a follower")
    return state


class DeletedUploads:
    """Which uploaded documents are deleted, from disk: those the catalog holds whose upload
    file is gone. A document hidden here whose file is present again (uploaded anew through
    another process) is shown again once its file has been present for ``grace_s`` (a delete
    hides the document an instant before it removes the file)."""

    def __init__(self, library: Library, catalog: Catalog, grace_s: float = 2.0) -> None:
        self._library = library
        self._catalog = catalog
        self._grace_s = grace_s
        self._version: tuple[int, str | None] | None = None
        self._present_since: dict[str, float] = {}

    def scan(self, keyword_fingerprint: str | None) -> tuple[frozenset[str],
                                                             frozenset[str]] | None:
        """(blocking) ``(deleted, back)``: the ids to hide and the hidden ids to show again;
        None when nothing changed since the last scan (neither the uploads folder nor the
        catalog, as the keyword index's fingerprint tells)."""
        uploads = self._library.uploads
        try:
            version = (os.stat(uploads.folder).st_mtime_ns, keyword_fingerprint)
        except OSError:
            return None
        present = {i for i in self._library.hidden if uploads.path(i).exists()}
        if version == self._version and not present:
            return None
        self._version = version
        now = time.monotonic()
        self._present_since = {i: self._present_since.get(i, now) for i in present}
        back = frozenset(i for i, since in self._present_since.items()
                         if now - since >= self._grace_s)
        gone = {path for path in self._catalog.sources() if is_upload(path)
                and not (uploads.folder / path[len(SOURCE_PREFIX):]).exists()}
        deleted = frozenset(d.id for d in self._catalog.documents()
                            if d.source in gone) if gone else frozenset()
        return deleted, back

    def apply(self, deleted: frozenset[str], back: frozenset[str]) -> None:
        """Hide ``deleted`` and show ``back`` (on the event loop, after :meth:`scan`)."""
        library = self._library
        library.hidden = deleted | (library.hidden - back)
        for doc_id in back:
            self._present_since.pop(doc_id, None)


class SharedState(AppState):
    """A server process that shares its data dir with the other processes of the server."""

    role: WorkerRole

    def __init__(self, settings: Settings, stores: Stores, chat_model: ChatModel | None = None,
                 gate: ModelGate | None = None) -> None:
        super().__init__(settings, stores, chat_model, gate)
        self.shared = SharedFolder(settings.data_dir)
        self.deletions = DeletedUploads(self.library, stores.catalog)
        self._tasks: list[asyncio.Task[None]] = []
        self.questions.close()  # count questions across processes: see _questions_changed
        self.questions = QuestionQueue(self.questions.gate, self._questions_changed,
                                       asyncio.get_running_loop())

    def _questions_changed(self, count: int) -> None:
        """This process now answers ``count`` questions with the language model."""
        self.supervisor.signal_questions(count)

    def _share(self, period_s: float, step: Callable[[], Awaitable[None]], name: str) -> None:
        self._tasks.append(asyncio.create_task(self._every(period_s, step), name=name))

    async def close(self) -> None:
        """Stop sharing, then close as any server process does."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().close()

    async def _hide_deleted(self, keyword_fingerprint: str | None) -> None:
        found = await asyncio.to_thread(self.deletions.scan, keyword_fingerprint)
        if found is not None:
            self.deletions.apply(*found)

    async def _every(self, period_s: float, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step()`` every ``period_s`` until cancelled; a failure is logged (once while
        it repeats) and retried."""
        last_error = None
        while True:
            try:
                await step()
                last_error = None
            except (OSError, StoreError) as exc:
                if str(exc) != last_error:
                    log.warning("worker %d: %s", self.role.index, exc)
                last_error = str(exc)
            except Exception:
                log.exception("worker %d: sharing state failed", self.role.index)
            await asyncio.sleep(period_s)


class BuilderState(SharedState):
    """Worker 0: builds as a single server does, publishes its status for the others and
    builds what they ask for."""

    _followers_questions = 0
    """The questions the followers are answering with the language model now."""

    def begin_background(self, build: bool = True) -> None:
        """Load, build, and publish."""
        super().begin_background(build=True)
        self._published: str | None = None
        self._share(PUBLISH_S, self._publish, "graphready-publish")

    def _questions_changed(self, count: int) -> None:
        """Tell the graph build worker about this process's questions and the followers'."""
        self.supervisor.signal_questions(count + self._followers_questions)

    async def _publish(self) -> None:
        if self.chat_model is not None:
            others = await asyncio.to_thread(self.shared.other_questions, self.role.index)
            if others != self._followers_questions:
                self._followers_questions = others
                self._questions_changed(self.questions.gate.questions)
        text = json.dumps(export_readiness(self.readiness), sort_keys=True)
        if text != self._published:
            await asyncio.to_thread(self.shared.write_status, text)
            self._published = text
        for kind in sorted(await asyncio.to_thread(self.shared.take_requests)):
            log.info("a follower asked for a build (%s)", kind)
            if kind == "build":
                await self.rebuild()
            else:
                self.request_build()
        await self._hide_deleted(
            await asyncio.to_thread(self.stores.keyword.synced_fingerprint))


class FollowerState(SharedState):
    """A worker other than 0: loads what the builder built and reports its status."""

    def begin_background(self, build: bool = True) -> None:
        """Load what is persisted, then follow the builder (``build`` is ignored: the builder
        builds)."""
        self._seen: dict[str, str | None] = {}
        self._status: dict[str, Any] | None = None
        self._status_version: tuple[int, int] | None = None
        self._requested_at: float | None = None
        log.info("startup phase 2: loading persisted indexes in the background, then "
                 "following the builder")
        self._questions = asyncio.Event()
        self._questions.set()  # write 0 at once, over what a dead predecessor left
        self._background = asyncio.create_task(self._first_load(), name="graphready-load")
        self._tasks.append(asyncio.create_task(self._follow(), name="graphready-follow"))
        self._tasks.append(asyncio.create_task(self._publish_questions(),
                                               name="graphready-questions"))

    def _questions_changed(self, count: int) -> None:
        """Have the builder know (``_publish_questions`` writes the count)."""
        self._questions.set()

    async def _publish_questions(self) -> None:
        """Write this process's question count whenever it changes (one writer: in order)."""
        written: int | None = None
        while True:
            await self._questions.wait()
            self._questions.clear()
            count = self.questions.gate.questions
            if count != written:
                try:
                    await asyncio.to_thread(self.shared.write_questions, self.role.index, count)
                    written = count
                except OSError as exc:
                    log.warning("worker %d: cannot share its question count: %s",
                                self.role.index, exc)

    async def rebuild(self) -> bool:
        """Ask the builder for a build: now, or after the one it is running (True if none
        was running)."""
        running = self.readiness.building
        await self._post("build")
        return not running

    def request_build(self) -> None:
        """Ask the builder to build the documents' changes (now or after its current build)."""
        task = asyncio.get_running_loop().create_task(self._post("changes"))
        task.add_done_callback(_log_failure)

    async def _post(self, kind: RequestKind) -> None:
        await asyncio.to_thread(self.shared.post_request, kind)
        self._requested_at = time.monotonic()
        self.readiness.building = True

    def _fingerprints(self) -> dict[str, str | None]:
        stores = self.stores
        return {"keyword": stores.keyword.synced_fingerprint(),
                "vectors": stores.vectors.synced_fingerprint(),
                "graph": stores.graph.synced_fingerprint()}

    async def _first_load(self) -> None:
        synced = await asyncio.to_thread(self._fingerprints)  # before loading: never miss one
        await self._load_then_build(build=False)
        tools = self.tools
        loaded = {"keyword": tools.keyword, "vectors": tools.vectors, "graph": tools.graph}
        self._seen = {name: fp for name, fp in synced.items() if loaded[name] is not None}

    async def _follow(self) -> None:
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)
        await self._every(FOLLOW_S, self._follow_once)

    async def _follow_once(self) -> None:
        synced = await asyncio.to_thread(self._fingerprints)
        changed = [name for name in INDEXES
                   if synced[name] is not None and synced[name] != self._seen.get(name)]
        for name in changed:
            if name == "keyword":
                self.tools = replace(self.tools, keyword=self.stores.keyword)
            elif name == "vectors":
                await self._load_vectors(source_stage=None)
            else:
                await self._load_graph(source_stage=None)
            self._seen[name] = synced[name]
            log.info("worker %d: loaded the %s index the builder built", self.role.index, name)
        if changed:
            await asyncio.to_thread(self.library.refresh_coverage, changed)
            await self._refresh_counts()
        version = await asyncio.to_thread(self.shared.status_version)
        if version != self._status_version:
            self._status = await asyncio.to_thread(self.shared.read_status)
            self._status_version = version
        self._report(synced)
        await self._hide_deleted(synced["keyword"])

    def _report(self, synced: dict[str, str | None]) -> None:
        """Report the builder's status, except what this process has yet to load."""
        readiness = self.readiness
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
