"""The graph store on SQLite: per-chunk extractions (the cache that makes rebuilds incremental)
and the assembled graph, replaced in one transaction together with its sync fingerprint, or
changed in place with its contribution index (:mod:`graphready.stores.sqlite.graph_change`).

The file is shared by a build process that writes and a server that reads, so it runs in WAL
mode with a generous busy timeout; one connection per store object, guarded by a lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from graphready.extraction.contributions import Contribution
from graphready.gcpause import gc_paused
from graphready.knowledge import (
    ChunkExtraction,
    Community,
    Entity,
    KnowledgeGraph,
    Relation,
)
from graphready.stores.base import CommunityRow, GraphChange
from graphready.stores.graph_codec import decode_extraction, encode_extraction
from graphready.stores.lease_delegate import LeaseDelegate
from graphready.stores.paging import keyset_pages
from graphready.stores.sharing import Shared
from graphready.stores.sqlite import graph_change
from graphready.stores.sqlite.common import LEASE_SCHEMA, SqliteDatabase, SqliteLease

PAGE_ROWS = 1000
_FINGERPRINT = "fingerprint"
_GRAPH_BUILT = "graph_built"
_EXTRACTOR_ID = "extractor_id"
_ADDED_COLUMNS = (
    ("entities", "description", "TEXT NOT NULL DEFAULT ''"),
    ("relations", "description", "TEXT NOT NULL DEFAULT ''"),
    ("communities", "rating", "REAL NOT NULL DEFAULT 0"),
)
"""Columns added since the first schema: :func:`_migrate` adds them to older files."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS extractions (chunk_id TEXT PRIMARY KEY, payload TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entities ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,"
    " description TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS entity_chunks ("
    " entity_id TEXT NOT NULL, chunk_id TEXT NOT NULL,"
    " PRIMARY KEY (entity_id, chunk_id)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS entity_chunks_by_chunk ON entity_chunks (chunk_id)",
    "CREATE TABLE IF NOT EXISTS relations ("
    " source TEXT NOT NULL, target TEXT NOT NULL, label TEXT NOT NULL, weight REAL NOT NULL,"
    " chunk_ids TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (source, target)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS communities ("
    " id TEXT PRIMARY KEY, level INTEGER NOT NULL, parent TEXT, title TEXT NOT NULL,"
    " summary TEXT NOT NULL, entity_ids TEXT NOT NULL, chunk_ids TEXT NOT NULL,"
    " rating REAL NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    LEASE_SCHEMA,
    *graph_change.SCHEMA,
)


class SqliteGraphStore(LeaseDelegate):
    """A :class:`~graphready.stores.base.GraphStore` in one SQLite file at ``path`` (WAL, 30 s
    busy timeout, one locked connection: see :mod:`graphready.stores.sqlite.common`)."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)
        try:
            _migrate(self._db)
        except BaseException:
            self._db.close()
            raise
        self._lease = SqliteLease(self._db)

    def add_extractions(self, items: Sequence[ChunkExtraction]) -> None:
        """Store (or replace) the extractions of these chunks."""
        rows = [(item.chunk_id, encode_extraction(item)) for item in items]
        if rows:
            with self._db.write() as conn:
                conn.executemany("INSERT OR REPLACE INTO extractions VALUES (?, ?)", rows)

    def remove_extractions(self, chunk_ids: Iterable[str]) -> None:
        """Forget the extractions of these chunks (unknown ids are ignored)."""
        rows = [(chunk_id,) for chunk_id in chunk_ids]
        if rows:
            with self._db.write() as conn:
                conn.executemany("DELETE FROM extractions WHERE chunk_id = ?", rows)

    def iter_extractions(self) -> Iterator[ChunkExtraction]:
        """Every stored extraction, by chunk id, read a page at a time."""
        def page(after: str, limit: int) -> list[Any]:
            with self._db.read() as conn:
                return conn.execute(
                    "SELECT chunk_id, payload FROM extractions WHERE chunk_id > ? "
                    "ORDER BY chunk_id LIMIT ?", (after, limit)).fetchall()

        for rows in keyset_pages(page, PAGE_ROWS):
            for chunk_id, payload in rows:
                yield decode_extraction(chunk_id, payload)

    def ids(self) -> set[str]:
        """The chunk ids that have an extraction."""
        with self._db.read() as conn:
            return {row[0] for row in conn.execute("SELECT chunk_id FROM extractions")}

    def extractor_id(self) -> str | None:
        """The extractor the stored extractions come from, if one was recorded."""
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?",
                               (_EXTRACTOR_ID,)).fetchone()
        return None if row is None else str(row[0])

    def set_extractor_id(self, extractor_id: str) -> None:
        """Record the extractor; a different one than stored (or none) deletes every stored
        extraction and forgets the synced fingerprint, in the same transaction."""
        with self._db.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?",
                               (_EXTRACTOR_ID,)).fetchone()
            if row is not None and row[0] == extractor_id:
                return
            conn.execute("DELETE FROM extractions")
            conn.execute("DELETE FROM meta WHERE key = ?", (_FINGERPRINT,))
            graph_change.clear_index(conn)
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                         (_EXTRACTOR_ID, extractor_id))

    def replace_graph(self, graph: KnowledgeGraph, fingerprint: str) -> None:
        """Store ``graph`` in place of the previous one and mark it synced, in one transaction
        (the contribution index is cleared: the next change replaces the whole graph)."""
        with self._db.write() as conn:
            for table in ("entities", "entity_chunks", "relations", "communities"):
                conn.execute(f"DELETE FROM {table}")
            graph_change.clear_index(conn)
            graph_change.insert_graph(conn, graph.entities, graph.relations, graph.communities)
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [(_GRAPH_BUILT, "1"), (_FINGERPRINT, fingerprint)])

    # -- in-place changes (IncrementalGraphStore) -------------------------------------------

    def apply_graph_change(self, change: GraphChange, fingerprint: str) -> None:
        """Apply ``change`` and mark the store synced to ``fingerprint``, in one transaction."""
        with self._db.write() as conn:
            graph_change.apply_change(conn, change)
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [(_GRAPH_BUILT, "1"), (_FINGERPRINT, fingerprint)])

    def incremental_ready(self) -> bool:
        """Whether the stored graph was written with its contribution index."""
        with self._db.read() as conn:
            return conn.execute("SELECT 1 FROM meta WHERE key = ?",
                                (graph_change.READY,)).fetchone() is not None

    def graph_chunk_ids(self) -> set[str]:
        """The chunks the stored graph was built from."""
        with self._db.read() as conn:
            return graph_change.chunk_ids(conn)

    def contributions(self, chunk_ids: Collection[str]) -> list[Contribution]:
        """The contributions of those of ``chunk_ids`` the graph was built from."""
        with self._db.read() as conn:
            return graph_change.contributions(conn, chunk_ids)

    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        """How many chunks contribute to each of ``keys`` (keys with none left out)."""
        with self._db.read() as conn:
            return graph_change.key_counts(conn, keys)

    def chunks_of_keys(self, keys: Collection[str]) -> set[str]:
        """The chunks that contribute to any of ``keys``."""
        with self._db.read() as conn:
            return graph_change.chunks_of_keys(conn, keys)

    def alias_votes(self) -> dict[str, dict[str, int]]:
        """Short key -> long key -> how many chunks show that alias."""
        with self._db.read() as conn:
            return graph_change.alias_votes(conn)

    def get_extractions(self, chunk_ids: Collection[str]) -> list[ChunkExtraction]:
        """The stored extractions of those of ``chunk_ids`` that have one, by chunk id."""
        with self._db.read() as conn:
            rows = list(graph_change.select_in(
                conn, "SELECT chunk_id, payload FROM extractions WHERE chunk_id IN ({})",
                chunk_ids))
        return [decode_extraction(c, payload) for c, payload in sorted(rows)]

    def graph_part(self, entity_ids: Collection[str],
                   inner: bool = False) -> tuple[list[Entity], list[Relation]]:
        """The entities with these ids (by id) and every relation touching one (with
        ``inner``: both ends among them), by pair."""
        with self._db.read() as conn:
            return graph_change.graph_part(conn, entity_ids, inner)

    def edges(self, among: Collection[str] | None = None) -> list[tuple[str, str, float]]:
        """Every relation (with ``among``: every one with both ends among those entities) as
        (source, target, weight), by pair."""
        with self._db.read() as conn:
            return graph_change.edges(conn, among)

    def total_weight(self) -> float:
        """The sum of every relation's weight."""
        with self._db.read() as conn:
            return float(conn.execute("SELECT TOTAL(weight) FROM relations").fetchone()[0])

    def community_rows(self) -> list[CommunityRow]:
        """Every community's place in the hierarchy."""
        with self._db.read() as conn:
            return graph_change.community_rows(conn)

    def get_communities(self, ids: Collection[str]) -> list[Community]:
        """The communities with these ids."""
        with self._db.read() as conn:
            return graph_change.get_communities(conn, ids)

    def load_graph(self) -> KnowledgeGraph | None:
        """The last complete graph (read as one snapshot), or None when none was ever stored.
        Entities and communities come back in the order they were stored (for a graph
        changed in place: the order a build stores them in, entities by id, communities by
        level, then size, largest first, then id), relations by (source, target), each
        entity's chunk ids sorted."""
        with gc_paused(), self._db.read() as conn:
            graph = _load_snapshot(conn)
            conn.execute("PRAGMA shrink_memory")  # the page cache the read filled: read once
            return graph

    def synced_fingerprint(self) -> str | None:
        """The catalog fingerprint of the last complete graph, if any."""
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (_FINGERPRINT,)).fetchone()
        return None if row is None else str(row[0])

    def mark_synced(self, fingerprint: str) -> None:
        """Record ``fingerprint`` as the catalog state the store is synced to."""
        with self._db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_FINGERPRINT, fingerprint))

    def counts(self) -> dict[str, int]:
        """The number of entities, relations and communities of the stored graph."""
        with self._db.read() as conn:
            return {
                table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("entities", "relations", "communities")
            }

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        self._db.close()


def _migrate(db: SqliteDatabase) -> None:
    """Add the columns of :data:`_ADDED_COLUMNS` that a file made by an older version lacks
    (checked again inside the write transaction, so two processes opening it at once are
    safe)."""
    with db.read() as conn:
        missing = [c for c in _ADDED_COLUMNS if c[1] not in _columns(conn, c[0])]
    if not missing:
        return
    with db.write() as conn:
        for table, column, declaration in missing:
            if column not in _columns(conn, table):
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def _load_snapshot(conn: sqlite3.Connection) -> KnowledgeGraph | None:
    if conn.execute("SELECT 1 FROM meta WHERE key = ?", (_GRAPH_BUILT,)).fetchone() is None:
        return None
    in_place = conn.execute("SELECT 1 FROM meta WHERE key = ?",
                            (graph_change.READY,)).fetchone() is not None
    shared = Shared()  # each id, chunk list, label and weight held once
    chunks = {
        entity_id: shared.texts([row[1] for row in rows])
        for entity_id, rows in groupby(
            conn.execute("SELECT entity_id, chunk_id FROM entity_chunks "
                         "ORDER BY entity_id, chunk_id"), key=lambda row: row[0])
    }
    entities = tuple(
        Entity(shared.text(i), name, shared.text(kind), chunks.get(i, ()), description)
        for i, name, kind, description in conn.execute(
            "SELECT id, name, type, description FROM entities "
            + ("ORDER BY id" if in_place else "ORDER BY rowid"))
    )
    del chunks
    relations = tuple(
        Relation(shared.text(s), shared.text(t), shared.text(label), shared.number(weight),
                 shared.json_texts(ids), description)
        for s, t, label, weight, ids, description in conn.execute(
            "SELECT source, target, label, weight, chunk_ids, description FROM relations "
            "ORDER BY source, target")
    )
    communities = sorted((
        Community(i, level, parent, shared.json_texts(members), title, summary,
                  shared.json_texts(ids), float(rating))
        for i, level, parent, title, summary, members, ids, rating in conn.execute(
            "SELECT id, level, parent, title, summary, entity_ids, chunk_ids, rating "
            "FROM communities ORDER BY rowid")
    ), key=lambda c: (c.level, -len(c.entity_ids), c.id) if in_place else 0)
    return KnowledgeGraph(entities, relations, tuple(communities))
