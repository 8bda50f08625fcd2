"""What the FalkorDB stores (graph and vectors) share: connection settings, the errors that
become ``StoreError``, graph-name validation, batched writes, reads of graphs that may not exist,
index creation, the build lease, and the constructor (:class:`FalkorStore`)."""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from falkordb import FalkorDB
from falkordb.exceptions import SchemaVersionMismatchException
from redis.exceptions import RedisError, ResponseError

from graphready.errors import StoreError
from graphready.stores.base import Lease
from graphready.stores.client import client_errors
from graphready.stores.lease_delegate import LeaseDelegate

BATCH_ROWS = 500
"""Rows sent per ``UNWIND`` write query."""
READ_IDS = 1000
"""Ids sent per ``UNWIND`` read query (:func:`read_batches`)."""
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 300.0
GRAPH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
"""Names a store accepts: they become Redis key prefixes, so no spaces, braces or colons."""
CLIENT_ERRORS = (RedisError, OSError, SchemaVersionMismatchException)
"""What the client raises when the server is unreachable or refuses a query."""
FINGERPRINT = "synced_fingerprint"
"""The ``(:Meta {key})`` of a store's synced fingerprint."""

Q_META_GET = "MATCH (m:Meta {key: $key}) RETURN m.value"
Q_META_SET = "MERGE (m:Meta {key: $key}) SET m.value = $value"
Q_META_DELETE = "MATCH (m:Meta {key: $key}) DELETE m"


# Takes the lease when it is free (no owner, or expired) or renews it for its owner, in one
# (atomic) query; returns a row when $owner holds it afterwards, nothing otherwise.
_Q_LEASE_ACQUIRE = (
    "MERGE (l:Lease {key: $key}) "
    "WITH l WHERE l.owner IS NULL OR l.owner = $owner OR l.expires < $now "
    "SET l.owner = $owner, l.expires = $expires, l.stage = $stage, l.done = $done, "
    "l.total = $total RETURN l.owner"
)
_Q_LEASE_RELEASE = (
    "MATCH (l:Lease {key: $key}) WHERE l.owner = $owner "
    "SET l.owner = NULL, l.expires = NULL, l.stage = NULL, l.done = NULL, l.total = NULL"
)
_Q_LEASE_GET = (
    "MATCH (l:Lease {key: $key}) WHERE l.owner IS NOT NULL "
    "RETURN l.owner, l.expires, l.stage, l.done, l.total"
)


def write_batches(target: Any, query: str, rows: Sequence[Any]) -> None:
    """``query`` once per batch of ``rows`` (as ``$rows``)."""
    for start in range(0, len(rows), BATCH_ROWS):
        target.query(query, {"rows": rows[start:start + BATCH_ROWS]})


def read_rows(
    graph: Any, query: str, params: dict[str, Any] | None = None,
    missing: type[Exception] | None = None,
) -> list[list[Any]]:
    """The rows of a read-only query. A graph that does not exist reads as empty, or raises
    ``missing`` when given (a read-only query never creates it)."""
    return _existing(lambda: graph.ro_query(query, params).result_set, missing)


def read_plain(graph: Any, query: str, missing: type[Exception] | None = None) -> list[list[Any]]:
    """The rows of a read-only query without parameters as the server's plain reply gives
    them (strings, or None), not parsed into typed values: for reads of a whole graph, whose
    typed reply the Python client parses many times slower. A graph that does not exist reads
    as :func:`read_rows` says."""
    return _existing(lambda: graph.execute_command("GRAPH.RO_QUERY", graph.name, query)[1],
                     missing)


def _existing(read: Callable[[], list[list[Any]]],
              missing: type[Exception] | None) -> list[list[Any]]:
    try:
        return read()
    except ResponseError as exc:
        if "empty key" not in str(exc):
            raise
        if missing is not None:
            raise missing() from exc
        return []


def read_batches(graph: Any, query: str, name: str, ids: Collection[str],
                 missing: type[Exception] | None = None) -> list[list[Any]]:
    """The rows of ``query`` for the distinct ``ids`` (sorted), sent as ``$name`` in batches
    of :data:`READ_IDS`, as :func:`read_rows` reads them. Bounded batches keep each query
    short: FalkorDB runs a query on one of its few threads to the end, and a write to a graph
    waits for the reads of it while holding the whole server."""
    wanted = sorted(set(ids))
    return [row for start in range(0, len(wanted), READ_IDS)
            for row in read_rows(graph, query, {name: wanted[start:start + READ_IDS]}, missing)]


def create_index(graph: Any, label: str, attribute: str) -> None:
    """A range index on ``label.attribute``; one that exists already is fine."""
    try:
        graph.query(f"CREATE INDEX FOR (n:{label}) ON (n.{attribute})")
    except ResponseError as exc:
        if "already indexed" not in str(exc):
            raise


class FalkorConnection:
    """A client of the FalkorDB server at ``host:port`` for the stores named ``graph``: checks
    the name, connects, turns every client error into a :class:`StoreError` naming
    ``host:port``, and refuses use after :meth:`close`."""

    def __init__(self, host: str, port: int, graph: str, password: str | None,
                 username: str | None, timeout_s: float) -> None:
        if not GRAPH_NAME.fullmatch(graph):
            raise ValueError(f"invalid FalkorDB graph name {graph!r}: use letters, digits, "
                             "'_', '.' and '-' (at most 200)")
        self.address = f"{host}:{port}"
        self.graph = graph
        self._closed = False
        with self.errors("cannot connect"):
            self.db = FalkorDB(
                host=host, port=port, username=username, password=password,
                socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=timeout_s,
            )

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Client errors inside become ``StoreError("FalkorDB at host:port: action: why")``."""
        with client_errors(f"FalkorDB at {self.address}", action, closed=self._closed,
                           errors=CLIENT_ERRORS):
            yield

    def close(self) -> None:
        """Close the connections; safe to call twice."""
        if not self._closed:
            self._closed = True
            self.db.close()


class FalkorLease:
    """A build lease kept in the FalkorDB graph ``graph`` as one ``(:Lease {key, owner,
    expires, stage, done, total})`` node (no ``owner`` while free), under ``key``: the
    ``LeaseStore`` methods of the FalkorDB stores. Taken, renewed and released each in ONE
    query, so atomically against every other client; times are the callers' ``time.time()``,
    never the server's. The ``Lease`` label is created (by its index) here, before any
    ``MERGE``: measured on FalkorDB, concurrent ``MERGE`` queries on a label the graph does not
    know yet can each create the node (8 racing takers, 2 of 30 rounds), while on a known
    label they never did (0 of 40)."""

    def __init__(self, conn: FalkorConnection, graph: Any, key: str = "build") -> None:
        self._conn = conn
        self._graph = graph
        self._key = key
        create_index(graph, "Lease", "key")

    def acquire(self, owner: str, ttl_s: float, stage: str, done: int, total: int) -> bool:
        """Take the lease, or renew it (with new progress) when ``owner`` holds it; True when
        ``owner`` holds it afterwards."""
        now = time.time()
        with self._conn.errors("cannot take the build lease"):
            rows = self._graph.query(_Q_LEASE_ACQUIRE, {
                "key": self._key, "owner": owner, "now": now, "expires": now + ttl_s,
                "stage": stage, "done": done, "total": total,
            }).result_set
        return bool(rows)

    def release(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (otherwise do nothing)."""
        with self._conn.errors("cannot release the build lease"):
            self._graph.query(_Q_LEASE_RELEASE, {"key": self._key, "owner": owner})

    def current(self) -> Lease | None:
        """The lease if one is held and not expired, else None."""
        with self._conn.errors("cannot read the build lease"):
            rows = read_rows(self._graph, _Q_LEASE_GET, {"key": self._key})
        if not rows or float(rows[0][1]) < time.time():
            return None
        owner, expires, stage, done, total = rows[0]
        return Lease(str(owner), float(expires), str(stage), int(done), int(total))


class FalkorStore(LeaseDelegate, ABC):
    """What a FalkorDB store is built on: a :class:`FalkorConnection` to the server at
    ``host:port`` for the stores named ``graph``, a lock that serialises the writes of one
    store object, the store's own graphs and indexes, prepared by :meth:`_open` (client
    errors there become a :class:`StoreError` "cannot prepare the :attr:`KIND`", and close the
    connection), and its ``(:Meta {key, value})`` nodes in the graph :attr:`_meta`, the synced
    fingerprint among them. A bad graph name is a ValueError, before connecting."""

    KIND: ClassVar[str]
    """What the store is, in its errors: ``"graph store"``, ``"vector store"``."""
    _meta: Any
    """The graph that holds the store's meta nodes (set by :meth:`_open`)."""

    def __init__(
        self,
        host: str,
        port: int,
        graph: str,
        password: str | None = None,
        *,
        username: str | None = None,
        timeout_s: float = SOCKET_TIMEOUT_S,
    ) -> None:
        self._conn = FalkorConnection(host, port, graph, password, username, timeout_s)
        self.address = self._conn.address
        self.graph = graph
        self._write_lock = threading.Lock()
        try:
            with self._conn.errors(f"cannot prepare the {self.KIND}"):
                self._lease = self._open()
        except StoreError:
            self._conn.close()
            raise

    @abstractmethod
    def _open(self) -> FalkorLease:
        """Select the store's graphs (:attr:`_meta` among them) and create their indexes; the
        store's build lease."""

    def synced_fingerprint(self) -> str | None:
        """The catalog fingerprint of the last complete sync, if any."""
        with self._conn.errors("cannot read the sync fingerprint"):
            value = self._meta_value(FINGERPRINT)
        return None if value is None else str(value)

    def mark_synced(self, fingerprint: str) -> None:
        """Record ``fingerprint`` as the catalog state the store is synced to."""
        with self._conn.errors("cannot write the sync fingerprint"):
            self._set_meta(FINGERPRINT, fingerprint)

    def _meta_value(self, key: str) -> Any:
        rows = read_rows(self._meta, Q_META_GET, {"key": key})
        return rows[0][0] if rows else None

    def _set_meta(self, key: str, value: Any) -> None:
        self._meta.query(Q_META_SET, {"key": key, "value": value})

    def _delete_meta(self, key: str) -> None:
        self._meta.query(Q_META_DELETE, {"key": key})

    def close(self) -> None:
        """Close the connections; the store cannot be used afterwards. Safe to call twice."""
        self._conn.close()
