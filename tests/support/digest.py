"""What an index holds, as one short hash per store, so that a build that was interrupted (a
process killed, a disk full, a damaged file) can be compared with one that was not: equal
digests mean equal catalogs, keyword and vector indexes and graphs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
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


def reference_digest(docs: Path, data: Path, env: dict[str, str]) -> dict[str, str]:
    """The digest of ``graphready index DOCS`` into ``data``: an uninterrupted build."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    subprocess.run([sys.executable, "-m", "graphready.cli", "index", str(docs), "--data-dir",
                    str(data)], check=True, capture_output=True, env={**full_env, **env},
                   timeout=900)
    return index_digest(data)
