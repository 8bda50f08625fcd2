"""What an index holds, as one short hash per store, so that a build that was interrupted (a
process killed, a disk full, a damaged file) can be compared with one that was not: equal
digests mean equal catalogs, keyword and vector indexes and graphs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from graphready.config import Settings
from graphready.stores.registry import open_stores


def _hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:16]


def index_digest(data_dir: Path) -> dict[str, str]:
    """``{"catalog", "keyword", "vectors", "graph"}``: a hash of what each store of the data dir
    holds and of the catalog state it is synced to (read with no server running)."""
    stores = open_stores(Settings(data_dir=data_dir))
    try:
        catalog = stores.catalog
        documents = sorted(repr(d) for d in catalog.documents())
        graph = stores.graph.load_graph()
        knowledge = None if graph is None else (
            sorted(repr(e) for e in graph.entities), sorted(repr(r) for r in graph.relations),
            sorted(repr(c) for c in graph.communities))
        return {
            "catalog": _hash(catalog.fingerprint(), documents, sorted(catalog.sources().items())),
            "keyword": _hash(stores.keyword.synced_fingerprint(), sorted(stores.keyword.ids())),
            "vectors": _hash(stores.vectors.synced_fingerprint(), stores.vectors.model_id(),
                             sorted(stores.vectors.ids())),
            "graph": _hash(stores.graph.synced_fingerprint(), knowledge),
        }
    finally:
        stores.close()
