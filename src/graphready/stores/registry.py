"""Opens the stores a data directory holds. One registry maps a backend name to a factory, with
lazy imports, so an optional backend costs nothing unless chosen; built-in backends register the
same way another would."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

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
