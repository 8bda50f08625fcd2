"""Opens the stores a data directory holds. One registry maps a backend name to a factory, with
lazy imports, so an optional backend costs nothing unless chosen; built-in backends register the
same way another would."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from graphready.config import Settings
from graphready.errors import ConfigError
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
    from graphready.stores.catalog_sqlite import SqliteCatalog

    return SqliteCatalog(path / "catalog.db")


def _sqlite_keyword(path: Path) -> KeywordIndex:
    from graphready.stores.keyword_sqlite import SqliteKeywordIndex

    return SqliteKeywordIndex(path / "keyword.db")


def _sqlite_vectors(path: Path) -> VectorStore:
    from graphready.stores.vector_sqlite import SqliteVectorStore

    return SqliteVectorStore(path / "vectors.db")


def _sqlite_graph(path: Path) -> GraphStore:
    from graphready.stores.graph_sqlite import SqliteGraphStore

    return SqliteGraphStore(path / "graph.db")


GRAPH_BACKENDS: Mapping[str, Callable[[Path], GraphStore]] = MappingProxyType(
    {"sqlite": _sqlite_graph}
)


def open_stores(settings: Settings, graph_backend: str = "sqlite") -> Stores:
    """Open (creating if needed) every store under ``settings.db_dir``."""
    factory = GRAPH_BACKENDS.get(graph_backend)
    if factory is None:
        raise ConfigError("graph backend", f"unknown backend {graph_backend!r}")
    root = settings.db_dir
    root.mkdir(parents=True, exist_ok=True)
    catalog = _sqlite_catalog(root)
    keyword = _sqlite_keyword(root)
    vectors = _sqlite_vectors(root)
    graph = factory(root)
    return Stores(catalog=catalog, keyword=keyword, vectors=vectors, graph=graph)


GRAPH_URL_SETTING = "GRAPHREADY_GRAPH_URL"
FALKORDB_SCHEME = "falkordb"


@dataclass(frozen=True, slots=True)
class GraphUrl:
    """Where a server graph store lives, parsed from ``falkordb://[user][:password@]host:port/
    graph``."""

    host: str
    port: int
    graph: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_graph_url(url: str) -> GraphUrl:
    """Parse a graph store URL; anything malformed is a :class:`ConfigError` naming
    ``GRAPHREADY_GRAPH_URL`` (the message never repeats a password)."""
    def bad(reason: str) -> ConfigError:
        return ConfigError(GRAPH_URL_SETTING, reason)

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise bad(f"not a valid URL ({exc})") from None
    if parts.scheme != FALKORDB_SCHEME:
        raise bad(f"unknown scheme {parts.scheme!r}: expected "
                  f"{FALKORDB_SCHEME}://[:password@]host:port/graph")
    if not parts.hostname:
        raise bad("the URL has no host")
    if port is None:
        raise bad("the URL has no port")
    graph = parts.path.removeprefix("/")
    if not graph or "/" in graph:
        raise bad("the URL path must be one graph name, as in /graphready")
    if parts.query or parts.fragment:
        raise bad("the URL takes no query or fragment")
    return GraphUrl(
        host=parts.hostname, port=port, graph=unquote(graph),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def open_graph_store(url: str | None, db_dir: Path) -> GraphStore:
    """The graph store ``url`` names: None is the SQLite store under ``db_dir``,
    ``falkordb://[:password@]host:port/graph`` a FalkorDB server (which must answer: a server
    that does not is a :class:`~graphready.errors.StoreError`)."""
    if url is None:
        db_dir.mkdir(parents=True, exist_ok=True)
        return _sqlite_graph(db_dir)
    where = parse_graph_url(url)
    try:
        from graphready.stores.graph_falkordb import FalkorGraphStore
    except ImportError as exc:
        raise ConfigError(GRAPH_URL_SETTING, f"a {FALKORDB_SCHEME}:// URL needs the falkordb "
                          f"package (the 'falkordb' extra): {exc}") from exc
    try:
        return FalkorGraphStore(where.host, where.port, where.graph, where.password,
                                username=where.username)
    except ValueError as exc:
        raise ConfigError(GRAPH_URL_SETTING, str(exc)) from None
