"""``GRAPHREADY_GRAPH_URL``: which graph store a URL names, and every malformed URL refused as a
config error naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphready.errors import ConfigError, StoreError
from graphready.knowledge import Entity, KnowledgeGraph
from graphready.stores.graph_falkordb import FalkorGraphStore
from graphready.stores.graph_sqlite import SqliteGraphStore
from graphready.stores.registry import GraphUrl, open_graph_store, parse_graph_url
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
