"""The workspaces of a server: several isolated knowledge bases behind one port.

A workspace is a name (:func:`check_name`), an optional folder to watch, and everything of its
own: its documents, indexes and graph, kept apart in every store (:func:`workspace_settings`):

    default     the reserved workspace of today's URLs and today's layout, unchanged: the data
                dir's ``index/``, the configured graph and vector names, the documents folder
    NAME        ``<data_dir>/workspaces/NAME/`` for the embedded stores; on FalkorDB the graph
                and vector names ``<configured>.ws.NAME``; on Neo4j the labels of the namespace
                of :func:`neo4j_namespace` (``?namespace=`` of the URL); its own folder

The list of workspaces lives in ``<data_dir>/workspaces.json`` (:class:`WorkspaceList`), so
every process of ``serve --workers N`` and a restarted server see the same ones; a process asked
for a name it does not know reads the list again before it answers 404. Each workspace is an
:class:`~graphready.server.lifecycle.AppState`, started on first use (:meth:`Workspaces.acquire`)
and closed when idle for ``GRAPHREADY_WORKSPACE_IDLE_S`` or, least recently used first, when
the resident workspaces' estimated memory passes ``GRAPHREADY_WORKSPACE_MEMORY_MB`` (the
estimate of one: the growth of the process's resident set while it loaded, at least 1 MiB).
The default workspace is started with the process and never unloaded. What the workspaces of a
process share is in ``process_parts.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from graphready.config import Settings
from graphready.errors import (
    InvalidRequest,
    InvalidWorkspace,
    WorkspaceExists,
    WorkspaceNotFound,
    WorkspaceReserved,
)
from graphready.knowledge import KnowledgeGraph
from graphready.settings_spec import env_name
from graphready.stores.registry import open_stores, parse_graph_url

from .cluster import WorkerRole
from .lifecycle import AppState
from .process_parts import ProcessParts
from .state import DEFAULT_WORKSPACE

log = logging.getLogger("graphready.server")

_FIRST = frozenset(string.ascii_lowercase + string.digits)
_REST = _FIRST | {"-", "_"}
MAX_NAME = 63
NAME_RULE = ("1 to 63 characters: lowercase ASCII letters, digits, '-' and '_', beginning "
             "with a letter or a digit")
LIST_FILE = "workspaces.json"
FOLDER = "workspaces"
MIN_COST_MB = 1.0
"""The least a resident workspace is counted for against the memory budget."""


def is_name(name: str) -> bool:
    """Whether ``name`` follows the naming rule (``[a-z0-9][a-z0-9_-]{0,62}``)."""
    return 0 < len(name) <= MAX_NAME and name[0] in _FIRST and all(c in _REST for c in name)


def check_name(name: str) -> str:
    """``name`` when it follows the naming rule, else :class:`InvalidWorkspace` (400)."""
    if not is_name(name):
        shown = name if len(name) <= 80 else name[:80] + "..."
        raise InvalidWorkspace(f"workspace name {shown!r}: use {NAME_RULE}")
    return name


def neo4j_namespace(name: str) -> str:
    """The Neo4j label namespace of workspace ``name``: ``ws_`` and the name with ``_``
    written ``__`` and ``-`` written ``_0`` (one namespace per name), or, for a name too long
    for a namespace, ``wh_`` and a hash of it."""
    escaped = "ws_" + name.replace("_", "__").replace("-", "_0")
    if len(escaped) <= 40:
        return escaped
    return "wh_" + hashlib.sha256(name.encode()).hexdigest()[:32]


def scoped_url(url: str | None, name: str, setting: str) -> str | None:
    """The store URL of workspace ``name`` on the server ``url`` names (None: embedded)."""
    if url is None:
        return None
    where = parse_graph_url(url, setting)
    parts = urlsplit(url.strip())
    if where.is_neo4j:
        return urlunsplit(parts._replace(query=f"namespace={neo4j_namespace(name)}"))
    return urlunsplit(parts._replace(path="/" + quote(f"{where.graph}.ws.{name}", safe="")))


def workspace_settings(base: Settings, name: str, folder: Path | None) -> Settings:
    """The settings of workspace ``name`` in a process configured with ``base``: the same but
    for where its documents, indexes and graph live (see the module docstring)."""
    if name == DEFAULT_WORKSPACE:
        return base
    return replace(base, data_dir=base.data_dir / FOLDER / name, docs_dir=folder,
                   graph_url=scoped_url(base.graph_url, name, env_name("graph_url")),
                   vector_url=scoped_url(base.vector_url, name, env_name("vector_url")))


@dataclass(frozen=True, slots=True)
class WorkspaceEntry:
    """A workspace as the list holds it."""

    name: str
    folder: str | None = None


class WorkspaceList:
    """The workspaces of a data dir (``<data_dir>/workspaces.json``), changed under an
    exclusive file lock, so that several processes on the data dir never lose a change."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LIST_FILE
        self._lock_path = data_dir / (LIST_FILE + ".lock")

    def read(self) -> dict[str, WorkspaceEntry]:
        """The workspaces (not the default one), by name."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        entries = (WorkspaceEntry(str(e["name"]), e.get("folder"))
                   for e in raw.get("workspaces", []))
        return {e.name: e for e in entries if is_name(e.name)}

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, WorkspaceEntry]]:
        """The workspaces, read under the lock; what the caller leaves in the dict is
        written when the block ends without an error."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self.read()
            yield entries
            data = {"workspaces": [{"name": e.name, "folder": e.folder}
                                   for e in sorted(entries.values(), key=lambda e: e.name)]}
            temp = self.path.with_suffix(".tmp")
            temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(temp, self.path)


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
        period = max(0.05, min(30.0, self.settings.workspace_idle_s / 2))
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
        if not await self.exists(name):
            raise WorkspaceNotFound(name)
        resident = self._resident.get(name)
        if resident is None:
            resident = await self._start(name)
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
            state = await AppState.start(self.settings_of(name), role=self._role,
                                         parts=self.parts)
            state.begin_background(build=self._build)
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
        build)."""
        idle_s = self.settings.workspace_idle_s
        while not self._closed:
            await asyncio.sleep(period)
            now = time.monotonic()
            for name in self.resident():
                resident = self._resident.get(name)
                if resident is not None and now - resident.last_used >= idle_s \
                        and not resident.state.readiness.building:
                    await self.unload(name)

    # -- the resource ------------------------------------------------------------------------

    async def create(self, name: str, folder: str | None) -> dict[str, Any]:
        """Create workspace ``name`` (watching ``folder``, if given) and start it."""
        check_name(name)
        if name == DEFAULT_WORKSPACE:
            raise WorkspaceReserved(f"workspace '{name}' always exists")
        where = _checked_folder(folder)

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
        loading = self._loading.get(name)
        if loading is not None:
            await asyncio.gather(loading, return_exceptions=True)
        resident = self._resident.pop(name, None)
        if resident is not None:
            await resident.state.close()

        def remove() -> None:
            with self.list.locked() as entries:
                entries.pop(name, None)
                self._entries = dict(entries)
            _drop_server_stores(settings)
            shutil.rmtree(settings.data_dir, ignore_errors=True)

        await asyncio.to_thread(remove)
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


def _checked_folder(folder: str | None) -> str | None:
    """``folder`` as an absolute path when it is a folder; :class:`InvalidRequest` if not."""
    if folder is None:
        return None
    path = Path(folder).expanduser()
    if not path.is_absolute() or not path.is_dir():
        raise InvalidRequest(f"folder: {folder!r} is not an absolute path to a folder")
    return str(path.resolve())


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
            graph.remove_extractions([x.chunk_id for x in graph.iter_extractions()])
            graph.replace_graph(KnowledgeGraph(), "")
    finally:
        stores.close()
