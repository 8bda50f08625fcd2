"""The edits a curator makes to the graph (pure): one small frozen class per kind of change,
the edit that records one (who made it, when, undone or not, its outcome at the last graph
stage), and the digest of the live edits that tells the graph stage whether the stored graph
has them applied."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from graphready.errors import InvalidRequest

Op = Literal["merge", "rename", "delete_entity", "delete_relation", "add_relation"]
OPS: tuple[Op, ...] = get_args(Op)
Status = Literal["pending", "applied", "stale", "undone"]


@dataclass(frozen=True, slots=True)
class Merge:
    """The ``sources`` merge into ``target``: their relations move to it, their names become
    its aliases."""

    sources: tuple[str, ...]
    target: str

    @property
    def entities(self) -> tuple[str, ...]:
        """Every entity the change names."""
        return (*self.sources, self.target)


@dataclass(frozen=True, slots=True)
class Rename:
    """``entity`` is called ``name`` (its old name kept as an alias)."""

    entity: str
    name: str

    @property
    def entities(self) -> tuple[str, ...]:
        """Every entity the change names."""
        return (self.entity,)


@dataclass(frozen=True, slots=True)
class DeleteEntity:
    """``entity`` and its relations go."""

    entity: str

    @property
    def entities(self) -> tuple[str, ...]:
        """Every entity the change names."""
        return (self.entity,)


@dataclass(frozen=True, slots=True)
class DeleteRelation:
    """The relation between ``source`` and ``target`` goes (either order)."""

    source: str
    target: str

    @property
    def entities(self) -> tuple[str, ...]:
        """Every entity the change names."""
        return (self.source, self.target)


@dataclass(frozen=True, slots=True)
class AddRelation:
    """A relation between ``source`` and ``target``, with a label and a description."""

    source: str
    target: str
    label: str
    description: str = ""

    @property
    def entities(self) -> tuple[str, ...]:
        """Every entity the change names."""
        return (self.source, self.target)


Change = Merge | Rename | DeleteEntity | DeleteRelation | AddRelation
_KINDS: dict[Op, type[Change]] = {"merge": Merge, "rename": Rename,
                                   "delete_entity": DeleteEntity,
                                   "delete_relation": DeleteRelation,
                                   "add_relation": AddRelation}


def op_of(change: Change) -> Op:
    """The name of a change's kind."""
    return next(op for op, kind in _KINDS.items() if isinstance(change, kind))


def fields_of(change: Change) -> dict[str, Any]:
    """A change's fields as JSON values (``sources`` a list)."""
    found: dict[str, Any] = {}
    for name in change.__dataclass_fields__:
        value = getattr(change, name)
        found[name] = list(value) if isinstance(value, tuple) else value
    return found


def check(change: Change) -> None:
    """InvalidRequest when a change cannot make sense whatever the graph holds: a merge of an
    entity into itself, a relation from an entity to itself (the fields' types and bounds are
    the request body's to check)."""
    if isinstance(change, Merge):
        if change.target in change.sources:
            raise InvalidRequest(f"cannot merge entity {change.target!r} into itself")
        if len(set(change.sources)) != len(change.sources):
            raise InvalidRequest("'sources' names an entity twice")
    elif isinstance(change, DeleteRelation | AddRelation) and change.source == change.target:
        raise InvalidRequest(f"a relation needs two entities; both are {change.source!r}")


def decode_change(op: str, fields: Mapping[str, Any]) -> Change:
    """A change read back from the edit log (written by :func:`fields_of`)."""
    if op == "merge":
        return Merge(tuple(fields["sources"]), fields["target"])
    kind = _KINDS[op]  # type: ignore[index]
    return kind(**fields)


@dataclass(frozen=True, slots=True)
class Edit:
    """One edit of the log: its change, the names of the entities it named when it was made
    (``names``: id -> name, for the messages about it), when and by whom it was made and
    undone, and what the last graph stage made of it (``status``, and ``problem`` when
    stale)."""

    id: str
    change: Change
    names: Mapping[str, str]
    created_at: str
    by: str | None
    undone_at: str | None = None
    undone_by: str | None = None
    status: Status = "pending"
    problem: str | None = None

    @property
    def live(self) -> bool:
        """Whether it is applied to the graph (not undone)."""
        return self.undone_at is None

    def named(self, entity_id: str) -> str:
        """How a message names one of its entities: ``'Name' (id)``."""
        name = self.names.get(entity_id)
        return f"{name!r} ({entity_id})" if name else repr(entity_id)

    def undone(self, at: str, by: str | None) -> Edit:
        """This edit, undone."""
        return replace(self, undone_at=at, undone_by=by, status="undone", problem=None)


def digest(edits: Iterable[Edit]) -> str:
    """What names a set of live edits, in order ("" for none): the stored graph records the
    digest of the edits it has applied."""
    ids = [e.id for e in edits if e.live]
    if not ids:
        return ""
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
