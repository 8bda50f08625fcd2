"""The embedded keyword and vector stores rank by content alone: equal scores come in chunk id
order, not in the order rows were written, so a store that saw deletes and re-adds (or got its
documents in another order: uploads against a folder) answers exactly as one built from
scratch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graphready.documents.types import Chunk
from graphready.stores.sqlite.keyword import SqliteKeywordIndex
from graphready.stores.sqlite.vector import SqliteVectorStore

TEXT = "Goshen Township is one of the fifteen townships of Hardin County, Ohio."
IDS = ["c3", "a1", "e5", "b2", "d4"]


def _chunks(ids: list[str]) -> list[Chunk]:
    return [Chunk(i, f"doc-{i}", 0, "Township", TEXT) for i in ids]


def _keyword(path: Path, ids: list[str], churn: list[str]) -> SqliteKeywordIndex:
    index = SqliteKeywordIndex(path)
    index.add(_chunks(ids))
    index.remove(churn)
    index.add(_chunks(churn))
    return index


def test_keyword_ties_rank_by_chunk_id_whatever_the_write_order(tmp_path: Path) -> None:
    fresh = _keyword(tmp_path / "fresh.db", sorted(IDS), [])
    churned = _keyword(tmp_path / "churned.db", IDS, ["a1", "b2"])
    try:
        for k in (1, 2, 5):
            hits = [(h.chunk_id, h.score) for h in churned.search("Goshen Hardin", k)]
            assert hits == [(h.chunk_id, h.score) for h in fresh.search("Goshen Hardin", k)]
            assert [h[0] for h in hits] == sorted(IDS)[:k]
    finally:
        fresh.close()
        churned.close()


def _vectors(path: Path, ids: list[str], churn: list[str], search_first: bool) -> (
        SqliteVectorStore):
    rng = np.random.default_rng(3)
    other = rng.normal(size=(40, 16)).astype(np.float32)
    same = np.ones((1, 16), dtype=np.float32)
    store = SqliteVectorStore(path)
    if search_first:  # an in-memory copy that the writes below keep current
        store.add(["z0"], other[:1])
        store.search(same[0], 1)
    store.add([f"z{i}" for i in range(40)], other)
    store.add(ids, np.repeat(same, len(ids), axis=0))
    store.remove(churn)
    store.add(churn, np.repeat(same, len(churn), axis=0))
    return store


def test_vector_ties_and_scores_do_not_depend_on_the_write_order(tmp_path: Path) -> None:
    query = np.linspace(0.5, 1.5, 16).astype(np.float32)
    fresh = _vectors(tmp_path / "fresh.db", sorted(IDS), [], search_first=False)
    expected = {k: [(h.chunk_id, h.score) for h in fresh.search(query, k)] for k in (1, 3, 50)}
    assert [h[0] for h in expected[3]] == sorted(IDS)[:3]
    for name, search_first in (("loaded", False), ("kept", True)):
        churned = _vectors(tmp_path / f"{name}.db", IDS, ["a1", "c3"], search_first)
        reopened = SqliteVectorStore(tmp_path / f"{name}.db")
        try:
            for store in (churned, reopened):
                for k, hits in expected.items():
                    assert [(h.chunk_id, h.score) for h in store.search(query, k)] == hits
        finally:
            churned.close()
            reopened.close()
    fresh.close()
