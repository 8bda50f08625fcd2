"""One SQLite database file shared by threads of this process and by other processes.

The server reads from a thread pool while a separate build process writes the same file, so:
WAL mode (readers never block the writer), a 30 s busy timeout (concurrent access waits rather
than fails), ``check_same_thread=False`` guarded by one lock per connection, explicit
transactions (``BEGIN IMMEDIATE`` for writes, a snapshot ``BEGIN`` for multi-statement reads),
and every ``sqlite3.Error`` raised as a ``StoreError`` that names the file (a full disk as a
``StorageFull``). A file found damaged when it is opened is moved aside and replaced by an
empty one, which the build fills again (``sqlite/recovery.py``). A store that holds a
build lease keeps it in a ``lease`` table (:class:`SqliteLease`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from graphready.errors import StorageFull, StoreError
from graphready.stores.base import Lease
from graphready.stores.sqlite.recovery import (
    check_pages,
    folder_lock,
    is_corrupt,
    is_disk_full,
    quarantine,
)

log = logging.getLogger("graphready.stores")

LEASE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS lease (key TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    " expires REAL NOT NULL, stage TEXT NOT NULL, done INTEGER NOT NULL,"
    " total INTEGER NOT NULL)")
"""The table of :class:`SqliteLease` (one row while the lease is held)."""
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
            with folder_lock(path.parent):
                self._conn = self._open_checked(schema)
        except OSError as exc:
            raise _store_error(f"cannot open SQLite database {path}", exc) from exc

    def _open_checked(self, schema: Sequence[str]) -> sqlite3.Connection:
        """Open, check the pages and apply the schema; a damaged file is moved aside (logged)
        and an empty one opened in its place (``sqlite/recovery.py``)."""
        try:
            return _connect(self.path, schema)
        except sqlite3.Error as exc:
            if not is_corrupt(exc):
                raise _store_error(f"cannot open SQLite database {self.path}", exc) from exc
            moved = quarantine(self.path)
            log.error("SQLite database %s is damaged (%s): moved aside as %s; what it held is "
                      "rebuilt from the documents", self.path, exc, moved.name)
        try:
            return _connect(self.path, schema)
        except sqlite3.Error as exc:
            raise _store_error(f"cannot open SQLite database {self.path}", exc) from exc

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
            raise _store_error(f"SQLite database {self.path}", exc) from exc

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        with self._lock:
            self._conn.close()


def _connect(path: Path, schema: Sequence[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                           isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        check_pages(conn)
        conn.execute("BEGIN IMMEDIATE")
        for statement in schema:
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn


def _store_error(what: str, exc: BaseException) -> StoreError:
    """The error for ``exc`` (a full disk is a :class:`StorageFull` that says so)."""
    if is_disk_full(exc):
        return StorageFull(f"{what}: {exc}: the disk of the data dir is full; free space, "
                           "then POST /build (or restart) builds what is missing")
    return StoreError(f"{what}: {exc}")


def batches(items: list[str], size: int = MAX_PARAMS) -> Iterator[list[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def placeholders(count: int) -> str:
    """``?, ?, ...`` for ``count`` bound parameters."""
    return ", ".join("?" * count)


class SqliteLease:
    """The build lease of a store kept in ``db`` (whose schema includes
    :data:`LEASE_SCHEMA`), under ``key``: the ``LeaseStore`` methods of the SQLite stores.
    Taken in one ``BEGIN IMMEDIATE`` transaction, which serialises writers across
    processes."""

    def __init__(self, db: SqliteDatabase, key: str = "build") -> None:
        self._db = db
        self._key = key

    def acquire(self, owner: str, ttl_s: float, stage: str, done: int, total: int) -> bool:
        """Take the lease, or renew it (with new progress) when ``owner`` holds it; True when
        ``owner`` holds it afterwards."""
        now = time.time()
        with self._db.write() as conn:
            row = conn.execute("SELECT owner, expires FROM lease WHERE key = ?",
                               (self._key,)).fetchone()
            if row is not None and row[0] != owner and float(row[1]) >= now:
                return False
            conn.execute("INSERT OR REPLACE INTO lease VALUES (?, ?, ?, ?, ?, ?)",
                         (self._key, owner, now + ttl_s, stage, done, total))
        return True

    def release(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (otherwise do nothing)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM lease WHERE key = ? AND owner = ?", (self._key, owner))

    def current(self) -> Lease | None:
        """The lease if one is held and not expired, else None."""
        with self._db.read() as conn:
            row = conn.execute("SELECT owner, expires, stage, done, total FROM lease "
                               "WHERE key = ?", (self._key,)).fetchone()
        if row is None or float(row[1]) < time.time():
            return None
        return Lease(str(row[0]), float(row[1]), str(row[2]), int(row[3]), int(row[4]))
