"""The FalkorDB graph store's in-place updates (the ``IncrementalGraphStore`` half of
:class:`~graphready.stores.falkordb.graph.FalkorGraphStore`): the contribution index kept in
each version graph beside the graph, the reads of the parts a change reaches, and the writes of a
:class:`~graphready.stores.base.GraphChange`.

A version graph ``G_v<N>`` with an index holds, beside its entities, relations and communities,
one ``(:Contrib {chunk_id, keys, aliases})`` node per chunk it was built from (``aliases``
flattened: short, long, short, long...), one ``(:CKey {key, chunk_id})`` per key a chunk
contributes to and one ``(:CAlias {chunk_id, short, long})`` per alias it shows (both indexed,
so that a change reads only what it reaches), and one ``(:Indexed)`` node that says the index
is complete. A change is written copy-on-write: the server copies the current version
(``GRAPH.COPY``, in the server, no graph crosses the wire), the change is applied to the copy,
and the copy is published by the store's one-query pointer flip, so a load never sees a
half-applied change.

Every read of the parts a change reaches is linear in what it reads and sent in bounded
batches (:func:`~graphready.stores.falkordb.common.read_batches`), and a part that is most of
the graph is read whole in one query (:data:`WHOLE_PART_IDS`): FalkorDB runs a query on one of
its few threads to the end, and a write to a graph waits for the reads of it while holding the
whole server. Measured on 2Wiki's graph (FalkorDB 4.16): ``WHERE o.id IN $ids`` with 30,000
ids (a list scanned once per relation) ran for minutes, and a write to the same graph queued
behind such a read stopped every other client, a ``PING`` included, until the read ended.
Which of a relation's ends are among the ids asked is decided here, not in the query.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

from graphready.errors import StoreError
from graphready.extraction.contributions import Contribution
from graphready.knowledge import Community, Entity, Relation
from graphready.stores.base import CommunityRow, GraphChange
from graphready.stores.falkordb.common import (
    create_index,
    read_batches,
    read_plain,
    read_rows,
    write_batches,
)
from graphready.stores.graph_codec import community_item, decode_graph, entity_item, relation_item

Q_READY = "MATCH (x:Indexed) RETURN count(x)"
_Q_MARK_READY = "MERGE (:Indexed {key: 'contributions'})"
_Q_CHUNKS = "MATCH (c:Contrib) RETURN c.chunk_id"
_Q_CONTRIBUTIONS = ("UNWIND $ids AS id MATCH (c:Contrib {chunk_id: id}) "
                    "RETURN c.chunk_id, c.keys, c.aliases")
_Q_KEY_COUNTS = "UNWIND $keys AS k MATCH (x:CKey {key: k}) RETURN k, count(x)"
_Q_KEY_CHUNKS = "UNWIND $keys AS k MATCH (x:CKey {key: k}) RETURN DISTINCT x.chunk_id"
_Q_VOTES = "MATCH (a:CAlias) RETURN a.short, a.long, count(a)"
_Q_ITEMS = ("MATCH (e:Entity) RETURN e.data AS data "
            "UNION ALL MATCH ()-[r:RELATED]->() RETURN r.data AS data")
_Q_ENTITIES = "UNWIND $ids AS i MATCH (e:Entity {id: i}) RETURN e.data"
_Q_TOUCHING = ("UNWIND $ids AS i MATCH (e:Entity {id: i})-[r:RELATED]-() "
               "RETURN DISTINCT r.data")
_Q_OUTGOING = ("UNWIND $ids AS i MATCH (e:Entity {id: i})-[r:RELATED]->(o:Entity) "
               "RETURN o.id, r.data")
_Q_EDGES = "MATCH (a:Entity)-[r:RELATED]->(b:Entity) RETURN a.id, b.id, r.weight"
_Q_EDGES_FROM = ("UNWIND $ids AS i MATCH (a:Entity {id: i})-[r:RELATED]->(b:Entity) "
                 "RETURN a.id, b.id, r.weight")
_Q_TOTAL_WEIGHT = "MATCH ()-[r:RELATED]->() RETURN sum(r.weight)"
_Q_COMMUNITY_DATA = "MATCH (c:Community) RETURN c.data"
_Q_COMMUNITIES = "UNWIND $ids AS i MATCH (c:Community {id: i}) RETURN c.data"
_Q_ADD_CONTRIBS = ("UNWIND $rows AS row CREATE (:Contrib {chunk_id: row[0], keys: row[1], "
                   "aliases: row[2]})")
_Q_ADD_KEYS = "UNWIND $rows AS row CREATE (:CKey {key: row[0], chunk_id: row[1]})"
_Q_ADD_ALIASES = ("UNWIND $rows AS row CREATE (:CAlias {chunk_id: row[0], short: row[1], "
                  "long: row[2]})")
_Q_DROP_CHUNKS = tuple(
    f"UNWIND $rows AS id MATCH (x:{label} {{chunk_id: id}}) DELETE x"
    for label in ("Contrib", "CKey", "CAlias"))
_Q_DROP_ENTITIES = "UNWIND $rows AS i MATCH (e:Entity {id: i}) DETACH DELETE e"
_Q_DROP_RELATIONS = ("UNWIND $rows AS p MATCH (:Entity {id: p[0]})-[r:RELATED]->"
                     "(:Entity {id: p[1]}) DELETE r")
_Q_MERGE_ENTITIES = (
    "UNWIND $rows AS row MERGE (e:Entity {id: row[0]}) SET e.name = row[1], e.type = row[2], "
    "e.chunk_ids = row[3], e.data = row[4], e.description = row[5]"
)
_Q_DROP_COMMUNITIES = "UNWIND $rows AS i MATCH (c:Community {id: i}) DELETE c"
_Q_CREATE_ENTITIES = (
    "UNWIND $rows AS row CREATE (:Entity {id: row[0], name: row[1], type: row[2], "
    "chunk_ids: row[3], data: row[4], description: row[5]})"
)
_Q_CREATE_RELATIONS = (
    "UNWIND $rows AS row MATCH (a:Entity {id: row[0]}), (b:Entity {id: row[1]}) "
    "CREATE (a)-[:RELATED {label: row[2], weight: row[3], chunk_ids: row[4], data: row[5], "
    "description: row[6]}]->(b) "
    "RETURN count(*)"
)
_Q_CREATE_COMMUNITIES = (
    "UNWIND $rows AS row CREATE (:Community {id: row[0], level: row[1], parent: row[2], "
    "entity_ids: row[3], title: row[4], summary: row[5], chunk_ids: row[6], data: row[7], "
    "rating: row[8]})"
)

WHOLE_PART_IDS = 5000
"""From this many entities on, :func:`graph_part` reads every entity and relation in one query
(a plain reply) and keeps the part asked, rather than sending the ids in batches: an exact
update re-summarises about half the communities, whose members are most of the graph."""


def create_indexes(version: Any) -> None:
    """The indexes of a version graph: its items' ids and the contribution index's keys."""
    for label, attribute in (("Entity", "id"), ("Community", "id"), ("Contrib", "chunk_id"),
                             ("CKey", "key"), ("CKey", "chunk_id"), ("CAlias", "chunk_id")):
        create_index(version, label, attribute)


def write_items(version: Any, entities: Sequence[Entity], relations: Sequence[Relation],
                communities: Sequence[Community], *, ordered: bool = True,
                merge: bool = False) -> None:
    """Create these items in ``version`` (the relations' ends must be there), at their
    positions in the sequences when ``ordered``, else all at position 0 (a graph changed in
    place: loads then order them as a build does, :func:`decode_graph`). ``merge``: an entity
    already there is updated, keeping its relations."""
    rows: list[list[Any]] = []
    for n, e in enumerate(entities):
        n = n if ordered else 0
        chunks = sorted(set(e.chunk_ids))
        rows.append([e.id, e.name, e.type, chunks, entity_item(n, e, chunks), e.description])
    write_batches(version, _Q_MERGE_ENTITIES if merge else _Q_CREATE_ENTITIES, rows)
    batch_rows = [
        [r.source, r.target, r.label, r.weight if math.isfinite(r.weight) else None,
         list(r.chunk_ids), relation_item(r), r.description] for r in relations]
    for start in range(0, len(batch_rows), 1000):
        batch = batch_rows[start:start + 1000]
        created = version.query(_Q_CREATE_RELATIONS, {"rows": batch}).result_set[0][0]
        if created != len(batch):  # an end is missing: never publish such a version
            raise StoreError(f"wrote {created} of {len(batch)} relations of a batch")
    write_batches(version, _Q_CREATE_COMMUNITIES, [
        [c.id, c.level, c.parent, list(c.entity_ids), c.title, c.summary, list(c.chunk_ids),
         community_item(n if ordered else 0, c), c.rating]
        for n, c in enumerate(communities)])


def write_contributions(version: Any, items: Sequence[Contribution]) -> None:
    """Add these chunks' contributions to ``version``'s index and mark it complete."""
    write_batches(version, _Q_ADD_CONTRIBS, [
        [c.chunk_id, list(c.keys), [k for pair in c.aliases for k in pair]] for c in items])
    write_batches(version, _Q_ADD_KEYS, [[k, c.chunk_id] for c in items for k in c.keys])
    write_batches(version, _Q_ADD_ALIASES,
                  [[c.chunk_id, s, lg] for c in items for s, lg in c.aliases])
    version.query(_Q_MARK_READY)


def apply_in_place(version: Any, change: GraphChange) -> None:
    """Apply an incremental ``change`` to ``version`` (a copy of the published one)."""
    kept = {e.id for e in change.entities}
    write_batches(version, _Q_DROP_RELATIONS, [list(p) for p in sorted(change.relation_pairs)])
    write_batches(version, _Q_DROP_ENTITIES, sorted(change.entity_ids - kept))
    write_batches(version, _Q_DROP_COMMUNITIES, sorted(change.community_ids))
    for query in _Q_DROP_CHUNKS:
        write_batches(version, query, list(change.removed))
    write_items(version, change.entities, change.relations, change.communities,
                ordered=False, merge=True)
    write_contributions(version, change.added)


def _rows(version: Any, query: str, missing: type[Exception], **params: Any) -> list[list[Any]]:
    return read_rows(version, query, params, missing=missing)


def chunk_ids(version: Any, missing: type[Exception]) -> set[str]:
    return {row[0] for row in _rows(version, _Q_CHUNKS, missing)}


def contributions(version: Any, ids: Collection[str],
                  missing: type[Exception]) -> list[Contribution]:
    rows = read_batches(version, _Q_CONTRIBUTIONS, "ids", ids, missing)
    return sorted((Contribution(c, tuple(keys), tuple(zip(flat[::2], flat[1::2], strict=True)))
                   for c, keys, flat in rows), key=lambda c: c.chunk_id)


def key_counts(version: Any, keys: Collection[str], missing: type[Exception]) -> dict[str, int]:
    return {k: int(n) for k, n in read_batches(version, _Q_KEY_COUNTS, "keys", keys, missing)}


def chunks_of_keys(version: Any, keys: Collection[str], missing: type[Exception]) -> set[str]:
    return {row[0] for row in read_batches(version, _Q_KEY_CHUNKS, "keys", keys, missing)}


def alias_votes(version: Any, missing: type[Exception]) -> dict[str, dict[str, int]]:
    votes: dict[str, dict[str, int]] = {}
    for short, long, n in _rows(version, _Q_VOTES, missing):
        votes.setdefault(short, {})[long] = int(n)
    return votes


def graph_part(version: Any, ids: Collection[str], missing: type[Exception],
               inner: bool = False, *,
               whole_from: int = WHOLE_PART_IDS) -> tuple[list[Entity], list[Relation]]:
    """The entities ``ids`` and the relations touching one (``inner``: both ends among them);
    read whole from ``whole_from`` ids on (:data:`WHOLE_PART_IDS`)."""
    wanted = set(ids)
    if len(wanted) >= whole_from:
        whole = decode_graph(row[0] for row in read_plain(version, _Q_ITEMS, missing))
        return ([e for e in whole.entities if e.id in wanted],
                [r for r in whole.relations if (r.source in wanted and r.target in wanted)
                 or (not inner and (r.source in wanted or r.target in wanted))])
    data = [row[0] for row in read_batches(version, _Q_ENTITIES, "ids", wanted, missing)]
    if inner:
        data += [r for o, r in read_batches(version, _Q_OUTGOING, "ids", wanted, missing)
                 if o in wanted]
    else:  # a relation between two of them is read twice: once is kept
        data += dict.fromkeys(row[0] for row in
                              read_batches(version, _Q_TOUCHING, "ids", wanted, missing))
    graph = decode_graph(data)
    return list(graph.entities), list(graph.relations)


def edges(version: Any, missing: type[Exception],
          among: Collection[str] | None = None) -> list[tuple[str, str, float]]:
    if among is None:  # the whole graph's: the plain reply, weights as text
        rows = [[s, t, w if w is None else float(w)]
                for s, t, w in read_plain(version, _Q_EDGES, missing)]
    else:
        wanted = set(among)
        rows = [row for row in read_batches(version, _Q_EDGES_FROM, "ids", wanted, missing)
                if row[1] in wanted]
    return sorted((s, t, float("nan") if w is None else float(w)) for s, t, w in rows)


def total_weight(version: Any, missing: type[Exception]) -> float:
    rows = _rows(version, _Q_TOTAL_WEIGHT, missing)
    return float(rows[0][0] or 0.0) if rows else 0.0


def community_rows(version: Any, missing: type[Exception]) -> list[CommunityRow]:
    data = [row[0] for row in read_plain(version, _Q_COMMUNITY_DATA, missing)]
    return [CommunityRow(c.id, c.level, c.parent, c.entity_ids)
            for c in decode_graph(data).communities]


def get_communities(version: Any, ids: Collection[str],
                    missing: type[Exception]) -> list[Community]:
    data = [row[0] for row in read_batches(version, _Q_COMMUNITIES, "ids", ids, missing)]
    return list(decode_graph(data).communities)
