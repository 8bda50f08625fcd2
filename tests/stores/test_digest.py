"""``stores/digest.py``: the content digests tell a changed index from an unchanged one, and a
document deleted and added back (same id, title and text) leaves every store as it was."""

from __future__ import annotations

import time
from pathlib import Path

from graphready.config import Settings, ensure_data_dir, load_settings
from graphready.documents.uploads import Upload, UploadStore, uploads_folder
from graphready.indexing.events import Event
from graphready.indexing.stages import RUNNERS
from graphready.stores.digest import content_digest, index_digest
from graphready.stores.registry import open_stores
from support.corpus import write_corpus

EINSTEIN = ("Pierre Curie met Albert Einstein in Brussels at the Solvay Conference in 1911. "
            "Niels Bohr and Albert Einstein debated quantum theory in Brussels for many years.")
LOVELACE = ("Ada Lovelace met Charles Babbage in London in 1833. Ada Lovelace admired the "
            "Analytical Engine of Charles Babbage.")
KINDS = ("documents", "chunks", "keyword", "vectors", "entities", "relations", "communities",
         "reports")


def _settings(root: Path) -> Settings:
    write_corpus(root / "docs", passages=12)
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="hashing", community_max_size=6)
    ensure_data_dir(settings)
    return settings


def _build(settings: Settings) -> None:
    def report(event: Event) -> None:
        return None

    stores = open_stores(settings)
    try:
        for stage in ("documents", "vectors", "graph"):
            RUNNERS[stage](settings, stores, report)
    finally:
        stores.close()


def test_delete_and_add_back_restores_every_digest(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    uploads = UploadStore(uploads_folder(settings.data_dir))
    einstein = Upload("physicists", "Physicists", EINSTEIN, None, time.time())
    uploads.put(einstein)
    uploads.put(Upload("engines", "Engines", LOVELACE, None, time.time()))
    _build(settings)
    before, stores_before = content_digest(settings), index_digest(settings.data_dir)
    assert set(before) == set(KINDS)

    uploads.remove("physicists")
    _build(settings)
    deleted = content_digest(settings)
    for kind in KINDS:
        assert deleted[kind] != before[kind], f"{kind} did not change after a delete"

    uploads.put(Upload("physicists", "Physicists", EINSTEIN, None, time.time() + 60))
    _build(settings)
    assert content_digest(settings) == before
    # the catalog's digest also covers each source's file hash, and an upload's file records
    # when it was added: the stores derived from the catalog are what must come back
    stores_after = index_digest(settings.data_dir)
    for store in ("keyword", "vectors", "graph"):
        assert stores_after[store] == stores_before[store], f"{store} differs"
