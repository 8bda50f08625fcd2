"""What the FalkorDB stores (graph and vectors) share: connection settings, the errors that
become ``StoreError``, graph-name validation, batched writes, reads of graphs that may not exist,
and index creation."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from falkordb import FalkorDB
from falkordb.exceptions import SchemaVersionMismatchException
from redis.exceptions import RedisError, ResponseError

from graphready.errors import StoreError

BATCH_ROWS = 500
"""Rows sent per ``UNWIND`` write query."""
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 300.0
GRAPH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
"""Names a store accepts: they become Redis key prefixes, so no spaces, braces or colons."""
CLIENT_ERRORS = (RedisError, OSError, SchemaVersionMismatchException)
"""What the client raises when the server is unreachable or refuses a query."""


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
    try:
        rows: list[list[Any]] = graph.ro_query(query, params).result_set
    except ResponseError as exc:
        if "empty key" not in str(exc):
            raise
        if missing is not None:
            raise missing() from exc
        return []
    return rows


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
        if self._closed:
            raise StoreError(f"FalkorDB at {self.address}: {action}: the store is closed")
        try:
            yield
        except CLIENT_ERRORS as exc:
            reason = str(exc) or type(exc).__name__
            raise StoreError(f"FalkorDB at {self.address}: {action}: {reason}") from exc

    def close(self) -> None:
        """Close the connections; safe to call twice."""
        if not self._closed:
            self._closed = True
            self.db.close()

