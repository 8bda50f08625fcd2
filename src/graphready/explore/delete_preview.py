"""What deleting a document would do to the stored graph, worked out without changing anything:
the entities that would disappear, change (lose passages, or split off an alias the document
voted for) or appear, the relations that would go, change (lose weight) or appear, and the
communities whose reports would be rewritten (those holding an entity that disappears or
changes, or one at an end of a relation that goes or changes).

Exact, not estimated: it is the change the graph stage makes. In a store that keeps its
contribution index (:class:`~graphready.stores.base.IncrementalGraphStore`), the entity keys
the deleted chunks reach are found with :func:`~graphready.extraction.contributions.plan_change`
and assembled again from the chunks left (:func:`~graphready.extraction.assemble.assemble_part`),
as the graph stage's in-place update does: the cost follows what the document touches, not the
graph. Any other store, or while curators' edits are live (``curate`` applies them; the
graph stage then widens the change by every entity an edit names, which the preview does not
repeat): the whole graph is assembled again from the stored extractions without the
document's chunks (and curated), and compared with the stored graph (what a rebuild would do,
equal to the in-place update).

The graph compared with is the one stored; documents deleted earlier and not yet rebuilt away
still count in it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

from graphready.communities.reuse import changed_entities
from graphready.extraction.assemble import assemble_graph, assemble_part
from graphready.extraction.contributions import plan_change
from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation
from graphready.stores.base import GraphStore, IncrementalGraphStore

Curate = Callable[[list[Entity], list[Relation]], tuple[list[Entity], list[Relation]]]
"""The curators' edits applied to an assembled graph's entities and relations."""
READ_ATTEMPTS = 3
"""How many times the reads are tried when a build changed the stored graph meanwhile."""


@dataclass(frozen=True, slots=True)
class EntityChange:
    """An entity the delete removes, changes or adds, with its passages before and after
    (0 when it does not exist)."""

    id: str
    name: str
    type: str
    passages_before: int
    passages_after: int


@dataclass(frozen=True, slots=True)
class RelationChange:
    """A relation the delete removes, changes or adds, by its ends, with its weight and
    passages before and after (0 when it does not exist)."""

    source: str
    target: str
    source_name: str
    target_name: str
    label: str
    weight_before: float
    weight_after: float
    passages_before: int
    passages_after: int


@dataclass(frozen=True, slots=True)
class CommunityChange:
    """A community whose report the delete makes the graph stage write again."""

    id: str
    level: int
    title: str
    size: int


@dataclass(frozen=True, slots=True)
class GraphDiff:
    """The change a delete makes to the stored graph (each list sorted: entities by name,
    relations by their ends' names, communities by level then size, largest first)."""

    chunks_in_graph: int
    entities_removed: tuple[EntityChange, ...]
    entities_changed: tuple[EntityChange, ...]
    entities_added: tuple[EntityChange, ...]
    relations_removed: tuple[RelationChange, ...]
    relations_changed: tuple[RelationChange, ...]
    relations_added: tuple[RelationChange, ...]
    communities: tuple[CommunityChange, ...]


def preview_delete(store: GraphStore, chunk_ids: Collection[str],
                   curate: Curate | None = None) -> GraphDiff | None:
    """What removing the chunks ``chunk_ids`` does to the graph ``store`` holds (see the module
    docstring), with the live edits applied by ``curate`` if any; None when the store holds no
    graph yet. Blocking: reads the store."""
    if curate is None and _indexed(store):
        for _ in range(READ_ATTEMPTS):  # reads are separate snapshots: one build apart?
            mark = store.synced_fingerprint()
            found = _incremental(store, chunk_ids)
            if store.synced_fingerprint() == mark:
                return found
        return found
    graph = store.load_graph()
    return None if graph is None else _whole(store, graph, chunk_ids, curate)


def _indexed(store: GraphStore) -> TypeGuard[IncrementalGraphStore]:
    """Whether ``store`` holds its graph's contribution index."""
    return isinstance(store, IncrementalGraphStore) and store.incremental_ready()


def _incremental(store: IncrementalGraphStore, chunk_ids: Collection[str]) -> GraphDiff:
    plan = plan_change(store, [], chunk_ids)
    after_entities, after_relations = assemble_part(
        store.get_extractions(plan.read), plan.moved, plan.keys)
    before_entities, before_relations = store.graph_part(plan.entity_ids)
    ends = {x for r in (*before_relations, *after_relations) for x in (r.source, r.target)}
    known = {e.id for e in (*before_entities, *after_entities)}
    others, _ = store.graph_part(ends - known, inner=True)
    names = {e.id: e.name for e in (*others, *after_entities, *before_entities)}
    touched = _touched(before_entities, before_relations, after_entities, after_relations)
    rows = [r for r in store.community_rows() if not touched.isdisjoint(r.entity_ids)]
    communities = store.get_communities([r.id for r in rows])
    return _diff(len(plan.removed), before_entities, before_relations, after_entities,
                 after_relations, names, communities)


def _whole(store: GraphStore, graph: KnowledgeGraph, chunk_ids: Collection[str],
           curate: Curate | None) -> GraphDiff:
    """The diff by a whole assembly: the extractions of the chunks the graph was built from
    (every chunk with a mention is some entity's passage), less ``chunk_ids``, curated."""
    gone = set(chunk_ids)
    built = store.graph_chunk_ids() if _indexed(store) else \
        {c for e in graph.entities for c in e.chunk_ids}
    after_entities, after_relations = assemble_graph(
        x for x in store.iter_extractions() if x.chunk_id in built and x.chunk_id not in gone)
    if curate is not None:
        after_entities, after_relations = curate(after_entities, after_relations)
    names = {e.id: e.name for e in (*after_entities, *graph.entities)}
    touched = _touched(graph.entities, graph.relations, after_entities, after_relations)
    communities = [c for c in graph.communities if not touched.isdisjoint(c.entity_ids)]
    return _diff(len(built & gone), graph.entities, graph.relations, after_entities,
                 after_relations, names, communities)


def _touched(before_entities: Iterable[Entity], before_relations: Iterable[Relation],
             after_entities: Iterable[Entity], after_relations: Iterable[Relation]) -> set[str]:
    """The entities that disappear or change, or are at an end of a relation that does."""
    before = tuple(before_entities)
    after = tuple(after_entities)
    left = {e.id for e in after}
    changed = changed_entities(KnowledgeGraph(before, tuple(before_relations), ()), after,
                               after_relations)
    return changed | {e.id for e in before if e.id not in left}


def _entity(before: Entity | None, after: Entity | None) -> EntityChange:
    shown = after or before
    assert shown is not None
    return EntityChange(shown.id, shown.name, shown.type,
                        len(before.chunk_ids) if before else 0,
                        len(after.chunk_ids) if after else 0)


def _relation(before: Relation | None, after: Relation | None,
              names: Mapping[str, str]) -> RelationChange:
    shown = before or after
    assert shown is not None
    return RelationChange(
        shown.source, shown.target, names.get(shown.source, shown.source),
        names.get(shown.target, shown.target), shown.label,
        before.weight if before else 0.0, after.weight if after else 0.0,
        len(before.chunk_ids) if before else 0, len(after.chunk_ids) if after else 0)


def _diff(chunks: int, before_entities: Iterable[Entity], before_relations: Iterable[Relation],
          after_entities: Iterable[Entity], after_relations: Iterable[Relation],
          names: Mapping[str, str], communities: Iterable[Community]) -> GraphDiff:
    old = {e.id: e for e in before_entities}
    new = {e.id: e for e in after_entities}
    old_pairs = {(r.source, r.target): r for r in before_relations}
    new_pairs = {(r.source, r.target): r for r in after_relations}

    def entities(ids: Iterable[str]) -> tuple[EntityChange, ...]:
        found = (_entity(old.get(i), new.get(i)) for i in ids)
        return tuple(sorted(found, key=lambda e: (e.name.casefold(), e.id)))

    def relations(pairs: Iterable[tuple[str, str]]) -> tuple[RelationChange, ...]:
        found = (_relation(old_pairs.get(p), new_pairs.get(p), names) for p in pairs)
        return tuple(sorted(found, key=lambda r: (r.source_name.casefold(),
                                                  r.target_name.casefold(), r.source, r.target)))

    return GraphDiff(
        chunks,
        entities(old.keys() - new.keys()),
        entities(i for i in old.keys() & new.keys() if old[i] != new[i]),
        entities(new.keys() - old.keys()),
        relations(old_pairs.keys() - new_pairs.keys()),
        relations(p for p in old_pairs.keys() & new_pairs.keys() if old_pairs[p] != new_pairs[p]),
        relations(new_pairs.keys() - old_pairs.keys()),
        tuple(CommunityChange(c.id, c.level, c.title, len(c.entity_ids)) for c in sorted(
            communities, key=lambda c: (c.level, -len(c.entity_ids), c.id))))
