"""The graph store on Neo4j 5 (or any Bolt server speaking enough Cypher), through the official
``neo4j`` driver: the same contract as the SQLite and FalkorDB graph stores.

The model and every statement are in :mod:`graphready.stores.neo4j_cypher`. A replace never
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
skips the Neo4j-only schema (constraints, named and vector indexes) for plain portable indexes,
and works around two defects measured there: string parameters are spliced into the query text
unescaped (a quote breaks the query or injects Cypher; a trailing backslash hangs it), so every
string travels hex-encoded (UTF-8, which keeps the order of chunk ids for paging); and a
statement whose parameters total more than about 4 KB crashes the server, so batches are also
capped by size and a single oversized value is refused with a :class:`StoreError`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import DriverError, Neo4jError

from graphready.errors import StoreError
from graphready.gcpause import gc_paused
from graphready.knowledge import ChunkExtraction, KnowledgeGraph
from graphready.stores import neo4j_cypher as cypher
from graphready.stores.base import Lease
from graphready.stores.graph_codec import (
    compact_json,
    decode_extraction,
    decode_graph,
    encode_extraction,
    graph_problem,
)

PAGE_ROWS = 1000
"""Extractions read per query by :meth:`Neo4jGraphStore.iter_extractions`."""
DELETE_ROWS = 5000
"""Nodes deleted per transaction when a version is dropped."""
LOAD_ATTEMPTS = 20
CONNECT_TIMEOUT_S = 5.0
BOLT_PARAM_CHARS = 3000
"""With ``neo4j_features=False``: the most parameter text one statement may carry (FalkorDB's
Bolt mode crashes at about 4,070 characters)."""
VECTOR_DIMENSIONS = 384
"""The default dimension of the vector indexes (all-MiniLM-L6-v2's)."""

_CLIENT_ERRORS = (DriverError, Neo4jError, OSError)
_ENTITY, _RELATION, _COMMUNITY = 0, 1, 2


class Neo4jGraphStore:
    """A :class:`~graphready.stores.base.GraphStore` in the Neo4j database ``database`` (None:
    the server's default) at ``uri`` (``bolt://``, ``neo4j://`` and their ``+s`` forms), with
    labels prefixed by ``namespace`` (see :mod:`graphready.stores.neo4j_cypher`). Writes go in
    batches of ``batch_size`` rows (and of at most ``max_param_chars`` characters of parameters,
    when given). A transaction is retried on transient errors for up to ``retry_time_s``;
    getting a connection (connect, handshake, or a free one from the pool) may take up to
    ``connect_timeout_s``. ``vector_dimensions`` sizes the Neo4j vector indexes. Every driver
    error is raised as a :class:`StoreError` naming the URI (never a password); a bad argument
    is a ValueError."""

    def __init__(
        self,
        uri: str,
        database: str | None,
        auth: tuple[str, str] | None,
        *,
        batch_size: int = 500,
        neo4j_features: bool = True,
        namespace: str = "",
        max_param_chars: int | None = None,
        vector_dimensions: int = VECTOR_DIMENSIONS,
        retry_time_s: float = 30.0,
        connect_timeout_s: float = 60.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        labels = cypher.Labels.of(namespace)
        self.uri = _display(uri)
        self.database = database
        self.namespace = namespace
        self._q = cypher.statements(labels)
        self._batch_size = batch_size
        self._hex = not neo4j_features
        self._max_chars = max_param_chars if max_param_chars is not None else (
            None if neo4j_features else BOLT_PARAM_CHARS)
        self._write_lock = threading.Lock()
        self._closed = False
        with self._errors("cannot connect"):
            self._driver: Driver = GraphDatabase.driver(
                uri, auth=auth, connection_timeout=min(CONNECT_TIMEOUT_S, connect_timeout_s),
                connection_acquisition_timeout=connect_timeout_s,
                max_transaction_retry_time=retry_time_s)
        try:
            with self._errors("cannot connect"):
                self._driver.verify_connectivity()
            with self._errors("cannot prepare the schema"):
                if neo4j_features:
                    for statement in cypher.neo4j_schema(namespace):
                        self._write(statement)
                    for _, statement in cypher.vector_indexes(namespace):
                        self._write(statement, dimensions=vector_dimensions)
                else:
                    for statement in cypher.portable_indexes(labels):
                        # No IF NOT EXISTS there: an index that exists is an (opaque) error.
                        with suppress(Neo4jError):
                            self._write(statement)
        except BaseException:
            self._driver.close()
            raise

    # -- extractions ------------------------------------------------------------------------

    def add_extractions(self, items: Sequence[ChunkExtraction]) -> None:
        """Store (or replace) the extractions of these chunks (the last one of a chunk wins)."""
        latest = {item.chunk_id: item for item in items}
        rows = [[chunk_id, encode_extraction(item)] for chunk_id, item in latest.items()]
        with self._errors("cannot store extractions"):
            self._write_batches(self._q.add_extractions, rows)

    def remove_extractions(self, chunk_ids: Iterable[str]) -> None:
        """Forget the extractions of these chunks (unknown ids are ignored)."""
        with self._errors("cannot remove extractions"):
            self._write_batches(self._q.remove_extractions, list(dict.fromkeys(chunk_ids)))

    def iter_extractions(self) -> Iterator[ChunkExtraction]:
        """Every stored extraction, by chunk id, read a page at a time."""
        after = ""
        while True:
            with self._errors("cannot read extractions"):
                rows = self._read(self._q.page_extractions, after=after, limit=PAGE_ROWS)
            for chunk_id, payload in rows:
                yield decode_extraction(chunk_id, payload)
            if len(rows) < PAGE_ROWS:
                return
            after = rows[-1][0]

    def ids(self) -> set[str]:
        """The chunk ids that have an extraction."""
        with self._errors("cannot read extraction ids"):
            return {row[0] for row in self._read(self._q.extraction_ids)}

    # -- the graph --------------------------------------------------------------------------

    def replace_graph(self, graph: KnowledgeGraph, fingerprint: str) -> None:
        """Write ``graph`` as a new version, publish it together with ``fingerprint`` in one
        statement, then delete older versions. A failure leaves the previous graph and
        fingerprint in place. (If another writer published a newer version meanwhile, that one
        stays and this one is discarded.)"""
        problem = graph_problem(graph)
        if problem is not None:
            raise StoreError(f"Neo4j at {self.uri}: cannot replace the graph: {problem}")
        with self._write_lock, self._errors("cannot replace the graph"):
            version = int(self._write(self._q.allocate_version, key=cypher.META_KEY)[0][0])
            try:
                self._drop(self._q.delete_nodes_of, version)  # left over from a lost meta node
                self._write_version(graph, version)
                published = bool(self._write(
                    self._q.publish, key=cypher.META_KEY, version=version,
                    fingerprint=fingerprint)[0][0])
            except BaseException:
                with suppress(*_CLIENT_ERRORS):
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
            with self._errors("cannot load the graph"):
                version, _, counts = self._state()
                if version is None:
                    return None
                if counts is None:
                    continue
                rows = self._read(self._q.read_graph, v=version)
            if len(rows) != sum(counts):  # deleted under us by a newer replace
                continue
            with gc_paused():
                return decode_graph([row[0] for row in rows])
        raise StoreError(f"Neo4j at {self.uri}: cannot load the graph: it was replaced "
                         f"{LOAD_ATTEMPTS} times while being read")

    def counts(self) -> dict[str, int]:
        """The number of entities, relations and communities of the published graph."""
        for _ in range(LOAD_ATTEMPTS):
            with self._errors("cannot count the graph"):
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
        with self._errors("cannot read the sync fingerprint"):
            return self._state()[1]

    def mark_synced(self, fingerprint: str) -> None:
        """Record ``fingerprint`` as the catalog state the store is synced to."""
        with self._errors("cannot write the sync fingerprint"):
            self._write(self._q.mark_synced, key=cypher.META_KEY, fingerprint=fingerprint)

    # -- build lease ------------------------------------------------------------------------

    def acquire_lease(
        self, owner: str, ttl_s: float, stage: str = "", done: int = 0, total: int = 0
    ) -> bool:
        """Take the build lease, or renew it (with new progress) when ``owner`` holds it; True
        when ``owner`` holds it afterwards. One statement that write-locks the lease node
        before testing it, so two takers never both succeed."""
        now = time.time()
        with self._errors("cannot take the build lease"):
            rows = self._write(self._q.acquire_lease, key=cypher.LEASE_KEY, owner=owner,
                               now=now, expires=now + ttl_s, stage=stage, done=done,
                               total=total)
        return bool(rows and rows[0][0])

    def release_lease(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (otherwise do nothing)."""
        with self._errors("cannot release the build lease"):
            self._write(self._q.release_lease, key=cypher.LEASE_KEY, owner=owner)

    def current_lease(self) -> Lease | None:
        """The lease if one is held and not expired, else None."""
        with self._errors("cannot read the build lease"):
            rows = self._read(self._q.read_lease, key=cypher.LEASE_KEY)
        if not rows or rows[0][1] is None or float(rows[0][1]) < time.time():
            return None
        owner, expires, stage, done, total = rows[0]
        return Lease(str(owner), float(expires), str(stage or ""), int(done or 0),
                     int(total or 0))

    def close(self) -> None:
        """Close the driver; the store cannot be used afterwards. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._driver.close()

    # -- internals --------------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        if self._closed:
            raise StoreError(f"Neo4j at {self.uri}: {action}: the store is closed")
        try:
            yield
        except _CLIENT_ERRORS as exc:
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise StoreError(f"Neo4j at {self.uri}: {action}: {reason}") from exc

    def _state(self) -> tuple[int | None, str | None, tuple[int, int, int] | None]:
        """The published version, the fingerprint and the version's item counts (None when
        its record is gone: a newer replace is deleting it)."""
        row = self._read(self._q.read_state, key=cypher.META_KEY)[0]
        version = None if row[0] is None else int(row[0])
        counts = None if row[2] is None else (int(row[2]), int(row[3]), int(row[4]))
        return version, row[1], counts

    def _superseded(self, version: int) -> bool:
        try:
            current = self._state()[0]
        except _CLIENT_ERRORS:
            return False
        return current is not None and current > version

    def _write_version(self, graph: KnowledgeGraph, version: int) -> None:
        entities = []
        for n, e in enumerate(graph.entities):
            chunks = sorted(set(e.chunk_ids))
            entities.append([e.id, e.name, e.type, chunks,
                             compact_json([_ENTITY, n, e.id, e.name, e.type, chunks])])
        self._write_batches(self._q.create_entities, entities, v=version)
        relations = [
            [r.source, r.target, r.label, r.weight if math.isfinite(r.weight) else None,
             list(r.chunk_ids), compact_json([_RELATION, r.source, r.target, r.label, r.weight,
                                       r.chunk_ids])]
            for r in graph.relations]
        created = self._write_batches(self._q.create_relations, relations, v=version)
        if created != len(relations):  # cannot happen after _problem, but never publish it
            raise StoreError(f"Neo4j at {self.uri}: cannot replace the graph: wrote {created} "
                             f"of {len(relations)} relations")
        self._write_batches(self._q.create_communities, [
            [c.id, c.level, c.parent, list(c.entity_ids), c.title, c.summary,
             list(c.chunk_ids),
             compact_json([_COMMUNITY, n, c.id, c.level, c.parent, c.entity_ids, c.title, c.summary,
                    c.chunk_ids])]
            for n, c in enumerate(graph.communities)], v=version)
        self._write(self._q.create_version, v=version, entities=len(graph.entities),
                    relations=len(graph.relations), communities=len(graph.communities))

    def _drop(self, statements: tuple[str, ...], version: int) -> None:
        for statement in statements:
            while self._write(statement, version=version, limit=DELETE_ROWS)[0][0]:
                pass

    def _write_batches(self, query: str, rows: Sequence[Any], **extra: Any) -> int:
        """Send ``rows`` as ``$rows`` in batches; the sum of each batch's first result value
        (the statements that count what they wrote return one), else 0."""
        params = self._encode(extra)
        budget = None if self._max_chars is None else self._max_chars - _chars(params) - 16
        total = 0
        for batch in self._batches([self._encode(row) for row in rows], budget):
            result = self._run(query, {**params, "rows": batch}, write=True)
            total += int(result[0][0]) if result and result[0] else 0
        return total

    def _batches(self, rows: list[Any], budget: int | None) -> Iterator[list[Any]]:
        batch: list[Any] = []
        size = 0
        for row in rows:
            chars = 0 if budget is None else _chars(row) + 2
            if budget is not None and chars > budget:
                raise StoreError(f"Neo4j at {self.uri}: a value of {chars} characters is over "
                                 f"this server's parameter limit ({self._max_chars})")
            if batch and (len(batch) >= self._batch_size or
                          (budget is not None and size + chars > budget)):
                yield batch
                batch, size = [], 0
            batch.append(row)
            size += chars
        if batch:
            yield batch

    def _write(self, query: str, **params: Any) -> list[list[Any]]:
        return self._run(query, self._encode(params), write=True)

    def _read(self, query: str, **params: Any) -> list[list[Any]]:
        return self._run(query, self._encode(params), write=False)

    def _run(self, query: str, params: dict[str, Any], *, write: bool) -> list[list[Any]]:
        """Run one statement in a managed transaction; its rows, decoded."""
        if self._max_chars is not None and _chars(params) > self._max_chars:
            raise StoreError(f"Neo4j at {self.uri}: {_chars(params)} characters of parameters "
                             f"are over this server's limit ({self._max_chars})")
        with self._driver.session(database=self.database) as session:
            execute = session.execute_write if write else session.execute_read
            rows = execute(_collect, query, params)
        return _unhex(rows) if self._hex else rows

    def _encode(self, value: Any) -> Any:
        return _hex(value) if self._hex else value


def _collect(tx: ManagedTransaction, query: str, params: dict[str, Any]) -> list[list[Any]]:
    return [record.values() for record in tx.run(query, params)]


def _hex(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8").hex()
    if isinstance(value, list | tuple):
        return [_hex(item) for item in value]
    if isinstance(value, dict):
        return {key: _hex(item) for key, item in value.items()}
    return value


def _unhex(value: Any) -> Any:
    if isinstance(value, str):
        return bytes.fromhex(value).decode("utf-8")
    if isinstance(value, list | tuple):
        return [_unhex(item) for item in value]
    return value


def _chars(value: Any) -> int:
    """About how many characters ``value`` takes as Cypher literal text (floats as ``%f``,
    which is how FalkorDB's Bolt mode writes them)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, list | tuple):
        return 2 + sum(_chars(item) + 2 for item in value)
    if isinstance(value, dict):
        return 2 + sum(len(key) + _chars(item) + 4 for key, item in value.items())
    if isinstance(value, float):
        return len(f"{value:f}") if math.isfinite(value) else 8
    return len(str(value))


def _display(uri: str) -> str:
    """``uri`` without user name or password."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(an invalid URI)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}"
