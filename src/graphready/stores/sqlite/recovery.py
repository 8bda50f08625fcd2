"""What a damaged or full SQLite file means, and what is done about it.

Every SQLite file of a data dir holds something derived from the documents (the catalog from the
files and the uploads, the keyword index, vectors and graph from the catalog; the LLM cache from
the model's replies), so a file that is damaged (truncated, overwritten: SQLite says "file is
not a database" or "database disk image is malformed") is never served from and never stops the
server: when it is opened, it is checked (``PRAGMA quick_check``), and a damaged one is moved
aside as ``NAME.corrupt-<UTC time>-<pid>`` (with its ``-wal`` and ``-shm``), logged with the
file's name, and replaced by an empty database, which the next build fills from the documents.
Opening is serialised across the processes that share a data dir (a lock on its folder), so two
processes that find the same damaged file move it aside once.

A full disk ("database or disk is full", ``ENOSPC``) is not damage: the transaction is rolled
back, the file keeps what it held, and the error says which file and that space must be freed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

QUARANTINE_MARK = ".corrupt-"
"""A damaged file ``X.db`` is moved aside as ``X.db.corrupt-<time>-<pid>``."""
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def is_corrupt(exc: BaseException) -> bool:
    """Whether a SQLite error says the file is damaged (not that it is busy, full or missing)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _CORRUPT_CODES
    return isinstance(exc, sqlite3.DatabaseError) and (
        "file is not a database" in str(exc) or "malformed" in str(exc))


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error says the disk (or the database's size limit) is full."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def check_pages(conn: sqlite3.Connection) -> None:
    """Raise ``sqlite3.DatabaseError`` (malformed) unless ``PRAGMA quick_check`` passes: every
    page and record is well formed (about 0.1 s for a 64 MB file)."""
    rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    if rows != [("ok",)]:
        problem = " ".join(str(rows[0][0]).split())[:200] if rows else "no result"
        raise sqlite3.DatabaseError(f"database disk image is malformed ({problem})")


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``flock`` of the directory: shared by every
    process of the host, released when the holder dies)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def quarantine(path: Path) -> Path:
    """Move ``path`` (and its ``-wal`` and ``-shm``) aside; the new name of ``path``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}"
    moved = path.with_name(f"{path.name}{QUARANTINE_MARK}{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{moved}{suffix}"))
    return moved


def quarantined(folder: Path) -> list[str]:
    """The damaged files moved aside in ``folder`` that are still there, oldest first."""
    try:
        names = [p.name for p in folder.iterdir() if QUARANTINE_MARK in p.name
                 and not p.name.endswith(("-wal", "-shm"))]
    except OSError:
        return []
    return sorted(names, key=lambda n: n.split(QUARANTINE_MARK, 1)[1])
