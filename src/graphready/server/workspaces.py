"""The registry of a server's workspaces: several isolated knowledge bases behind one port.

A workspace is a name, an optional folder to watch, and everything of its own: its documents,
indexes and graph, kept apart in every store (``workspace_list.py`` says where, and keeps the
list in the data dir, so every process of ``serve --workers N`` and a restarted server see the
same ones; a process asked for a name it does not know reads the list again before it answers
404). Each workspace is an :class:`~graphready.server.lifecycle.AppState`, started on first use
(:meth:`Workspaces.acquire`) and closed when idle for ``GRAPHREADY_WORKSPACE_IDLE_S`` or, least
recently used first, when the resident workspaces' estimated memory passes
``GRAPHREADY_WORKSPACE_MEMORY_MB`` (the estimate of one: the growth of the process's resident
set while it loaded, at least 1 MiB). The default workspace is started with the process and
never unloaded. What the workspaces of a process share is in ``process_parts.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphready.config import Settings
from graphready.documents.uploads import uploads_folder
from graphready.errors import (
    Forbidden,
    StoreError,
    WorkspaceExists,
    WorkspaceNotFound,
    WorkspaceReserved,
)
from graphready.knowledge import KnowledgeGraph
from graphready.settings_spec import env_name
from graphready.stores.registry import open_stores

from .cluster import WorkerRole
from .lifecycle import AppState
from .process_parts import ProcessParts
from .shared import SharedFolder
from .workspace_list import (
    DEFAULT_WORKSPACE,
    WorkspaceEntry,
    WorkspaceList,
    check_name,
    is_name,
    workspace_settings,
)

log = logging.getLogger("graphready.server")

MIN_COST_MB = 1.0
"""The least a resident workspace is counted for against the memory budget."""


def resident_mb() -> float:
    """The process's resident set in MiB (0 where /proc is not there)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass(eq=False)
class Resident:
    """A started workspace: its state, when it was last used, requests in it now, and what it
    is counted for against the memory budget."""

    state: AppState
    last_used: float
    cost_mb: float = MIN_COST_MB
    in_use: int = 0


class Workspaces:
    """The registry of a process's workspaces (see the module docstring). Created by the
    lifespan (:meth:`open`), closed by it."""

    def __init__(self, settings: Settings, parts: ProcessParts, default: AppState,
                 build: bool, role: WorkerRole | None) -> None:
        self.settings = settings
        self.parts = parts
        self.default = default
        self._build = build
        self._role = role
        self.list = WorkspaceList(settings.data_dir)
        self._entries = self.list.read()
        self._resident: dict[str, Resident] = {}
        self._loading: dict[str, asyncio.Task[Resident]] = {}
        self._load_lock = asyncio.Lock()
        self._deleting: set[str] = set()
        """Workspaces being deleted: no request starts them again."""
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def open(cls, settings: Settings, chat_model: Any = None,
                   role: WorkerRole | None = None, build: bool = True) -> Workspaces:
        """The process's shared parts, and its default workspace started (phase 1)."""
        parts = await ProcessParts.open(settings, chat_model)
        default = await AppState.start(settings, role=role, parts=parts)
        return cls(settings, parts, default, build, role)

    def begin_background(self) -> None:
        """Phase 2 of the default workspace; and the sweep that unloads idle workspaces."""
        self.default.begin_background(build=self._build)
        period = max(0.05, min(1.0, self.settings.workspace_idle_s / 2))
        self._sweeper = asyncio.create_task(self._sweep(period), name="graphready-workspaces")

    # -- names -------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every workspace, the default first, the others by name (as this process knows
        them: :meth:`refresh` reads the list again)."""
        return [DEFAULT_WORKSPACE, *sorted(self._entries)]

    async def refresh(self) -> None:
        """Read the list again (another process may have created or deleted workspaces)."""
        self._entries = await asyncio.to_thread(self.list.read)

    async def exists(self, name: str) -> bool:
        """Whether workspace ``name`` exists (the list is read again for a name not known)."""
        if name == DEFAULT_WORKSPACE or name in self._entries:
            return True
        if not is_name(name):
            return False
        await self.refresh()
        return name in self._entries

    def settings_of(self, name: str) -> Settings:
        """The settings of a workspace this process knows."""
        entry = self._entries.get(name)
        folder = Path(entry.folder) if entry is not None and entry.folder else None
        return workspace_settings(self.settings, name, folder)

    # -- use ---------------------------------------------------------------------------------

    async def acquire(self, name: str) -> AppState:
        """The state of workspace ``name``, started if it is not resident, and held until
        :meth:`release`; :class:`WorkspaceNotFound` when there is no such workspace."""
        if name == DEFAULT_WORKSPACE:
            return self.default
        if name in self._deleting or not await self.exists(name):
            raise WorkspaceNotFound(name)
        resident = self._resident.get(name)
        if resident is None:
            resident = await self._start(name)
            if name in self._deleting:
                raise WorkspaceNotFound(name)
        resident.in_use += 1
        resident.last_used = time.monotonic()
        return resident.state

    def release(self, name: str) -> None:
        """A request of workspace ``name`` has ended."""
        resident = self._resident.get(name)
        if resident is not None:
            resident.in_use = max(0, resident.in_use - 1)
            resident.last_used = time.monotonic()

    def resident(self) -> list[str]:
        """The workspaces started now (not the default one), least recently used first."""
        return [n for n, _ in sorted(self._resident.items(), key=lambda i: i[1].last_used)]

    async def _start(self, name: str) -> Resident:
        task = self._loading.get(name)
        if task is None:
            task = asyncio.create_task(self._load(name), name=f"graphready-load-{name}")
            self._loading[name] = task
            task.add_done_callback(lambda _: self._loading.pop(name, None))
        return await asyncio.shield(task)

    async def _load(self, name: str) -> Resident:
        """Start workspace ``name`` and load its persisted indexes (one load at a time, so
        the growth of the resident set is its own), then build in the background."""
        async with self._load_lock:
            before = resident_mb()
            settings = self.settings_of(name)
            state = await AppState.start(settings, role=self._role, parts=self.parts)
            initial = settings.docs_dir is not None or not await asyncio.to_thread(
                _in_sync, state)
            state.begin_background(build=self._build, initial=initial)
            await state.wait_persisted()
            cost = max(MIN_COST_MB, resident_mb() - before)
        resident = Resident(state, time.monotonic(), cost)
        self._resident[name] = resident
        log.info("workspace %s loaded (about %.1f MiB)", name, cost)
        await self._within_budget(keep=name)
        return resident

    async def unload(self, name: str) -> bool:
        """Close workspace ``name`` if it is resident and no request is in it; True if it
        was closed."""
        resident = self._resident.get(name)
        if resident is None or resident.in_use:
            return False
        del self._resident[name]
        await resident.state.close()
        log.info("workspace %s unloaded", name)
        return True

    async def _within_budget(self, keep: str) -> None:
        """Unload the least recently used idle workspaces while the resident ones are
        estimated over ``GRAPHREADY_WORKSPACE_MEMORY_MB`` (never ``keep``, nor one that is
        building or in use)."""
        budget = self.settings.workspace_memory_mb
        for name in self.resident():
            if sum(r.cost_mb for r in self._resident.values()) <= budget:
                return
            resident = self._resident.get(name)
            if name != keep and resident is not None and not resident.state.readiness.building:
                await self.unload(name)

    async def _sweep(self, period: float) -> None:
        """Unload the workspaces idle for ``GRAPHREADY_WORKSPACE_IDLE_S`` (not while they
        build); in the builder of ``serve --workers N``, load those a follower asked to build
        (their builder loop takes the request)."""
        idle_s = self.settings.workspace_idle_s
        builder = self._role is not None and self._role.builds and self._role.count > 1
        while not self._closed:
            await asyncio.sleep(period)
            if builder:
                await self._load_requested()
            now = time.monotonic()
            for name in self.resident():
                resident = self._resident.get(name)
                if resident is not None and now - resident.last_used >= idle_s \
                        and not resident.state.readiness.building:
                    await self.unload(name)

    async def _load_requested(self) -> None:
        """Load each workspace whose followers left a build request in its shared folder."""
        await self.refresh()
        waiting = [n for n in self._entries if n not in self._resident]
        asked = await asyncio.to_thread(
            lambda: [n for n in waiting if _has_requests(self.settings_of(n).data_dir)])
        for name in asked:
            with contextlib.suppress(WorkspaceNotFound):
                await self.acquire(name)
                self.release(name)

    # -- the resource ------------------------------------------------------------------------

    async def create(self, name: str, folder: str | None) -> dict[str, Any]:
        """Create workspace ``name`` (watching ``folder``, if given) and start it."""
        check_name(name)
        if name == DEFAULT_WORKSPACE:
            raise WorkspaceReserved(f"workspace '{name}' always exists")
        where = _checked_folder(folder, self.settings.workspace_folders)

        def add() -> None:
            with self.list.locked() as entries:
                if name in entries:
                    raise WorkspaceExists(f"workspace '{name}' exists already")
                entries[name] = WorkspaceEntry(name, where)
                self._entries = dict(entries)
            self.settings_of(name).db_dir.mkdir(parents=True, exist_ok=True)

        await asyncio.to_thread(add)
        await self.acquire(name)
        self.release(name)
        return await self.describe(name)

    async def delete(self, name: str) -> None:
        """Delete workspace ``name``: stop it (its build first), remove its documents, indexes
        and graph from every store, and its entry."""
        if name == DEFAULT_WORKSPACE:
            raise WorkspaceReserved("the default workspace cannot be deleted")
        if not await self.exists(name):
            raise WorkspaceNotFound(name)
        settings = self.settings_of(name)
        self._deleting.add(name)
        try:
            loading = self._loading.get(name)
            if loading is not None:
                await asyncio.gather(loading, return_exceptions=True)
            resident = self._resident.pop(name, None)
            if resident is not None:
                await resident.state.close()  # its build stopped first

            def remove() -> None:
                with self.list.locked() as entries:
                    entries.pop(name, None)
                    self._entries = dict(entries)
                _drop_server_stores(settings)
                shutil.rmtree(settings.data_dir, ignore_errors=True)

            await asyncio.to_thread(remove)
        finally:
            self._deleting.discard(name)
        log.info("workspace %s deleted", name)

    async def describe(self, name: str) -> dict[str, Any]:
        """``{"name", "folder", "documents", "chunks", "loaded", "ready"}`` of a workspace."""
        if name == DEFAULT_WORKSPACE:
            state: AppState | None = self.default
            folder = self.settings.docs_dir
        else:
            resident = self._resident.get(name)
            state = resident.state if resident is not None else None
            entry = self._entries.get(name)
            folder = Path(entry.folder) if entry is not None and entry.folder else None
        if state is not None:
            counts = state.readiness.counts
            documents, chunks = counts.get("documents", 0), counts.get("chunks", 0)
            ready = state.tools.can_answer
        else:
            documents, chunks = await asyncio.to_thread(_catalog_counts,
                                                        self.settings_of(name).db_dir)
            ready = chunks > 0
        return {"name": name, "folder": str(folder) if folder is not None else None,
                "documents": documents, "chunks": chunks, "loaded": state is not None,
                "ready": ready}

    async def close(self) -> None:
        """Close every workspace, then the shared parts."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        for task in list(self._loading.values()):
            await asyncio.gather(task, return_exceptions=True)
        residents = list(self._resident.values())
        self._resident.clear()
        await asyncio.gather(*(r.state.close() for r in residents), return_exceptions=True)
        await self.default.close()
        await self.parts.close()


def _in_sync(state: AppState) -> bool:
    """Whether every index of a workspace without a folder holds what its catalog does, or it
    holds nothing at all (then loading it needs no build: one runs when its documents
    change)."""
    stores = state.stores
    uploads = uploads_folder(state.settings.data_dir)
    try:
        if stores.catalog.document_count() == 0 and not (
                uploads.is_dir() and any(uploads.iterdir())):
            return True
        catalog = stores.catalog.fingerprint()
        return all(store.synced_fingerprint() == catalog
                   for store in (stores.keyword, stores.vectors, stores.graph))
    except StoreError:
        return False


def _has_requests(data_dir: Path) -> bool:
    """Whether a follower left a build request for the builder in ``data_dir``."""
    try:
        return any(SharedFolder(data_dir).requests.iterdir())
    except OSError:
        return False


def _checked_folder(folder: str | None, root: Path | None) -> str | None:
    """``folder`` resolved, when it is a folder under ``root``
    (``GRAPHREADY_WORKSPACE_FOLDERS``); :class:`Forbidden` if not (which folders a server
    reads is its operator's choice, not a client's)."""
    if folder is None:
        return None
    setting = env_name("workspace_folders")
    if root is None:
        raise Forbidden(f"folder: this server takes no folder for a workspace ({setting} is "
                        "not set): add its documents over HTTP")
    path = Path(folder).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_dir():
        raise Forbidden(f"folder: {folder[:200]!r} is not a folder under {setting}")
    return str(path)


def _catalog_counts(db_dir: Path) -> tuple[int, int]:
    """Documents and chunks of the catalog under ``db_dir`` (0, 0 without one)."""
    path = db_dir / "catalog.db"
    if not path.is_file():
        return 0, 0
    from graphready.stores.sqlite.catalog import SqliteCatalog

    catalog = SqliteCatalog(path)
    try:
        return catalog.document_count(), catalog.chunk_count()
    finally:
        catalog.close()


def _drop_server_stores(settings: Settings) -> None:
    """Empty the graph and vector stores a workspace keeps on a server (its own graph and
    vector names, or namespace): its vectors, extractions and graph. Its files go with its
    data dir."""
    if settings.graph_url is None and settings.vector_url is None:
        return
    stores = open_stores(settings)
    try:
        if settings.vector_url is not None:
            stores.vectors.remove(stores.vectors.ids())
        if settings.graph_url is not None:
            graph = stores.graph
            graph.remove_extractions(graph.ids())
            graph.replace_graph(KnowledgeGraph(), "")
    finally:
        stores.close()
