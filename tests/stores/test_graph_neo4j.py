"""The Neo4j graph store beyond the contract suite, through the official driver against a real
FalkorDB server's Bolt mode (portable statements only; see ``stores/neo4j/graph.py``'s docstring
for the defects worked around there)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

from graphready.errors import StoreError
from graphready.knowledge import (
    ChunkExtraction,
    Community,
    Entity,
    KnowledgeGraph,
    Mention,
    Relation,
)
from graphready.stores.neo4j.graph import Neo4jGraphStore
from graphready.stores.sqlite.graph import SqliteGraphStore
from support.falkordb_server import FalkorDBServer, free_port

Opener = Callable[..., Neo4jGraphStore]


@pytest.fixture(scope="module")
def server() -> Iterator[FalkorDBServer]:
    with FalkorDBServer(bolt=True) as started:
        yield started


@pytest.fixture
def open_store(server: FalkorDBServer) -> Iterator[Opener]:
    """Opens handles on one fresh namespace of the module's server; all closed afterwards
    (absorbing the server's GOODBYE defect)."""
    namespace = f"t{uuid.uuid4().hex}_"
    opened: list[Neo4jGraphStore] = []

    def factory(**options: Any) -> Neo4jGraphStore:
        settings: dict[str, Any] = {"batch_size": 50, "neo4j_features": False,
                                    "namespace": namespace, "connect_timeout_s": 2, **options}
        opened.append(server.open_over_bolt(
            lambda: Neo4jGraphStore(server.bolt_uri, None, None, **settings)))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()
    server.absorb_bolt_goodbyes()


def _query(server: FalkorDBServer, statement: str) -> list[list[Any]]:
    driver = neo4j.GraphDatabase.driver(server.bolt_uri, auth=None,
                                        connection_acquisition_timeout=2)
    try:
        with driver.session() as session:  # a managed read: retried past a stuck handshake
            return session.execute_read(
                lambda tx: [record.values() for record in tx.run(statement)])
    finally:
        driver.close()
        server.absorb_bolt_goodbyes()


def _graph(tag: str, entities: int, per_entity: int) -> KnowledgeGraph:
    ids = [f"{tag}{i:05d}" for i in range(entities)]
    return KnowledgeGraph(
        tuple(Entity(i, f"name {i}", "ORG", (f"c{n % 97}",)) for n, i in enumerate(ids)),
        tuple(Relation(ids[n], ids[n + k], "related_to", k / 3, (f"c{n % 89}",))
              for n in range(entities) for k in range(1, per_entity + 1) if n + k < entities),
        (Community(f"{tag}-top", 0, None, tuple(ids[:10]), "Top", "Summary.", ()),),
    )


def test_counts_and_graph_match_sqlite(open_store: Opener, tmp_path: Path) -> None:
    store, sqlite = open_store(), SqliteGraphStore(tmp_path / "graph.sqlite3")
    try:
        assert store.counts() == sqlite.counts()
        graph = _graph("e", 300, 3)
        store.replace_graph(graph, "fp")
        sqlite.replace_graph(graph, "fp")
        assert store.counts() == sqlite.counts() == {
            "entities": 300, "relations": 894, "communities": 1}
        assert store.load_graph() == sqlite.load_graph() == graph
    finally:
        sqlite.close()


def test_only_the_published_version_is_kept(
    server: FalkorDBServer, open_store: Opener,
) -> None:
    store = open_store()
    for n in range(4):
        store.replace_graph(_graph("x", n + 2, 1), f"fp-{n}")
    ns = store.namespace
    rows = _query(server, f"MATCH (n) WHERE n:{ns}Entity OR n:{ns}Community OR n:{ns}Version "
                          "RETURN DISTINCT n.v")
    assert rows == [[4]]
    assert _query(server, f"MATCH ()-[r:{ns}RELATED]->() RETURN DISTINCT r.v") == [[4]]
    assert store.load_graph() == _graph("x", 5, 1)


def test_dangling_relation_and_duplicates_are_refused(open_store: Opener) -> None:
    store = open_store()
    good = _graph("y", 3, 1)
    store.replace_graph(good, "fp-1")
    for broken, reason in [
        (KnowledgeGraph(good.entities, (*good.relations,
                                        Relation("y00000", "nobody", "knows", 1.0, ()))),
         "nobody"),
        (KnowledgeGraph(good.entities + good.entities[:1]), "duplicate entity"),
        (KnowledgeGraph(good.entities, good.relations + good.relations[:1]), "duplicate rel"),
        (KnowledgeGraph((), (), good.communities * 2), "duplicate community"),
    ]:
        with pytest.raises(StoreError, match=reason):
            store.replace_graph(broken, "fp-2")
    assert store.load_graph() == good
    assert store.synced_fingerprint() == "fp-1"


def test_concurrent_writers_leave_one_whole_graph(open_store: Opener) -> None:
    stores = [open_store() for _ in range(3)]
    graphs = [_graph(tag, 20 + n, 2) for n, tag in enumerate("xyz")]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(4):
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
    assert sum(stores[0].counts().values()) == sum(
        len(part) for part in (loaded.entities, loaded.relations, loaded.communities))


@pytest.mark.parametrize("text", ["O'Brien", "x' RETURN 1 //", "ends with \\", "\\'", "\x00z"])
def test_strings_the_server_would_splice_round_trip(open_store: Opener, text: str) -> None:
    """FalkorDB's Bolt mode writes string parameters into the query unescaped: a quote breaks
    the query (or injects Cypher) and a trailing backslash hangs it. Hex-encoded, they are
    stored and read back exactly."""
    store = open_store()
    graph = KnowledgeGraph((Entity(text, text, text, (text,)),),
                           communities=(Community(text, 0, text, (text,), text, text, ()),))
    store.replace_graph(graph, text)
    store.add_extractions([ChunkExtraction(text, (Mention(text, text, text),), ())])
    assert store.load_graph() == graph
    assert store.synced_fingerprint() == text
    assert store.ids() == {text}


def test_a_value_over_the_parameter_limit_is_refused_not_sent(open_store: Opener) -> None:
    """The server crashes on parameters over about 4 KB: the store refuses them first."""
    store = open_store()
    huge = Entity("big", "n" * 5000, "ORG", ())
    with pytest.raises(StoreError, match="parameter limit"):
        store.replace_graph(KnowledgeGraph((huge,)), "fp")
    with pytest.raises(StoreError, match="over this server's limit"):
        store.mark_synced("f" * 3000)
    store.replace_graph(_graph("z", 3, 1), "fp-ok")  # the server is still up
    assert store.load_graph() == _graph("z", 3, 1)


def test_namespaces_do_not_see_each_other(server: FalkorDBServer, open_store: Opener) -> None:
    one = open_store()
    other = server.open_over_bolt(lambda: Neo4jGraphStore(
        server.bolt_uri, None, None, neo4j_features=False, namespace=f"o{uuid.uuid4().hex}_",
        connect_timeout_s=2))
    try:
        one.replace_graph(_graph("a", 3, 1), "fp-a")
        one.add_extractions([ChunkExtraction("c1", (), ())])
        assert other.load_graph() is None and other.ids() == set()
        assert other.synced_fingerprint() is None
    finally:
        other.close()
        server.absorb_bolt_goodbyes()


def test_closed_store_and_bad_arguments(open_store: Opener) -> None:
    store = open_store()
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.load_graph()
    with pytest.raises(ValueError, match="namespace"):
        open_store(namespace="bad name")
    with pytest.raises(ValueError, match="batch_size"):
        open_store(batch_size=0)


def test_neo4j_only_schema_fails_on_falkordb_as_a_store_error(server: FalkorDBServer) -> None:
    with pytest.raises(StoreError, match=rf"bolt://127\.0\.0\.1:{server.bolt_port}.*schema"):
        server.open_over_bolt(lambda: Neo4jGraphStore(
            server.bolt_uri, None, None, namespace="neo4jonly_", connect_timeout_s=2))
    server.absorb_bolt_goodbyes()


def test_unreachable_server_names_the_uri_not_the_password() -> None:
    port = free_port()
    with pytest.raises(StoreError, match=rf"bolt://127\.0\.0\.1:{port}: cannot connect") as caught:
        Neo4jGraphStore(f"bolt://127.0.0.1:{port}", None, ("neo4j", "hunter2"))
    assert "hunter2" not in str(caught.value)
