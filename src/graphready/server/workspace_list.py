"""The names of workspaces and where each keeps what it holds; the list of a data dir's
workspaces. Pure and light: the CLI (``--workspace``) and the key check read it without the
server's registry (``workspaces.py``).

    default     the reserved workspace of today's URLs and today's layout, unchanged: the data
                dir's ``index/``, the configured graph and vector names, the documents folder
    NAME        ``<data_dir>/workspaces/NAME/`` for the embedded stores; on FalkorDB the graph
                and vector names ``<configured>.ws.NAME``; on Neo4j the labels of the namespace
                of :func:`neo4j_namespace` (``?namespace=`` of the URL); its own folder

The list lives in ``<data_dir>/workspaces.json`` (:class:`WorkspaceList`), changed under a file
lock, so that every process on the data dir sees the same workspaces.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from graphready.config import Settings
from graphready.errors import ConfigError, InvalidWorkspace
from graphready.settings_spec import env_name
from graphready.stores.registry import parse_graph_url

DEFAULT_WORKSPACE = "default"
"""The reserved workspace of today's URLs (no ``/workspaces/{name}`` prefix)."""

_FIRST = frozenset(string.ascii_lowercase + string.digits)
_REST = _FIRST | {"-", "_"}
MAX_NAME = 63
NAME_RULE = ("1 to 63 characters: lowercase ASCII letters, digits, '-' and '_', beginning "
             "with a letter or a digit")
NAME_PATTERN = "^[a-z0-9][a-z0-9_-]{0,62}$"
"""The naming rule as a JSON Schema pattern (for the API's document; :func:`is_name` checks)."""
LIST_FILE = "workspaces.json"
FOLDER = "workspaces"


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




def settings_for_command(settings: Settings, name: str | None, create: bool) -> Settings:
    """The settings of workspace ``name`` for a command (``--workspace``; None: the default
    workspace): ``create`` (``index``, ``eval``) adds a workspace that is not listed yet, with
    the command's documents folder; otherwise one that does not exist is a ``ConfigError``."""
    if name is None or name == DEFAULT_WORKSPACE:
        return settings
    try:
        check_name(name)
    except InvalidWorkspace as exc:
        raise ConfigError("--workspace", str(exc)) from None
    listed = WorkspaceList(settings.data_dir)
    with listed.locked() as entries:
        entry = entries.get(name)
        if entry is None:
            if not create:
                raise ConfigError("--workspace", f"no workspace '{name}' in "
                                  f"{settings.data_dir}")
            folder = str(settings.docs_dir.resolve()) if settings.docs_dir else None
            entry = entries[name] = WorkspaceEntry(name, folder)
    where = settings.docs_dir or (Path(entry.folder) if entry.folder else None)
    return workspace_settings(settings, name, where)
