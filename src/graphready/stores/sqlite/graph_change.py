"""The SQLite graph store's in-place updates: the contribution index kept with the graph, the
reads of the parts of the graph a change reaches, and a :class:`~graphready.stores.base.
GraphChange` written in one transaction (functions on a connection the store holds in a
transaction).

The index is three tables: ``contrib_chunks`` (every chunk the graph was built from, also those
that contribute nothing), ``contrib_keys`` (key, chunk) and ``contrib_aliases`` (chunk, short,
long). The meta key ``contributions`` says the index matches the graph; a whole-graph
``replace_graph`` clears both.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from graphready.extraction.contributions import Contribution
from graphready.knowledge import Community, Entity, Relation
from graphready.stores.base import CommunityRow, GraphChange

IN_BATCH = 500
"""Values bound in one ``IN (...)`` list."""
READY = "contributions"
"""The meta key set when the contribution index matches the graph."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS contrib_chunks (chunk_id TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS contrib_keys (key TEXT NOT NULL, chunk_id TEXT NOT NULL,"
    " PRIMARY KEY (key, chunk_id)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS contrib_keys_by_chunk ON contrib_keys (chunk_id)",
    "CREATE TABLE IF NOT EXISTS contrib_aliases (chunk_id TEXT NOT NULL, short TEXT NOT NULL,"
    " long TEXT NOT NULL, PRIMARY KEY (chunk_id, short)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS relations_by_target ON relations (target)",  # graph_part
)
INDEX_TABLES = ("contrib_chunks", "contrib_keys", "contrib_aliases")


def dump_ids(ids: Sequence[str]) -> str:
    """A list of ids as compact JSON (how relations and communities store theirs)."""
    return json.dumps(list(ids), separators=(",", ":"))


def _batches(values: Collection[str]) -> Iterator[list[str]]:
    items = sorted(values)
    for start in range(0, len(items), IN_BATCH):
        yield items[start:start + IN_BATCH]


def select_in(conn: sqlite3.Connection, query: str, values: Collection[str],
               extra: int = 1) -> Iterator[Any]:
    """The rows of ``query`` (whose ``{}`` is an ``IN`` list, repeated ``extra`` times) for
    ``values``, a batch at a time."""
    for batch in _batches(values):
        marks = ",".join("?" * len(batch))
        yield from conn.execute(query.format(*[marks] * extra), batch * extra)


def chunk_ids(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT chunk_id FROM contrib_chunks")}


def contributions(conn: sqlite3.Connection, ids: Collection[str]) -> list[Contribution]:
    known = {row[0] for row in select_in(
        conn, "SELECT chunk_id FROM contrib_chunks WHERE chunk_id IN ({})", ids)}
    keys: dict[str, list[str]] = {}
    for key, chunk in select_in(
            conn, "SELECT key, chunk_id FROM contrib_keys WHERE chunk_id IN ({})", known):
        keys.setdefault(chunk, []).append(key)
    aliases: dict[str, list[tuple[str, str]]] = {}
    for chunk, short, long in select_in(
            conn, "SELECT chunk_id, short, long FROM contrib_aliases WHERE chunk_id IN ({})",
            known):
        aliases.setdefault(chunk, []).append((short, long))
    return [Contribution(c, tuple(sorted(keys.get(c, ()))), tuple(sorted(aliases.get(c, ()))))
            for c in sorted(known)]


def key_counts(conn: sqlite3.Connection, keys: Collection[str]) -> dict[str, int]:
    return {key: int(n) for key, n in select_in(
        conn, "SELECT key, COUNT(*) FROM contrib_keys WHERE key IN ({}) GROUP BY key", keys)}


def chunks_of_keys(conn: sqlite3.Connection, keys: Collection[str]) -> set[str]:
    return {row[0] for row in select_in(
        conn, "SELECT chunk_id FROM contrib_keys WHERE key IN ({})", keys)}


def alias_votes(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    votes: dict[str, dict[str, int]] = {}
    for short, long, n in conn.execute(
            "SELECT short, long, COUNT(*) FROM contrib_aliases GROUP BY short, long"):
        votes.setdefault(short, {})[long] = int(n)
    return votes


def graph_part(conn: sqlite3.Connection, ids: Collection[str],
               inner: bool = False) -> tuple[list[Entity], list[Relation]]:
    chunks: dict[str, list[str]] = {}
    for entity, chunk in select_in(
            conn, "SELECT entity_id, chunk_id FROM entity_chunks WHERE entity_id IN ({})", ids):
        chunks.setdefault(entity, []).append(chunk)
    entities = sorted(
        (Entity(i, name, kind, tuple(sorted(chunks.get(i, ()))), description)
         for i, name, kind, description in select_in(
             conn, "SELECT id, name, type, description FROM entities WHERE id IN ({})", ids)),
        key=lambda e: e.id)
    wanted = set(ids)
    found: Iterable[Any]
    if inner:  # both ends among ids: those with the smaller end in a batch, filtered
        found = (r for r in select_in(
            conn, "SELECT source, target, label, weight, chunk_ids, description FROM relations "
            "WHERE source IN ({})", wanted) if r[1] in wanted)
    else:
        found = select_in(
            conn, "SELECT source, target, label, weight, chunk_ids, description FROM relations "
            "WHERE source IN ({}) UNION ALL SELECT source, target, label, weight, chunk_ids, "
            "description FROM relations WHERE target IN ({})", wanted, extra=2)
    rows = {(r[0], r[1]): r for r in found}
    relations = [Relation(s, t, label, float(w), tuple(json.loads(c)), d)
                 for (s, t), (_, _, label, w, c, d) in sorted(rows.items())]
    return entities, relations


def edges(conn: sqlite3.Connection,
          among: Collection[str] | None = None) -> list[tuple[str, str, float]]:
    if among is None:
        return [(s, t, float(w)) for s, t, w in conn.execute(
            "SELECT source, target, weight FROM relations ORDER BY source, target")]
    wanted = set(among)
    return sorted((s, t, float(w)) for s, t, w in select_in(
        conn, "SELECT source, target, weight FROM relations WHERE source IN ({})", wanted)
        if t in wanted)


def community_rows(conn: sqlite3.Connection) -> list[CommunityRow]:
    return [CommunityRow(i, int(level), parent, tuple(json.loads(members)))
            for i, level, parent, members in conn.execute(
                "SELECT id, level, parent, entity_ids FROM communities")]


def get_communities(conn: sqlite3.Connection, ids: Collection[str]) -> list[Community]:
    return [Community(i, level, parent, tuple(json.loads(members)), title, summary,
                      tuple(json.loads(chunks)), float(rating))
            for i, level, parent, title, summary, members, chunks, rating in select_in(
                conn, "SELECT id, level, parent, title, summary, entity_ids, chunk_ids, rating "
                "FROM communities WHERE id IN ({})", ids)]


def insert_graph(conn: sqlite3.Connection, entities: Sequence[Entity],
                 relations: Sequence[Relation], communities: Sequence[Community]) -> None:
    """Insert these rows (their ids must not be stored)."""
    conn.executemany("INSERT INTO entities (id, name, type, description) VALUES (?, ?, ?, ?)",
                     [(e.id, e.name, e.type, e.description) for e in entities])
    conn.executemany("INSERT OR IGNORE INTO entity_chunks VALUES (?, ?)",
                     [(e.id, c) for e in entities for c in e.chunk_ids])
    conn.executemany(
        "INSERT INTO relations (source, target, label, weight, chunk_ids, description) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(r.source, r.target, r.label, r.weight, dump_ids(r.chunk_ids), r.description)
         for r in relations])
    conn.executemany(
        "INSERT INTO communities (id, level, parent, title, summary, entity_ids, "
        "chunk_ids, rating) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(c.id, c.level, c.parent, c.title, c.summary, dump_ids(c.entity_ids),
          dump_ids(c.chunk_ids), c.rating) for c in communities])


def _insert_contributions(conn: sqlite3.Connection, items: Sequence[Contribution]) -> None:
    conn.executemany("INSERT OR REPLACE INTO contrib_chunks VALUES (?)",
                     [(c.chunk_id,) for c in items])
    conn.executemany("INSERT OR REPLACE INTO contrib_keys VALUES (?, ?)",
                     [(key, c.chunk_id) for c in items for key in c.keys])
    conn.executemany("INSERT OR REPLACE INTO contrib_aliases VALUES (?, ?, ?)",
                     [(c.chunk_id, short, long) for c in items for short, long in c.aliases])


def apply_change(conn: sqlite3.Connection, change: GraphChange) -> None:
    """Write ``change`` (in the caller's transaction) and mark the index as matching."""
    if change.full:
        for table in ("entities", "entity_chunks", "relations", "communities", *INDEX_TABLES):
            conn.execute(f"DELETE FROM {table}")
    else:
        ids = [(i,) for i in sorted(change.entity_ids)]
        conn.executemany("DELETE FROM relations WHERE source = ? AND target = ?",
                         sorted(change.relation_pairs))
        conn.executemany("DELETE FROM entity_chunks WHERE entity_id = ?", ids)
        conn.executemany("DELETE FROM entities WHERE id = ?", ids)
        conn.executemany("DELETE FROM communities WHERE id = ?",
                         [(i,) for i in sorted(change.community_ids)])
        gone = [(c,) for c in change.removed]
        for table in INDEX_TABLES:
            conn.executemany(f"DELETE FROM {table} WHERE chunk_id = ?", gone)
    insert_graph(conn, change.entities, change.relations, change.communities)
    _insert_contributions(conn, change.added)
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (READY, "1"))


def clear_index(conn: sqlite3.Connection) -> None:
    """Forget the contribution index (the graph was replaced without one)."""
    for table in INDEX_TABLES:
        conn.execute(f"DELETE FROM {table}")
    conn.execute("DELETE FROM meta WHERE key = ?", (READY,))
