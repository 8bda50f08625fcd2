"""The graph store on a FalkorDB server: the same contract as the SQLite graph store, kept atomic
without multi-statement transactions by writing every graph into a fresh, versioned graph and
publishing it with one pointer flip.

Three kinds of FalkorDB graph (Redis keys) belong to a store named ``G``:

``G_extractions``
    One ``(:Extraction {chunk_id, payload})`` node per chunk (indexed on ``chunk_id``); the
    payload is the JSON of :mod:`graphready.stores.graph_codec`, as in the SQLite store.
``G_v<N>``
    One complete knowledge graph: ``(:Entity {id, name, type, chunk_ids, description, data})``,
    entities joined by ``[:RELATED {label, weight, chunk_ids, description, data}]`` (``source``
    -> ``target``), and ``(:Community {id, level, parent, entity_ids, title, summary, chunk_ids,
    rating, data})``. The
    native properties are for Cypher queries; ``data`` is the same item as one compact JSON
    string (with its position in the stored tuple), which is all a load reads: a typed reply
    of the native values takes the Python client about ten times longer to parse.
``G_meta``
    One ``(:Meta {key, value})`` node per key: ``next_version`` (a counter), ``current_version``
    (the version a load reads), ``synced_fingerprint`` and ``extractor_id`` (who wrote the
    extractions); and the build lease, one
    ``(:Lease {key: 'build', owner, expires, stage, done, total})`` node, taken, renewed and
    released each in ONE query (see :class:`~graphready.stores.falkordb.common.FalkorLease`).

``replace_graph`` allocates a version number, writes ``G_v<N>`` in batches, then sets
``current_version`` and ``synced_fingerprint`` in ONE query (a FalkorDB query is atomic) and only
then deletes older versions. A write that fails or dies half-way leaves the pointer where it was,
so a load never sees a partial graph; the orphan is deleted by the next successful replace. A
load reads the pointer, then the whole version in one query; if a newer replace deleted that
version in between, the load starts again on the new one.

Each FalkorDB query is atomic, but ``add_extractions`` and ``remove_extractions`` write in
batches of :data:`BATCH_ROWS`: a failure part-way leaves the earlier batches applied (harmless
for a cache that is keyed by chunk id).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any

from redis.exceptions import ResponseError

from graphready.errors import StoreError
from graphready.extraction.contributions import Contribution
from graphready.gcpause import gc_paused
from graphready.knowledge import ChunkExtraction, Community, Entity, KnowledgeGraph, Relation
from graphready.stores.base import CommunityRow, GraphChange
from graphready.stores.falkordb import graph_change
from graphready.stores.falkordb.common import (
    CLIENT_ERRORS,
    FINGERPRINT,
    FalkorLease,
    FalkorStore,
    create_index,
    read_batches,
    read_rows,
    write_batches,
)
from graphready.stores.graph_codec import (
    decode_extraction,
    decode_graph,
    encode_extraction,
    graph_problem,
)
from graphready.stores.paging import keyset_pages

PAGE_ROWS = 1000
"""Extractions read per query by :meth:`FalkorGraphStore.iter_extractions`."""
LOAD_ATTEMPTS = 20
"""How many times a load starts again when a newer replace deleted the version it was about to
read (only possible between reading the pointer and the one query that reads the graph)."""


_NEXT_VERSION = "next_version"
_CURRENT_VERSION = "current_version"
_EXTRACTOR_ID = "extractor_id"
_RO_QUERY = "GRAPH.RO_QUERY"

_Q_ADD_EXTRACTIONS = (
    "UNWIND $rows AS row MERGE (x:Extraction {chunk_id: row[0]}) SET x.payload = row[1]"
)
_Q_REMOVE_EXTRACTIONS = "UNWIND $rows AS id MATCH (x:Extraction {chunk_id: id}) DELETE x"
_Q_PAGE_EXTRACTIONS = (
    "MATCH (x:Extraction) WHERE x.chunk_id > $after "
    "RETURN x.chunk_id, x.payload ORDER BY x.chunk_id LIMIT $limit"
)
_Q_EXTRACTION_IDS = "MATCH (x:Extraction) RETURN x.chunk_id"
_Q_GET_EXTRACTIONS = (
    "UNWIND $ids AS id MATCH (x:Extraction {chunk_id: id}) RETURN x.chunk_id, x.payload"
)
_Q_ALLOCATE = (
    "MERGE (m:Meta {key: $key}) ON CREATE SET m.value = 1 ON MATCH SET m.value = m.value + 1 "
    "RETURN m.value"
)
# Publishes version $version with its fingerprint in one (atomic) query, unless a newer version
# was published meanwhile by another writer; returns 1 when it published, nothing otherwise.
_Q_PUBLISH = (
    "MERGE (v:Meta {key: $current}) WITH v WHERE v.value IS NULL OR v.value < $version "
    "SET v.value = $version "
    "MERGE (f:Meta {key: $fingerprint_key}) SET f.value = $fingerprint "
    "RETURN 1"
)
# The whole graph in ONE query, so that a replace cannot delete it between parts. It reads only
# the ``data`` copies: one string per item in a plain (not typed) reply, where typed replies of
# the same values take the client ~10x longer to parse.
_Q_READ_GRAPH = (
    "MATCH (e:Entity) RETURN e.data AS data "
    "UNION ALL MATCH ()-[r:RELATED]->() RETURN r.data AS data "
    "UNION ALL MATCH (c:Community) RETURN c.data AS data"
)
_Q_COUNTS = (
    "OPTIONAL MATCH (e:Entity) WITH count(e) AS entities "
    "OPTIONAL MATCH ()-[r:RELATED]->() WITH entities, count(r) AS relations "
    "OPTIONAL MATCH (c:Community) RETURN entities, relations, count(c)"
)


class _VersionGone(Exception):
    """The version being read was deleted by a newer replace."""


class FalkorGraphStore(FalkorStore):
    """A :class:`~graphready.stores.base.GraphStore` in the FalkorDB server at ``host:port``,
    under the graph name ``graph`` (see the module docstring for its keys). Safe to share
    between threads: the client keeps a pool of connections, and writes by one store object
    are serialised. Every client error is raised as a :class:`StoreError` naming
    ``host:port``."""

    KIND = "graph store"

    def _open(self) -> FalkorLease:
        self._versions = re.compile(re.escape(self.graph) + r"_v(\d+)")
        self._extractions = self._conn.db.select_graph(f"{self.graph}_extractions")
        self._meta = self._conn.db.select_graph(f"{self.graph}_meta")
        create_index(self._extractions, "Extraction", "chunk_id")
        create_index(self._meta, "Meta", "key")
        return FalkorLease(self._conn, self._meta)

    # -- extractions ------------------------------------------------------------------------

    def add_extractions(self, items: Sequence[ChunkExtraction]) -> None:
        """Store (or replace) the extractions of these chunks (the last one of a chunk wins)."""
        latest = {item.chunk_id: item for item in items}
        rows = [[chunk_id, encode_extraction(item)] for chunk_id, item in latest.items()]
        with self._conn.errors("cannot store extractions"):
            write_batches(self._extractions, _Q_ADD_EXTRACTIONS, rows)

    def remove_extractions(self, chunk_ids: Iterable[str]) -> None:
        """Forget the extractions of these chunks (unknown ids are ignored)."""
        ids = list(dict.fromkeys(chunk_ids))
        with self._conn.errors("cannot remove extractions"):
            write_batches(self._extractions, _Q_REMOVE_EXTRACTIONS, ids)

    def iter_extractions(self) -> Iterator[ChunkExtraction]:
        """Every stored extraction, by chunk id, read a page at a time."""
        def page(after: str, limit: int) -> list[list[Any]]:
            with self._conn.errors("cannot read extractions"):
                return read_rows(self._extractions, _Q_PAGE_EXTRACTIONS,
                                 {"after": after, "limit": limit})

        for rows in keyset_pages(page, PAGE_ROWS):
            for chunk_id, payload in rows:
                yield decode_extraction(chunk_id, payload)

    def ids(self) -> set[str]:
        """The chunk ids that have an extraction."""
        with self._conn.errors("cannot read extraction ids"):
            return {row[0] for row in read_rows(self._extractions, _Q_EXTRACTION_IDS)}

    def extractor_id(self) -> str | None:
        """The extractor the stored extractions come from, if one was recorded."""
        with self._conn.errors("cannot read the extractor id"):
            value = self._meta_value(_EXTRACTOR_ID)
        return None if value is None else str(value)

    def set_extractor_id(self, extractor_id: str) -> None:
        """Record the extractor; a different one than stored (or none) deletes every stored
        extraction and forgets the synced fingerprint. The id is forgotten first, so a failure
        part-way leaves no stale id."""
        with self._write_lock, self._conn.errors("cannot set the extractor id"):
            if self._meta_value(_EXTRACTOR_ID) == extractor_id:
                return
            self._delete_meta(_EXTRACTOR_ID)
            self._delete_meta(FINGERPRINT)
            _drop_quietly(self._extractions)
            self._extractions = self._conn.db.select_graph(f"{self.graph}_extractions")
            create_index(self._extractions, "Extraction", "chunk_id")
            self._set_meta(_EXTRACTOR_ID, extractor_id)

    # -- the graph --------------------------------------------------------------------------

    def replace_graph(self, graph: KnowledgeGraph, fingerprint: str) -> None:
        """Write ``graph`` as a new version, then publish it together with ``fingerprint`` in
        one query and delete older versions. A failure leaves the previous graph and
        fingerprint in place. (If another writer published a newer version meanwhile, that
        one stays and this one is discarded.) The new version has no contribution index."""
        problem = graph_problem(graph)
        if problem is not None:
            raise StoreError(f"FalkorDB at {self.address}: cannot replace the graph: {problem}")
        with self._write_lock, self._conn.errors("cannot replace the graph"):
            self._publish(lambda target: _write_version(target, graph), fingerprint)

    def apply_graph_change(self, change: GraphChange, fingerprint: str) -> None:
        """Apply ``change`` to a server-side copy of the published version (a whole new
        version for a full change), then publish it as :meth:`replace_graph` does."""
        with self._write_lock, self._conn.errors("cannot change the graph"):
            current = self._current_version()
            if change.full or current is None:
                def fill(target: Any) -> None:
                    graph_change.create_indexes(target)
                    graph_change.write_items(target, change.entities, change.relations,
                                             change.communities, ordered=False)
                    graph_change.write_contributions(target, change.added)
                self._publish(fill, fingerprint)
            else:
                self._publish(lambda target: graph_change.apply_in_place(target, change),
                              fingerprint, copy_of=current)

    def _publish(self, fill: Callable[[Any], None], fingerprint: str,
                 copy_of: int | None = None) -> None:
        version = int(self._meta.query(_Q_ALLOCATE, {"key": _NEXT_VERSION}).result_set[0][0])
        name = f"{self.graph}_v{version}"
        if name in self._conn.db.list_graphs():  # left over from a lost meta graph
            self._conn.db.select_graph(name).delete()
        if copy_of is not None:
            self._conn.db.select_graph(f"{self.graph}_v{copy_of}").copy(name)
        target = self._conn.db.select_graph(name)
        try:
            fill(target)
            published = self._meta.query(_Q_PUBLISH, {
                "current": _CURRENT_VERSION, "version": version,
                "fingerprint_key": FINGERPRINT, "fingerprint": fingerprint,
            }).result_set
        except BaseException:
            _drop_quietly(target)
            if self._superseded(version):  # a newer writer published, and dropped ours
                return
            raise
        if published:
            self._drop_versions_before(version)
        else:  # a newer version was published meanwhile: it stays, this one goes
            _drop_quietly(target)

    # -- reads of the published version for in-place changes (IncrementalGraphStore) --------

    def _version(self) -> Any:
        version = self._current_version()
        return self._conn.db.select_graph(f"{self.graph}_v{version or 0}")

    def incremental_ready(self) -> bool:
        """Whether the published version holds its contribution index."""
        with self._conn.errors("cannot read the graph"):
            if self._current_version() is None:
                return False
            rows = read_rows(self._version(), graph_change.Q_READY)
        return bool(rows) and int(rows[0][0]) > 0

    def graph_chunk_ids(self) -> set[str]:
        """The chunks the published graph was built from."""
        with self._conn.errors("cannot read the contribution index"):
            return graph_change.chunk_ids(self._version(), _VersionGone)

    def contributions(self, chunk_ids: Collection[str]) -> list[Contribution]:
        """The contributions of those of ``chunk_ids`` the graph was built from."""
        with self._conn.errors("cannot read the contribution index"):
            return graph_change.contributions(self._version(), chunk_ids, _VersionGone)

    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        """How many chunks contribute to each of ``keys`` (keys with none left out)."""
        with self._conn.errors("cannot read the contribution index"):
            return graph_change.key_counts(self._version(), keys, _VersionGone)

    def chunks_of_keys(self, keys: Collection[str]) -> set[str]:
        """The chunks that contribute to any of ``keys``."""
        with self._conn.errors("cannot read the contribution index"):
            return graph_change.chunks_of_keys(self._version(), keys, _VersionGone)

    def alias_votes(self) -> dict[str, dict[str, int]]:
        """Short key -> long key -> how many chunks show that alias."""
        with self._conn.errors("cannot read the contribution index"):
            return graph_change.alias_votes(self._version(), _VersionGone)

    def get_extractions(self, chunk_ids: Collection[str]) -> list[ChunkExtraction]:
        """The stored extractions of those of ``chunk_ids`` that have one, by chunk id."""
        with self._conn.errors("cannot read extractions"):
            rows = read_batches(self._extractions, _Q_GET_EXTRACTIONS, "ids", chunk_ids)
        return [decode_extraction(c, payload) for c, payload in sorted(rows)]

    def graph_part(self, entity_ids: Collection[str],
                   inner: bool = False) -> tuple[list[Entity], list[Relation]]:
        """The entities with these ids (by id) and every relation touching one (with
        ``inner``: both ends among them), by pair."""
        with self._conn.errors("cannot read the graph"):
            return graph_change.graph_part(self._version(), entity_ids, _VersionGone, inner)

    def edges(self, among: Collection[str] | None = None) -> list[tuple[str, str, float]]:
        """Every relation (with ``among``: every one with both ends among those entities) as
        (source, target, weight), by pair."""
        with self._conn.errors("cannot read the graph"):
            return graph_change.edges(self._version(), _VersionGone, among)

    def total_weight(self) -> float:
        """The sum of every relation's weight."""
        with self._conn.errors("cannot read the graph"):
            return graph_change.total_weight(self._version(), _VersionGone)

    def community_rows(self) -> list[CommunityRow]:
        """Every community's place in the hierarchy."""
        with self._conn.errors("cannot read the graph"):
            return graph_change.community_rows(self._version(), _VersionGone)

    def get_communities(self, ids: Collection[str]) -> list[Community]:
        """The communities with these ids."""
        with self._conn.errors("cannot read the graph"):
            return graph_change.get_communities(self._version(), ids, _VersionGone)

    def load_graph(self) -> KnowledgeGraph | None:
        """The last published graph, or None when none was ever published. Entities and
        communities come back in the order they were stored, relations by (source, target),
        each entity's chunk ids sorted (as the SQLite store returns them)."""
        for _ in range(LOAD_ATTEMPTS):
            with self._conn.errors("cannot load the graph"):
                version = self._current_version()
                if version is None:
                    return None
                try:
                    with gc_paused():
                        return _read_version(self._conn.db.select_graph(f"{self.graph}_v{version}"))
                except _VersionGone:
                    continue
        raise StoreError(f"FalkorDB at {self.address}: cannot load the graph: it was replaced "
                         f"{LOAD_ATTEMPTS} times while being read")

    def counts(self) -> dict[str, int]:
        """The number of entities, relations and communities of the published graph."""
        for _ in range(LOAD_ATTEMPTS):
            with self._conn.errors("cannot count the graph"):
                version = self._current_version()
                if version is None:
                    return {"entities": 0, "relations": 0, "communities": 0}
                try:
                    version_graph = self._conn.db.select_graph(f"{self.graph}_v{version}")
                    row = read_rows(version_graph, _Q_COUNTS, missing=_VersionGone)[0]
                except _VersionGone:
                    continue
                return {"entities": int(row[0]), "relations": int(row[1]),
                        "communities": int(row[2])}
        raise StoreError(f"FalkorDB at {self.address}: cannot count the graph: it was replaced "
                         f"{LOAD_ATTEMPTS} times while being read")

    # -- internals (the sync mark and the meta nodes: FalkorStore) ---------------------------

    def _current_version(self) -> int | None:
        value = self._meta_value(_CURRENT_VERSION)
        return None if value is None else int(value)

    def _superseded(self, version: int) -> bool:
        try:
            current = self._current_version()
        except CLIENT_ERRORS:
            return False
        return current is not None and current > version

    def _drop_versions_before(self, version: int) -> None:
        for name in self._conn.db.list_graphs():
            match = self._versions.fullmatch(name)
            if match and int(match[1]) < version:
                _drop_quietly(self._conn.db.select_graph(name))


def _write_version(target: Any, graph: KnowledgeGraph) -> None:
    graph_change.create_indexes(target)
    graph_change.write_items(target, graph.entities, graph.relations, graph.communities)


def _read_version(source: Any) -> KnowledgeGraph:
    try:
        reply = source.execute_command(_RO_QUERY, source.name, _Q_READ_GRAPH)
    except ResponseError as exc:
        if "empty key" in str(exc):
            raise _VersionGone() from exc
        raise
    return decode_graph(row[0] for row in reply[1])


def _drop_quietly(graph: Any) -> None:
    """Delete a graph if it exists; a graph another writer deleted first is not an error."""
    with suppress(*CLIENT_ERRORS):
        graph.delete()
