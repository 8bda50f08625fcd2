"""The VectorStore contract, run against every implementation.

A new backend is one more entry in ``BACKENDS``: a function of the test's request and folder
that returns an opener, which opens (or reopens) the one store of that test.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from graphready.errors import StoreError
from graphready.stores.base import Vectors, VectorStore
from graphready.stores.falkordb.vector import FalkorVectorStore
from graphready.stores.neo4j.vector import Neo4jVectorStore
from graphready.stores.sqlite.vector import SqliteVectorStore
from support.falkordb_server import FalkorDBServer
from support.lease_contract import (  # noqa: F401 (the lease contract, run here too)
    test_expired_lease_is_free,
    test_free_lease_is_taken_and_refused_to_others,
    test_holder_renews_and_reports_progress,
    test_racing_takers_get_the_lease_once,
    test_release_frees_only_the_holders_lease,
)

Opener = Callable[[], VectorStore]


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


class BoltTestStore(Neo4jVectorStore):
    """The Neo4j vector store on a FalkorDB Bolt server (portable statements only: exact
    search in Cypher instead of Neo4j's vector index), in its own namespace; closing it absorbs
    the server's GOODBYE defect (see :meth:`FalkorDBServer.absorb_bolt_goodbyes`)."""

    def __init__(self, server: FalkorDBServer, namespace: str) -> None:
        super().__init__(server.bolt_uri, None, None, batch_size=50, neo4j_features=False,
                         namespace=namespace, connect_timeout_s=2)
        self._server = server

    def close(self) -> None:
        super().close()
        self._server.absorb_bolt_goodbyes()


def _sqlite(request: pytest.FixtureRequest, folder: Path) -> Opener:
    return lambda: SqliteVectorStore(folder / "vectors.sqlite3")


def _falkordb(request: pytest.FixtureRequest, folder: Path) -> Opener:
    server: FalkorDBServer = request.getfixturevalue("falkordb_server")
    name = f"test-{uuid.uuid4().hex}"
    return lambda: FalkorVectorStore(server.host, server.port, name)


def _neo4j_over_falkordb_bolt(request: pytest.FixtureRequest, folder: Path) -> Opener:
    server: FalkorDBServer = request.getfixturevalue("falkordb_bolt_server")
    namespace = f"t{uuid.uuid4().hex}_"
    return lambda: server.open_over_bolt(lambda: BoltTestStore(server, namespace))


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Opener]] = {
    "sqlite": _sqlite,
    "falkordb": _falkordb,
    "neo4j-falkordb-bolt": _neo4j_over_falkordb_bolt,
}
DIM = 8


@pytest.fixture(params=sorted(BACKENDS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one shared location; every store opened is closed afterwards."""
    factory = BACKENDS[request.param](request, tmp_path)
    opened: list[VectorStore] = []

    def opener() -> VectorStore:
        store = factory()
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> VectorStore:
    return open_store()


def unit(*values: float) -> Vectors:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return (v / np.linalg.norm(v)).astype(np.float32)


def rows(*vectors: Vectors) -> Vectors:
    return np.vstack(vectors).astype(np.float32)


def fill(store: VectorStore) -> None:
    store.set_model_id("model-a")
    store.add(["x", "y", "xy"], rows(unit(1), unit(0, 1), unit(1, 1)))


def test_empty_store(store: VectorStore) -> None:
    assert store.search(unit(1), 5) == []
    assert store.ids() == set()
    assert store.model_id() is None
    assert store.synced_fingerprint() is None


def test_nearest_first_with_cosine(store: VectorStore) -> None:
    fill(store)
    hits = store.search(unit(1), 2)
    assert [h.chunk_id for h in hits] == ["x", "xy"]
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[1].score == pytest.approx(float(np.sqrt(0.5)), abs=1e-5)


def test_scores_are_cosine_for_unnormalised_input(store: VectorStore) -> None:
    store.add(["a"], rows(unit(3, 4) * 10))
    assert store.search(unit(3, 4), 1)[0].score == pytest.approx(1.0, abs=1e-5)


def test_k_larger_than_count_returns_all_sorted(store: VectorStore) -> None:
    fill(store)
    hits = store.search(unit(0, 1), 100)
    assert [h.chunk_id for h in hits] == ["y", "xy", "x"]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_k_zero(store: VectorStore) -> None:
    fill(store)
    assert store.search(unit(1), 0) == []


def test_top_k_matches_brute_force(store: VectorStore) -> None:
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(500, DIM)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"c{i}" for i in range(500)]
    store.add(ids, matrix)
    query = matrix[17]
    expected = [ids[i] for i in np.argsort(-(matrix @ query))[:10]]
    assert [h.chunk_id for h in store.search(query, 10)] == expected


def test_add_replaces_existing_id(store: VectorStore) -> None:
    fill(store)
    store.search(unit(1), 1)
    store.add(["x"], rows(unit(0, 0, 1)))
    assert store.search(unit(0, 0, 1), 1)[0].chunk_id == "x"
    assert store.ids() == {"x", "y", "xy"}


def test_remove(store: VectorStore) -> None:
    fill(store)
    store.search(unit(1), 1)
    store.remove(["x", "not-there"])
    assert store.ids() == {"y", "xy"}
    assert [h.chunk_id for h in store.search(unit(1), 5)] == ["xy", "y"]
    store.remove(["y", "xy"])
    assert store.search(unit(1), 5) == []
    store.add(["z"], rows(unit(1)))
    assert [h.chunk_id for h in store.search(unit(1), 5)] == ["z"]


def test_persists_across_reopen(open_store: Opener) -> None:
    first = open_store()
    fill(first)
    first.mark_synced("fp-1")
    first.close()
    second = open_store()
    assert second.ids() == {"x", "y", "xy"}
    assert second.model_id() == "model-a"
    assert second.synced_fingerprint() == "fp-1"
    assert second.search(unit(0, 1), 1)[0].chunk_id == "y"


def test_second_store_sees_writes_after_refresh(open_store: Opener) -> None:
    writer, reader = open_store(), open_store()
    fill(writer)
    assert [h.chunk_id for h in reader.search(unit(1), 1)] == ["x"]
    writer.add(["new"], rows(unit(0, 0, 0, 1)))
    writer.remove(["x"])
    reader.refresh()
    assert reader.search(unit(0, 0, 0, 1), 1)[0].chunk_id == "new"
    assert "x" not in {h.chunk_id for h in reader.search(unit(1), 10)}
    assert reader.ids() == {"y", "xy", "new"}


def test_own_writes_after_other_writers_stay_correct(open_store: Opener) -> None:
    a, b = open_store(), open_store()
    fill(a)
    a.search(unit(1), 1)
    b.add(["from-b"], rows(unit(0, 0, 1)))
    a.add(["from-a"], rows(unit(0, 0, 0, 1)))
    found = {h.chunk_id for h in a.search(unit(1), 10)}
    assert {"from-a", "from-b"} <= found


def test_model_id_change_clears(store: VectorStore) -> None:
    fill(store)
    store.mark_synced("fp")
    store.set_model_id("model-a")
    assert store.ids() == {"x", "y", "xy"}
    assert store.synced_fingerprint() == "fp"
    store.set_model_id("model-b")
    assert store.model_id() == "model-b"
    assert store.ids() == set()
    assert store.search(unit(1), 3) == []
    assert store.synced_fingerprint() is None


def test_model_id_change_allows_new_dimension(store: VectorStore) -> None:
    fill(store)
    store.set_model_id("model-wide")
    wide = np.ones((1, DIM * 2), dtype=np.float32)
    store.add(["w"], wide)
    assert store.search(wide[0], 1)[0].chunk_id == "w"


def test_synced_fingerprint_round_trip(store: VectorStore) -> None:
    fill(store)
    store.mark_synced("abc123")
    assert store.synced_fingerprint() == "abc123"
    store.mark_synced("def456")
    assert store.synced_fingerprint() == "def456"


def test_writes_clear_synced_fingerprint(store: VectorStore) -> None:
    fill(store)
    store.mark_synced("fp")
    store.remove([])
    assert store.synced_fingerprint() == "fp"
    store.add(["q"], rows(unit(1, 2)))
    assert store.synced_fingerprint() is None
    store.mark_synced("fp2")
    store.remove(["q"])
    assert store.synced_fingerprint() is None


def test_concurrent_searches_and_writes(store: VectorStore) -> None:
    fill(store)
    errors: list[BaseException] = []

    def search_many() -> None:
        try:
            for _ in range(200):
                assert store.search(unit(1), 2)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=search_many) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(50):
        store.add([f"n{i}"], rows(unit(0, 0, 1, i)))
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.ids()) == 53


def test_other_dimension_is_refused_and_changes_nothing(store: VectorStore) -> None:
    fill(store)
    store.mark_synced("fp")
    with pytest.raises(StoreError):
        store.add(["wide"], np.ones((1, DIM * 2), dtype=np.float32))
    with pytest.raises(StoreError):
        store.search(np.ones(DIM * 2, dtype=np.float32), 1)
    assert store.ids() == {"x", "y", "xy"}
    assert store.synced_fingerprint() == "fp"


def test_a_model_change_keeps_the_build_lease(open_store: Opener) -> None:
    builder, other = open_store(), open_store()
    fill(builder)
    assert builder.acquire_lease("a", 60, "vectors", 0, 3)
    builder.set_model_id("model-b")
    lease = other.current_lease()
    assert lease is not None and (lease.owner, lease.stage, lease.total) == ("a", "vectors", 3)
    assert not other.acquire_lease("b", 60)
