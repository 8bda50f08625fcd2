"""The graph API reads the graph each store loads: the same graph written to the embedded
SQLite store, to a real FalkorDB, and to the Neo4j store (over FalkorDB's Bolt mode, portable
Cypher only) comes back as a view that searches, walks and exports exactly alike, a deleted
document hidden or not."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graphready.explore.export import graphml
from graphready.explore.view import GraphView
from graphready.stores.base import GraphStore
from graphready.stores.falkordb.graph import FalkorGraphStore
from graphready.stores.neo4j.graph import Neo4jGraphStore
from graphready.stores.sqlite.graph import SqliteGraphStore
from support.falkordb_server import FalkorDBServer
from support.graph_data import CHUNK_DOCS, HUB, sample_graph

Opener = Callable[[FalkorDBServer, Path], GraphStore]


def _sqlite(server: FalkorDBServer, tmp: Path) -> GraphStore:
    return SqliteGraphStore(tmp / "graph.db")


def _falkordb(server: FalkorDBServer, tmp: Path) -> GraphStore:
    return FalkorGraphStore(server.host, server.port, f"g{uuid.uuid4().hex[:8]}")


def _neo4j(server: FalkorDBServer, tmp: Path) -> GraphStore:
    return server.open_over_bolt(lambda: Neo4jGraphStore(
        server.bolt_uri, None, None, batch_size=50, neo4j_features=False,
        namespace=f"t{uuid.uuid4().hex}_", connect_timeout_s=2))


@pytest.fixture(scope="module")
def server() -> Iterator[FalkorDBServer]:
    with FalkorDBServer(bolt=True) as started:
        yield started


def _summary(view: GraphView) -> tuple[object, ...]:
    hub = view.position(HUB)
    assert hub is not None
    sub = view.subgraph(hub, hops=2, limit=7, max_edges=20)
    return (
        [view.entities[p].id for p in view.search("amel", None, 0, 10).items],
        [view.entities[p].id for p in view.search("", None, 0, 20).items],
        [view.entities[n].id for n in sub.nodes], [(r.source, r.target) for r in sub.edges],
        [c.id for c in view.list_communities(None)],
        b"".join(graphml(view)),
    )


@pytest.mark.parametrize("opener", [_sqlite, _falkordb, _neo4j], ids=["sqlite", "falkordb",
                                                                     "neo4j-bolt"])
def test_every_store_gives_the_same_view(opener: Opener, server: FalkorDBServer,
                                         tmp_path: Path) -> None:
    graph = sample_graph(spokes=8)  # FalkorDB's Bolt mode refuses parameters over ~4 KB
    store = opener(server, tmp_path)
    try:
        store.replace_graph(graph, "fingerprint")
        loaded = store.load_graph()
    finally:
        store.close()
        if opener is _neo4j:
            server.absorb_bolt_goodbyes()
    assert loaded is not None
    assert _summary(GraphView(loaded, CHUNK_DOCS)) == _summary(GraphView(graph, CHUNK_DOCS))
    hidden = frozenset({"doc-1"})  # a deleted document, hidden until the graph is rebuilt
    shown = GraphView(loaded, CHUNK_DOCS).visible(hidden)
    assert _summary(shown) == _summary(GraphView(graph, CHUNK_DOCS).visible(hidden))
    assert b"doc-1" not in b"".join(graphml(shown)) and len(shown.entities) < len(graph.entities)
