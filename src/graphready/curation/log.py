"""The edit log: the curators' edits, kept in their own SQLite file in the data dir's store
folder (``curation.db``, beside the catalog), apart from the extracted graph, so that every
process of ``--workers`` and every restart sees the same edits. Beside the edits it holds what
the last graph stage made of them: each edit's outcome, the digest of the live edits the
stored graph has applied, and the marks the graph view and the export show."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from graphready.config import Settings
from graphready.errors import Conflict, NotFound, StoreError
from graphready.stores.sqlite.common import BUSY_TIMEOUT_S, SqliteDatabase

from .apply import Marks, Outcome
from .edits import Change, Edit, Status, decode_change, digest, fields_of, op_of

FILE = "curation.db"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS edits (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE, op TEXT NOT NULL, fields TEXT NOT NULL, names TEXT NOT NULL,"
    " created_at TEXT NOT NULL, by TEXT, undone_at TEXT, undone_by TEXT,"
    " status TEXT NOT NULL, problem TEXT)",
    "CREATE TABLE IF NOT EXISTS applied (one INTEGER PRIMARY KEY CHECK (one = 1),"
    " digest TEXT NOT NULL, marks TEXT NOT NULL, ids TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entity_keys (entity_id TEXT PRIMARY KEY, key TEXT NOT NULL)",
)
_COLUMNS = "id, op, fields, names, created_at, by, undone_at, undone_by, status, problem"


def log_path(settings: Settings) -> Path:
    """Where a data dir's edit log lives."""
    return settings.db_dir / FILE


def now() -> str:
    """The time now, ISO 8601 in UTC to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _edit(row: sqlite3.Row | tuple[object, ...]) -> Edit:
    (ident, op, fields, names, created_at, by, undone_at, undone_by, status, problem) = row
    return Edit(str(ident), decode_change(str(op), json.loads(str(fields))),
                json.loads(str(names)), str(created_at), cast("str | None", by),
                cast("str | None", undone_at), cast("str | None", undone_by),
                cast(Status, status), cast("str | None", problem))


def _marks_json(marks: Marks) -> str:
    return json.dumps({"aliases": {k: list(v) for k, v in marks.aliases.items()},
                       "entities": sorted(marks.entities),
                       "relations": sorted(list(p) for p in marks.relations)})


def _marks(text: str, applied: str) -> Marks:
    data = json.loads(text)
    return Marks({k: tuple(v) for k, v in data["aliases"].items()},
                 frozenset(data["entities"]),
                 frozenset((a, b) for a, b in data["relations"]), applied)


@dataclass(frozen=True, slots=True)
class Applied:
    """What the graph stage needs of the log: the live edits, and of the stored graph the
    digest and ids of the edits it has applied (live or stale then); the keys of the entities
    edits named (entity id -> key, as the stage found them)."""

    live: list[Edit]
    digest: str
    ids: frozenset[str]
    keys: dict[str, str]
    everything: list[Edit] = field(default_factory=list)
    """Every edit, undone ones included."""

    @property
    def named(self) -> set[str]:
        """The ids of the entities that the live edits, and the edits the stored graph has
        applied, name: what applying them again may change."""
        return {i for e in self.live for i in e.change.entities} | {
            i for e in self.undone for i in e.change.entities}

    @property
    def undone(self) -> list[Edit]:
        """The edits the stored graph has applied that are undone since."""
        return [e for e in self.everything if e.id in self.ids and not e.live]


class EditLog:
    """One data dir's edit log, open (see :func:`open_log`)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    def add(self, change: Change, names: Mapping[str, str], by: str | None) -> Edit:
        """Record a new edit (``pending`` until the graph stage has applied it)."""
        edit = Edit(f"edit_{secrets.token_hex(8)}", change, dict(names), now(), by)
        with self._db.write() as conn:
            conn.execute(f"INSERT INTO edits ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         (edit.id, op_of(change), json.dumps(fields_of(change)),
                          json.dumps(edit.names), edit.created_at, by, None, None,
                          edit.status, None))
        return edit

    def undo(self, edit_id: str, by: str | None) -> Edit:
        """Undo a live edit; NotFound for an unknown id, Conflict for one undone already."""
        with self._db.write() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM edits WHERE id = ?",
                               (edit_id,)).fetchone()
            if row is None:
                raise NotFound(f"no edit with id {edit_id!r}")
            edit = _edit(row)
            if not edit.live:
                raise Conflict(f"edit {edit_id!r} was undone already, at {edit.undone_at}")
            edit = edit.undone(now(), by)
            conn.execute("UPDATE edits SET undone_at = ?, undone_by = ?, status = 'undone',"
                         " problem = NULL WHERE id = ?", (edit.undone_at, by, edit_id))
        return edit

    def edits(self) -> list[Edit]:
        """Every edit, undone ones included, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM edits ORDER BY seq").fetchall()
        return [_edit(r) for r in rows]

    def live(self) -> list[Edit]:
        """The edits not undone, oldest first."""
        return [e for e in self.edits() if e.live]

    def applied_digest(self) -> str:
        """The digest of the edits the stored graph has applied ("" for none)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT digest FROM applied").fetchone()
        return "" if row is None else str(row[0])

    def settled(self) -> bool:
        """Whether the stored graph has the live edits applied (as far as the log knows)."""
        return digest(self.live()) == self.applied_digest()

    def applied(self) -> Applied:
        """The live edits and what the stored graph has applied (one snapshot)."""
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM edits ORDER BY seq").fetchall()
            row = conn.execute("SELECT digest, ids FROM applied").fetchone()
            keys = dict(conn.execute("SELECT entity_id, key FROM entity_keys").fetchall())
        edits = [_edit(r) for r in rows]
        return Applied([e for e in edits if e.live], "" if row is None else str(row[0]),
                       frozenset(() if row is None else json.loads(str(row[1]))),
                       {str(k): str(v) for k, v in keys.items()}, edits)

    def marks(self) -> Marks:
        """The marks of the graph last stored (none before the first curated graph)."""
        with self._db.read() as conn:
            row = conn.execute("SELECT digest, marks FROM applied").fetchone()
        return Marks() if row is None else _marks(str(row[1]), str(row[0]))

    def record(self, outcomes: Mapping[str, Outcome], marks: Marks,
               keys: Mapping[str, str]) -> None:
        """What the graph stage made of the edits (an edit undone meanwhile stays undone),
        and the keys it found of the entities they name."""
        with self._db.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO entity_keys (entity_id, key) VALUES (?, ?)",
                             sorted(keys.items()))
            conn.executemany(
                "UPDATE edits SET status = ?, problem = ? WHERE id = ? AND undone_at IS NULL",
                [(o.status, o.problem, i) for i, o in outcomes.items()])
            conn.execute("INSERT INTO applied (one, digest, marks, ids) VALUES (1, ?, ?, ?)"
                         " ON CONFLICT (one) DO UPDATE SET digest = excluded.digest,"
                         " marks = excluded.marks, ids = excluded.ids",
                         (marks.digest, _marks_json(marks), json.dumps(sorted(outcomes))))


@contextmanager
def open_log(path: Path) -> Iterator[EditLog]:
    """The edit log at ``path`` (created if missing), closed at the end."""
    db = SqliteDatabase(path, SCHEMA)
    try:
        yield EditLog(db)
    finally:
        db.close()


def read_marks(path: Path) -> Marks:
    """The marks of the stored graph; none when there is no edit log."""
    if not path.exists():
        return Marks()
    with open_log(path) as log:
        return log.marks()


def applied_digest(path: Path) -> str:
    """The digest of the edits the stored graph has applied ("" for none, or no log), read
    without opening the log for writing (a follower asks twice a second)."""
    if not path.exists():
        return ""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=BUSY_TIMEOUT_S)
        try:
            held = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                " AND name = 'applied'").fetchone()
            row = conn.execute("SELECT digest FROM applied").fetchone() if held else None
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the edit log {path}: {exc}") from exc
    return "" if row is None else str(row[0])


def settled(path: Path) -> bool:
    """Whether the stored graph has the live edits of the log at ``path`` applied (no log:
    there are none)."""
    if not path.exists():
        return True
    with open_log(path) as log:
        return log.settled()
