"""The Neo4j vector store beyond the contract suite, through the official driver against a real
FalkorDB server's Bolt mode (portable statements only: exact search in Cypher), and
``GRAPHREADY_VECTOR_URL`` with a Neo4j scheme."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphready.errors import ConfigError, StoreError
from graphready.stores.neo4j.graph import Neo4jGraphStore
from graphready.stores.neo4j.vector import Neo4jVectorStore
from graphready.stores.registry import open_vector_store
from support.falkordb_server import FalkorDBServer, free_port

Opener = Callable[..., Any]


@pytest.fixture(scope="module")
def server() -> Iterator[FalkorDBServer]:
    with FalkorDBServer(bolt=True) as started:
        yield started


@pytest.fixture
def open_store(server: FalkorDBServer) -> Iterator[Opener]:
    """Opens stores (the vector store, or another kind) on one fresh namespace of the module's
    server; all closed afterwards (absorbing the server's GOODBYE defect)."""
    namespace = f"t{uuid.uuid4().hex}_"
    opened: list[Any] = []

    def factory(kind: type[Any] = Neo4jVectorStore, **options: Any) -> Any:
        settings: dict[str, Any] = {"batch_size": 50, "neo4j_features": False,
                                    "namespace": namespace, "connect_timeout_s": 2, **options}
        opened.append(server.open_over_bolt(
            lambda: kind(server.bolt_uri, None, None, **settings)))
        return opened[-1]

    yield factory
    for store in opened:
        store.close()
    server.absorb_bolt_goodbyes()


def _unit(dim: int, *values: float) -> np.ndarray[Any, np.dtype[np.float32]]:
    v = np.zeros(dim, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def test_shares_a_namespace_with_the_graph_store(open_store: Opener) -> None:
    """On one database (GRAPHREADY_GRAPH_URL and GRAPHREADY_VECTOR_URL naming the same Neo4j),
    the two stores keep apart: their own fingerprints, their own build leases."""
    vectors = open_store()
    graph = open_store(Neo4jGraphStore)
    vectors.set_model_id("m")
    vectors.add(["a"], np.vstack([_unit(4, 1)]))
    vectors.mark_synced("fp-vectors")
    graph.mark_synced("fp-graph")
    assert (vectors.synced_fingerprint(), graph.synced_fingerprint()) == ("fp-vectors", "fp-graph")
    assert vectors.acquire_lease("vector-builder", 60, "vectors", 1, 2)
    assert graph.acquire_lease("graph-builder", 60, "graph.extract", 3, 4)
    vector_lease, graph_lease = vectors.current_lease(), graph.current_lease()
    assert vector_lease is not None and vector_lease.owner == "vector-builder"
    assert graph_lease is not None and graph_lease.owner == "graph-builder"
    assert graph.ids() == set() and vectors.ids() == {"a"}


def test_namespaces_do_not_see_each_other(open_store: Opener) -> None:
    one = open_store()
    other = open_store(namespace=f"o{uuid.uuid4().hex}_")
    one.set_model_id("m")
    one.add(["a", "b"], np.vstack([_unit(4, 1), _unit(4, 0, 1)]))
    assert other.ids() == set() and other.model_id() is None
    assert other.search(_unit(4, 1), 3) == []
    assert [hit.chunk_id for hit in one.search(_unit(4, 1), 3)] == ["a", "b"]


def test_ids_with_quotes_round_trip(open_store: Opener) -> None:
    """The Bolt mode splices strings into the query: the store's hex encoding keeps them."""
    store = open_store()
    ids = ["it's", 'say "x"', "back\\", "ünïcode → ok"]
    store.add(ids, np.vstack([_unit(4, 1, n) for n in range(len(ids))]))
    assert store.ids() == set(ids)
    store.remove(["it's"])
    assert store.ids() == set(ids[1:])


def test_a_vector_over_the_parameter_limit_is_refused_not_sent(open_store: Opener) -> None:
    """The Bolt mode crashes on parameters over about 4 KB, as a 384-dimension vector would
    be: the store refuses it first, and the server stays up."""
    store = open_store()
    with pytest.raises(StoreError, match="parameter limit"):
        store.add(["wide"], np.vstack([_unit(384, *np.linspace(0.1, 1.0, 384))]))
    store.add(["small"], np.vstack([_unit(4, 1)]))
    assert store.search(_unit(4, 1), 1)[0].chunk_id == "small"


def test_many_vectors_are_written_in_batches_and_deleted_on_a_model_change(
    open_store: Opener,
) -> None:
    store = open_store(batch_size=7)
    rng = np.random.default_rng(3)
    ids = [f"c{i:03d}" for i in range(120)]
    store.set_model_id("m1")
    store.add(ids, rng.normal(size=(120, 4)).astype(np.float32))
    assert store.ids() == set(ids)
    store.set_model_id("m2")
    assert store.ids() == set() and store.model_id() == "m2"


def test_closed_store_and_bad_arguments(open_store: Opener) -> None:
    store = open_store()
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.ids()
    with pytest.raises(ValueError, match="namespace"):
        open_store(namespace="bad name")
    with pytest.raises(ValueError, match="batch_size"):
        open_store(batch_size=0)


# -- GRAPHREADY_VECTOR_URL -------------------------------------------------------------------


def test_bolt_url_opens_the_neo4j_vector_store(server: FalkorDBServer, tmp_path: Path) -> None:
    """A bolt:// URL opens the Neo4j vector store with its Neo4j-only schema, which a FalkorDB
    Bolt server refuses: a ConfigError naming the setting and the URI, after a real connection
    and handshake."""
    with pytest.raises(ConfigError, match=rf"GRAPHREADY_VECTOR_URL.*{server.bolt_uri}: "
                                          "cannot prepare the vector store"):
        server.open_over_bolt(lambda: open_vector_store(f"{server.bolt_uri}/neo4j", tmp_path))
    server.absorb_bolt_goodbyes()


@pytest.mark.parametrize("scheme", ["neo4j", "bolt", "neo4j+s", "bolt+s"])
def test_unreachable_neo4j_url_names_the_setting_not_the_password(
    scheme: str, tmp_path: Path,
) -> None:
    port = free_port()
    with pytest.raises(ConfigError, match=rf"GRAPHREADY_VECTOR_URL.*{port}") as caught:
        open_vector_store(f"{scheme}://neo4j:hunter2@127.0.0.1:{port}/neo4j", tmp_path)
    assert "hunter2" not in str(caught.value)
    assert not (tmp_path / "vectors.db").exists(), "no local copy"


@pytest.mark.parametrize(("url", "reason"), [
    ("neo4j://h:1/two/parts", "one Neo4j database name"),
    ("bolt://user@h:1", "needs a password"),
    ("redis://h:1/g", "unknown scheme"),
    ("falkordb://h:1/bad%20name", "graph name"),
])
def test_malformed_vector_urls_are_config_errors(url: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        open_vector_store(url, tmp_path)
    assert caught.value.setting == "GRAPHREADY_VECTOR_URL"


def test_neo4j_vector_url_without_the_package_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "graphready.stores.neo4j.vector", None)
    with pytest.raises(ConfigError, match=r"GRAPHREADY_VECTOR_URL.*neo4j package"):
        open_vector_store("bolt://localhost:7687", tmp_path)
