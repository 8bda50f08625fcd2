"""The graph stage updates the graph in place (``indexing/graph_update.py``) and still ends where
a build from scratch ends: after any sequence of documents added, replaced and deleted (drawn by
hypothesis, built now and then), the extractions, entities, relations, communities and reports
equal a fresh build of the documents that remain, on SQLite and on a real FalkorDB. And a change
writes only what it reaches."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphready.config import Settings, ensure_data_dir, load_settings
from graphready.documents.uploads import Upload, UploadStore, uploads_folder
from graphready.extraction.spacy_nlp import SpacyExtractor
from graphready.indexing.stages import run_documents, run_graph
from graphready.stores.base import IncrementalGraphStore
from graphready.stores.registry import open_stores
from support.corpus import write_corpus

Urls = Callable[[str, str], tuple[str | None, str | None]]
"""The ``store_urls`` fixture (``conftest.py``)."""

POOL = [
    "Marie Curie worked in Paris with Pierre Curie. Curie won the Nobel Prize in Paris.",
    "Pierre Curie met Albert Einstein in Brussels. Einstein later moved to Princeton.",
    "The National Aeronautics and Space Administration hired Ada Lovelace. NASA honoured "
    "Lovelace in Houston.",
    "Ada Lovelace met Charles Babbage in London. Babbage built the Analytical Engine in London.",
    "Ines Moreau founded a guild of glassblowers in Lyon. The guild in Lyon trained Pavel Kral.",
    "Oskar Lund founded a guild of clockmakers in Bergen. Curie visited Bergen with Oskar Lund.",
]
OPS = st.lists(st.tuples(st.integers(0, 3), st.integers(-1, len(POOL) - 1), st.booleans()),
               min_size=1, max_size=7)


@pytest.fixture(scope="module")
def spacy() -> Iterator[SpacyExtractor]:
    yield SpacyExtractor(pipeline="entities")


def _settings(root: Path, urls: tuple[str | None, ...], updates: str = "auto") -> Settings:
    write_corpus(root / "docs", passages=6)
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="hashing", graph_url=urls[0], vector_url=urls[1],
                             community_max_size=6, community_updates=updates)
    ensure_data_dir(settings)
    return settings


def _build(settings: Settings, spacy: SpacyExtractor) -> dict[str, int]:
    stores = open_stores(settings)
    try:
        run_documents(settings, stores, lambda event: None)
        return dict(run_graph(settings, stores, lambda event: None, offline=spacy).counts)
    finally:
        stores.close()


def _graph(settings: Settings) -> dict[str, Any]:
    stores = open_stores(settings)
    try:
        graph = stores.graph.load_graph()
        assert graph is not None
        return {"extractions": sorted(stores.graph.iter_extractions(), key=lambda x: x.chunk_id),
                "synced": stores.graph.synced_fingerprint() == stores.catalog.fingerprint(),
                "entities": sorted(graph.entities, key=lambda e: e.id),
                "relations": sorted(graph.relations, key=lambda r: (r.source, r.target)),
                "communities": sorted(graph.communities, key=lambda c: c.id)}
    finally:
        stores.close()


def _put(settings: Settings, doc_id: str, text: str) -> None:
    UploadStore(uploads_folder(settings.data_dir)).put(
        Upload(doc_id, doc_id.title(), text, f"{doc_id}.txt", 0.0))


@pytest.mark.parametrize("backend", ["embedded", "falkordb"])
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_random_changes_equal_a_fresh_build(backend: str, ops: list[tuple[int, int, bool]],
                                            store_urls: Urls,
                                            spacy: SpacyExtractor) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        name = f"h{abs(hash((tuple(ops), work))) % 10**8}"
        changed = _settings(root / "changed", store_urls(backend, f"{name}c"))
        held: dict[str, str] = {}
        _build(changed, spacy)
        for step, (slot, text, build) in enumerate(ops):
            doc_id = f"doc-{slot}"
            if text < 0:
                UploadStore(uploads_folder(changed.data_dir)).remove(doc_id)
                held.pop(doc_id, None)
            else:
                held[doc_id] = POOL[text]
                _put(changed, doc_id, POOL[text])
            if build or step == len(ops) - 1:
                _build(changed, spacy)
        fresh = _settings(root / "fresh", store_urls(backend, f"{name}f"))
        for doc_id, text in held.items():
            _put(fresh, doc_id, text)
        _build(fresh, spacy)
        after, expected = _graph(changed), _graph(fresh)
        assert after["synced"]
        for key in expected:
            assert after[key] == expected[key], f"{key} differs from a fresh build ({held})"


@pytest.mark.parametrize("backend", ["embedded", "falkordb"])
def test_a_change_writes_only_what_it_reaches(tmp_path: Path, backend: str, store_urls: Urls,
                                              spacy: SpacyExtractor) -> None:
    settings = _settings(tmp_path, store_urls(backend, "reach"))
    write_corpus(tmp_path / "docs", passages=24)  # more passages than the random tests
    first = _build(settings, spacy)
    assert first["entities_written"] == first["entities"] > 20
    _put(settings, "guild", POOL[4])
    added = _build(settings, spacy)
    assert added["chunks_extracted"] == 1
    assert 0 < added["entities_written"] < added["entities"] // 4
    assert added["relations_written"] < added["relations"] // 4
    assert added["communities_written"] < added["communities"]
    UploadStore(uploads_folder(settings.data_dir)).remove("guild")
    removed = _build(settings, spacy)
    assert removed["entities"] == first["entities"]
    assert removed["relations"] == first["relations"]
    assert removed["entities_written"] < removed["entities"] // 4
    stores = open_stores(settings)
    try:  # the contribution index holds exactly the chunks the graph is built from
        assert isinstance(stores.graph, IncrementalGraphStore)
        assert stores.graph.graph_chunk_ids() == stores.catalog.chunk_ids()
    finally:
        stores.close()


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_stable_updates_keep_a_consistent_hierarchy(ops: list[tuple[int, int, bool]],
                                                    spacy: SpacyExtractor) -> None:
    """``stable`` mode re-clusters only where a change reaches, so its communities depend on
    the history; the entities and relations still equal a fresh build's, and the hierarchy
    holds only entities that remain, each child inside its parent."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        changed = _settings(root / "changed", (None, None), "stable")
        held: dict[str, str] = {}
        _build(changed, spacy)
        for slot, text, _ in ops:
            if text < 0:
                UploadStore(uploads_folder(changed.data_dir)).remove(f"doc-{slot}")
                held.pop(f"doc-{slot}", None)
            else:
                held[f"doc-{slot}"] = POOL[text]
                _put(changed, f"doc-{slot}", POOL[text])
            _build(changed, spacy)
        fresh = _settings(root / "fresh", (None, None), "stable")
        for doc_id, text in held.items():
            _put(fresh, doc_id, text)
        _build(fresh, spacy)
        after, expected = _graph(changed), _graph(fresh)
        assert after["entities"] == expected["entities"]
        assert after["relations"] == expected["relations"]
        present = {e.id for e in after["entities"]}
        by_id = {c.id: c for c in after["communities"]}
        for community in after["communities"]:
            assert set(community.entity_ids) <= present
            if community.parent is not None:
                assert set(community.entity_ids) <= set(by_id[community.parent].entity_ids)
        tops = [c for c in after["communities"] if c.level == 0]
        assert sum(len(c.entity_ids) for c in tops) == len({m for c in tops
                                                             for m in c.entity_ids})
