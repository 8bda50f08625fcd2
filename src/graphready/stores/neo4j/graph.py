"""The graph store on Neo4j 5 (or any Bolt server speaking enough Cypher), through the official
``neo4j`` driver: the same contract as the SQLite and FalkorDB graph stores.

The model and every statement are in :mod:`graphready.stores.neo4j.cypher`. A replace never
relies on a rollback (nor on one transaction holding a whole graph): it writes the new graph under
a fresh version number ``v`` in batched ``UNWIND`` transactions, records the version's item
counts, then publishes it by updating ONE meta node (``current_version`` and
``synced_fingerprint`` together, in one statement) and only then deletes older versions. A
replace that fails or dies part-way leaves the pointer where it was; its orphan is deleted by the
next successful replace. A load reads the pointer and the version's counts, then the version's
``data`` strings in one query; fewer items than counted means a newer replace deleted the version
meanwhile, and the load starts again on the new one.

Every query runs in a managed transaction (``execute_read`` / ``execute_write``), which the
driver retries on transient errors. The driver is thread-safe; replaces by one store object are
serialised.

``neo4j_features=False`` is for FalkorDB's Bolt mode (the test double of a Neo4j server). It
skips the Neo4j-only schema (constraints, named and vector indexes) for plain portable indexes;
the connection works around that mode's defects (see :mod:`graphready.stores.neo4j.common`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any, ClassVar

from graphready.errors import StoreError
from graphready.gcpause import gc_paused
from graphready.knowledge import ChunkExtraction, KnowledgeGraph
from graphready.stores.graph_codec import (
    community_item,
    decode_extraction,
    decode_graph,
    encode_extraction,
    entity_item,
    graph_problem,
    relation_item,
)
from graphready.stores.neo4j import cypher
from graphready.stores.neo4j.common import CLIENT_ERRORS, Neo4jLease, Neo4jStore
from graphready.stores.paging import keyset_pages

PAGE_ROWS = 1000
"""Extractions read per query by :meth:`Neo4jGraphStore.iter_extractions`."""
DELETE_ROWS = 5000
"""Nodes deleted per transaction when a version is dropped."""
LOAD_ATTEMPTS = 20
VECTOR_DIMENSIONS = 384
"""The default dimension of the vector indexes (all-MiniLM-L6-v2's)."""



class Neo4jGraphStore(Neo4jStore):
    """A :class:`~graphready.stores.base.GraphStore` in the Neo4j database ``database`` (None:
    the server's default) at ``uri`` (``bolt://``, ``neo4j://`` and their ``+s`` forms), with
    labels prefixed by ``namespace`` (see :mod:`graphready.stores.neo4j.cypher`). Writes go in
    batches of ``batch_size`` rows (500 by default; and of at most ``max_param_chars``
    characters of parameters, when given). A transaction is retried on transient errors for up
    to ``retry_time_s``; getting a connection (connect, handshake, or a free one from the pool)
    may take up to ``connect_timeout_s`` (see :class:`~graphready.stores.neo4j.common.
    Neo4jStore`). :attr:`VECTOR_DIMENSIONS` sizes the entity vector index (the chunk vector
    index belongs to :class:`~graphready.stores.neo4j.vector.Neo4jVectorStore`). Every driver
    error is raised as a :class:`StoreError` naming the URI (never a password); a bad argument
    is a ValueError."""

    BATCH_SIZE = 500
    PREPARING = "cannot prepare the schema"
    VECTOR_DIMENSIONS: ClassVar[int] = VECTOR_DIMENSIONS

    def _open(self, labels: cypher.Labels) -> Neo4jLease:
        self._q = cypher.statements(labels)
        _, entity_index = cypher.entity_vector_index(self.namespace)
        self._create_schema(
            [*((statement, {}) for statement in cypher.neo4j_schema(self.namespace)),
             (entity_index, {"dimensions": self.VECTOR_DIMENSIONS})],
            cypher.portable_indexes(labels))
        return Neo4jLease(self._conn, cypher.lease_statements(labels), cypher.LEASE_KEY)

    # -- extractions ------------------------------------------------------------------------

    def add_extractions(self, items: Sequence[ChunkExtraction]) -> None:
        """Store (or replace) the extractions of these chunks (the last one of a chunk wins)."""
        latest = {item.chunk_id: item for item in items}
        rows = [[chunk_id, encode_extraction(item)] for chunk_id, item in latest.items()]
        with self._conn.errors("cannot store extractions"):
            self._conn.write_batches(self._q.add_extractions, rows)

    def remove_extractions(self, chunk_ids: Iterable[str]) -> None:
        """Forget the extractions of these chunks (unknown ids are ignored)."""
        with self._conn.errors("cannot remove extractions"):
            self._conn.write_batches(self._q.remove_extractions, list(dict.fromkeys(chunk_ids)))

    def iter_extractions(self) -> Iterator[ChunkExtraction]:
        """Every stored extraction, by chunk id, read a page at a time."""
        def page(after: str, limit: int) -> list[Any]:
            with self._conn.errors("cannot read extractions"):
                return self._conn.read(self._q.page_extractions, after=after, limit=limit)

        for rows in keyset_pages(page, PAGE_ROWS):
            for chunk_id, payload in rows:
                yield decode_extraction(chunk_id, payload)

    def ids(self) -> set[str]:
        """The chunk ids that have an extraction."""
        with self._conn.errors("cannot read extraction ids"):
            return {row[0] for row in self._conn.read(self._q.extraction_ids)}

    def extractor_id(self) -> str | None:
        """The extractor the stored extractions come from, if one was recorded."""
        with self._conn.errors("cannot read the extractor id"):
            rows = self._conn.read(self._q.read_extractor, key=cypher.META_KEY)
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    def set_extractor_id(self, extractor_id: str) -> None:
        """Record the extractor; a different one than stored (or none) deletes every stored
        extraction and forgets the synced fingerprint. The id is forgotten first, so a failure
        part-way leaves no stale id."""
        with self._write_lock, self._conn.errors("cannot set the extractor id"):
            rows = self._conn.read(self._q.read_extractor, key=cypher.META_KEY)
            if rows and rows[0][0] == extractor_id:
                return
            self._conn.write(self._q.forget_extractor, key=cypher.META_KEY)
            while self._conn.write(self._q.delete_some_extractions, limit=DELETE_ROWS)[0][0]:
                pass
            self._conn.write(self._q.set_extractor, key=cypher.META_KEY,
                             extractor_id=extractor_id)

    # -- the graph --------------------------------------------------------------------------

    def replace_graph(self, graph: KnowledgeGraph, fingerprint: str) -> None:
        """Write ``graph`` as a new version, publish it together with ``fingerprint`` in one
        statement, then delete older versions. A failure leaves the previous graph and
        fingerprint in place. (If another writer published a newer version meanwhile, that one
        stays and this one is discarded.)"""
        problem = graph_problem(graph)
        if problem is not None:
            raise StoreError(f"Neo4j at {self.uri}: cannot replace the graph: {problem}")
        with self._write_lock, self._conn.errors("cannot replace the graph"):
            version = int(self._conn.write(self._q.allocate_version, key=cypher.META_KEY)[0][0])
            try:
                self._drop(self._q.delete_nodes_of, version)  # left over from a lost meta node
                self._write_version(graph, version)
                published = bool(self._conn.write(
                    self._q.publish, key=cypher.META_KEY, version=version,
                    fingerprint=fingerprint)[0][0])
            except BaseException:
                with suppress(*CLIENT_ERRORS):
                    self._drop(self._q.delete_nodes_of, version)
                if self._superseded(version):  # a newer writer published, and dropped ours
                    return
                raise
            self._drop(self._q.delete_nodes_before if published else self._q.delete_nodes_of,
                       version)

    def load_graph(self) -> KnowledgeGraph | None:
        """The last published graph, or None when none was ever published. Entities and
        communities come back in the order they were stored, relations by (source, target),
        each entity's chunk ids sorted (as the SQLite store returns them)."""
        for _ in range(LOAD_ATTEMPTS):
            with self._conn.errors("cannot load the graph"):
                version, _, counts = self._state()
                if version is None:
                    return None
                if counts is None:
                    continue
                rows = self._conn.read(self._q.read_graph, v=version)
            if len(rows) != sum(counts):  # deleted under us by a newer replace
                continue
            with gc_paused():
                return decode_graph([row[0] for row in rows])
        raise StoreError(f"Neo4j at {self.uri}: cannot load the graph: it was replaced "
                         f"{LOAD_ATTEMPTS} times while being read")

    def counts(self) -> dict[str, int]:
        """The number of entities, relations and communities of the published graph."""
        for _ in range(LOAD_ATTEMPTS):
            with self._conn.errors("cannot count the graph"):
                version, _, counts = self._state()
            if version is None:
                return {"entities": 0, "relations": 0, "communities": 0}
            if counts is not None:
                return dict(zip(("entities", "relations", "communities"), counts, strict=True))
        raise StoreError(f"Neo4j at {self.uri}: cannot count the graph: it was replaced "
                         f"{LOAD_ATTEMPTS} times while being read")

    # -- sync mark --------------------------------------------------------------------------

    def synced_fingerprint(self) -> str | None:
        """The catalog fingerprint of the last complete sync, if any."""
        with self._conn.errors("cannot read the sync fingerprint"):
            return self._state()[1]

    def mark_synced(self, fingerprint: str) -> None:
        """Record ``fingerprint`` as the catalog state the store is synced to."""
        with self._conn.errors("cannot write the sync fingerprint"):
            self._conn.write(self._q.mark_synced, key=cypher.META_KEY, fingerprint=fingerprint)

    # -- internals --------------------------------------------------------------------------

    def _state(self) -> tuple[int | None, str | None, tuple[int, int, int] | None]:
        """The published version, the fingerprint and the version's item counts (None when
        its record is gone: a newer replace is deleting it)."""
        row = self._conn.read(self._q.read_state, key=cypher.META_KEY)[0]
        version = None if row[0] is None else int(row[0])
        counts = None if row[2] is None else (int(row[2]), int(row[3]), int(row[4]))
        return version, row[1], counts

    def _superseded(self, version: int) -> bool:
        try:
            current = self._state()[0]
        except CLIENT_ERRORS:
            return False
        return current is not None and current > version

    def _write_version(self, graph: KnowledgeGraph, version: int) -> None:
        entities = []
        for n, e in enumerate(graph.entities):
            chunks = sorted(set(e.chunk_ids))
            entities.append([e.id, e.name, e.type, chunks, entity_item(n, e, chunks),
                             e.description])
        self._conn.write_batches(self._q.create_entities, entities, v=version)
        relations = [
            [r.source, r.target, r.label, r.weight if math.isfinite(r.weight) else None,
             list(r.chunk_ids), relation_item(r), r.description]
            for r in graph.relations]
        created = self._conn.write_batches(self._q.create_relations, relations, v=version)
        if created != len(relations):  # cannot happen after _problem, but never publish it
            raise StoreError(f"Neo4j at {self.uri}: cannot replace the graph: wrote {created} "
                             f"of {len(relations)} relations")
        self._conn.write_batches(self._q.create_communities, [
            [c.id, c.level, c.parent, list(c.entity_ids), c.title, c.summary,
             list(c.chunk_ids), community_item(n, c), c.rating]
            for n, c in enumerate(graph.communities)], v=version)
        self._conn.write(self._q.create_version, v=version, entities=len(graph.entities),
                    relations=len(graph.relations), communities=len(graph.communities))

    def _drop(self, statements: tuple[str, ...], version: int) -> None:
        for statement in statements:
            while self._conn.write(statement, version=version, limit=DELETE_ROWS)[0][0]:
                pass
