"""Contract suite for :class:`~graphready.stores.base.GraphStore` implementations. Every
backend runs the same tests: add one more parameter to ``IMPLEMENTATIONS``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graphready.errors import StoreError
from graphready.knowledge import (
    ChunkExtraction,
    Community,
    Entity,
    ExtractedRelation,
    KnowledgeGraph,
    Mention,
    Relation,
)
from graphready.stores.base import GraphStore
from graphready.stores.graph_sqlite import SqliteGraphStore

Factory = Callable[[], GraphStore]


def _sqlite(directory: Path) -> Factory:
    return lambda: SqliteGraphStore(directory / "graph.sqlite3")


IMPLEMENTATIONS: dict[str, Callable[[Path], Factory]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A function that opens (another handle on) one fresh store; all handles are closed."""
    opened: list[GraphStore] = []
    make = IMPLEMENTATIONS[request.param](tmp_path)

    def factory() -> GraphStore:
        store = make()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def _extraction(chunk_id: str, n: int = 2) -> ChunkExtraction:
    mentions = tuple(Mention(f"Name {chunk_id} {i}", f"name {chunk_id} {i}", "PERSON")
                     for i in range(n))
    relations = tuple(ExtractedRelation(mentions[i].key, mentions[i + 1].key, "knows")
                      for i in range(n - 1))
    return ChunkExtraction(chunk_id, mentions, relations)


def _graph(tag: str, size: int = 3) -> KnowledgeGraph:
    """A small graph in canonical form (entity chunk ids sorted, relations by pair)."""
    entities = tuple(
        Entity(f"{tag}{i:04d}", f"Entity “{tag}” {i}", "ORG", (f"c{i:04d}", f"c{i + 1:04d}"))
        for i in range(size))
    relations = tuple(Relation(entities[i].id, entities[i + 1].id, "related_to", float(i + 1),
                               (f"c{i:04d}",)) for i in range(size - 1))
    top = Community(f"{tag}-top", 0, None, tuple(e.id for e in entities), f"Top {tag}",
                    "Summary.\nKey entities: x", ("c0",))
    child = Community(f"{tag}-child", 1, top.id, tuple(e.id for e in entities[:2]), "Child",
                      "Child summary.", ())
    return KnowledgeGraph(entities, relations, (top, child))


def test_empty_store(open_store: Factory) -> None:
    store = open_store()
    assert store.ids() == set()
    assert list(store.iter_extractions()) == []
    assert store.load_graph() is None
    assert store.synced_fingerprint() is None


def test_extractions_add_iterate_remove(open_store: Factory) -> None:
    store = open_store()
    items = [_extraction(f"chunk-{i:04d}", n=i % 4) for i in range(2500)]
    store.add_extractions(items[::-1])
    assert store.ids() == {item.chunk_id for item in items}
    assert list(store.iter_extractions()) == items
    store.remove_extractions([items[0].chunk_id, "unknown", items[5].chunk_id])
    assert store.ids() == {item.chunk_id for item in items} - {"chunk-0000", "chunk-0005"}
    store.remove_extractions([])
    store.add_extractions([])


def test_add_extraction_replaces_same_chunk(open_store: Factory) -> None:
    store = open_store()
    store.add_extractions([_extraction("a", 3)])
    store.add_extractions([_extraction("a", 1)])
    assert list(store.iter_extractions()) == [_extraction("a", 1)]


def test_replace_graph_round_trip_and_fingerprint(open_store: Factory) -> None:
    store = open_store()
    graph = _graph("x")
    store.replace_graph(graph, "fp-1")
    assert store.load_graph() == graph
    assert store.synced_fingerprint() == "fp-1"


def test_replace_graph_replaces_everything(open_store: Factory) -> None:
    store = open_store()
    store.replace_graph(_graph("x", 5), "fp-1")
    store.replace_graph(_graph("y", 2), "fp-2")
    assert store.load_graph() == _graph("y", 2)
    assert store.synced_fingerprint() == "fp-2"


def test_empty_graph_is_a_completed_graph(open_store: Factory) -> None:
    store = open_store()
    store.replace_graph(KnowledgeGraph(), "fp-0")
    assert store.load_graph() == KnowledgeGraph()


def test_failed_replace_keeps_previous_graph(open_store: Factory) -> None:
    store = open_store()
    store.replace_graph(_graph("x"), "fp-1")
    good = _graph("y")
    broken = KnowledgeGraph(good.entities + good.entities[:1], good.relations, good.communities)
    with pytest.raises(StoreError):
        store.replace_graph(broken, "fp-2")
    assert store.load_graph() == _graph("x")
    assert store.synced_fingerprint() == "fp-1"


def test_mark_synced_round_trip(open_store: Factory) -> None:
    store = open_store()
    store.mark_synced("abc")
    assert store.synced_fingerprint() == "abc"
    store.mark_synced("def")
    assert store.synced_fingerprint() == "def"
    assert store.load_graph() is None


def test_persists_across_reopen(open_store: Factory) -> None:
    store = open_store()
    store.add_extractions([_extraction("a"), _extraction("b")])
    store.replace_graph(_graph("x"), "fp-1")
    store.close()
    again = open_store()
    assert again.ids() == {"a", "b"}
    assert again.load_graph() == _graph("x")
    assert again.synced_fingerprint() == "fp-1"


def test_second_handle_sees_committed_writes(open_store: Factory) -> None:
    writer, reader = open_store(), open_store()
    assert reader.load_graph() is None
    writer.add_extractions([_extraction("a")])
    writer.replace_graph(_graph("x"), "fp-1")
    assert reader.ids() == {"a"}
    assert reader.load_graph() == _graph("x")
    writer.replace_graph(_graph("y"), "fp-2")
    assert reader.load_graph() == _graph("y")
    assert reader.synced_fingerprint() == "fp-2"


def test_concurrent_reads_see_whole_graphs(open_store: Factory) -> None:
    writer, reader = open_store(), open_store()
    graphs = {_graph("x", 50), _graph("y", 80)}
    writer.replace_graph(_graph("x", 50), "fp")
    seen: list[KnowledgeGraph | None] = []

    def read() -> None:
        for _ in range(20):
            seen.append(reader.load_graph())

    thread = threading.Thread(target=read)
    thread.start()
    for i in range(10):
        writer.replace_graph(_graph("y", 80) if i % 2 else _graph("x", 50), "fp")
    thread.join()
    assert seen and all(graph in graphs for graph in seen)
