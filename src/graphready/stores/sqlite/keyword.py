"""The keyword index on SQLite FTS5, ranked by BM25 with the title weighted above the text."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from graphready.documents.types import Chunk
from graphready.stores.base import Hit
from graphready.stores.sqlite.common import SqliteDatabase, batches, placeholders

TITLE_WEIGHT = 2.0
TEXT_WEIGHT = 1.0
MAX_QUERY_TERMS = 32
"""Distinct terms kept from one query (the first ones), bounding the cost of a search."""

_STOPWORDS_TEXT = """
    a an and are as at be been but by can did do does for from had has have how i if in into
    is it its me my no not of on or our s so than that the their them then there these they
    this to was we were what when where which who whom why will with would you your
    """
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

_TOKEN = re.compile(r"[^\W_]+")
_FINGERPRINT_KEY = "synced_fingerprint"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS chunks ("
    " rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE,"
    " title TEXT NOT NULL, text TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5("
    " chunk_id UNINDEXED, title, text, content='chunks', content_rowid='rowid',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN"
    " INSERT INTO chunks_fts (rowid, chunk_id, title, text)"
    " VALUES (new.rowid, new.chunk_id, new.title, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN"
    " INSERT INTO chunks_fts (chunks_fts, rowid, chunk_id, title, text)"
    " VALUES ('delete', old.rowid, old.chunk_id, old.title, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS chunks_au AFTER UPDATE ON chunks BEGIN"
    " INSERT INTO chunks_fts (chunks_fts, rowid, chunk_id, title, text)"
    " VALUES ('delete', old.rowid, old.chunk_id, old.title, old.text);"
    " INSERT INTO chunks_fts (rowid, chunk_id, title, text)"
    " VALUES (new.rowid, new.chunk_id, new.title, new.text); END",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def query_terms(query: str) -> list[str]:
    """The search terms of free text: lower-cased alphanumeric runs, de-duplicated, without
    stopwords (unless the query is nothing but stopwords), at most ``MAX_QUERY_TERMS``."""
    tokens = list(dict.fromkeys(_TOKEN.findall(query.lower())))
    content = [t for t in tokens if t not in STOPWORDS]
    return (content or tokens)[:MAX_QUERY_TERMS]


def _forget_synced(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM meta WHERE key = ?", (_FINGERPRINT_KEY,))


def fts_query(query: str) -> str:
    """An FTS5 MATCH expression for free text that cannot be a syntax error: every term is a
    quoted string (so ``AND``, ``NEAR``, ``*``, quotes and brackets mean nothing) and the
    terms are OR-ed. Empty when the text has no terms."""
    return " OR ".join(f'"{term}"' for term in query_terms(query))


class SqliteKeywordIndex:
    """The ``KeywordIndex`` on one SQLite file with FTS5 (Porter stemming, diacritics folded).

    Chunks live in an ordinary table keyed by chunk id and an external-content FTS5 table kept
    in step by triggers. A write that changes the contents (``add``, or a ``remove`` that
    deletes something) clears the synced fingerprint in the same transaction, as the vector
    store does: the contents no longer match it until the next ``mark_synced``.
    """

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)

    def add(self, chunks: Sequence[Chunk]) -> None:
        """Index ``chunks``; a chunk id already present is re-indexed with the new text."""
        if not chunks:
            return
        with self._db.write() as conn:
            _forget_synced(conn)
            conn.executemany(
                "INSERT INTO chunks (chunk_id, title, text) VALUES (?, ?, ?)"
                " ON CONFLICT (chunk_id) DO UPDATE"
                " SET title = excluded.title, text = excluded.text",
                [(c.id, c.title, c.text) for c in chunks],
            )

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Drop these chunk ids from the index (unknown ids are ignored)."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return
        with self._db.write() as conn:
            deleted = 0
            for batch in batches(ids):
                deleted += conn.execute(
                    f"DELETE FROM chunks WHERE chunk_id IN ({placeholders(len(batch))})", batch
                ).rowcount
            if deleted:
                _forget_synced(conn)

    def search(self, query: str, k: int) -> list[Hit]:
        """The best ``k`` chunks for free text ``query`` by BM25 (score = -bm25, higher is
        better), equal scores in chunk id order (not the order the rows were written in, so
        that an index that saw deletes and re-adds ranks as one built from scratch). Any text
        is accepted; text without search terms gives no hits."""
        expression = fts_query(query)
        if not expression or k <= 0:
            return []
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT chunk_id, bm25(chunks_fts, 0.0, ?, ?) AS rank FROM chunks_fts"
                " WHERE chunks_fts MATCH ? ORDER BY rank, chunk_id LIMIT ?",
                (TITLE_WEIGHT, TEXT_WEIGHT, expression, k),
            ).fetchall()
        return [Hit(chunk_id=r[0], score=-float(r[1])) for r in rows]

    def ids(self) -> set[str]:
        """Every indexed chunk id."""
        with self._db.read() as conn:
            return {r[0] for r in conn.execute("SELECT chunk_id FROM chunks")}

    def synced_fingerprint(self) -> str | None:
        """The catalog fingerprint this index was last completely synced to, if any."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT value FROM meta WHERE key = ?", (_FINGERPRINT_KEY,)
            ).fetchone()
        return None if row is None else str(row[0])

    def mark_synced(self, fingerprint: str) -> None:
        """Record that the index now holds exactly the chunks of catalog ``fingerprint``."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_FINGERPRINT_KEY, fingerprint),
            )

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
