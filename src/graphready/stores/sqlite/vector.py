"""Vectors in their own SQLite file, searched exactly (cosine) by numpy over an in-memory copy.

The file is written by the build process and read by the server process at the same time: WAL,
a 30 s busy timeout and a write counter in the meta table let a reader's ``refresh()`` skip the
reload when nothing changed. Stored vectors are L2-normalised, so a dot product is the cosine.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphready.errors import StoreError
from graphready.stores.base import Hit, Vectors
from graphready.stores.lease_delegate import LeaseDelegate
from graphready.stores.sqlite.common import LEASE_SCHEMA, SqliteDatabase, SqliteLease
from graphready.stores.vectors import (
    add_dimension_error,
    rows_to_add,
    search_dimension_error,
    unit_query,
)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vectors (chunk_id TEXT PRIMARY KEY, vec BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    LEASE_SCHEMA,
)
_MODEL_ID = "model_id"
_FINGERPRINT = "synced_fingerprint"
_DIM = "dim"
_COUNTER = "write_counter"


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """An immutable in-memory copy of the vectors, as of write counter ``counter``."""

    ids: tuple[str, ...]
    matrix: Vectors
    counter: int


class SqliteVectorStore(LeaseDelegate):
    """A ``VectorStore`` in one SQLite file. Thread-safe; several processes may open the file.

    ``search`` reads an in-memory matrix loaded on first use; writes through this object keep it
    current, writes by other objects or processes become visible after ``refresh()``. The
    matrix's rows are in chunk id order, whatever order they were written in, so the same
    vectors give the same scores to the last bit and ties rank in id order: a store that saw
    deletes and re-adds answers as one built from scratch. Any write
    clears the synced fingerprint (the contents no longer match it), and changing the model id
    deletes every vector.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._db = SqliteDatabase(path, _SCHEMA)
        self._lease = SqliteLease(self._db)

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """The connection inside one read transaction (a consistent snapshot)."""
        return self._db.read()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a failed write also drops the in-memory copy."""
        try:
            with self._db.write() as conn:
                yield conn
        except BaseException:
            self._snapshot = None
            raise

    @staticmethod
    def _get(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _put(conn: sqlite3.Connection, key: str, value: str | None) -> None:
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @classmethod
    def _counter(cls, conn: sqlite3.Connection) -> int:
        return int(cls._get(conn, _COUNTER) or 0)

    def _bump(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """Count a write and forget the synced fingerprint; the counter before and after."""
        before = self._counter(conn)
        self._put(conn, _COUNTER, str(before + 1))
        self._put(conn, _FINGERPRINT, None)
        return before, before + 1

    # DerivedStore

    def ids(self) -> set[str]:
        with self._read() as conn:
            return {str(row[0]) for row in conn.execute("SELECT chunk_id FROM vectors")}

    def synced_fingerprint(self) -> str | None:
        with self._read() as conn:
            return self._get(conn, _FINGERPRINT)

    def mark_synced(self, fingerprint: str) -> None:
        with self._write() as conn:
            self._put(conn, _FINGERPRINT, fingerprint)

    def close(self) -> None:
        with self._lock:
            self._snapshot = None
        self._db.close()

    # VectorStore

    def model_id(self) -> str | None:
        with self._read() as conn:
            return self._get(conn, _MODEL_ID)

    def set_model_id(self, model_id: str) -> None:
        """Record the embedder; a different one than stored deletes every (now stale) vector."""
        with self._write() as conn:
            if self._get(conn, _MODEL_ID) == model_id:
                return
            after = self._bump(conn)[1]
            conn.execute("DELETE FROM vectors")
            self._put(conn, _DIM, None)
            self._put(conn, _MODEL_ID, model_id)
            self._snapshot = _Snapshot((), np.empty((0, 0), dtype=np.float32), after)

    def add(self, ids: Sequence[str], vectors: Vectors) -> None:
        """Insert or replace the vectors of ``ids`` (row ``i`` of ``vectors`` is ``ids[i]``)."""
        matrix = rows_to_add(ids, vectors)
        if matrix is None:
            return
        dim = matrix.shape[1]
        with self._write() as conn:
            stored = self._get(conn, _DIM)
            if stored is not None and int(stored) != dim:
                raise add_dimension_error(dim, stored)
            before, after = self._bump(conn)
            self._put(conn, _DIM, str(dim))
            conn.executemany(
                "INSERT OR REPLACE INTO vectors (chunk_id, vec) VALUES (?, ?)",
                zip(ids, (row.tobytes() for row in matrix), strict=True),
            )
            self._apply_add(before, after, list(ids), matrix)

    def remove(self, ids: Iterable[str]) -> None:
        gone = set(ids)
        if not gone:
            return
        with self._write() as conn:
            before, after = self._bump(conn)
            conn.executemany("DELETE FROM vectors WHERE chunk_id = ?", ((i,) for i in gone))
            self._apply_remove(before, after, gone)

    def refresh(self) -> None:
        """Reload the in-memory copy if anyone wrote since it was loaded."""
        with self._read() as conn:
            if self._snapshot is None or self._snapshot.counter == self._counter(conn):
                return
            self._snapshot = self._load(conn)

    def search(self, query: Vectors, k: int) -> list[Hit]:
        """The ``k`` stored vectors with the highest cosine to ``query``, best first (equal
        scores in chunk id order)."""
        snapshot = self._current()
        q = unit_query(query)[0]
        if k <= 0 or not snapshot.ids:
            return []
        if q.shape[0] != snapshot.matrix.shape[1]:
            raise search_dimension_error(q.shape[0], snapshot.matrix.shape[1])
        scores = snapshot.matrix @ q
        if k < len(scores):
            # every row scoring at least the k-th best, ties at the cut included, in row (id)
            # order; a stable sort then ranks equal scores by id
            kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
            candidates = np.flatnonzero(scores >= kth)
            top = candidates[np.argsort(-scores[candidates], kind="stable")][:k]
        else:
            top = np.argsort(-scores, kind="stable")
        return [Hit(snapshot.ids[i], float(scores[i])) for i in top]

    # the in-memory copy

    def _current(self) -> _Snapshot:
        with self._lock:
            snapshot = self._snapshot
        if snapshot is not None:
            return snapshot
        with self._read() as conn:
            if self._snapshot is None:
                self._snapshot = self._load(conn)
            return self._snapshot

    def _load(self, conn: sqlite3.Connection) -> _Snapshot:
        """Every vector, read with one query straight into one matrix (called inside a read;
        no copy of the rows is held on the way, so loading adds no more than the matrix)."""
        counter = self._counter(conn)
        count = int(conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
        ids: list[str] = []
        matrix = np.empty((0, 0), dtype=np.float32)
        for chunk_id, vec in conn.execute("SELECT chunk_id, vec FROM vectors ORDER BY chunk_id"):
            if not ids:
                matrix = np.empty((count, len(vec) // 4), dtype=np.float32)
            if len(ids) >= count or len(vec) == 0 or len(vec) != matrix.shape[1] * 4:
                raise StoreError(f"vector store {self._path}: vectors of unequal sizes")
            matrix[len(ids)] = np.frombuffer(vec, dtype=np.float32)
            ids.append(str(chunk_id))
        conn.execute("PRAGMA shrink_memory")  # the page cache the read filled: searches use
        # the matrix, not the file
        if not ids:
            return _Snapshot((), np.empty((0, 0), dtype=np.float32), counter)
        return _Snapshot(tuple(ids), matrix[: len(ids)], counter)

    def _apply_add(self, before: int, after: int, ids: list[str], matrix: Vectors) -> None:
        """Keep a current in-memory copy current; drop one that missed others' writes."""
        old = self._snapshot
        if old is None or old.counter != before:
            self._snapshot = None
            return
        latest = {chunk_id: row for row, chunk_id in enumerate(ids)}
        position = {chunk_id: i for i, chunk_id in enumerate(old.ids)}
        replaced = [(position[c], r) for c, r in latest.items() if c in position]
        new_ids = [c for c in latest if c not in position]
        base = old.matrix.copy() if replaced else old.matrix
        for i, r in replaced:
            base[i] = matrix[r]
        added = matrix[[latest[c] for c in new_ids]]
        merged = np.vstack([base, added]) if base.size else added
        ids_now = old.ids + tuple(new_ids)
        order = sorted(range(len(ids_now)), key=ids_now.__getitem__)  # rows in id order
        self._snapshot = _Snapshot(tuple(ids_now[i] for i in order), merged[order], after)

    def _apply_remove(self, before: int, after: int, gone: set[str]) -> None:
        old = self._snapshot
        if old is None or old.counter != before:
            self._snapshot = None
            return
        keep = [i for i, chunk_id in enumerate(old.ids) if chunk_id not in gone]
        ids = tuple(old.ids[i] for i in keep)
        matrix = old.matrix[keep] if ids else np.empty((0, 0), dtype=np.float32)
        self._snapshot = _Snapshot(ids, matrix, after)
