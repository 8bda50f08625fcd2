"""What the stores of a data dir hold, as short hashes, so that two indexes can be compared by
content (read with no server writing): a build that was interrupted against one that was not,
or an index after documents were deleted and added back against the one before.

``index_digest`` gives one hash per store (catalog, keyword, vectors, graph), each including
the catalog state the store is synced to. ``content_digest`` gives one hash per kind of
content, leaving out anything that only records the order or time things were written (SQLite
rowids, write counters): documents, chunks, keyword rows, vectors (their values, for the
embedded vector store; their ids otherwise), entities, relations, communities and their
reports.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from graphready.config import Settings
from graphready.stores.registry import Stores, open_stores


def _hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:16]


def _sorted_reprs(items: Iterable[object]) -> list[str]:
    return sorted(repr(item) for item in items)


def index_digest(data_dir: Path) -> dict[str, str]:
    """``{"catalog", "keyword", "vectors", "graph"}``: a hash of what each store of the data dir
    holds and of the catalog state it is synced to (read with no server running)."""
    stores = open_stores(Settings(data_dir=data_dir))
    try:
        catalog = stores.catalog
        documents = _sorted_reprs(catalog.documents())
        graph = stores.graph.load_graph()
        knowledge = None if graph is None else (
            _sorted_reprs(graph.entities), _sorted_reprs(graph.relations),
            _sorted_reprs(graph.communities))
        return {
            "catalog": _hash(catalog.fingerprint(), documents, sorted(catalog.sources().items())),
            "keyword": _hash(stores.keyword.synced_fingerprint(), sorted(stores.keyword.ids())),
            "vectors": _hash(stores.vectors.synced_fingerprint(), stores.vectors.model_id(),
                             sorted(stores.vectors.ids())),
            "graph": _hash(stores.graph.synced_fingerprint(), knowledge),
        }
    finally:
        stores.close()


def _rows(path: Path, query: str) -> list[tuple[object, ...]] | None:
    """The rows of ``query`` on the SQLite file ``path`` opened read-only; None without it."""
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [tuple(row) for row in conn.execute(query)]
    finally:
        conn.close()


def _graph_parts(stores: Stores) -> dict[str, str]:
    graph = stores.graph.load_graph()
    if graph is None:
        return dict.fromkeys(("entities", "relations", "communities", "reports"), _hash(None))
    return {
        "entities": _hash(_sorted_reprs(graph.entities)),
        "relations": _hash(_sorted_reprs(graph.relations)),
        "communities": _hash(sorted((c.id, c.level, c.parent, c.entity_ids)
                                    for c in graph.communities)),
        "reports": _hash(_sorted_reprs(graph.communities)),
    }


def content_digest(settings: Settings) -> dict[str, str]:
    """``{"documents", "chunks", "keyword", "vectors", "entities", "relations", "communities",
    "reports"}``: a hash of each kind of content the stores of ``settings`` hold (read with no
    server writing). ``communities`` covers the hierarchy (ids, levels, parents, members);
    ``reports`` whole communities with their titles, summaries and passages."""
    stores = open_stores(settings)
    try:
        catalog = stores.catalog
        keyword = _rows(settings.db_dir / "keyword.db",
                        "SELECT chunk_id, title, text FROM chunks ORDER BY chunk_id")
        vectors: object = sorted(stores.vectors.ids())
        if settings.vector_url is None:
            vectors = _rows(settings.db_dir / "vectors.db",
                            "SELECT chunk_id, vec FROM vectors ORDER BY chunk_id")
        return {
            "documents": _hash(_sorted_reprs(catalog.documents())),
            "chunks": _hash(_sorted_reprs(catalog.iter_chunks())),
            "keyword": _hash(stores.keyword.synced_fingerprint(), keyword),
            "vectors": _hash(stores.vectors.synced_fingerprint(), stores.vectors.model_id(),
                             vectors),
            **_graph_parts(stores),
        }
    finally:
        stores.close()
