"""``GRAPHREADY_GRAPH_URL``: which graph store a URL names, and every malformed URL refused as a
config error naming the setting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from graphready.errors import ConfigError, StoreError
from graphready.knowledge import Entity, KnowledgeGraph
from graphready.stores.falkordb.graph import FalkorGraphStore
from graphready.stores.registry import GraphUrl, open_graph_store, parse_graph_url
from graphready.stores.sqlite.graph import SqliteGraphStore
from support.falkordb_server import FalkorDBServer, free_port


def test_parse_good_urls() -> None:
    assert parse_graph_url("falkordb://localhost:6379/graphready") == GraphUrl(
        "localhost", 6379, "graphready")
    assert parse_graph_url(" falkordb://:s%40cret@10.0.0.5:7000/my-graph_1 ") == GraphUrl(
        "10.0.0.5", 7000, "my-graph_1", None, "s@cret")
    assert parse_graph_url("falkordb://user:pw@[::1]:7000/g") == GraphUrl(
        "::1", 7000, "g", "user", "pw")


@pytest.mark.parametrize(("url", "reason"), [
    ("redis://localhost:6379/g", "unknown scheme 'redis'"),
    ("localhost:6379/g", "unknown scheme"),
    ("", "unknown scheme ''"),
    ("falkordb://localhost/g", "no port"),
    ("falkordb://localhost:/g", "no port"),
    ("falkordb://localhost:notaport/g", "not a valid URL"),
    ("falkordb://localhost:99999/g", "not a valid URL"),
    ("falkordb://:6379/g", "no host"),
    ("falkordb://localhost:6379", "one graph name"),
    ("falkordb://localhost:6379/", "one graph name"),
    ("falkordb://localhost:6379/a/b", "one graph name"),
    ("falkordb://localhost:6379/g?x=1", "no query"),
])
def test_malformed_urls_are_config_errors(url: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        open_graph_store(url, tmp_path)
    assert caught.value.setting == "GRAPHREADY_GRAPH_URL"
    assert "GRAPHREADY_GRAPH_URL" in str(caught.value)


def test_invalid_graph_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"GRAPHREADY_GRAPH_URL.*graph name"):
        open_graph_store("falkordb://localhost:6379/bad%20name", tmp_path)


def test_error_never_repeats_the_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_graph_store("falkordb://:hunter2@localhost/g", tmp_path)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(parse_graph_url("falkordb://:hunter2@h:1/g"))


def test_no_url_is_the_sqlite_store(tmp_path: Path) -> None:
    store = open_graph_store(None, tmp_path / "data")
    try:
        assert isinstance(store, SqliteGraphStore)
        assert (tmp_path / "data" / "graph.db").exists()
    finally:
        store.close()


def test_falkordb_url_opens_the_server_store(tmp_path: Path) -> None:
    graph = KnowledgeGraph((Entity("e1", "One", "ORG", ("c1",)),))
    with FalkorDBServer(password="p@ss:word") as server:
        store = open_graph_store(
            f"falkordb://:p%40ss%3Aword@{server.host}:{server.port}/graphready", tmp_path)
        try:
            assert isinstance(store, FalkorGraphStore)
            assert store.graph == "graphready"
            store.replace_graph(graph, "fp")
        finally:
            store.close()
        again = FalkorGraphStore(server.host, server.port, "graphready", "p@ss:word")
        try:
            assert again.load_graph() == graph
        finally:
            again.close()
        with pytest.raises(StoreError, match=f"{server.host}:{server.port}"):
            FalkorGraphStore(server.host, server.port, "graphready", "wrong")
        with pytest.raises(StoreError, match=f"{server.host}:{server.port}"):
            FalkorGraphStore(server.host, server.port, "graphready")


def test_falkordb_url_to_a_dead_port_is_a_store_error(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        open_graph_store(f"falkordb://127.0.0.1:{port}/g", tmp_path)


# -- Neo4j (neo4j://, neo4j+s://, bolt://, bolt+s://) -----------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("neo4j://localhost:7687/neo4j", GraphUrl("localhost", 7687, "neo4j", scheme="neo4j")),
    ("bolt://db.example:7000", GraphUrl("db.example", 7000, "", scheme="bolt")),
    ("bolt+s://db.example/", GraphUrl("db.example", 7687, "", scheme="bolt+s")),
    ("neo4j+s://u%40x:p%3Aw@h:1/my.db-2",
     GraphUrl("h", 1, "my.db-2", "u@x", "p:w", scheme="neo4j+s")),
    (" bolt://:pw@[::1]:7687 ", GraphUrl("::1", 7687, "", None, "pw", scheme="bolt")),
])
def test_parse_neo4j_urls(url: str, expected: GraphUrl) -> None:
    assert parse_graph_url(url) == expected


def test_neo4j_url_parts() -> None:
    where = parse_graph_url("neo4j+s://alice:secret@[::1]:7000/graphs")
    assert where.is_neo4j
    assert where.neo4j_uri == "neo4j+s://[::1]:7000"
    assert where.neo4j_auth == ("alice", "secret")
    assert parse_graph_url("bolt://:pw@h:1").neo4j_auth == ("neo4j", "pw")
    assert parse_graph_url("bolt://h:1").neo4j_auth is None
    assert not parse_graph_url("falkordb://h:1/g").is_neo4j
    assert "secret" not in repr(where)


@pytest.mark.parametrize(("url", "reason"), [
    ("neo4j://:7687/db", "no host"),
    ("bolt://h:1/a/b", "one Neo4j database name"),
    ("bolt://h:1/bad%20name", "one Neo4j database name"),
    ("bolt://alice@h:1", "needs a password"),
    ("neo4j://h:1/db?x=1", "no query"),
    ("neo4j+ssc://h:1/db", "unknown scheme 'neo4j\\+ssc'"),
    ("bolt://h:99999", "not a valid URL"),
])
def test_malformed_neo4j_urls_are_config_errors(url: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        open_graph_store(url, tmp_path)
    assert caught.value.setting == "GRAPHREADY_GRAPH_URL"


def test_neo4j_url_without_the_package_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "graphready.stores.neo4j.graph", None)
    with pytest.raises(ConfigError, match=r"GRAPHREADY_GRAPH_URL.*neo4j package"):
        open_graph_store("bolt://localhost:7687", tmp_path)


def test_neo4j_url_to_a_dead_port_is_a_store_error(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(StoreError, match=rf"bolt://127\.0\.0\.1:{port}") as caught:
        open_graph_store(f"bolt://neo4j:hunter2@127.0.0.1:{port}/neo4j", tmp_path)
    assert "hunter2" not in str(caught.value)


def test_bolt_url_opens_the_neo4j_store(tmp_path: Path) -> None:
    """A bolt:// URL opens the Neo4j store with its Neo4j-only schema, which a FalkorDB Bolt
    server refuses: a StoreError naming the URI, after a real connection and handshake."""
    with FalkorDBServer(bolt=True) as server, pytest.raises(
            StoreError, match=rf"{server.bolt_uri}: cannot prepare the schema"):
        server.open_over_bolt(lambda: open_graph_store(f"{server.bolt_uri}/neo4j", tmp_path))
