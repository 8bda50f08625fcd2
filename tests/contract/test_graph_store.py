"""Contract suite for :class:`~graphready.stores.base.GraphStore` implementations. Every
backend runs the same tests: add one more parameter to ``IMPLEMENTATIONS``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

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
from graphready.stores.falkordb.graph import FalkorGraphStore
from graphready.stores.neo4j.graph import Neo4jGraphStore
from graphready.stores.sqlite.graph import SqliteGraphStore
from support.falkordb_server import FalkorDBServer, free_port
from support.lease_contract import (  # noqa: F401 (the lease contract, run here too)
    test_expired_lease_is_free,
    test_free_lease_is_taken_and_refused_to_others,
    test_holder_renews_and_reports_progress,
    test_racing_takers_get_the_lease_once,
    test_release_frees_only_the_holders_lease,
)

Factory = Callable[[], GraphStore]


@pytest.fixture(scope="module")
def falkordb_server() -> Iterator[FalkorDBServer]:
    """One real FalkorDB server for the module; each test uses its own graph name in it."""
    with FalkorDBServer() as server:
        yield server


@pytest.fixture(scope="module")
def falkordb_bolt_server() -> Iterator[FalkorDBServer]:
    """One real FalkorDB server with its Bolt listener, for the Neo4j store through the official
    driver. It ignores the database name (one graph), so each test uses its own namespace."""
    with FalkorDBServer(bolt=True) as server:
        yield server


def _sqlite(request: pytest.FixtureRequest, directory: Path) -> Factory:
    return lambda: SqliteGraphStore(directory / "graph.sqlite3")


def _falkordb(request: pytest.FixtureRequest, directory: Path) -> Factory:
    server: FalkorDBServer = request.getfixturevalue("falkordb_server")
    name = f"test-{uuid.uuid4().hex}"
    return lambda: FalkorGraphStore(server.host, server.port, name)


class BoltTestStore(Neo4jGraphStore):
    """The Neo4j store on a FalkorDB Bolt server (portable statements only, hex-encoded
    strings, batches of 50 rows), in its own namespace; closing it absorbs the server's
    GOODBYE defect (see :meth:`FalkorDBServer.absorb_bolt_goodbyes`)."""

    def __init__(self, server: FalkorDBServer, namespace: str) -> None:
        super().__init__(server.bolt_uri, None, None, batch_size=50, neo4j_features=False,
                         namespace=namespace, connect_timeout_s=2)
        self._server = server

    def close(self) -> None:
        super().close()
        self._server.absorb_bolt_goodbyes()


def _neo4j_over_falkordb_bolt(request: pytest.FixtureRequest, directory: Path) -> Factory:
    server: FalkorDBServer = request.getfixturevalue("falkordb_bolt_server")
    namespace = f"t{uuid.uuid4().hex}_"
    return lambda: server.open_over_bolt(lambda: BoltTestStore(server, namespace))


IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest, Path], Factory]] = {
    "sqlite": _sqlite,
    "falkordb": _falkordb,
    "neo4j-falkordb-bolt": _neo4j_over_falkordb_bolt,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A function that opens (another handle on) one fresh store; all handles are closed."""
    opened: list[GraphStore] = []
    make = IMPLEMENTATIONS[request.param](request, tmp_path)

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


def test_values_round_trip_exactly(open_store: Factory) -> None:
    store = open_store()
    odd = 'quote " backslash \\ \\" newline\n tab\t “curly” émoji 🙂 {brace} $dollar `tick`'
    entities = (Entity("b", odd, "CONCEPT", ("c2", "c1", "c2")), Entity("a", "", "X", ()))
    relations = (Relation("a", "b", odd, 0.1 + 0.2, ("c9", "c1")),
                 Relation("b", "a", "w", 1e-7, ()))
    communities = (Community("k", 3, "parent-k", ("b", "a"), odd, odd, ("c3",)),)
    store.replace_graph(KnowledgeGraph(entities, relations, communities), odd)
    extraction = ChunkExtraction(odd, (Mention(odd, odd, odd),),
                                 (ExtractedRelation(odd, odd, odd),))
    store.add_extractions([extraction])
    expected = KnowledgeGraph(
        (Entity("b", odd, "CONCEPT", ("c1", "c2")), entities[1]),
        (relations[0], relations[1]),
        communities)
    assert store.load_graph() == expected
    assert store.synced_fingerprint() == odd
    assert list(store.iter_extractions()) == [extraction]
    assert store.ids() == {odd}


def test_descriptions_and_ratings_round_trip(open_store: Factory) -> None:
    store = open_store()
    text = 'She "discovered" radium\nin 1898 — 🙂 {x} \\ `y`'
    graph = KnowledgeGraph(
        (Entity("a", "Marie Curie", "PERSON", ("c1",), text), Entity("b", "Radium", "X", ())),
        (Relation("a", "b", "related_to", 1.8, ("c1",), text),),
        (Community("k", 0, None, ("a", "b"), "Curie", "Summary.", ("c1",), 7.5),
         Community("j", 1, "k", ("a",), "Marie", "Child.", (), 0.0)))
    store.replace_graph(graph, "fp-1")
    extractions = [
        ChunkExtraction("c1", (Mention("Marie Curie", "marie curie", "PERSON", text),
                               Mention("Radium", "radium", "CONCEPT")),
                        (ExtractedRelation("marie curie", "radium", "related_to", text, 1.8),
                         ExtractedRelation("radium", "marie curie", "x", "", 0.4),
                         ExtractedRelation("radium", "marie curie", "y", "only text"))),
        _extraction("c2")]
    store.add_extractions(extractions)
    assert store.load_graph() == graph
    assert list(store.iter_extractions()) == extractions


def test_extractor_id_change_clears_extractions_only(open_store: Factory) -> None:
    store = open_store()
    assert store.extractor_id() is None
    store.add_extractions([_extraction("a"), _extraction("b")])
    store.replace_graph(_graph("x"), "fp-1")
    store.set_extractor_id("llm:model-a:v1")
    assert store.extractor_id() == "llm:model-a:v1"
    assert store.ids() == set()
    assert store.load_graph() == _graph("x")
    assert store.synced_fingerprint() is None
    store.mark_synced("fp-2")
    store.add_extractions([_extraction("c")])
    store.set_extractor_id("llm:model-a:v1")  # the same one: nothing changes
    assert store.ids() == {"c"} and store.synced_fingerprint() == "fp-2"
    store.close()
    again = open_store()
    assert again.extractor_id() == "llm:model-a:v1"
    again.set_extractor_id("spacy-en_core_web_sm")
    assert again.ids() == set() and again.extractor_id() == "spacy-en_core_web_sm"
    again.add_extractions([_extraction("d")])
    assert [x.chunk_id for x in again.iter_extractions()] == ["d"]


# -- FalkorDB only ---------------------------------------------------------------------------


def _big_graph(tag: str, entities: int, relations_per_entity: int) -> KnowledgeGraph:
    ids = [f"{tag}{i:06d}" for i in range(entities)]
    return KnowledgeGraph(
        tuple(Entity(i, f"name {i}", "ORG", (f"c{n % 97}",)) for n, i in enumerate(ids)),
        tuple(Relation(ids[n], ids[n + k], "related_to", float(k), (f"c{n % 89}",))
              for n in range(entities) for k in range(1, relations_per_entity + 1)
              if n + k < entities),
        (Community(f"{tag}-top", 0, None, tuple(ids[:100]), "Top", "Summary.", ()),),
    )


def _graph_names(server: FalkorDBServer) -> set[str]:
    client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
    try:
        return set(client.execute_command("GRAPH.LIST"))
    finally:
        client.close()


@pytest.fixture
def falkordb_store(falkordb_server: FalkorDBServer) -> Iterator[Callable[[], FalkorGraphStore]]:
    """Opens handles on one fresh FalkorDB store of the module's server; all closed after."""
    name = f"test-{uuid.uuid4().hex}"
    opened: list[FalkorGraphStore] = []

    def factory() -> FalkorGraphStore:
        opened.append(FalkorGraphStore(falkordb_server.host, falkordb_server.port, name))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()


def test_falkordb_graph_written_by_one_store_object_loads_in_another(
    falkordb_store: Callable[[], FalkorGraphStore],
) -> None:
    writer = falkordb_store()
    writer.add_extractions([_extraction("a"), _extraction("b", 3)])
    writer.replace_graph(_graph("x", 7), "fp-1")
    writer.close()
    writer.close()
    reader = falkordb_store()
    assert reader.load_graph() == _graph("x", 7)
    assert reader.synced_fingerprint() == "fp-1"
    assert list(reader.iter_extractions()) == [_extraction("a"), _extraction("b", 3)]
    assert reader.counts() == {"entities": 7, "relations": 6, "communities": 2}
    with pytest.raises(StoreError, match="closed"):
        writer.load_graph()


def test_falkordb_counts_match_sqlite(
    falkordb_store: Callable[[], FalkorGraphStore], tmp_path: Path,
) -> None:
    falkor, sqlite = falkordb_store(), SqliteGraphStore(tmp_path / "graph.sqlite3")
    try:
        assert falkor.counts() == sqlite.counts()
        graph = _big_graph("e", 300, 3)
        falkor.replace_graph(graph, "fp")
        sqlite.replace_graph(graph, "fp")
        assert falkor.counts() == sqlite.counts() == {
            "entities": 300, "relations": 894, "communities": 1}
        assert falkor.load_graph() == sqlite.load_graph() == graph
    finally:
        sqlite.close()


def test_falkordb_keeps_only_the_published_version(
    falkordb_server: FalkorDBServer, falkordb_store: Callable[[], FalkorGraphStore],
) -> None:
    store = falkordb_store()
    for n in range(4):
        store.replace_graph(_graph("x", n + 2), f"fp-{n}")
    name = store.graph
    assert {g for g in _graph_names(falkordb_server) if g.startswith(name)} == {
        f"{name}_extractions", f"{name}_meta", f"{name}_v4"}
    assert store.load_graph() == _graph("x", 5)


def test_falkordb_dangling_relation_is_refused(
    falkordb_store: Callable[[], FalkorGraphStore],
) -> None:
    store = falkordb_store()
    store.replace_graph(_graph("x"), "fp-1")
    good = _graph("y")
    dangling = KnowledgeGraph(
        good.entities, (*good.relations, Relation("y0000", "nobody", "knows", 1.0, ())))
    with pytest.raises(StoreError, match="nobody"):
        store.replace_graph(dangling, "fp-2")
    assert store.load_graph() == _graph("x")
    assert store.synced_fingerprint() == "fp-1"


def test_falkordb_concurrent_writers_leave_one_whole_graph(
    falkordb_server: FalkorDBServer, falkordb_store: Callable[[], FalkorGraphStore],
) -> None:
    stores = [falkordb_store() for _ in range(3)]
    graphs = [_graph(tag, 20 + n) for n, tag in enumerate("xyz")]

    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(5):
                stores[n].replace_graph(graphs[n], f"fp-{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    loaded = stores[0].load_graph()
    assert loaded is not None and loaded in graphs
    assert stores[0].synced_fingerprint() == f"fp-{graphs.index(loaded)}"
    name = stores[0].graph
    versions = {g for g in _graph_names(falkordb_server) if g.startswith(f"{name}_v")}
    assert len(versions) == 1


def test_falkordb_unreachable_server_names_host_and_port() -> None:
    port = free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        FalkorGraphStore("127.0.0.1", port, "graph")


def test_falkordb_server_stopped_mid_write_keeps_the_previous_graph(tmp_path: Path) -> None:
    """A real failure half-way through a replace: the server is stopped (saving its data)
    while the new version is being written; after a restart the old version is published."""
    with FalkorDBServer(tmp_path / "falkordb", persistent=True) as server:
        store = FalkorGraphStore(server.host, server.port, "g")
        store.replace_graph(_graph("x", 30), "fp-1")
        big = _big_graph("big", 20_000, 5)
        failure: list[BaseException] = []

        def write() -> None:
            try:
                store.replace_graph(big, "fp-2")
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=write)
        thread.start()
        deadline = time.monotonic() + 30
        while "g_v2" not in _graph_names(server):  # the new version is being written
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.002)
        server.stop()
        thread.join()
        assert len(failure) == 1 and isinstance(failure[0], StoreError)
        assert f"{server.host}:{server.port}" in str(failure[0])
        with pytest.raises(StoreError, match=f"{server.host}:{server.port}"):
            store.load_graph()
        store.close()

        server.start()
        assert "g_v2" in _graph_names(server)  # the partial version was saved, not published
        again = FalkorGraphStore(server.host, server.port, "g")
        try:
            assert again.load_graph() == _graph("x", 30)
            assert again.synced_fingerprint() == "fp-1"
            again.replace_graph(_graph("y", 4), "fp-3")
            assert again.load_graph() == _graph("y", 4)
            assert {n for n in _graph_names(server) if n.startswith("g_v")} == {"g_v3"}
        finally:
            again.close()
