"""How a server of a deployment whose catalog is shared (``stores/redis/catalog.py``) keeps its
local caches in step with what the other servers change: it follows the catalog's change
stream, applies each change to its own keyword index at once (removed chunks out, added chunks
in, their text read from the catalog), and asks its build loop for a build, which loads the
vectors and the graph that the deployment's builder stored (or builds them, under the stores'
build lease, if no one else does).

The sequence to follow from is read when the server opens (phase 1), before its first build's
documents stage aligns the keyword index with the whole catalog: a change made in between is
applied twice, which changes nothing. A follower that fell behind the stream's trim asks for a
build, whose documents stage aligns the keyword index again, and goes on from the newest
change. A change is never what decides whether a passage may be cited: every passage is read
from the shared catalog when a question is answered, so a deleted document's passages are
gone from every server as soon as its deletion returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from graphready.errors import StoreError
from graphready.stores.base import KeywordIndex
from graphready.stores.redis.catalog import CatalogChange, RedisCatalog

log = logging.getLogger("graphready.server")

WAIT_S = 1.0
"""How long one read of the stream waits for a change (so that closing is never slow)."""
RETRY_S = 2.0
"""How long to wait after the catalog did not answer."""


def apply_changes(catalog: RedisCatalog, keyword: KeywordIndex,
                  changes: tuple[CatalogChange, ...]) -> None:
    """Apply ``changes`` to ``keyword`` (blocking): a chunk added and removed since is read
    as missing, so only what the catalog holds now is added."""
    added: list[str] = []
    for change in changes:
        gone = set(change.removed)
        added = [i for i in added if i not in gone] + list(change.added)
        keyword.remove(change.removed)
    keyword.add(catalog.get_chunks(list(dict.fromkeys(added))))


class CatalogFollower:
    """Follows ``catalog``'s change stream into ``keyword``; calls ``changed`` (on the event
    loop) after each batch of changes it applied, and after falling behind."""

    def __init__(self, catalog: RedisCatalog, keyword: KeywordIndex,
                 changed: Callable[[], None]) -> None:
        self._catalog = catalog
        self._keyword = keyword
        self._changed = changed
        self._after = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Read the sequence to follow from (the catalog's newest change now)."""
        self._after = await asyncio.to_thread(self._catalog.sequence)

    def start(self) -> None:
        """Follow the stream in the background until :meth:`close`."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="graphready-follow-catalog")

    async def close(self) -> None:
        """Stop following (within one read's wait)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                await self._step()
            except StoreError as exc:
                log.warning("cannot follow the shared catalog: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), RETRY_S)

    async def _step(self) -> None:
        catalog = self._catalog
        page = await asyncio.to_thread(catalog.changes, self._after, WAIT_S)
        if not page.complete:
            log.warning("the shared catalog's change stream no longer holds the changes "
                        "after %d: aligning the keyword index with the whole catalog",
                        self._after)
            self._after = await asyncio.to_thread(catalog.sequence)
            self._changed()
            return
        if not page.changes:
            return
        await asyncio.to_thread(apply_changes, catalog, self._keyword, page.changes)
        self._after = page.changes[-1].seq
        self._changed()
