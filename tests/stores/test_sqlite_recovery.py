"""A damaged SQLite file is recognised when opened and moved aside with its WAL; a full disk is
told apart from damage (``stores/sqlite/recovery.py``)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from graphready.errors import StorageFull, StoreError
from graphready.stores.sqlite.common import SqliteDatabase
from graphready.stores.sqlite.recovery import (
    QUARANTINE_MARK,
    is_corrupt,
    is_disk_full,
    quarantined,
)

SCHEMA = ("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT NOT NULL)",)


def filled(path: Path, rows: int = 2000) -> None:
    db = SqliteDatabase(path, SCHEMA)
    with db.write() as conn:
        conn.executemany("INSERT INTO t VALUES (?, ?)",
                         [(f"key-{i:05d}", "value " * 20) for i in range(rows)])
    db.close()


@pytest.mark.parametrize("how", ["truncated", "pages overwritten"])
def test_a_damaged_file_is_moved_aside_and_an_empty_one_opened(tmp_path: Path, how: str,
                                                               caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    path = tmp_path / "store.db"
    filled(path)
    size = path.stat().st_size
    with path.open("r+b") as f:
        if how == "truncated":
            f.truncate(size // 2)
        else:
            f.seek(size // 2)
            f.write(b"\xff" * 8192)
    db = SqliteDatabase(path, SCHEMA)
    try:
        with db.read() as conn:
            assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    finally:
        db.close()
    moved = quarantined(tmp_path)
    assert len(moved) == 1 and moved[0].startswith("store.db" + QUARANTINE_MARK)
    assert (tmp_path / moved[0]).stat().st_size == (size // 2 if how == "truncated" else size)
    assert f"SQLite database {path} is damaged" in caplog.text and moved[0] in caplog.text


def test_a_healthy_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    filled(path, rows=10)
    db = SqliteDatabase(path, SCHEMA)
    with db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (10,)
    db.close()
    assert quarantined(tmp_path) == []


def test_errors_are_classified() -> None:
    corrupt = sqlite3.DatabaseError("file is not a database")
    corrupt.sqlite_errorcode = sqlite3.SQLITE_NOTADB
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
    assert is_corrupt(corrupt) and not is_corrupt(full) and not is_corrupt(busy)
    assert is_disk_full(full) and not is_disk_full(busy) and not is_disk_full(corrupt)
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert issubclass(StorageFull, StoreError) and StorageFull.status_code == 507
