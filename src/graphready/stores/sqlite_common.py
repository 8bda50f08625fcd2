"""One SQLite database file shared by threads of this process and by other processes.

The server reads from a thread pool while a separate build process writes the same file, so:
WAL mode (readers never block the writer), a 30 s busy timeout (concurrent access waits rather
than fails), ``check_same_thread=False`` guarded by one lock per connection, explicit
transactions (``BEGIN IMMEDIATE`` for writes, a snapshot ``BEGIN`` for multi-statement reads),
and every ``sqlite3.Error`` raised as a ``StoreError`` that names the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from graphready.errors import StoreError

BUSY_TIMEOUT_S = 30.0
MAX_PARAMS = 500
"""Ids bound per ``IN (...)`` query, well under SQLite's variable limit."""


class SqliteDatabase:
    """A locked connection to one SQLite file with transaction helpers. ``schema`` holds
    idempotent ``CREATE ... IF NOT EXISTS`` statements, run in one transaction on open."""

    def __init__(self, path: Path, schema: Sequence[str]) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open SQLite database {path}: {exc}") from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            with self.write() as conn:
                for statement in schema:
                    conn.execute(statement)
        except (StoreError, sqlite3.Error) as exc:
            self._conn.close()
            raise StoreError(f"cannot open SQLite database {path}: {exc}") from exc

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on
        any exception."""
        with self._lock, self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several read statements."""
        with self._lock, self._errors():
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                if self._conn.in_transaction:
                    self._conn.rollback()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite database {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        with self._lock:
            self._conn.close()


def batches(items: list[str], size: int = MAX_PARAMS) -> Iterator[list[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def placeholders(count: int) -> str:
    """``?, ?, ...`` for ``count`` bound parameters."""
    return ", ".join("?" * count)
