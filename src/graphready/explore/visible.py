"""The loaded graph as the graph API shows it while deleted documents are hidden (pure).

A document deleted through the API is hidden at once, but the loaded graph keeps what it
contributed until the graph stage has rebuilt the graph without it. Until then:

- a passage is shown only when its document is known to the catalog and not hidden;
- an entity whose every passage is hidden is gone, with its relations and aliases;
- an entity that other documents mention too stays, with their passages only, and its
  description is *withheld*: the description joins what every passage said about it (one
  sentence per mention, merged and cut to a length), so the hidden document's sentences cannot
  be told apart from the others without the stored extractions, which the graph stage may have
  removed already; the rebuild writes it anew;
- a relation that only hidden passages support is gone; one that other passages support too
  keeps them, with its description withheld, its label ``related_to`` (the label may be the
  hidden document's) and its weight scaled to the share of passages left;
- a community none of whose members is left is gone; one whose report may have drawn on a
  hidden document (a member lost passages or is gone, a cited passage is hidden, or a
  sub-community is withheld: its report fed this one) keeps its visible members, and its report
  is withheld: an empty summary, a rating of 0, and a title made of its members' names, until
  the graph stage writes it again (it will: its members changed).

Nothing here reads a store: the cost is one pass over the graph, paid once per change of the
hidden set (:meth:`graphready.explore.view.GraphView.visible`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation

RELATED_TO = "related_to"
TITLE_MEMBERS = 3


@dataclass(frozen=True, slots=True)
class Hidden:
    """The graph without the hidden documents, the chunks left (chunk id -> document id), and
    the entities and communities whose text is withheld."""

    graph: KnowledgeGraph
    chunk_docs: dict[str, str]
    withheld_entities: frozenset[str]
    withheld_communities: frozenset[str]


def without_documents(graph: KnowledgeGraph, chunk_docs: Mapping[str, str],
                      hidden: frozenset[str]) -> Hidden:
    """``graph`` as shown while the documents ``hidden`` are (see the module docstring); a
    chunk that ``chunk_docs`` does not know is hidden too (its document left the catalog)."""
    shown = {c: d for c, d in chunk_docs.items() if d not in hidden}
    entities: list[Entity] = []
    gone: set[str] = set()
    withheld: set[str] = set()
    for entity in graph.entities:
        kept = tuple(c for c in entity.chunk_ids if c in shown)
        if len(kept) == len(entity.chunk_ids):
            entities.append(entity)
        elif kept:
            entities.append(Entity(entity.id, entity.name, entity.type, kept))
            withheld.add(entity.id)
        else:
            gone.add(entity.id)
    relations = [r for r in (_relation(r, shown) for r in graph.relations
                             if r.source not in gone and r.target not in gone) if r is not None]
    communities, withheld_communities = _communities(graph.communities, entities, gone,
                                                     withheld, shown)
    return Hidden(KnowledgeGraph(tuple(entities), tuple(relations), communities), shown,
                  frozenset(withheld), withheld_communities)


def _relation(relation: Relation, shown: Mapping[str, str]) -> Relation | None:
    kept = tuple(c for c in relation.chunk_ids if c in shown)
    if len(kept) == len(relation.chunk_ids):
        return relation
    if not kept:
        return None
    share = len(kept) / len(relation.chunk_ids)
    return Relation(relation.source, relation.target, RELATED_TO, relation.weight * share, kept)


def _communities(communities: tuple[Community, ...], entities: list[Entity], gone: set[str],
                 withheld: set[str], shown: Mapping[str, str]) -> (
        tuple[tuple[Community, ...], frozenset[str]]):
    """The communities left, and those whose report is withheld."""
    by_id = {c.id: c for c in communities}
    touched = {c.id for c in communities
               if any(m in gone or m in withheld for m in c.entity_ids)
               or any(ch not in shown for ch in c.chunk_ids)}
    for community_id in list(touched):  # a report feeds its parent's
        parent = by_id[community_id].parent
        while parent is not None and parent in by_id and parent not in touched:
            touched.add(parent)
            parent = by_id[parent].parent
    if not touched:
        return communities, frozenset()
    left = {e.id: e for e in entities}
    kept: list[Community] = []
    for community in communities:
        if community.id not in touched:
            kept.append(community)
            continue
        members = tuple(m for m in community.entity_ids if m in left)
        if members:
            kept.append(Community(
                community.id, community.level, community.parent, members,
                _title(members, left, community.id), "",
                tuple(c for c in community.chunk_ids if c in shown), 0.0))
    ids = {c.id for c in kept}
    out = tuple(c if c.parent is None or c.parent in ids else Community(
        c.id, c.level, None, c.entity_ids, c.title, c.summary, c.chunk_ids, c.rating)
        for c in kept)
    return out, frozenset(touched & ids)


def _title(members: tuple[str, ...], entities: Mapping[str, Entity], community_id: str) -> str:
    """A withheld report's title: its members with the most passages, by name."""
    ranked = sorted((entities[m] for m in members), key=lambda e: (-len(e.chunk_ids), e.name))
    return ", ".join(e.name for e in ranked[:TITLE_MEMBERS]) or f"Community {community_id}"
