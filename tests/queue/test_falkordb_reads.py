"""The FalkorDB graph store's reads of the parts a change reaches, on a real server, checked
against the graph they were written from: ids sent in batches (more ids than one batch holds),
a part read whole when it is large (``whole_from``), relations whose ends are filtered in the
client rather than by ``IN $ids`` (which FalkorDB scans once per relation: minutes on 2Wiki's
graph), and the whole-graph reads from the server's plain reply."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graphready.knowledge import Community, Entity, Relation
from graphready.stores.base import CommunityRow, GraphChange
from graphready.stores.falkordb import graph_change
from graphready.stores.falkordb.common import READ_IDS
from graphready.stores.falkordb.graph import FalkorGraphStore
from support.falkordb_server import FalkorDBServer

SIZE = READ_IDS + 250
"""More entities than one read batch sends."""
ENTITIES = tuple(Entity(f"e{n:05d}", f"Name {n}", "PERSON", (f"c{n % 7}",)) for n in range(SIZE))
RELATIONS = tuple(sorted(
    (Relation(f"e{n:05d}", f"e{(n * 7 + 3) % SIZE:05d}", "knows", float(n % 5 + 1),
              (f"c{n % 7}",)) for n in range(SIZE) if (n * 7 + 3) % SIZE != n),
    key=lambda r: (r.source, r.target)))
COMMUNITIES = tuple(
    Community(f"k{n}", 0, None, tuple(e.id for e in ENTITIES[n::10]), f"Group {n}", "summary",
              ("c1",)) for n in range(10))


@pytest.fixture
def store(falkordb: FalkorDBServer, queue_url: str) -> Iterator[FalkorGraphStore]:
    opened = FalkorGraphStore(falkordb.host, falkordb.port, "reads")
    opened.apply_graph_change(GraphChange(frozenset(), frozenset(), ENTITIES, RELATIONS,
                                          frozenset(), COMMUNITIES, (), (), full=True), "fp")
    try:
        yield opened
    finally:
        opened.close()


def expected(ids: set[str], inner: bool) -> tuple[list[Entity], list[Relation]]:
    return ([e for e in ENTITIES if e.id in ids],
            [r for r in RELATIONS if (r.source in ids and r.target in ids)
             or (not inner and (r.source in ids or r.target in ids))])


@pytest.mark.parametrize("inner", [True, False])
def test_graph_part_in_batches_and_whole_equals_the_part_written(
        store: FalkorGraphStore, inner: bool) -> None:
    ids = {e.id for e in ENTITIES if not e.id.endswith("7")} | {"unknown"}  # > one batch
    assert len(ids) > READ_IDS
    want = expected(ids, inner)
    assert want[1]  # the part has relations of both kinds to keep or leave
    assert store.graph_part(ids, inner) == want  # sent in batches
    version = store._version()
    for whole_from in (1, len(ids)):
        assert graph_change.graph_part(version, ids, RuntimeError, inner,
                                       whole_from=whole_from) == want


def test_edges_among_and_whole_and_community_rows(store: FalkorGraphStore) -> None:
    ids = {e.id for e in ENTITIES[: READ_IDS + 100]}
    among = [(r.source, r.target, r.weight) for r in RELATIONS
             if r.source in ids and r.target in ids]
    assert 0 < len(among) < len(RELATIONS)
    assert store.edges(among=ids) == among
    assert store.edges() == [(r.source, r.target, r.weight) for r in RELATIONS]
    assert sorted(store.community_rows(), key=lambda c: c.id) == sorted(
        (CommunityRow(c.id, c.level, c.parent, c.entity_ids) for c in COMMUNITIES),
        key=lambda c: c.id)
    assert [c.id for c in store.get_communities([f"k{n}" for n in range(10)])] == \
        [c.id for c in COMMUNITIES]
