"""What the FalkorDB stores (graph and vectors) share: connection settings, the errors that
become ``StoreError``, graph-name validation, batched writes, reads of graphs that may not exist,
and index creation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from falkordb.exceptions import SchemaVersionMismatchException
from redis.exceptions import RedisError, ResponseError

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
