"""A graph store on a server that may be down reopens itself after failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphready.errors import StoreError
from graphready.knowledge import Entity, KnowledgeGraph
from graphready.stores.reconnecting import ReconnectingGraphStore
from graphready.stores.sqlite.graph import SqliteGraphStore


def test_opens_when_the_backend_becomes_available(tmp_path: Path) -> None:
    blocker = tmp_path / "store"
    blocker.write_text("a file where the store's folder should be")
    opened: list[SqliteGraphStore] = []

    def opener() -> SqliteGraphStore:
        opened.append(SqliteGraphStore(blocker / "graph.db"))
        return opened[-1]

    store = ReconnectingGraphStore(opener, "sqlite")
    with pytest.raises(StoreError):
        store.synced_fingerprint()
    with pytest.raises(StoreError):
        store.load_graph()
    blocker.unlink()
    assert store.load_graph() is None
    graph = KnowledgeGraph(entities=(Entity("e1", "Ada", "PERSON", ("c1",)),))
    store.replace_graph(graph, "fp")
    assert store.synced_fingerprint() == "fp" and store.load_graph() == graph
    assert len(opened) == 1
    store.close()
    store.close()


def test_lease_calls_pass_through(tmp_path: Path) -> None:
    store = ReconnectingGraphStore(lambda: SqliteGraphStore(tmp_path / "graph.db"), "sqlite")
    other = SqliteGraphStore(tmp_path / "graph.db")
    assert store.acquire_lease("me", 60.0, "graph.extract", 3, 10)
    lease = other.current_lease()
    assert lease is not None and (lease.owner, lease.done, lease.total) == ("me", 3, 10)
    assert not other.acquire_lease("you", 60.0)
    store.release_lease("me")
    assert store.current_lease() is None and other.acquire_lease("you", 60.0)
    other.close()
    store.close()
