"""A loaded graph holds each repeated value once (``stores/sharing.py``): the embedded store's
loader hands out one object per id, chunk list, label and weight."""

from __future__ import annotations

from pathlib import Path

from graphready.heap import release_free_memory
from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation
from graphready.stores.sharing import Shared
from graphready.stores.sqlite.graph import SqliteGraphStore


def test_shared_hands_out_the_first_equal_object() -> None:
    shared = Shared()
    first = "".join(["entity", "-1"])
    again = "".join(["entity", "-", "1"])
    assert first == again and first is not again
    assert shared.text(first) is first
    assert shared.text(again) is first
    ids = shared.texts(["c1", "c2"])
    assert ids == ("c1", "c2")
    assert shared.texts(["c1", "c2"]) is ids
    assert shared.json_texts('["c1","c2"]') is ids
    assert shared.json_texts('["c1","c2"]') is ids
    assert shared.number(float("2.5")) is shared.number(float("2.5"))


def _graph() -> KnowledgeGraph:
    entities = tuple(Entity(f"e{i}", f"Entity {i}", "ORG", ("c1", f"c{i + 2}"))
                     for i in range(4))
    relations = tuple(Relation(entities[i].id, entities[j].id, "related_to", 1.0, ("c1",))
                      for i in range(4) for j in range(i + 1, 4))
    top = Community("top", 0, None, tuple(e.id for e in entities), "Top", "Summary.", ("c1",))
    return KnowledgeGraph(entities, relations, (top,))


def test_sqlite_loader_shares_ids_chunk_lists_labels_and_weights(tmp_path: Path) -> None:
    store = SqliteGraphStore(tmp_path / "graph.db")
    try:
        store.replace_graph(_graph(), "fp")
        loaded = store.load_graph()
    finally:
        store.close()
    assert loaded == _graph()
    assert loaded is not None
    ids = {e.id: e.id for e in loaded.entities}
    for relation in loaded.relations:
        assert relation.source is ids[relation.source]
        assert relation.target is ids[relation.target]
        assert relation.chunk_ids is loaded.relations[0].chunk_ids
        assert relation.label is loaded.relations[0].label
        assert relation.weight is loaded.relations[0].weight
    chunk_one = loaded.entities[0].chunk_ids[0]
    assert all(e.chunk_ids[0] is chunk_one for e in loaded.entities)
    assert loaded.relations[0].chunk_ids[0] is chunk_one
    assert all(m is ids[m] for m in loaded.communities[0].entity_ids)


def test_release_free_memory_runs_here() -> None:
    assert release_free_memory() in (True, False)
    assert release_free_memory() is True  # glibc (the machines this runs on) has malloc_trim
