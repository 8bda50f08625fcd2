"""What the Neo4j stores (graph and vectors) share: the driver and its settings, the errors that
become ``StoreError`` (naming the URI, never a password), managed read and write transactions,
batched ``UNWIND`` writes, the build lease, and the constructor (:class:`Neo4jStore`).

``neo4j_features=False`` is for FalkorDB's Bolt mode (the test double of a Neo4j server), which
has two defects worked around here: string parameters are spliced into the query text unescaped
(a quote breaks the query or injects Cypher; a trailing backslash hangs it), so every string
travels hex-encoded (UTF-8, which keeps the order of ids for paging) and comes back decoded; and
a statement whose parameters total more than about 4 KB crashes the server, so batches are also
capped by size and a single oversized value is refused with a :class:`StoreError`.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar
from urllib.parse import urlsplit

from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import DriverError, Neo4jError

from graphready.errors import StoreError
from graphready.stores.base import Lease
from graphready.stores.client import client_errors, plain_reason
from graphready.stores.lease_delegate import LeaseDelegate
from graphready.stores.neo4j.cypher import Labels, LeaseStatements

CONNECT_TIMEOUT_S = 5.0
BOLT_PARAM_CHARS = 3000
"""With ``neo4j_features=False``: the most parameter text one statement may carry (FalkorDB's
Bolt mode crashes at about 4,070 characters)."""
CLIENT_ERRORS = (DriverError, Neo4jError, OSError)
"""What the driver raises when the server is unreachable or refuses a statement."""


class Neo4jConnection:
    """A driver for the Neo4j database ``database`` (None: the server's default) at ``uri``
    (``bolt://``, ``neo4j://`` and their ``+s`` forms), checked to answer. Every statement runs
    in a managed transaction (``execute_read`` / ``execute_write``), which the driver retries on
    transient errors for up to ``retry_time_s``; getting a connection may take up to
    ``connect_timeout_s``. Writes go in batches of ``batch_size`` rows (and of at most
    ``max_param_chars`` characters of parameters, when given; by default only without
    ``neo4j_features``). Thread-safe, as the driver is."""

    def __init__(
        self,
        uri: str,
        database: str | None,
        auth: tuple[str, str] | None,
        *,
        batch_size: int,
        neo4j_features: bool,
        max_param_chars: int | None,
        retry_time_s: float,
        connect_timeout_s: float,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.uri = display_uri(uri)
        self.database = database
        self.neo4j_features = neo4j_features
        self._batch_size = batch_size
        self._hex = not neo4j_features
        self.max_chars = max_param_chars if max_param_chars is not None else (
            None if neo4j_features else BOLT_PARAM_CHARS)
        self._closed = False
        with self.errors("cannot connect"):
            self._driver: Driver = GraphDatabase.driver(
                uri, auth=auth, connection_timeout=min(CONNECT_TIMEOUT_S, connect_timeout_s),
                connection_acquisition_timeout=connect_timeout_s,
                max_transaction_retry_time=retry_time_s)
        try:
            with self.errors("cannot connect"):
                self._driver.verify_connectivity()
        except BaseException:
            self._driver.close()
            raise

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Driver errors inside become ``StoreError("Neo4j at URI: action: why")``."""
        with client_errors(f"Neo4j at {self.uri}", action, closed=self._closed,
                           errors=CLIENT_ERRORS, reason=_reason):
            yield

    def write(self, query: str, **params: Any) -> list[list[Any]]:
        """The rows of ``query`` run in a managed write transaction."""
        return self.run(query, self.encode(params), write=True)

    def read(self, query: str, **params: Any) -> list[list[Any]]:
        """The rows of ``query`` run in a managed read transaction."""
        return self.run(query, self.encode(params), write=False)

    def write_batches(self, query: str, rows: Sequence[Any], **extra: Any) -> int:
        """Send ``rows`` as ``$rows`` in batches (with ``extra`` as the other parameters); the
        sum of each batch's first result value (for statements that count what they wrote),
        else 0. A row over the parameter limit is refused before anything is sent."""
        return self.send_batches(query, self.batches(rows, **extra))

    def batches(self, rows: Sequence[Any], **extra: Any) -> list[dict[str, Any]]:
        """The parameters of each batch of ``rows`` (as ``$rows``, with ``extra``), encoded and
        checked against the parameter limit (a :class:`StoreError` names a row over it)."""
        params = self.encode(extra)
        budget = None if self.max_chars is None else self.max_chars - param_chars(params) - 16
        return [{**params, "rows": batch}
                for batch in self._batches([self.encode(row) for row in rows], budget)]

    def send_batches(self, query: str, batches: Sequence[dict[str, Any]]) -> int:
        """Run ``query`` once per batch made by :meth:`batches`; the sum of each result's first
        value, else 0."""
        total = 0
        for params in batches:
            result = self.run(query, params, write=True)
            total += int(result[0][0]) if result and result[0] else 0
        return total

    def run(self, query: str, params: dict[str, Any], *, write: bool) -> list[list[Any]]:
        """Run one statement (its parameters already encoded) in a managed transaction; its
        rows, decoded."""
        if self.max_chars is not None and param_chars(params) > self.max_chars:
            raise StoreError(f"Neo4j at {self.uri}: {param_chars(params)} characters of "
                             f"parameters are over this server's limit ({self.max_chars})")
        with self._driver.session(database=self.database) as session:
            execute = session.execute_write if write else session.execute_read
            rows = execute(_collect, query, params)
        return _unhex(rows) if self._hex else rows

    def encode(self, value: Any) -> Any:
        """``value`` as it must travel to this server (strings hex-encoded for Bolt mode)."""
        return _hex(value) if self._hex else value

    def close(self) -> None:
        """Close the driver; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._driver.close()

    def _batches(self, rows: list[Any], budget: int | None) -> Iterator[list[Any]]:
        batch: list[Any] = []
        size = 0
        for row in rows:
            chars = 0 if budget is None else param_chars(row) + 2
            if budget is not None and chars > budget:
                raise StoreError(f"Neo4j at {self.uri}: a value of {chars} characters is over "
                                 f"this server's parameter limit ({self.max_chars})")
            if batch and (len(batch) >= self._batch_size or
                          (budget is not None and size + chars > budget)):
                yield batch
                batch, size = [], 0
            batch.append(row)
            size += chars
        if batch:
            yield batch


class Neo4jLease:
    """A build lease kept in the meta node ``key`` through ``conn`` (see
    :func:`graphready.stores.neo4j.cypher.lease_statements`): the ``LeaseStore`` methods of the
    Neo4j stores. Each is one statement that write-locks the lease node before testing it, so
    two takers never both succeed; times are the callers' ``time.time()``."""

    def __init__(self, conn: Neo4jConnection, statements: LeaseStatements, key: str) -> None:
        self._conn = conn
        self._q = statements
        self._key = key

    def acquire(self, owner: str, ttl_s: float, stage: str, done: int, total: int) -> bool:
        """Take the lease, or renew it (with new progress) when ``owner`` holds it; True when
        ``owner`` holds it afterwards."""
        now = time.time()
        with self._conn.errors("cannot take the build lease"):
            rows = self._conn.write(self._q.acquire, key=self._key, owner=owner, now=now,
                                    expires=now + ttl_s, stage=stage, done=done, total=total)
        return bool(rows and rows[0][0])

    def release(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (otherwise do nothing)."""
        with self._conn.errors("cannot release the build lease"):
            self._conn.write(self._q.release, key=self._key, owner=owner)

    def current(self) -> Lease | None:
        """The lease if one is held and not expired, else None."""
        with self._conn.errors("cannot read the build lease"):
            rows = self._conn.read(self._q.read, key=self._key)
        if not rows or rows[0][1] is None or float(rows[0][1]) < time.time():
            return None
        owner, expires, stage, done, total = rows[0]
        return Lease(str(owner), float(expires), str(stage or ""), int(done or 0),
                     int(total or 0))


class Neo4jStore(LeaseDelegate, ABC):
    """What a Neo4j store is built on: a :class:`Neo4jConnection` (its arguments; ``batch_size``
    None is the store's :attr:`BATCH_SIZE`), labels prefixed by ``namespace`` (see
    :mod:`graphready.stores.neo4j.cypher`), a lock that serialises the writes of one store
    object, and the store's schema and build lease, prepared by :meth:`_open` (a driver error
    there is a :class:`StoreError` ":attr:`PREPARING`"; any failure closes the driver). A bad
    argument is a ValueError."""

    BATCH_SIZE: ClassVar[int]
    """Rows per write batch unless ``batch_size`` says otherwise."""
    PREPARING: ClassVar[str]
    """The action a failure to prepare the store names (``"cannot prepare the schema"``)."""

    def __init__(
        self,
        uri: str,
        database: str | None,
        auth: tuple[str, str] | None,
        *,
        batch_size: int | None = None,
        neo4j_features: bool = True,
        namespace: str = "",
        max_param_chars: int | None = None,
        retry_time_s: float = 30.0,
        connect_timeout_s: float = 60.0,
    ) -> None:
        labels = Labels.of(namespace)
        self.namespace = namespace
        self._write_lock = threading.Lock()
        self._conn = Neo4jConnection(
            uri, database, auth, batch_size=self.BATCH_SIZE if batch_size is None else batch_size,
            neo4j_features=neo4j_features, max_param_chars=max_param_chars,
            retry_time_s=retry_time_s, connect_timeout_s=connect_timeout_s)
        self.uri = self._conn.uri
        self.database = database
        try:
            with self._conn.errors(self.PREPARING):
                self._lease = self._open(labels)
        except BaseException:
            self._conn.close()
            raise

    @abstractmethod
    def _open(self, labels: Labels) -> Neo4jLease:
        """Set up the store's statements for ``labels`` and create its schema (with
        :meth:`_create_schema`); the store's build lease."""

    def _create_schema(self, neo4j: Iterable[tuple[str, dict[str, Any]]],
                       portable: Iterable[str]) -> None:
        """Run the ``neo4j`` schema statements (each with its parameters), or without
        ``neo4j_features`` create the ``portable`` indexes instead: that mode has no ``IF NOT
        EXISTS``, and an index that exists is an (opaque) error, ignored."""
        if self._conn.neo4j_features:
            for statement, params in neo4j:
                self._conn.write(statement, **params)
            return
        for statement in portable:
            with suppress(Neo4jError):
                self._conn.write(statement)

    def close(self) -> None:
        """Close the driver; the store cannot be used afterwards. Safe to call twice."""
        self._conn.close()


def _reason(exc: BaseException) -> str:
    """A driver error's ``message`` when it has one, else its text."""
    return getattr(exc, "message", None) or plain_reason(exc)


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


def param_chars(value: Any) -> int:
    """About how many characters ``value`` takes as Cypher literal text (floats as ``%f``,
    which is how FalkorDB's Bolt mode writes them)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, list | tuple):
        return 2 + sum(param_chars(item) + 2 for item in value)
    if isinstance(value, dict):
        return 2 + sum(len(key) + param_chars(item) + 4 for key, item in value.items())
    if isinstance(value, float):
        return len(f"{value:f}") if math.isfinite(value) else 8
    return len(str(value))


def display_uri(uri: str) -> str:
    """``uri`` without user name or password."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "(an invalid URI)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}"
