"""Opens the stores a data directory holds. One registry maps a backend name to a factory, with
lazy imports, so an optional backend costs nothing unless chosen; built-in backends register the
same way another would."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Generic, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from graphready.config import Settings
from graphready.errors import ConfigError, StoreError
from graphready.redact import redact, redact_url
from graphready.settings_spec import env_name
from graphready.stores.base import Catalog, GraphStore, KeywordIndex, VectorStore


@dataclass(frozen=True, slots=True)
class Stores:
    """The four stores of one data directory, opened together and closed together."""

    catalog: Catalog
    keyword: KeywordIndex
    vectors: VectorStore
    graph: GraphStore

    def close(self) -> None:
        """Close every store; safe to call twice."""
        for store in (self.graph, self.vectors, self.keyword, self.catalog):
            store.close()


def _sqlite_catalog(path: Path) -> Catalog:
    from graphready.stores.sqlite.catalog import SqliteCatalog

    return SqliteCatalog(path / "catalog.db")


def _sqlite_keyword(path: Path) -> KeywordIndex:
    from graphready.stores.sqlite.keyword import SqliteKeywordIndex

    return SqliteKeywordIndex(path / "keyword.db")


def _sqlite_vectors(path: Path) -> VectorStore:
    from graphready.stores.sqlite.vector import SqliteVectorStore

    return SqliteVectorStore(path / "vectors.db")


def _sqlite_graph(path: Path) -> GraphStore:
    from graphready.stores.sqlite.graph import SqliteGraphStore

    path.mkdir(parents=True, exist_ok=True)
    return SqliteGraphStore(path / "graph.db")


def open_stores(settings: Settings) -> Stores:
    """Open (creating if needed) every store under ``settings.db_dir``, the graph store
    ``GRAPHREADY_GRAPH_URL`` names, and the shared catalog (see ``_catalog``). A malformed
    URL fails here; an unreachable graph server does not: its store reconnects on use (see
    ``reconnecting.py``)."""
    from graphready.stores.reconnecting import ReconnectingGraphStore

    root = settings.db_dir
    root.mkdir(parents=True, exist_ok=True)
    url = settings.graph_url
    graph: GraphStore
    if url is None:
        graph = _sqlite_graph(root)
    else:
        parse_graph_url(url)
        graph = ReconnectingGraphStore(lambda: open_graph_store(url, root), redact_url(url))
    return Stores(catalog=_catalog(settings), keyword=_sqlite_keyword(root),
                  vectors=open_vector_store(settings.vector_url, root), graph=graph)


def _catalog(settings: Settings) -> Catalog:
    """The data dir's own catalog; with ``GRAPHREADY_CATALOG_URL``, the deployment's shared one
    on that server (``stores/redis/catalog.py``), under the graph store's name, as the build
    sees it (``FolderSources``). A server that does not answer is a ``ConfigError`` naming
    the setting."""
    if settings.catalog_url is None or settings.graph_url is None:
        return _sqlite_catalog(settings.db_dir)
    from graphready.stores.redis.uploads import FolderSources

    url, name = settings.catalog_url, env_name("catalog_url")
    try:
        from graphready.stores.redis.catalog import RedisCatalog
    except ImportError as exc:
        raise ConfigError(name, f"needs the redis package (the 'queue' extra): {exc}") from exc
    graph = parse_graph_url(settings.graph_url)
    namespace = f"{graph.graph}.{graph.namespace}" if graph.namespace else graph.graph
    try:
        catalog = RedisCatalog(url, namespace)
    except StoreError as exc:
        raise ConfigError(name, redact(str(exc), [url])) from None
    return FolderSources(catalog, has_folder=settings.docs_dir is not None)


GRAPH_URL_SETTING = env_name("graph_url")
VECTOR_URL_SETTING = env_name("vector_url")
FALKORDB_SCHEME = "falkordb"
NEO4J_SCHEMES = ("neo4j", "neo4j+s", "bolt", "bolt+s")
NEO4J_DEFAULT_PORT = 7687
NEO4J_DEFAULT_USER = "neo4j"
_NEO4J_DATABASE = re.compile(r"[A-Za-z][A-Za-z0-9.-]{0,62}")
NEO4J_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_EXPECTED = (f"{FALKORDB_SCHEME}://[:password@]host:port/graph or "
             "neo4j://[user:password@]host[:port][/database][?namespace=NS] (also neo4j+s, "
             "bolt, bolt+s)")
NAMESPACE_QUERY = "namespace="
"""A Neo4j URL's one query parameter: the label namespace its stores use (a workspace's)."""
Backend = Literal["falkordb", "neo4j"]
"""A server a store URL names: also the package its client is, and the extra that installs it."""


@dataclass(frozen=True, slots=True)
class GraphUrl:
    """Where a server graph store lives, parsed from ``falkordb://[user][:password@]host:port/
    graph`` or ``<neo4j scheme>://[user:password@]host[:port][/database]``, where ``graph`` is
    the database ('' for the server's default)."""

    host: str
    port: int
    graph: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    scheme: str = FALKORDB_SCHEME
    namespace: str = ""
    """Neo4j: the prefix of every label and schema name of the stores ('' for none)."""

    @property
    def is_neo4j(self) -> bool:
        return self.scheme in NEO4J_SCHEMES

    @property
    def backend(self) -> Backend:
        """The server the URL names."""
        return "neo4j" if self.is_neo4j else "falkordb"

    @property
    def neo4j_uri(self) -> str:
        """The driver's URI: scheme, host and port (credentials travel apart)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def neo4j_auth(self) -> tuple[str, str] | None:
        """``(user, password)`` (user ``neo4j`` when only a password is given), or None."""
        if self.password is None:
            return None
        return (self.username or NEO4J_DEFAULT_USER, self.password)


def parse_graph_url(url: str, setting: str = GRAPH_URL_SETTING) -> GraphUrl:
    """Parse a graph store URL; anything malformed is a :class:`ConfigError` naming
    ``setting`` (the message never repeats a password)."""
    def bad(reason: str) -> ConfigError:
        return ConfigError(setting, redact(reason, [url]))

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise bad(f"not a valid URL ({exc})") from None
    neo4j = parts.scheme in NEO4J_SCHEMES
    if parts.scheme != FALKORDB_SCHEME and not neo4j:
        raise bad(f"unknown scheme {parts.scheme!r}: expected {_EXPECTED}")
    if not parts.hostname:
        raise bad("the URL has no host")
    if port is None and not neo4j:
        raise bad("the URL has no port")
    graph = unquote(parts.path.removeprefix("/"))
    if neo4j:
        if graph and not _NEO4J_DATABASE.fullmatch(graph):
            raise bad("the URL path must be one Neo4j database name, as in /neo4j (or none)")
        if parts.username and not parts.password:
            raise bad("a Neo4j URL with a user name needs a password")
    elif not graph or "/" in graph:
        raise bad("the URL path must be one graph name, as in /graphready")
    namespace = ""
    if neo4j and parts.query.startswith(NAMESPACE_QUERY) and not parts.fragment:
        namespace = unquote(parts.query.removeprefix(NAMESPACE_QUERY))
        if not NEO4J_NAMESPACE.fullmatch(namespace):
            raise bad("the namespace must be a letter, then letters, digits and '_' (at most "
                      "40)")
    elif parts.query or parts.fragment:
        raise bad("the URL takes no query or fragment (a Neo4j URL: ?namespace=NS only)")
    return GraphUrl(
        host=parts.hostname, port=NEO4J_DEFAULT_PORT if port is None else port, graph=graph,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        scheme=parts.scheme, namespace=namespace,
    )


def open_graph_store(url: str | None, db_dir: Path) -> GraphStore:
    """The graph store ``url`` names: None is the SQLite store under ``db_dir``,
    ``falkordb://[:password@]host:port/graph`` a FalkorDB server, ``neo4j://``, ``neo4j+s://``,
    ``bolt://`` or ``bolt+s://`` a Neo4j server. A malformed URL (or graph name), or a missing
    client package, is a ``ConfigError`` naming the setting; a server that does not answer is
    a :class:`~graphready.errors.StoreError` (``open_stores`` reconnects on use)."""
    return _open(_GRAPH_STORES, url, db_dir)


def open_vector_store(url: str | None, db_dir: Path) -> VectorStore:
    """The vector store ``url`` names: None is the SQLite store under ``db_dir``,
    ``falkordb://[:password@]host:port/graph`` the vector index of a FalkorDB server,
    ``neo4j://``, ``neo4j+s://``, ``bolt://`` or ``bolt+s://`` (``[user:password@]host[:port]
    [/database]``) the vector index of a Neo4j server (then no local copy is kept). A
    malformed URL, a missing client package, or a server that does not answer, is a
    ``ConfigError`` naming the setting."""
    return _open(_VECTOR_STORES, url, db_dir)


S = TypeVar("S", GraphStore, VectorStore)


@dataclass(frozen=True, slots=True)
class _Kind(Generic[S]):
    """How to open one kind of store: under the data dir, or on each server backend."""

    setting: str
    """The setting that holds the URL."""
    sqlite: Callable[[Path], S]
    servers: Mapping[Backend, Callable[[GraphUrl], S]]
    refused: tuple[type[Exception], ...]
    """What opening a server store may raise that is reported as a ``ConfigError``."""


def _open(kind: _Kind[S], url: str | None, db_dir: Path) -> S:
    if url is None:
        return kind.sqlite(db_dir)
    where = parse_graph_url(url, kind.setting)
    try:
        return kind.servers[where.backend](where)
    except ImportError as exc:
        raise ConfigError(kind.setting, f"a {where.scheme}:// URL needs the {where.backend} "
                          f"package (the '{where.backend}' extra): {exc}") from exc
    except kind.refused as exc:
        raise ConfigError(kind.setting, redact(str(exc), [url])) from None


def _falkordb_graph(where: GraphUrl) -> GraphStore:
    from graphready.stores.falkordb.graph import FalkorGraphStore

    return FalkorGraphStore(where.host, where.port, where.graph, where.password,
                            username=where.username)


def _neo4j_graph(where: GraphUrl) -> GraphStore:
    from graphready.stores.neo4j.graph import Neo4jGraphStore

    return Neo4jGraphStore(where.neo4j_uri, where.graph or None, where.neo4j_auth,
                           namespace=where.namespace)


def _falkordb_vectors(where: GraphUrl) -> VectorStore:
    from graphready.stores.falkordb.vector import FalkorVectorStore

    return FalkorVectorStore(where.host, where.port, where.graph, where.password,
                             username=where.username)


def _neo4j_vectors(where: GraphUrl) -> VectorStore:
    from graphready.stores.neo4j.vector import Neo4jVectorStore

    return Neo4jVectorStore(where.neo4j_uri, where.graph or None, where.neo4j_auth,
                            namespace=where.namespace)


_GRAPH_STORES: _Kind[GraphStore] = _Kind(
    GRAPH_URL_SETTING, _sqlite_graph,
    MappingProxyType({"falkordb": _falkordb_graph, "neo4j": _neo4j_graph}),
    refused=(ValueError,),  # a server that does not answer stays a StoreError: it is retried
)
_VECTOR_STORES: _Kind[VectorStore] = _Kind(
    VECTOR_URL_SETTING, _sqlite_vectors,
    MappingProxyType({"falkordb": _falkordb_vectors, "neo4j": _neo4j_vectors}),
    refused=(StoreError, ValueError),
)
