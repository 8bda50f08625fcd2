"""Vectors on a FalkorDB server, searched through FalkorDB's vector (HNSW) index: the same
contract as :class:`~graphready.stores.sqlite.vector.SqliteVectorStore`, without a local copy.

A store named ``G`` keeps its vectors in one FalkorDB graph (one Redis key), ``G_vectors``:

``(:Chunk {chunk_id, embedding})``
    One node per chunk, indexed on ``chunk_id`` (a range index) and on ``embedding`` (a cosine
    vector index). Embeddings are L2-normalised ``vecf32`` values.
``(:Meta {key, value})``
    One node per key (indexed on ``key``): ``model_id``, ``synced_fingerprint`` and ``dim``.

The build lease is one ``(:Lease)`` node in a graph of its own, ``G_vectors_lease`` (see
:class:`~graphready.stores.falkordb.common.FalkorLease`), so that a model change, which deletes
``G_vectors``, leaves it with its holder.

A vector index fixes its dimension when it is created, so it is created by the first ``add``
(when the dimension is known). A new model id deletes the whole graph (vectors, index and
metadata, so the fingerprint too) and starts a fresh one that records only the model id; the
next ``add`` creates the index again, with the new model's dimension.

Every FalkorDB query is atomic, but there are no multi-statement transactions: ``add`` and
``remove`` first clear the synced fingerprint, then write in batches of
:data:`graphready.stores.falkordb.graph.BATCH_ROWS` rows, so a failure part-way leaves earlier
batches applied and no fingerprint (the next sync repairs it).
Writes by one store object are serialised; two writers racing a model change against an add
may leave vectors of the old model (the SQLite store's file lock has no equivalent here).

``search`` asks the server every time (``refresh()`` has nothing to reload). The index is
approximate (HNSW); it is built with :data:`HNSW_M`, :data:`HNSW_EF_CONSTRUCTION` and
:data:`HNSW_EF_RUNTIME` large enough that the top 10 of the contract's 500 random vectors
match an exact search. FalkorDB scores a cosine index by *distance* (``1 - cosine``);
``Hit.score`` is the cosine similarity, higher is better, as in the SQLite store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

from redis.exceptions import ResponseError

from graphready.errors import StoreError
from graphready.stores.base import Hit, Vectors
from graphready.stores.falkordb.common import (
    FINGERPRINT,
    FalkorLease,
    FalkorStore,
    create_index,
    read_rows,
    write_batches,
)
from graphready.stores.paging import keyset_pages
from graphready.stores.vectors import (
    add_dimension_error,
    best,
    rows_to_write,
    unit_query,
)

PAGE_ROWS = 10_000
"""Chunk ids read per query by :meth:`FalkorVectorStore.ids`."""
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_RUNTIME = 200

_MODEL_ID = "model_id"
_DIM = "dim"
_NO_VECTORS = ("empty key", "undefined attribute")
"""Errors of a vector query on a graph that does not exist, or has never held an embedding."""

_Q_INDEX_STATUS = (
    "CALL db.indexes() YIELD label, types, status "
    "WHERE label = 'Chunk' AND 'VECTOR' IN types['embedding'] RETURN status"
)
# Records the dimension unless one is stored, returns the stored one, and forgets the synced
# fingerprint only when they agree (a refused add changes nothing).
_Q_CLAIM_DIM = (
    "MERGE (d:Meta {key: $dim_key}) ON CREATE SET d.value = $dim "
    "WITH d OPTIONAL MATCH (f:Meta {key: $fingerprint_key}) WHERE d.value = $dim "
    "DELETE f RETURN d.value"
)
_Q_CREATE_VECTOR_INDEX = (
    "CREATE VECTOR INDEX FOR (c:Chunk) ON (c.embedding) OPTIONS {{dimension: {dim}, "
    "similarityFunction: 'cosine', M: {m}, efConstruction: {ef_construction}, "
    "efRuntime: {ef_runtime}}}"
)
_Q_ADD = (
    "UNWIND $rows AS row MERGE (c:Chunk {chunk_id: row[0]}) SET c.embedding = vecf32(row[1])"
)
_Q_REMOVE = "UNWIND $rows AS id MATCH (c:Chunk {chunk_id: id}) DELETE c"
_Q_PAGE_IDS = (
    "MATCH (c:Chunk) WHERE c.chunk_id > $after "
    "RETURN c.chunk_id ORDER BY c.chunk_id LIMIT $limit"
)
_Q_SEARCH = (
    "CALL db.idx.vector.queryNodes('Chunk', 'embedding', $k, vecf32($query)) "
    "YIELD node, score RETURN node.chunk_id, score"
)


class FalkorVectorStore(FalkorStore):
    """A :class:`~graphready.stores.base.VectorStore` in the FalkorDB server at ``host:port``,
    in the graph ``<graph>_vectors`` (see the module docstring). Safe to share between threads:
    the client keeps a pool of connections, and writes by one store object are serialised.
    Every client error is raised as a :class:`StoreError` naming ``host:port``."""

    KIND = "vector store"

    def _open(self) -> FalkorLease:
        self._graph = self._meta = self._conn.db.select_graph(f"{self.graph}_vectors")
        self._prepare()
        return FalkorLease(self._conn, self._conn.db.select_graph(f"{self.graph}_vectors_lease"))

    # -- DerivedStore (the sync mark: FalkorStore) -----------------------------------------

    def ids(self) -> set[str]:
        """The chunk ids that have a vector, read a page at a time."""
        def page(after: str, limit: int) -> list[list[Any]]:
            with self._conn.errors("cannot read vector ids"):
                return read_rows(self._graph, _Q_PAGE_IDS, {"after": after, "limit": limit})

        return {str(row[0]) for rows in keyset_pages(page, PAGE_ROWS) for row in rows}

    # -- VectorStore ------------------------------------------------------------------------

    def model_id(self) -> str | None:
        with self._conn.errors("cannot read the model id"):
            value = self._meta_value(_MODEL_ID)
        return None if value is None else str(value)

    def set_model_id(self, model_id: str) -> None:
        """Record the embedder; a different one than stored deletes every (now stale) vector,
        the vector index (its dimension may change) and the synced fingerprint."""
        with self._write_lock, self._conn.errors("cannot set the model id"):
            if self._meta_value(_MODEL_ID) == model_id:
                return
            # First forget the model: a failure after the delete leaves an empty store with no
            # model id, which the next set_model_id clears again.
            self._delete_meta(_MODEL_ID)
            self._graph.delete()
            self._prepare()
            self._set_meta(_MODEL_ID, model_id)

    def add(self, ids: Sequence[str], vectors: Vectors) -> None:
        """Insert or replace the vectors of ``ids`` (as :func:`~graphready.stores.vectors.
        rows_to_write` makes them), once the stored dimension agrees; the first add records
        the dimension and creates the vector index."""
        dim, rows = rows_to_write(ids, vectors)
        if not rows:
            return
        with self._write_lock, self._conn.errors("cannot store vectors"):
            stored = int(self._graph.query(_Q_CLAIM_DIM, {
                "dim_key": _DIM, "dim": dim, "fingerprint_key": FINGERPRINT,
            }).result_set[0][0])
            if stored != dim:
                raise add_dimension_error(dim, stored)
            self._create_vector_index(dim)
            write_batches(self._graph, _Q_ADD, rows)

    def remove(self, ids: Iterable[str]) -> None:
        """Delete the vectors of ``ids`` (unknown ids are ignored)."""
        gone = list(dict.fromkeys(ids))
        if not gone:
            return
        with self._write_lock, self._conn.errors("cannot remove vectors"):
            self._delete_meta(FINGERPRINT)
            write_batches(self._graph, _Q_REMOVE, gone)

    def refresh(self) -> None:
        """Nothing to reload: every search asks the server."""

    def search(self, query: Vectors, k: int) -> list[Hit]:
        """The ``k`` stored vectors with the highest cosine to ``query``, best first (through
        the approximate HNSW index)."""
        if k <= 0:
            return []
        q = unit_query(query)[0]
        with self._conn.errors("cannot search vectors"):
            try:
                rows = self._graph.ro_query(_Q_SEARCH, {"k": k, "query": q.tolist()}).result_set
            except ResponseError as exc:
                message = str(exc)
                if any(text in message for text in _NO_VECTORS):
                    return []
                if "dimension mismatch" in message:
                    raise StoreError(f"search: query has {q.shape[0]} dimensions: {message}") \
                        from exc
                raise
        return best([Hit(str(chunk_id), _cosine(distance)) for chunk_id, distance in rows], k)

    # -- internals --------------------------------------------------------------------------

    def _prepare(self) -> None:
        """The range indexes (creating them also creates the graph)."""
        create_index(self._graph, "Chunk", "chunk_id")
        create_index(self._graph, "Meta", "key")


    def _create_vector_index(self, dim: int) -> None:
        """The cosine index for ``dim`` dimensions, unless it exists (the stored ``dim`` has
        been checked, so an existing one has that dimension)."""
        statement = _Q_CREATE_VECTOR_INDEX.format(
            dim=dim, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION, ef_runtime=HNSW_EF_RUNTIME)
        try:
            self._graph.query(statement)
        except ResponseError as exc:
            if "already indexed" not in str(exc):
                raise
        self._await_vector_index()

    def _await_vector_index(self, timeout_s: float = 10.0) -> None:
        """Wait until the vector index is operational: FalkorDB builds an index in the
        background, and a query meanwhile fails with "Invalid arguments" (measured: about one
        contract run in three right after a model change recreated the index)."""
        deadline = time.monotonic() + timeout_s
        while True:
            rows = read_rows(self._graph, _Q_INDEX_STATUS, {})
            if any(status == "OPERATIONAL" for status in (r[0] for r in rows)) or \
                    time.monotonic() > deadline:
                return
            time.sleep(0.01)


def _cosine(distance: Any) -> float:
    """FalkorDB's cosine distance as the cosine similarity (a zero query scores 0, as in the
    SQLite store, where FalkorDB returns NaN)."""
    value = float(distance)
    return 0.0 if math.isnan(value) else 1.0 - value
