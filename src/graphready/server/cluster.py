"""The server as several processes on one port and one data dir (``graphready serve --workers
N``). Every process answers requests. Worker 0, the builder (``builder.py``), builds exactly as
a single server does (the same stages, the same build lease); the others, the followers
(``follower.py``), never build:

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

This module holds what both roles share: who is who (:class:`WorkerRole`), the deleted uploads,
and :class:`Sharing` (the shared folder and the periodic tasks that read and write it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphready.documents.uploads import SOURCE_PREFIX, is_upload
from graphready.errors import StoreError
from graphready.stores.base import Catalog

from .library import Library
from .shared import SharedFolder

if TYPE_CHECKING:  # not at run time: lifecycle imports the roles, which import this
    from .lifecycle import AppState

log = logging.getLogger("graphready.server")


@dataclass(frozen=True, slots=True)
class WorkerRole:
    """One process among ``count``: index 0 builds, the others follow. A single server is
    worker 0 of 1."""

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


SINGLE = WorkerRole(0, 1)
"""The role of a server that is one process."""


def workers_status(state: AppState) -> dict[str, Any]:
    """``/status``'s ``workers`` for any server process (one alone is worker 0 of 1)."""
    return state.role.status()


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


class Sharing:
    """What a process of a server of several shares with the others: the shared folder, the
    uploads deleted through any of them, and the tasks that keep them in step (each a step run
    every so often until :meth:`close`)."""

    def __init__(self, role: WorkerRole, library: Library, catalog: Catalog,
                 folder: SharedFolder) -> None:
        self.role = role
        self.folder = folder
        self.deletions = DeletedUploads(library, catalog)
        self._tasks: list[asyncio.Task[None]] = []

    def every(self, period_s: float, step: Callable[[], Awaitable[None]], name: str) -> None:
        """Run ``step()`` every ``period_s`` until :meth:`close`; a failure is logged (once
        while it repeats) and retried."""
        self.task(self.repeat(period_s, step), name)

    def task(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` until it ends or :meth:`close` cancels it."""
        self._tasks.append(asyncio.create_task(work, name=name))

    async def repeat(self, period_s: float, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step()`` every ``period_s`` until cancelled, logging failures."""
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

    async def hide_deleted(self, keyword_fingerprint: str | None) -> None:
        """Hide the uploads deleted through any process, show those uploaded anew."""
        found = await asyncio.to_thread(self.deletions.scan, keyword_fingerprint)
        if found is not None:
            self.deletions.apply(*found)

    async def close(self) -> None:
        """Stop the tasks."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
