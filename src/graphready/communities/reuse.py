"""Which community reports of the previous graph still hold after the documents changed.

A community's id is a hash of its level and members, so the id alone does not say whether its
report is current: a member may have lost the mentions of a deleted document, or gained new
ones. A report is reused only when everything it was written from is unchanged: the same id,
every member entity equal (name, type, passages, description) and every relation touching a
member equal. Anything else is written again, so an incremental build gives the reports a build
from scratch would (the report writers are deterministic, and an LLM's replies are cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation


def changed_entities(previous: KnowledgeGraph, entities: Iterable[Entity],
                     relations: Iterable[Relation]) -> set[str]:
    """Ids of the entities that differ from ``previous``: new, changed, or at an end of a
    relation that is new, changed or gone."""
    before = {e.id: e for e in previous.entities}
    changed = {e.id for e in entities if before.get(e.id) != e}
    old_edges = {(r.source, r.target): r for r in previous.relations}
    new_edges = {(r.source, r.target): r for r in relations}
    for key in old_edges.keys() | new_edges.keys():
        if old_edges.get(key) != new_edges.get(key):
            changed.update(key)
    return changed


def reusable_reports(previous: KnowledgeGraph | None, entities: Iterable[Entity],
                     relations: Iterable[Relation]) -> Mapping[str, Community]:
    """The previous graph's communities whose reports may be reused, by id."""
    if previous is None:
        return {}
    changed = changed_entities(previous, entities, relations)
    return {c.id: c for c in previous.communities if changed.isdisjoint(c.entity_ids)}
