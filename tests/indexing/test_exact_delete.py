"""The property that matters for documents that come and go: after adds, an update and a delete,
every index equals, by content, what a build from scratch on the remaining documents gives.
Build A+B+C, delete B, update C; compare every store with a fresh build of A+C'. On the
embedded stores, and with the graph and the vectors on a real FalkorDB."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphready.config import Settings, ensure_data_dir, load_settings
from graphready.documents.uploads import Upload, UploadStore, uploads_folder
from graphready.embeddings.hashing import HashingEmbedder
from graphready.indexing.events import Event
from graphready.indexing.stages import RUNNERS, search_text
from graphready.knowledge import KnowledgeGraph
from graphready.stores.registry import Stores, open_stores
from support.corpus import write_corpus

Urls = Callable[[str, str], tuple[str | None, str | None]]
"""The ``store_urls`` fixture (``conftest.py``)."""

A = ("# Marie Curie in Paris\n\nMarie Curie worked in Paris with Pierre Curie at the Sorbonne. "
     "The Sorbonne hired Marie Curie as a professor in 1906. Pierre Curie studied magnetism in "
     "Paris before he met Marie Curie. Marie Curie won the Nobel Prize in Chemistry in 1911.")
B = ("Pierre Curie met Albert Einstein in Brussels at the Solvay Conference in 1911. Niels Bohr "
     "and Albert Einstein debated quantum theory in Brussels for many years. Albert Einstein "
     "later moved to Princeton, where Kurt Godel walked with Albert Einstein every day.")
C = ("Ada Lovelace met Charles Babbage in London in 1833. Ada Lovelace admired the Analytical "
     "Engine of Charles Babbage.")
# The same names as C, other sentences: the community around them keeps its members, so only
# a check of what its report was written from (not its id) re-summarises it.
C2 = ("Ada Lovelace visited Charles Babbage in London in 1834. Ada Lovelace explained the "
      "Analytical Engine of Charles Babbage.")
ONLY_IN_B = ("Albert Einstein", "Niels Bohr", "Kurt Godel", "Princeton")


def _settings(root: Path, graph_url: str | None, vector_url: str | None,
              updates: str = "auto") -> Settings:
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="hashing", graph_url=graph_url, vector_url=vector_url,
                             community_max_size=6, community_updates=updates)
    ensure_data_dir(settings)
    return settings


def _folder(root: Path) -> None:
    write_corpus(root / "docs", passages=24)
    (root / "docs" / "curie.md").write_text(A, encoding="utf-8")


def _upload(settings: Settings, doc_id: str, text: str) -> None:
    store = UploadStore(uploads_folder(settings.data_dir))
    store.put(Upload(doc_id, doc_id.title(), text, f"{doc_id}.txt", time.time()))


def _build(settings: Settings) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}

    def report(event: Event) -> None:
        return None

    stores = open_stores(settings)
    try:
        for stage in ("documents", "vectors", "graph"):
            counts[stage] = dict(RUNNERS[stage](settings, stores, report).counts)
    finally:
        stores.close()
    return counts


def _graph_content(graph: KnowledgeGraph | None) -> dict[str, Any]:
    assert graph is not None
    return {"entities": sorted(graph.entities, key=lambda e: e.id),
            "relations": sorted(graph.relations, key=lambda r: (r.source, r.target, r.label)),
            "communities": sorted(graph.communities, key=lambda c: c.id)}


def _content(settings: Settings) -> dict[str, Any]:
    """Everything every store holds, in a form two builds can be compared by."""
    stores: Stores = open_stores(settings)
    try:
        catalog = stores.catalog
        chunk_ids = sorted(catalog.chunk_ids())
        chunks = catalog.get_chunks(chunk_ids)
        embedder = HashingEmbedder()
        queries = embedder.embed([search_text(c) for c in chunks])
        vectors = stores.vectors
        vectors.refresh()
        # every stored vector is its chunk's embedding: a chunk's own vector finds it first
        # with cosine 1 (the whole neighbour lists of an approximate index such as FalkorDB's
        # may differ after deletes, so they are compared for the exact embedded store only)
        found = [vectors.search(q, 5) for q in queries]
        own = [(c.id, h[0].chunk_id, round(h[0].score, 4)) for c, h in zip(chunks, found,
                                                                              strict=True)]
        nearest = [[(h.chunk_id, round(h.score, 4)) for h in hits] for hits in found] \
            if settings.vector_url is None else None
        keyword = stores.keyword
        words = ["Curie", "Paris", "Einstein", "Lovelace", "visited", "Engine", "London",
                 "astronomy", "Lisbon"]
        return {
            "documents": [(d.source, d.id, d.title, d.content_hash, d.chunk_ids)
                          for d in catalog.documents()],
            "chunks": chunks,
            "fingerprint": catalog.fingerprint(),
            "keyword_ids": sorted(keyword.ids()),
            "keyword_search": {w: [(h.chunk_id, round(h.score, 6)) for h in
                                   keyword.search(w, 10)] for w in words},
            "vector_ids": sorted(vectors.ids()),
            "vector_own": own,
            "vector_nearest": nearest,
            "vectors_synced": vectors.synced_fingerprint() == catalog.fingerprint(),
            "extractions": sorted(stores.graph.iter_extractions(), key=lambda x: x.chunk_id),
            "graph_synced": stores.graph.synced_fingerprint() == catalog.fingerprint(),
            "graph": _graph_content(stores.graph.load_graph()),
        }
    finally:
        stores.close()


@pytest.mark.parametrize("backend", ["embedded", "falkordb"])
def test_delete_and_update_equal_a_build_from_scratch(
        tmp_path: Path, backend: str, store_urls: Urls) -> None:
    _folder(tmp_path / "changed")
    changed = _settings(tmp_path / "changed", *store_urls(backend, "changed"))
    _upload(changed, "physicists", B)
    _upload(changed, "engines", C)
    first = _build(changed)
    assert first["graph"]["entities"] > 0 and first["graph"]["communities"] > 0
    before = _content(changed)
    assert any("Einstein" in e.name for e in before["graph"]["entities"])

    UploadStore(uploads_folder(changed.data_dir)).remove("physicists")
    _upload(changed, "engines", C2)
    second = _build(changed)
    assert second["documents"]["chunks_removed"] > 0 and second["documents"]["chunks_added"] > 0
    assert second["graph"]["chunks_extracted"] == second["documents"]["chunks_added"]
    after = _content(changed)

    _folder(tmp_path / "fresh")
    fresh = _settings(tmp_path / "fresh", *store_urls(backend, "fresh"))
    _upload(fresh, "engines", C2)
    _build(fresh)
    expected = _content(fresh)

    assert after["vectors_synced"] and after["graph_synced"]
    for key in expected:
        assert after[key] == expected[key], f"{key} differs from a build from scratch"

    graph = after["graph"]
    names = {e.name for e in graph["entities"]}
    for gone in ONLY_IN_B:
        assert not any(gone in n for n in names), f"{gone} outlived the deleted document"
    b_chunks = {c for d in before["documents"] if d[1] == "physicists" for c in d[4]}
    assert b_chunks and not b_chunks & set(after["keyword_ids"])
    pierre = [e for e in graph["entities"] if e.name == "Pierre Curie"]
    assert pierre and not set(pierre[0].chunk_ids) & b_chunks
    for community in graph["communities"]:
        assert "Einstein" not in community.summary and "Brussels" not in community.summary
        assert not set(community.chunk_ids) & b_chunks
    assert "explained the" in " ".join(c.text for c in after["chunks"])
    old_c = {c for d in before["documents"] if d[1] == "engines" for c in d[4]}
    for community in graph["communities"]:
        assert "admired" not in community.summary and not set(community.chunk_ids) & old_c
    assert all(c == first and score == 1.0 for c, first, score in after["vector_own"])


POOL = [A, B, C, C2, *(f"{name} founded a guild of {craft} in {town}. The guild of {craft} in "
                       f"{town} trained {pupil} for ten years." for name, craft, town, pupil in [
                           ("Ines Moreau", "glassblowers", "Lyon", "Pavel Kral"),
                           ("Oskar Lund", "clockmakers", "Bergen", "Ines Moreau"),
                           ("Hana Sato", "weavers", "Kyoto", "Oskar Lund"),
                           ("Pavel Kral", "printers", "Brno", "Hana Sato")])]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_changes_equal_a_build_from_scratch(tmp_path: Path, seed: int) -> None:
    """Random adds, updates and deletes of uploads, built now and then (several changes at a
    time too), end where a build from scratch on what remains ends."""
    rng = random.Random(seed)
    _folder(tmp_path / "changed")
    changed = _settings(tmp_path / "changed", None, None)
    store = UploadStore(uploads_folder(changed.data_dir))
    held: dict[str, str] = {}
    for step in range(8):
        doc_id = f"doc-{rng.randrange(4)}"
        if doc_id in held and rng.random() < 0.4:
            store.remove(doc_id)
            del held[doc_id]
        else:
            held[doc_id] = rng.choice(POOL)
            _upload(changed, doc_id, held[doc_id])
        if rng.random() < 0.5 or step == 7:
            _build(changed)
    after = _content(changed)

    _folder(tmp_path / "fresh")
    fresh = _settings(tmp_path / "fresh", None, None)
    for doc_id, text in held.items():
        _upload(fresh, doc_id, text)
    _build(fresh)
    expected = _content(fresh)
    for key in expected:
        assert after[key] == expected[key], f"{key} differs from a build from scratch ({held})"


def test_stable_community_updates_keep_the_rest_exact(tmp_path: Path) -> None:
    """``GRAPHREADY_COMMUNITY_UPDATES=stable`` starts Leiden from the previous partition: the
    communities may differ from a fresh build's, but everything else equals it, every community
    holds only entities that remain, and no report quotes a deleted or replaced passage."""
    _folder(tmp_path / "changed")
    changed = _settings(tmp_path / "changed", None, None, updates="stable")
    _upload(changed, "physicists", B)
    _upload(changed, "engines", C)
    _build(changed)
    before = _content(changed)
    UploadStore(uploads_folder(changed.data_dir)).remove("physicists")
    _upload(changed, "engines", C2)
    second = _build(changed)
    assert second["graph"]["summaries_reused"] > 0
    after = _content(changed)

    _folder(tmp_path / "fresh")
    fresh = _settings(tmp_path / "fresh", None, None, updates="stable")
    _upload(fresh, "engines", C2)
    _build(fresh)
    expected = _content(fresh)
    for key in expected:
        if key != "graph":
            assert after[key] == expected[key], f"{key} differs from a build from scratch"
    graph, wanted = after["graph"], expected["graph"]
    assert graph["entities"] == wanted["entities"] and graph["relations"] == wanted["relations"]

    current = {e.id for e in graph["entities"]}
    linked = {r.source for r in graph["relations"]} | {r.target for r in graph["relations"]}
    top = [c for c in graph["communities"] if c.level == 0]
    assert top and set().union(*(c.entity_ids for c in top)) <= current
    assert all(set(c.entity_ids) <= current for c in graph["communities"])
    # every linked entity is in a top community, unless Leiden left it alone
    alone = linked - set().union(*(c.entity_ids for c in top))
    assert len(alone) < len(linked) // 4
    gone = {c for d in before["documents"] if d[1] in ("physicists", "engines") for c in d[4]}
    for community in graph["communities"]:
        assert "Einstein" not in community.summary and "admired" not in community.summary
        assert not set(community.chunk_ids) & gone
