"""The live edits applied, in the order they were made, to an assembled graph (pure).

- **merge**: each source's relations move to the target; a relation that would join the
  target to itself (the source's relation with the target, or with another source) is
  dropped; one that meets a relation the target has with the same entity is combined with it
  (weights summed, passages joined, the target's label kept unless it is the generic
  ``related_to``, descriptions joined); the target takes in the sources' passages and
  descriptions, and their names (and aliases) become its aliases.
- **rename**: the entity takes the new name; the old one becomes an alias.
- **delete_entity**: the entity and every relation it has go.
- **delete_relation**: the relation between the two entities goes.
- **add_relation**: a relation of weight 1 with the label and description; where the two
  entities are related already, that relation takes the label, the description is joined in
  front of its own and its weight grows by 1.

An edit that names an entity the graph does not hold (any more), or a relation it does not
hold, is not applied: its outcome is ``stale`` with the problem named; it applies again as
soon as a later graph holds what it names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from graphready.extraction.assemble import RELATED_TO, join_descriptions
from graphready.knowledge import Entity, Relation

from .edits import AddRelation, DeleteEntity, DeleteRelation, Edit, Merge, Rename, digest

Pair = tuple[str, str]
ADDED_WEIGHT = 1.0
"""The weight of a relation a curator adds (one extracted sentence weighs as much)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one edit came to: ``applied``, or ``stale`` with the ``problem``."""

    status: str
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Marks:
    """What the curated graph owes to its edits: each entity's aliases from merges and
    renames, the entities and relations (by pair) an edit made or changed, and the digest of
    the edits applied (:func:`~graphready.curation.edits.digest`; "" for none)."""

    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    entities: frozenset[str] = frozenset()
    relations: frozenset[Pair] = frozenset()
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Curated:
    """The graph with the edits applied (entities by id, relations by pair), each edit's
    outcome by edit id, and the marks."""

    entities: list[Entity]
    relations: list[Relation]
    outcomes: dict[str, Outcome]
    marks: Marks


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def _join(first: str, second: str) -> str:
    if not second or second == first:
        return first
    if not first:
        return second
    return join_descriptions({first: 2, second: 1})


def combine(kept: Relation, other: Relation) -> Relation:
    """Two relations of one pair as one (``kept``'s pair, label unless generic)."""
    label = other.label if kept.label == RELATED_TO else kept.label
    return replace(kept, label=label, weight=kept.weight + other.weight,
                   chunk_ids=tuple(sorted(set(kept.chunk_ids) | set(other.chunk_ids))),
                   description=_join(kept.description, other.description))


class _Graph:
    """The graph being curated: entities, relations, each entity's pairs, and the marks."""

    def __init__(self, entities: Iterable[Entity], relations: Iterable[Relation]) -> None:
        self.entities = {e.id: e for e in entities}
        self.relations = {(r.source, r.target): r for r in relations}
        self.pairs: dict[str, set[Pair]] = {}
        for pair in self.relations:
            self.pairs.setdefault(pair[0], set()).add(pair)
            self.pairs.setdefault(pair[1], set()).add(pair)
        self.aliases: dict[str, list[str]] = {}
        self.touched: set[str] = set()
        self.touched_pairs: set[Pair] = set()

    def put(self, relation: Relation) -> None:
        pair = (relation.source, relation.target)
        self.relations[pair] = relation
        self.pairs.setdefault(pair[0], set()).add(pair)
        self.pairs.setdefault(pair[1], set()).add(pair)
        self.touched_pairs.add(pair)

    def drop(self, pair: Pair) -> Relation:
        self.pairs[pair[0]].discard(pair)
        self.pairs[pair[1]].discard(pair)
        return self.relations.pop(pair)

    def alias(self, entity_id: str, names: Iterable[str]) -> None:
        name = self.entities[entity_id].name.casefold()
        held = self.aliases.setdefault(entity_id, [])
        for alias in names:
            if alias.casefold() != name and alias not in held:
                held.append(alias)

    def merge(self, change: Merge) -> None:
        target = self.entities[change.target]
        for source_id in change.sources:
            source = self.entities.pop(source_id)
            for pair in sorted(self.pairs.get(source_id, set())):
                relation = self.drop(pair)
                other = pair[0] if pair[1] == source_id else pair[1]
                if other == change.target:
                    continue  # no self-loops
                new = _pair(change.target, other)
                moved = replace(relation, source=new[0], target=new[1])
                held = self.relations.get(new)
                self.put(moved if held is None else combine(held, moved))
            target = replace(
                target, chunk_ids=tuple(sorted(set(target.chunk_ids) | set(source.chunk_ids))),
                description=_join(target.description, source.description))
            self.pairs.pop(source_id, None)
            self.entities[change.target] = target
            self.alias(change.target, [source.name, *self.aliases.pop(source_id, [])])
            self.touched.discard(source_id)
        self.touched.add(change.target)

    def rename(self, change: Rename) -> None:
        old = self.entities[change.entity]
        self.entities[change.entity] = replace(old, name=change.name)
        held = [a for a in self.aliases.get(change.entity, [])
                if a.casefold() != change.name.casefold()]
        self.aliases[change.entity] = held
        self.alias(change.entity, [old.name])
        self.touched.add(change.entity)

    def delete_entity(self, change: DeleteEntity) -> None:
        for pair in sorted(self.pairs.get(change.entity, set())):
            self.drop(pair)
        self.pairs.pop(change.entity, None)
        del self.entities[change.entity]
        self.aliases.pop(change.entity, None)
        self.touched.discard(change.entity)

    def delete_relation(self, change: DeleteRelation) -> None:
        self.drop(_pair(change.source, change.target))

    def add_relation(self, change: AddRelation) -> None:
        pair = _pair(change.source, change.target)
        added = Relation(pair[0], pair[1], change.label, ADDED_WEIGHT, (), change.description)
        held = self.relations.get(pair)
        self.put(added if held is None else replace(
            held, label=change.label, weight=held.weight + ADDED_WEIGHT,
            description=_join(change.description, held.description)))


def _problem(graph: _Graph, edit: Edit) -> str | None:
    """Why ``edit`` cannot apply to ``graph`` now, or None."""
    for entity_id in edit.change.entities:
        if entity_id not in graph.entities:
            return f"entity {edit.named(entity_id)} no longer exists"
    change = edit.change
    if isinstance(change, DeleteRelation) \
            and _pair(change.source, change.target) not in graph.relations:
        return (f"no relation between {edit.named(change.source)} and "
                f"{edit.named(change.target)} any more")
    return None


def apply_edits(entities: Sequence[Entity], relations: Sequence[Relation],
                edits: Sequence[Edit]) -> Curated:
    """``entities`` and ``relations`` (an assembly's) with the live ``edits`` applied in order
    (see the module docstring); entities sorted by id, relations by pair."""
    live = [e for e in edits if e.live]
    if not live:
        return Curated(list(entities), list(relations), {}, Marks())
    graph = _Graph(entities, relations)
    outcomes: dict[str, Outcome] = {}
    for edit in live:
        problem = _problem(graph, edit)
        if problem is not None:
            outcomes[edit.id] = Outcome("stale", problem)
            continue
        change = edit.change
        if isinstance(change, Merge):
            graph.merge(change)
        elif isinstance(change, Rename):
            graph.rename(change)
        elif isinstance(change, DeleteEntity):
            graph.delete_entity(change)
        elif isinstance(change, DeleteRelation):
            graph.delete_relation(change)
        else:
            graph.add_relation(change)
        outcomes[edit.id] = Outcome("applied")
    marks = Marks(
        aliases={k: tuple(v) for k, v in sorted(graph.aliases.items())
                 if v and k in graph.entities},
        entities=frozenset(i for i in graph.touched if i in graph.entities),
        relations=frozenset(p for p in graph.touched_pairs if p in graph.relations),
        digest=digest(live))
    return Curated(sorted(graph.entities.values(), key=lambda e: e.id),
                   [graph.relations[p] for p in sorted(graph.relations)], outcomes, marks)
