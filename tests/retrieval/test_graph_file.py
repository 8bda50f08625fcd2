"""The graph-local arrays in a memory-mapped file: a round trip answers as the in-memory index
does, a stale or damaged file is not trusted, and a file replaced under readers never shows
them a mix of two graphs."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from graphready.config import load_settings
from graphready.knowledge import Entity, KnowledgeGraph
from graphready.retrieval.graph_arrays import GraphArrays, build_arrays
from graphready.retrieval.graph_file import open_graph_file, read_key, write_graph_file
from graphready.retrieval.graph_local import GraphIndex, GraphWalk
from graphready.retrieval.loading import graph_file, load_graph
from graphready.stores.base import Hit
from graphready.stores.registry import open_stores
from support.catalog_data import apply

QUESTIONS = ("Who designed the Analytical Engine?", "Charles Babbage", "London and the Thames",
             "Where does the Thames flow?", "What did Ada Lovelace write?", "nothing named here")


def graph(names: tuple[str, ...] = ("Ada Lovelace", "Analytical Engine", "Charles Babbage",
                                    "London", "Thames")) -> KnowledgeGraph:
    chunks = (("c1", "c2"), ("c2", "c3"), ("c3",), ("c1", "c4", "c5"), ("c5",))
    types = ("PERSON", "PRODUCT", "PERSON", "GPE", "LOC")
    entities = tuple(Entity(f"e{i}", name, kind, ids)
                     for i, (name, kind, ids) in enumerate(zip(names, types, chunks, strict=True)))
    return KnowledgeGraph((*entities, Entity("e9", "notes", "CONCEPT", ("c1", "c2"))), (), ())


TITLES = {"Thames": ["c5"], "Charles Babbage (engineer)": ["c3"], "Unrelated": ["c6"]}


def answers(index: GraphIndex) -> list[object]:
    """Everything the index says about the questions and passages."""
    said: list[object] = [index.chunk_count]
    for question in QUESTIONS:
        said += [index.seeds(question), index.title_seeds(question),
                 index.titles_named(question), index.walk(question, 4),
                 index.walk(question, 3, passage_seeds=[Hit("c4", 0.5), Hit("zz", 1.0)])]
    for chunk in ("c1", "c2", "c5", "c6", "missing"):
        said += [index.names_in(chunk), index.typed_names_in(chunk)]
    return said


def test_a_mapped_file_answers_as_the_index_built_in_memory(tmp_path: Path) -> None:
    built = GraphIndex(graph(), TITLES)
    path = tmp_path / "graph.arrays"
    write_graph_file(path, build_arrays(graph(), TITLES, 3.0), "fp-1")
    arrays = open_graph_file(path, "fp-1")
    assert arrays is not None and isinstance(arrays.indptr, np.memmap)
    assert not arrays.share.flags.writeable
    mapped = GraphIndex.from_arrays(arrays)
    assert answers(mapped) == answers(built)
    assert mapped.walk("Charles Babbage", 3).hits[0].chunk_id == "c3"


def test_a_stale_damaged_or_missing_file_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "graph.arrays"
    assert open_graph_file(path, "fp") is None and read_key(path) is None
    write_graph_file(path, build_arrays(graph(), TITLES, 3.0), "fp")
    assert read_key(path) == "fp" and open_graph_file(path, "fp") is not None
    assert open_graph_file(path, "another graph") is None
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # one byte of the last array
    path.write_bytes(bytes(data))
    assert open_graph_file(path, "fp") is None
    path.write_bytes(bytes(data[:-40]))  # cut short
    assert open_graph_file(path, "fp") is None
    path.write_bytes(b"not a graph file at all")
    assert open_graph_file(path, "fp") is None and read_key(path) is None


def test_an_empty_graph_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "graph.arrays"
    write_graph_file(path, build_arrays(KnowledgeGraph(), {}, 3.0), "empty")
    arrays = open_graph_file(path, "empty")
    assert arrays is not None
    index = GraphIndex.from_arrays(arrays)
    assert index.chunk_count == 0 and index.walk("Ada Lovelace", 5) == GraphWalk([])


def test_questions_while_the_file_is_replaced_see_one_whole_graph_each(
        tmp_path: Path) -> None:
    path = tmp_path / "graph.arrays"
    graphs: dict[str, GraphArrays] = {
        "a": build_arrays(graph(), TITLES, 3.0),
        "b": build_arrays(graph(("Grace Hopper", "Harvard Mark I", "Howard Aiken", "Arlington",
                                 "Potomac")), {"Potomac": ["c5"], "Howard Aiken": ["c3"]}, 3.0)}
    expected = {key: answers(GraphIndex.from_arrays(arrays)) for key, arrays in graphs.items()}
    assert expected["a"] != expected["b"]
    write_graph_file(path, graphs["a"], "a")
    first = open_graph_file(path, "a")
    assert first is not None
    kept = GraphIndex.from_arrays(first)  # mapped before every swap, asked after them
    stop = threading.Event()
    failures: list[BaseException] = []
    seen = {"a": 0, "b": 0}

    def ask() -> None:
        try:
            while not stop.is_set():
                key = read_key(path)
                arrays = open_graph_file(path, key) if key else None
                if arrays is None:
                    continue  # replaced between the two reads: ask again
                assert answers(GraphIndex.from_arrays(arrays)) == expected[key]
                seen[key] += 1
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    readers = [threading.Thread(target=ask) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(60):
            write_graph_file(path, graphs["ab"[round_ % 2]], "ab"[round_ % 2])
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not failures, failures[0]
    assert seen["a"] + seen["b"] > 0
    assert answers(kept) == expected["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.arrays"]  # no temporary left


def test_load_graph_writes_the_file_once_maps_it_after_and_rewrites_it_for_a_new_graph(
        tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, embedder="hashing")
    stores = open_stores(settings)
    try:
        apply(stores.catalog, ".uploads/x.json", {
            "Ada Lovelace": "Ada Lovelace wrote notes on the Analytical Engine.",
            "Thames": "The Thames flows through London."})
        ids = [c.id for c in stores.catalog.iter_chunks()]
        entities = (Entity("e1", "Ada Lovelace", "PERSON", (ids[0],)),
                    Entity("e2", "Analytical Engine", "PRODUCT", (ids[0],)),
                    Entity("e3", "London", "GPE", (ids[1],)))
        stores.graph.replace_graph(KnowledgeGraph(entities, (), ()), "fp-1")
        path = graph_file(settings)
        assert not path.exists()
        first = load_graph(stores, path)
        assert first is not None and read_key(path) is not None
        written = path.stat().st_mtime_ns
        again = load_graph(stores, path)
        assert again is not None and path.stat().st_mtime_ns == written
        assert isinstance(again.local.arrays.indptr, np.memmap)
        assert answers(again.local) == answers(first.local)
        in_memory = load_graph(stores)
        assert in_memory is not None and answers(in_memory.local) == answers(first.local)
        stores.graph.replace_graph(KnowledgeGraph(entities[:1], (), ()), "fp-2")
        stale_key = read_key(path)
        after = load_graph(stores, path)
        assert read_key(path) != stale_key
        assert after is not None and after.local.names_in(ids[0]) == ["Ada Lovelace"]
        assert isinstance(after.local.arrays.indptr, np.memmap)
        # the index loaded before the change keeps answering from the graph it mapped
        assert again.local.names_in(ids[0]) == ["Ada Lovelace", "Analytical Engine"]
    finally:
        stores.close()


def test_the_same_documents_extracted_again_get_their_own_arrays(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, embedder="hashing")
    stores = open_stores(settings)
    try:
        stores.graph.replace_graph(graph(), "fp")
        first = load_graph(stores, graph_file(settings))
        assert first is not None
        assert first.local.names_in("c3") == ["Analytical Engine", "Charles Babbage"]
        stale_key = read_key(graph_file(settings))
        # a new extractor's graph of the same documents: the catalog's fingerprint is unchanged
        stores.graph.set_extractor_id("a new version of the extractor")
        stores.graph.replace_graph(graph(("Ada Byron", "Analytical Engine", "Charles Babbage",
                                          "London", "Thames")), "fp")  # the same size
        after = load_graph(stores, graph_file(settings))
        assert read_key(graph_file(settings)) != stale_key
        assert after is not None and "Ada Byron" in after.local.names_in("c1")
    finally:
        stores.close()


def test_a_graph_without_a_fingerprint_is_never_written(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, embedder="hashing")
    stores = open_stores(settings)
    try:
        stores.graph.replace_graph(graph(), "fp")
        stores.graph.set_extractor_id("another extractor")  # forgets the synced fingerprint
        assert stores.graph.synced_fingerprint() is None
        loaded = load_graph(stores, graph_file(settings))
        assert loaded is not None and not graph_file(settings).exists()
        assert loaded.local.names_in("c3") == ["Analytical Engine", "Charles Babbage"]
    finally:
        stores.close()
