"""Vectors on a Neo4j 5 server, searched through Neo4j's vector index
(``db.index.vector.queryNodes``): the same contract as
:class:`~graphready.stores.sqlite.vector.SqliteVectorStore`, without a local copy.

The model and every statement are in :mod:`graphready.stores.neo4j.cypher`: one
``(:<ns>Chunk {id, embedding})`` node per chunk (``embedding`` a list of floats, L2-normalised),
one meta node holding ``model_id``, ``dim`` and ``synced_fingerprint``, and one holding the
vector build lease. Writes are batched ``UNWIND`` statements in managed transactions, values
always parameters (see :class:`~graphready.stores.neo4j.common.Neo4jConnection`).

A vector index fixes its dimension when it is created, so it is created by the first ``add``
(when the dimension is known: ``CREATE VECTOR INDEX ... IF NOT EXISTS``, then
``db.awaitIndex``, as Neo4j populates a new index in the background). A new model id forgets
the model, dimension and fingerprint, deletes every vector in batches and drops the index; the
next ``add`` creates it again with the new model's dimension. ``add`` and ``remove`` first
clear the synced fingerprint, so a failure part-way leaves no fingerprint (the next sync
repairs it).

``search`` reads the stored dimension (a query of another dimension is a :class:`StoreError`,
and a store never written to has no index and finds nothing), then asks the server. Neo4j
scores a cosine index as ``(1 + cosine) / 2``; ``Hit.score`` is the cosine, as in the SQLite
store. The index is approximate (HNSW). Neo4j does not index a zero vector under cosine, and a
zero query finds nothing.

``neo4j_features=False`` is for FalkorDB's Bolt mode (the test double of a Neo4j server), which
has no Neo4j vector index: the constraints and the vector index are skipped for plain lookup
indexes, and ``search`` is an exact cosine computed by the server in portable Cypher
(:attr:`~graphready.stores.neo4j.cypher.VectorStatements.exact_search`). That mode writes
floats with six decimals and refuses parameters over ~3,000 characters, so it only takes small
vectors (the contract suite's 8 dimensions, not MiniLM's 384).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from graphready.stores.base import Hit, Vectors
from graphready.stores.neo4j import cypher
from graphready.stores.neo4j.common import Neo4jLease, Neo4jStore
from graphready.stores.paging import keyset_pages
from graphready.stores.vectors import (
    add_dimension_error,
    best,
    rows_to_write,
    search_dimension_error,
    unit_query,
)

PAGE_ROWS = 10_000
"""Chunk ids read per query by :meth:`Neo4jVectorStore.ids`."""
DELETE_ROWS = 5000
"""Vectors deleted per transaction when the model changes."""
INDEX_WAIT_S = 300
"""How long an ``add`` waits for a new vector index to come online."""


class Neo4jVectorStore(Neo4jStore):
    """A :class:`~graphready.stores.base.VectorStore` in the Neo4j database ``database`` (None:
    the server's default) at ``uri`` (``bolt://``, ``neo4j://`` and their ``+s`` forms), with
    labels prefixed by ``namespace``. Connection arguments are those of
    :class:`~graphready.stores.neo4j.common.Neo4jStore` (``batch_size`` 200 by default). Safe
    to share between threads; writes by one store object are serialised. Every driver error is
    raised as a :class:`StoreError` naming the URI (never a password); a bad argument is a
    ValueError."""

    BATCH_SIZE = 200
    PREPARING = "cannot prepare the vector store"

    def _open(self, labels: cypher.Labels) -> Neo4jLease:
        self._q = cypher.vector_statements(labels)
        self._index, self._create_index = cypher.chunk_vector_index(self.namespace)
        self._neo4j = self._conn.neo4j_features
        self._create_schema(
            ((statement, {}) for statement in cypher.neo4j_vector_schema(self.namespace)),
            cypher.portable_vector_indexes(labels))
        return Neo4jLease(self._conn, cypher.lease_statements(labels), cypher.VECTOR_LEASE_KEY)

    # -- DerivedStore -----------------------------------------------------------------------

    def ids(self) -> set[str]:
        """The chunk ids that have a vector, read a page at a time."""
        def page(after: str, limit: int) -> list[Any]:
            with self._conn.errors("cannot read vector ids"):
                return self._conn.read(self._q.page_ids, after=after, limit=limit)

        return {str(row[0]) for rows in keyset_pages(page, PAGE_ROWS) for row in rows}

    def synced_fingerprint(self) -> str | None:
        """The catalog fingerprint of the last complete sync, if any."""
        with self._conn.errors("cannot read the sync fingerprint"):
            return self._state()[2]

    def mark_synced(self, fingerprint: str) -> None:
        """Record ``fingerprint`` as the catalog state the store is synced to."""
        with self._conn.errors("cannot write the sync fingerprint"):
            self._conn.write(self._q.mark_synced, key=cypher.VECTOR_META_KEY,
                             fingerprint=fingerprint)

    # -- VectorStore ------------------------------------------------------------------------

    def model_id(self) -> str | None:
        """The embedder the stored vectors came from."""
        with self._conn.errors("cannot read the model id"):
            return self._state()[0]

    def set_model_id(self, model_id: str) -> None:
        """Record the embedder; a different one than stored deletes every (now stale) vector,
        the vector index (its dimension may change) and the synced fingerprint."""
        with self._write_lock, self._conn.errors("cannot set the model id"):
            if self._state()[0] == model_id:
                return
            # First forget the model: a failure after this leaves a store with no model id,
            # which the next set_model_id clears again.
            self._conn.write(self._q.forget_model, key=cypher.VECTOR_META_KEY)
            while self._conn.write(self._q.delete_some, limit=DELETE_ROWS)[0][0]:
                pass
            if self._neo4j:
                self._conn.write(cypher.drop_index(self._index))
            self._conn.write(self._q.set_model, key=cypher.VECTOR_META_KEY, model_id=model_id)

    def add(self, ids: Sequence[str], vectors: Vectors) -> None:
        """Insert or replace the vectors of ``ids`` (as :func:`~graphready.stores.vectors.
        rows_to_write` makes them; batches over the parameter limit are refused before anything
        is written), once the stored dimension agrees (the first add records it); with
        ``neo4j_features``, after making sure the vector index is online (see
        :meth:`_prepare_index`)."""
        dim, rows = rows_to_write(ids, vectors)
        if not rows:
            return
        batches = self._conn.batches(rows)
        with self._write_lock, self._conn.errors("cannot store vectors"):
            stored, fresh = self._conn.write(self._q.claim_dim, key=cypher.VECTOR_META_KEY,
                                             dim=dim)[0]
            if int(stored) != dim:
                raise add_dimension_error(dim, stored)
            if self._neo4j:
                self._prepare_index(dim, bool(fresh))
            self._conn.send_batches(self._q.add, batches)

    def remove(self, ids: Iterable[str]) -> None:
        """Delete the vectors of ``ids`` (unknown ids are ignored)."""
        gone = list(dict.fromkeys(ids))
        if not gone:
            return
        with self._write_lock, self._conn.errors("cannot remove vectors"):
            self._conn.write(self._q.clear_fingerprint, key=cypher.VECTOR_META_KEY)
            self._conn.write_batches(self._q.remove, gone)

    def refresh(self) -> None:
        """Nothing to reload: every search asks the server."""

    def search(self, query: Vectors, k: int) -> list[Hit]:
        """The ``k`` stored vectors with the highest cosine to ``query``, best first (through
        Neo4j's approximate vector index; exact without ``neo4j_features``)."""
        if k <= 0:
            return []
        q, norm = unit_query(query)
        with self._conn.errors("cannot search vectors"):
            dim = self._state()[1]
            if dim is None:
                return []
            if dim != q.shape[0]:
                raise search_dimension_error(q.shape[0], dim)
            if not self._neo4j:
                rows = self._conn.read(self._q.exact_search, vector=q.tolist(), k=k)
                hits = [Hit(str(chunk_id), float(score)) for chunk_id, score in rows]
            elif norm == 0.0:
                return []
            else:
                rows = self._conn.read(cypher.VECTOR_QUERY, index=self._index, k=k,
                                       vector=q.tolist())
                hits = [Hit(str(chunk_id), 2.0 * float(score) - 1.0) for chunk_id, score in rows]
        return best(hits, k)

    # -- internals --------------------------------------------------------------------------

    def _state(self) -> tuple[str | None, int | None, str | None]:
        """The model id, the dimension and the synced fingerprint."""
        rows: list[list[Any]] = self._conn.read(self._q.read_state, key=cypher.VECTOR_META_KEY)
        if not rows:
            return None, None, None
        model_id, dim, fingerprint = rows[0]
        return (None if model_id is None else str(model_id), None if dim is None else int(dim),
                None if fingerprint is None else str(fingerprint))

    def _prepare_index(self, dim: int, fresh: bool) -> None:
        """The vector index for ``dim`` dimensions, online. When the dimension was just
        recorded, an index left from before (of another dimension, maybe) is dropped first;
        otherwise one that exists has this dimension, and creating it is a no-op."""
        if fresh:
            self._conn.write(cypher.drop_index(self._index))
        self._conn.write(self._create_index, dimensions=dim)
        self._conn.write(cypher.AWAIT_INDEX, index=self._index, seconds=INDEX_WAIT_S)
