"""The catalog on SQLite: source files, their documents and chunks, and the skipped files."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from graphready.documents.hashing import fingerprint
from graphready.documents.types import Chunk, Document, SkippedFile, SourceFile
from graphready.stores.base import CatalogDocument, SourceChange
from graphready.stores.paging import keyset_pages
from graphready.stores.sqlite.common import SqliteDatabase, batches, placeholders

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sources ("
    " path TEXT PRIMARY KEY, file_hash TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS documents ("
    " source TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL,"
    " content_hash TEXT NOT NULL, PRIMARY KEY (source, id))",
    "CREATE INDEX IF NOT EXISTS documents_by_id ON documents (id)",
    "CREATE TABLE IF NOT EXISTS chunks ("
    " source TEXT NOT NULL, id TEXT NOT NULL, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,"
    " title TEXT NOT NULL, text TEXT NOT NULL, page INTEGER, PRIMARY KEY (source, id))",
    "CREATE INDEX IF NOT EXISTS chunks_by_id ON chunks (id)",
    "CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc_id, ordinal)",
    "CREATE TABLE IF NOT EXISTS skipped ("
    " seq INTEGER PRIMARY KEY, path TEXT NOT NULL, reason TEXT NOT NULL)",
)

# One row per distinct chunk id; where several sources hold the same id, the row of the
# alphabetically first source (SQLite takes bare columns from the MIN() row).
_CHUNK_COLUMNS = "id, doc_id, ordinal, title, text, page, MIN(source)"
_PAGE = 1000


def _chunk(row: Sequence[Any]) -> Chunk:
    return Chunk(id=row[0], doc_id=row[1], ordinal=row[2], title=row[3], text=row[4],
                 page=row[5])


def _present(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that some source holds."""
    found: set[str] = set()
    for batch in batches(list(ids)):
        sql = f"SELECT DISTINCT id FROM chunks WHERE id IN ({placeholders(len(batch))})"
        found.update(r[0] for r in conn.execute(sql, batch))
    return found


def _source_chunk_ids(conn: sqlite3.Connection, path: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM chunks WHERE source = ?", (path,))]


class SqliteCatalog:
    """The ``Catalog`` on one SQLite file, safe to share between threads and processes.

    Keys are per source: a document is keyed by ``(source, id)`` and a chunk row by
    ``(source, chunk id)``. So when two source files carry the same document id (two
    ``.jsonl`` files with the same passage id), both are kept and neither file's changes touch
    the other's rows. The catalog's chunk-id *set* is the union over sources: chunks with the
    same id are the same document id, position and text, so they are one chunk (``get_chunks``
    returns the row of the alphabetically first source), and ``SourceChange`` reports changes
    to that set: an id another source still holds is never reported removed, and an id
    another source already held is never reported added. ``document_count`` counts
    ``(source, id)`` pairs.
    """

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)
        with self._db.write() as conn:  # a catalog written before chunks kept their page
            if "page" not in {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}:
                conn.execute("ALTER TABLE chunks ADD COLUMN page INTEGER")

    def sources(self) -> dict[str, str]:
        """Every known source file's path mapped to the hash of its bytes."""
        with self._db.read() as conn:
            return dict(conn.execute("SELECT path, file_hash FROM sources"))

    def apply_source(
        self, source: SourceFile, documents: Sequence[Document], chunks: Sequence[Chunk]
    ) -> SourceChange:
        """Make the catalog hold exactly these documents and chunks for ``source``, in one
        transaction; report the chunk ids that entered and left the catalog."""
        new_ids = list(dict.fromkeys(c.id for c in chunks))
        with self._db.write() as conn:
            old_ids = _source_chunk_ids(conn, source.path)
            old_set, new_set = set(old_ids), set(new_ids)
            fresh = [i for i in new_ids if i not in old_set]
            held_elsewhere = _present(conn, fresh)
            conn.execute("DELETE FROM documents WHERE source = ?", (source.path,))
            conn.execute("DELETE FROM chunks WHERE source = ?", (source.path,))
            conn.executemany(
                "INSERT OR REPLACE INTO documents (source, id, title, content_hash)"
                " VALUES (?, ?, ?, ?)",
                [(source.path, d.id, d.title, d.content_hash) for d in documents],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO chunks (source, id, doc_id, ordinal, title, text, page)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(source.path, c.id, c.doc_id, c.ordinal, c.title, c.text, c.page)
                 for c in chunks],
            )
            conn.execute(
                "INSERT INTO sources (path, file_hash) VALUES (?, ?)"
                " ON CONFLICT (path) DO UPDATE SET file_hash = excluded.file_hash",
                (source.path, source.file_hash),
            )
            gone = [i for i in old_ids if i not in new_set]
            still_held = _present(conn, gone)
        return SourceChange(
            added_chunk_ids=tuple(i for i in fresh if i not in held_elsewhere),
            removed_chunk_ids=tuple(i for i in gone if i not in still_held),
        )

    def remove_source(self, path: str) -> SourceChange:
        """Forget a source file and everything that came from it, in one transaction."""
        with self._db.write() as conn:
            old_ids = _source_chunk_ids(conn, path)
            conn.execute("DELETE FROM documents WHERE source = ?", (path,))
            conn.execute("DELETE FROM chunks WHERE source = ?", (path,))
            conn.execute("DELETE FROM sources WHERE path = ?", (path,))
            still_held = _present(conn, old_ids)
        return SourceChange((), tuple(i for i in old_ids if i not in still_held))

    def chunk_ids(self) -> set[str]:
        """Every chunk id in the catalog."""
        with self._db.read() as conn:
            return {r[0] for r in conn.execute("SELECT DISTINCT id FROM chunks")}

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that exist, in the order asked (missing ids omitted)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Chunk] = {}
        with self._db.read() as conn:
            for batch in batches(wanted):
                sql = (
                    f"SELECT {_CHUNK_COLUMNS} FROM chunks"
                    f" WHERE id IN ({placeholders(len(batch))}) GROUP BY id"
                )
                found.update((row[0], _chunk(row)) for row in conn.execute(sql, batch))
        return [found[i] for i in ids if i in found]

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, in id order, read in pages (the lock is not held between pages)."""
        def page(after: str, limit: int) -> list[Any]:
            with self._db.read() as conn:
                return conn.execute(
                    f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id > ?"
                    " GROUP BY id ORDER BY id LIMIT ?",
                    (after, limit),
                ).fetchall()

        for rows in keyset_pages(page, _PAGE):
            yield from (_chunk(row) for row in rows)

    def fingerprint(self) -> str:
        """``hashing.fingerprint`` of the set of chunk ids."""
        return fingerprint(self.chunk_ids())

    def document_count(self) -> int:
        """How many documents, counting each ``(source, id)`` once."""
        with self._db.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def documents(self, ids: Collection[str] | None = None) -> list[CatalogDocument]:
        """Every document (or those with one of ``ids``: what they cost, not the corpus),
        ordered by id then source, with its chunk ids in order."""
        with self._db.read() as conn:
            if ids is None:
                docs = conn.execute("SELECT source, id, title, content_hash FROM documents"
                                    " ORDER BY id, source").fetchall()
                chunks = conn.execute("SELECT source, doc_id, id FROM chunks"
                                      " ORDER BY source, doc_id, ordinal").fetchall()
            else:
                docs, chunks = [], []
                for batch in batches(sorted(set(ids))):
                    marks = placeholders(len(batch))
                    docs += conn.execute("SELECT source, id, title, content_hash FROM documents"
                                         f" WHERE id IN ({marks})", batch).fetchall()
                    chunks += conn.execute("SELECT source, doc_id, id FROM chunks WHERE doc_id"
                                           f" IN ({marks}) ORDER BY source, doc_id, ordinal",
                                           batch).fetchall()
                docs.sort(key=lambda r: (r[1], r[0]))
        owned: dict[tuple[str, str], list[str]] = {}
        for source, doc_id, chunk in chunks:
            owned.setdefault((source, doc_id), []).append(chunk)
        return [CatalogDocument(r[0], r[1], r[2], r[3], tuple(owned.get((r[0], r[1]), ())))
                for r in docs]

    def chunk_count(self) -> int:
        """How many distinct chunk ids."""
        with self._db.read() as conn:
            return int(conn.execute("SELECT COUNT(DISTINCT id) FROM chunks").fetchone()[0])

    def set_skipped(self, skipped: Sequence[SkippedFile]) -> None:
        """Replace the list of files skipped by the last scan."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM skipped")
            conn.executemany(
                "INSERT INTO skipped (path, reason) VALUES (?, ?)",
                [(s.path, s.reason) for s in skipped],
            )

    def skipped(self) -> list[SkippedFile]:
        """The files skipped by the last scan, in the order they were recorded."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT path, reason FROM skipped ORDER BY seq").fetchall()
        return [SkippedFile(path=r[0], reason=r[1]) for r in rows]

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
