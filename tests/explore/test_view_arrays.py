"""The graph API's view and the community index as arrays: records read back exactly, a view
mapped from a file answers as one built in memory, and ``load_graph`` writes the view's file
once, maps it in every later load and keeps no object per entity, relation or community."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from graphready.config import load_settings
from graphready.explore.view import GraphView
from graphready.explore.view_arrays import Records, ViewArrays, view_arrays
from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation
from graphready.retrieval.graph_file import open_arrays, read_key, write_arrays
from graphready.retrieval.graph_global import CommunityArrays, CommunityIndex, community_arrays
from graphready.retrieval.loading import VIEW_FILE, graph_file, load_graph
from graphready.stores.registry import open_stores
from support.catalog_data import apply
from support.graph_data import CHUNK_DOCS, HOSTILE, sample_graph


def answers(view: GraphView) -> list[object]:
    """Everything the view says about its graph (positions, objects, pages, communities)."""
    said: list[object] = [list(view.entities), list(view.relations), list(view.communities),
                          view.types, view.levels, view.degree.tolist()]
    for query in ("", "far", "hub", "amel", "spoke 1", "zzz", HOSTILE[:8]):
        for kind in (None, "PERSON", "NOPE"):
            said.append(view.search(query, kind, 0, 7))
            said.append(view.search(query, kind, 5, 7))
    for position in range(len(view.entities)):
        entity = view.entities[position]
        said += [view.position(entity.id), view.neighbours(position, 5),
                 view.communities_of(position), view.top_community(position),
                 view.documents_of(entity), view.subgraph(position, 2, 12, 20)]
    for community in view.communities:
        said += [view.community(community.id), view.children(community.id),
                 view.members(community)]
    said += [view.position("missing"), view.community("missing"), view.children("missing")]
    said += [view.list_communities(level) for level in (None, 0, 1, 5)]
    return said


def test_records_read_back_exactly_one_at_a_time() -> None:
    rows = [Relation("a", "b", "x", 0.1 + 0.2, ("c1", "c2"), "é \ud800 \"q\""),
            Relation("b", "c", HOSTILE, float("inf"), (), ""), Relation("c", "d", "y", 1e-300, ())]
    blob, offsets = Records.encode(
        [r.source, r.target, r.label, r.weight, list(r.chunk_ids), r.description] for r in rows)
    found = Records(blob, offsets, lambda row: Relation(row[0], row[1], row[2], row[3],
                                                        tuple(row[4]), row[5]))
    assert list(found) == rows and len(found) == 3
    assert found[-1] == rows[-1] and found[1:] == rows[1:] and found[::2] == rows[::2]
    with pytest.raises(IndexError):
        found[3]


def test_a_view_mapped_from_a_file_answers_as_one_built_in_memory(tmp_path: Path) -> None:
    graph = sample_graph()
    built = GraphView(graph, CHUNK_DOCS)
    path = tmp_path / "view.arrays"
    write_arrays(path, view_arrays(graph, {}).as_dict(), "k")
    mapped = open_arrays(path, "k", ViewArrays.names())
    assert mapped is not None and isinstance(mapped["indptr"], np.memmap)
    view = GraphView.of_arrays(ViewArrays(**mapped), CHUNK_DOCS)
    assert answers(view) == answers(built)
    assert list(view.entities) == list(graph.entities)
    assert list(view.communities) == list(graph.communities)


def test_a_community_index_on_mapped_arrays_ranks_as_one_built_in_memory(
        tmp_path: Path) -> None:
    communities = tuple(
        Community(f"k{i}", i % 3, None if i % 3 == 0 else f"k{i - i % 3}",
                  tuple(f"e{j}" for j in range(i % 5 + 1)), f"Title {i} river",
                  f"summary of films {i % 4} and the river {i % 2}", (), 0.5 * i)
        for i in range(30))
    path = tmp_path / "search.arrays"
    write_arrays(path, community_arrays(communities).as_dict(), "k")
    mapped = open_arrays(path, "k", CommunityArrays.names())
    assert mapped is not None
    index = CommunityIndex(communities, CommunityArrays(**mapped))
    built = CommunityIndex(communities)
    for question in ("river films", "What are the main themes?", "title 7", "unknown", ""):
        assert index.search(question, 6) == built.search(question, 6)
    assert [h.community.id for h in index.search("What are the main themes?", 3)] == \
        ["k24", "k9", "k18"]  # the largest top-level ones, ties by id


def test_load_graph_maps_the_view_from_one_file_per_graph(tmp_path: Path) -> None:
    stores = open_stores(settings := load_settings({}, data_dir=tmp_path, embedder="hashing"))
    try:
        apply(stores.catalog, ".uploads/notes.json", {
            "Notes": "Ada Lovelace wrote notes on the Analytical Engine.",
            "River": "The Thames flows through London."})
        ids = [c.id for c in stores.catalog.iter_chunks()]
        named = [("Ada Lovelace", "PERSON", 0), ("Analytical Engine", "PRODUCT", 0),
                 ("London", "GPE", 1)]
        entities = tuple(Entity(f"e{n}", name, kind, (ids[at],))
                         for n, (name, kind, at) in enumerate(named, start=1))
        relations = (Relation("e1", "e2", "wrote_about", 2.0, (ids[0],)),)
        communities = (Community("k1", 0, None, ("e1", "e2"), "Ada and the engine",
                                 "Ada Lovelace wrote on the engine.", (ids[0],)),)
        stores.graph.replace_graph(KnowledgeGraph(entities, relations, communities), "fp-1")
        view_file = graph_file(settings).with_name(VIEW_FILE)
        first = load_graph(stores, graph_file(settings))
        assert first is not None and read_key(view_file) == read_key(graph_file(settings))
        written = view_file.stat().st_mtime_ns
        again = load_graph(stores, graph_file(settings))
        assert again is not None and view_file.stat().st_mtime_ns == written
        assert isinstance(again.view.arrays.entity_blob, np.memmap)
        assert answers(again.view) == answers(first.view)
        assert list(again.view.entities) == list(entities)
        question = "Who wrote on the engine?"
        hits = again.communities.search(question, 2)
        assert hits == first.communities.search(question, 2)
        assert hits and hits[0].community == communities[0]
        in_memory = load_graph(stores)
        assert in_memory is not None and answers(in_memory.view) == answers(first.view)
        size = view_file.stat().st_size
        damaged_copy = tmp_path / "damaged"  # a new file: the loads before keep their pages
        damaged_copy.write_bytes(view_file.read_bytes()[:-8])
        damaged_copy.replace(view_file)  # damaged: rebuilt, not trusted
        damaged = load_graph(stores, graph_file(settings))
        assert damaged is not None and answers(damaged.view) == answers(first.view)
        assert view_file.stat().st_size == size  # written again, whole
        assert isinstance(damaged.view.arrays.entity_blob, np.memmap)
        stores.graph.replace_graph(KnowledgeGraph(entities[:2], relations, ()), "fp-2")
        after = load_graph(stores, graph_file(settings))
        assert after is not None and [e.name for e in after.view.entities] == \
            ["Ada Lovelace", "Analytical Engine"]
        assert after.view.community("k1") is None and len(after.communities) == 0
        # the view loaded before the change keeps answering from the graph it mapped
        assert again.view.community("k1") == communities[0]
        assert [e.name for e in again.view.entities] == [e.name for e in entities]
    finally:
        stores.close()


class CountingGraphStore:
    """The real graph store, with every ``load_graph`` call counted (a delegate, not a mock)."""

    def __init__(self, store: object) -> None:
        self.store = store
        self.loads = 0

    def load_graph(self) -> KnowledgeGraph | None:
        self.loads += 1
        return self.store.load_graph()  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_a_later_load_maps_both_files_without_reading_the_graph(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, embedder="hashing")
    stores = open_stores(settings)
    try:
        graph = sample_graph()
        stores.graph.replace_graph(graph, "fp-1")
        counting = CountingGraphStore(stores.graph)
        counted = replace(stores, graph=counting)
        first = load_graph(counted, graph_file(settings))
        assert first is not None and counting.loads == 1
        later = load_graph(counted, graph_file(settings))
        assert later is not None and counting.loads == 1  # mapped: the graph was not read
        assert isinstance(later.view.arrays.indptr, np.memmap)
        assert later.counts == first.counts == {"entities": len(graph.entities),
                                                 "relations": len(graph.relations),
                                                 "communities": len(graph.communities)}
        assert list(later.view.entities) == list(graph.entities)
        graph_file(settings).with_name(VIEW_FILE).unlink()  # one file missing: read, written
        rebuilt = load_graph(counted, graph_file(settings))
        assert rebuilt is not None and counting.loads == 2
        assert list(rebuilt.view.relations) == list(graph.relations)
    finally:
        stores.close()
