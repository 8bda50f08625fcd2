"""The graph stage's second half: from the stored extractions to the stored graph, with its
communities and their reports, either whole (:func:`rebuild`) or in place (:func:`update`).

:func:`update` is for a graph store that keeps its contribution index
(:class:`~graphready.stores.base.IncrementalGraphStore`, after a :func:`rebuild` into it): the
chunks added and removed since the stored graph are found by comparing the catalog with the
index; the entity keys they reach are assembled again from the chunks that contribute to them
(:mod:`graphready.extraction.contributions`), which equals a whole assembly; communities are
detected on the stored edges with the change applied (Leiden over the whole entity graph, in C:
the communities of a change equal a fresh build's), or, in ``stable`` mode, only on the
top-level communities the change reaches, each level starting from the stored partition
(:func:`~graphready.communities.hierarchy.update_communities`); a report is written only for
a community that is new, or one whose members or relations changed, and a reused community's
row is rewritten only when its parent changed.
Everything is written in one transaction (:meth:`apply_graph_change`).

The curators' live edits (:mod:`graphready.curation`) are applied to every assembly, before
communities are detected, so communities, reports, retrieval and the graph API all see the
curated graph; each edit's outcome (applied or stale) and the marks of the curated graph go to
the edit log once the graph is stored. In place, the keys a change reaches are widened by the
keys of every entity that a live edit names, or an edit the stored graph applied and that was
undone since (an edit added or undone is a change that reaches its entities): those entities
are assembled again with every relation they have, and the edits applied to that part touch
nothing outside it, so it equals the whole curated assembly there. The keys of the named
entities are kept in the edit log; one that cannot be found makes :func:`update` build the
whole graph (:func:`rebuild`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from graphready.communities.hierarchy import (
    CommunityNode,
    detect_communities,
    partition_of,
    region_of,
    update_communities,
)
from graphready.communities.reuse import changed_entities, reusable_reports
from graphready.config import Settings
from graphready.curation.apply import Curated, apply_edits
from graphready.curation.log import Applied, log_path, open_log
from graphready.extraction.assemble import assemble_graph, assemble_part, entity_id
from graphready.extraction.contributions import Contribution, contribution, plan_change
from graphready.knowledge import ChunkExtraction, Community, Entity, KnowledgeGraph, Relation
from graphready.llm.refusals import Refusals
from graphready.stores.base import (
    Catalog,
    CommunityRow,
    GraphChange,
    GraphStore,
    IncrementalGraphStore,
)

from .events import Event, Progress

if TYPE_CHECKING:
    from graphready.llm.cache import CachedChatModel

Report = Callable[[Event], None]


@dataclass(slots=True)
class GraphOutcome:
    """What the graph stage made: the stored graph's size, how many reports were reused, how
    many fell back from the LLM, the prompts it refused, and how many rows were written."""

    counts: dict[str, int]
    reused: int
    fallbacks: int = 0
    refusals: Refusals = field(default_factory=Refusals)
    written: dict[str, int] = field(default_factory=dict)


def _texts(catalog: Catalog) -> Callable[[Sequence[str]], Mapping[str, str]]:
    return lambda ids: {c.id: c.text for c in catalog.get_chunks(ids)}


def _reports(settings: Settings, nodes: Sequence[CommunityNode], entities: Mapping[str, Entity],
             relations: Sequence[Relation], catalog: Catalog, previous: Mapping[str, Community],
             model: CachedChatModel | None,
             report: Report) -> tuple[list[Community], int, Refusals]:
    """A report for each of ``nodes`` (reused from ``previous`` by id), by the LLM if any."""
    from graphready.communities.llm_reports import report_communities
    from graphready.communities.summaries import summarize_communities

    if model is None:
        return (summarize_communities(nodes, entities, relations, _texts(catalog), previous),
                0, Refusals())
    outcome = report_communities(
        nodes, entities, relations, _texts(catalog), previous, model,
        concurrency=settings.llm_build_concurrency, max_tokens=settings.llm_max_tokens,
        progress=lambda done, total: report(Progress("graph.summaries", done, total)))
    return outcome.communities, outcome.fallbacks, outcome.refusals


def _detect(settings: Settings, entity_ids: Sequence[str], edges: Sequence[tuple[str, str, float]],
            start: Iterable[tuple[int, str, Sequence[str]]] | None) -> list[CommunityNode]:
    return detect_communities(
        entity_ids, edges, max_size=settings.community_max_size,
        max_levels=settings.community_levels,
        previous=None if start is None or not settings.stable_communities
        else partition_of(start))


def _with_contributions(extractions: Iterable[ChunkExtraction],
                        into: list[Contribution]) -> Iterator[ChunkExtraction]:
    for extraction in extractions:
        into.append(contribution(extraction))
        yield extraction


def _edits(settings: Settings) -> Applied | None:
    """The data dir's edit log as the stage needs it; None when there is no edit log."""
    path = log_path(settings)
    if not path.exists():
        return None
    with open_log(path) as log:
        return log.applied()


def _record(settings: Settings, curated: Curated, keys: Mapping[str, str]) -> None:
    """What the stage made of the edits, and the keys of the entities they name (entity id
    -> key), into the edit log (none without one)."""
    path = log_path(settings)
    if path.exists():
        with open_log(path) as log:
            log.record(curated.outcomes, curated.marks, keys)


def _named_keys(store: IncrementalGraphStore, applied: Applied) -> dict[str, str] | None:
    """The keys of the entities the edits name (see :attr:`Applied.named`): as the log knows
    them, else found from the contributions of a stored entity's chunks; None when a stored
    one's key cannot be found (the stage then builds the whole graph). An entity neither
    stored nor known is in no graph an edit was applied to: a change that brings it is one
    the plan reaches."""
    named = applied.named
    keys = {i: applied.keys[i] for i in named if i in applied.keys}
    missing = named - set(keys)
    if not missing:
        return keys
    stored, _ = store.graph_part(missing, inner=True)
    for entity in stored:
        for item in store.contributions(entity.chunk_ids):
            found = [k for k in item.keys if entity_id(k) == entity.id]
            if found:
                keys[entity.id] = found[0]
                break
        else:
            return None
    return keys


def rebuild(settings: Settings, catalog: Catalog, store: GraphStore, report: Report,
            model: CachedChatModel | None, fingerprint: str, *,
            reuse: bool = True) -> GraphOutcome:
    """Assemble the graph from every stored extraction, detect its communities, report them
    (reusing the reports of unchanged communities when ``reuse``) and replace the stored graph
    (with its contribution index, in a store that keeps one). The live edits are applied to
    the assembly first."""
    report(Progress("graph.communities", 0, 1))
    index: list[Contribution] = []
    entities, relations = assemble_graph(_with_contributions(store.iter_extractions(), index))
    applied = _edits(settings)
    curated = apply_edits(entities, relations, applied.live if applied else [])
    entities, relations = curated.entities, curated.relations
    previous_graph = store.load_graph() if reuse else None
    nodes = _detect(settings, [e.id for e in entities],
                    [(r.source, r.target, r.weight) for r in relations],
                    None if previous_graph is None else
                    ((c.level, c.id, c.entity_ids) for c in previous_graph.communities))
    report(Progress("graph.communities", 1, 1))
    previous = reusable_reports(previous_graph, entities, relations)
    del previous_graph
    report(Progress("graph.summaries", 0, len(nodes)))
    communities, fallbacks, refusals = _reports(
        settings, nodes, {e.id: e for e in entities}, relations, catalog, previous, model,
        report)
    report(Progress("graph.summaries", len(nodes), len(nodes)))
    if isinstance(store, IncrementalGraphStore):
        store.apply_graph_change(GraphChange(
            frozenset(), frozenset(), tuple(entities), tuple(relations), frozenset(),
            tuple(communities), tuple(index), (), full=True), fingerprint)
    else:
        store.replace_graph(
            KnowledgeGraph(tuple(entities), tuple(relations), tuple(communities)), fingerprint)
    if applied is not None:
        named = applied.named
        _record(settings, curated, {entity_id(k): k for item in index for k in item.keys
                                    if entity_id(k) in named})
    counts = {"entities": len(entities), "relations": len(relations),
              "communities": len(communities)}
    return GraphOutcome(counts, sum(1 for c in communities if c.id in previous), fallbacks,
                        refusals, written=dict(counts))


def _overlay(store: IncrementalGraphStore, ids: Collection[str], replaced: Collection[str],
             entities: Sequence[Entity],
             relations: Sequence[Relation]) -> tuple[dict[str, Entity], list[Relation]]:
    """The entities ``ids`` and the relations between two of them, as they are once the change
    is applied: read from the store, with the ``replaced`` entities (and the relations touching
    them) taken from ``entities`` and ``relations`` instead."""
    wanted = set(ids)
    stored_entities, stored_relations = store.graph_part(wanted, inner=True)
    by_id = {e.id: e for e in stored_entities if e.id not in replaced}
    by_id.update({e.id: e for e in entities if e.id in wanted})
    pairs = {(r.source, r.target): r for r in stored_relations
             if r.source not in replaced and r.target not in replaced}
    pairs.update({(r.source, r.target): r for r in relations
                  if r.source in wanted and r.target in wanted})
    return by_id, [pairs[p] for p in sorted(pairs)]


def _update_locally(settings: Settings, store: IncrementalGraphStore, rows: Sequence[CommunityRow],
                    changed: Collection[str], replaced: Collection[str],
                    entities: Sequence[Entity], relations: Sequence[Relation],
                    old_relations: Sequence[Relation]) -> list[CommunityNode]:
    """``stable`` mode: the stored hierarchy, detected again only in the top-level
    communities the change reaches (:func:`update_communities`), on their edges as they are
    after the change."""
    stored = [CommunityNode(r.id, r.level, r.parent, r.entity_ids) for r in rows]
    region = region_of(stored, changed)
    edges = [e for e in store.edges(among=region) if e[0] not in replaced
             and e[1] not in replaced]
    edges.extend((r.source, r.target, r.weight) for r in relations
                 if r.source in region and r.target in region)
    edges.sort()
    total = store.total_weight() - sum(r.weight for r in old_relations) \
        + sum(r.weight for r in relations)
    nodes, _ = update_communities(stored, changed, edges, settings.community_max_size,
                                  settings.community_levels, total)
    return nodes


K = TypeVar("K")
V = TypeVar("V")


def _diff(before: Mapping[K, V], after: Mapping[K, V]) -> tuple[frozenset[K], tuple[V, ...]]:
    """The keys of ``before`` whose rows change or go, and the rows of ``after`` that are new
    or changed (in key order)."""
    stale = frozenset(k for k, row in before.items() if after.get(k) != row)
    fresh = tuple(row for k, row in after.items() if before.get(k) != row)
    return stale, fresh


def update(settings: Settings, catalog: Catalog, store: IncrementalGraphStore, report: Report,
           model: CachedChatModel | None, fingerprint: str) -> GraphOutcome:
    """Bring the stored graph in line with the stored extractions of the catalog's chunks, in
    place, the curators' edits applied (see the module docstring)."""
    applied = _edits(settings)
    named: dict[str, str] = {}
    if applied is not None and (applied.live or applied.ids):
        found = _named_keys(store, applied)
        if found is None:
            return rebuild(settings, catalog, store, report, model, fingerprint)
        named = found
    report(Progress("graph.communities", 0, 1))
    wanted, built = catalog.chunk_ids(), store.graph_chunk_ids()
    added = store.get_extractions(wanted - built)
    plan = plan_change(store, added, built - wanted)
    del wanted, built
    extra = set(named.values()) - plan.keys  # what the edits reach, besides the change
    keys = plan.keys | extra
    read = set(plan.read)
    if extra:
        reach = extra | {short for short, long in plan.moved.items() if long in extra}
        read |= store.chunks_of_keys(reach) - {c.chunk_id for c in plan.removed} \
            - {x.chunk_id for x in added}
    extractions = sorted([*store.get_extractions(read), *added], key=lambda x: x.chunk_id)
    entities, relations = assemble_part(extractions, plan.moved, keys)
    del extractions
    curated = apply_edits(entities, relations, applied.live if applied else [])
    entities, relations = curated.entities, curated.relations
    replaced = {entity_id(key) for key in keys}
    old_entities, old_relations = store.graph_part(replaced)
    changed = changed_entities(KnowledgeGraph(tuple(old_entities), tuple(old_relations), ()),
                               entities, relations)
    rows = store.community_rows()
    if settings.stable_communities:
        nodes = _update_locally(settings, store, rows, changed, replaced, entities, relations,
                                old_relations)
    else:
        edges = [e for e in store.edges() if e[0] not in replaced and e[1] not in replaced]
        edges.extend((r.source, r.target, r.weight) for r in relations)
        edges.sort()
        nodes = _detect(settings, sorted({x for s, t, _ in edges for x in (s, t)}), edges, None)
        del edges
    report(Progress("graph.communities", 1, 1))
    stored = {r.id: r for r in rows}
    reusable = {r.id for r in rows if changed.isdisjoint(r.entity_ids)}
    kept = {n.id for n in nodes if n.id in reusable and stored[n.id].parent == n.parent}
    write = [n for n in nodes if n.id not in kept]
    writing = {n.id for n in write}
    context = writing | {n.id for n in nodes if n.parent in writing}
    shown = [n for n in nodes if n.id in context]
    previous = {c.id: c for c in store.get_communities(
        [n.id for n in shown if n.id in reusable])}
    members = {m for n in shown if n.id not in previous for m in n.members}
    by_id, around = _overlay(store, members, replaced, entities, relations)
    report(Progress("graph.summaries", 0, len(shown)))
    communities, fallbacks, refusals = _reports(settings, shown, by_id, around, catalog,
                                                previous, model, report)
    report(Progress("graph.summaries", len(shown), len(shown)))
    new_rows = tuple(c for c in communities if c.id in writing)
    node_ids = {n.id for n in nodes}
    gone = frozenset((set(stored) - node_ids) | (writing & set(stored)))
    stale, write_entities = _diff({e.id: e for e in old_entities}, {e.id: e for e in entities})
    stale_pairs, write_relations = _diff({(r.source, r.target): r for r in old_relations},
                                         {(r.source, r.target): r for r in relations})
    store.apply_graph_change(GraphChange(
        stale, stale_pairs, write_entities, write_relations, gone, new_rows, plan.added,
        tuple(c.chunk_id for c in plan.removed)), fingerprint)
    if applied is not None:
        named_ids = applied.named
        _record(settings, curated, {entity_id(k): k for k in keys if entity_id(k) in named_ids})
    reused = sum(1 for n in nodes if n.id in reusable)
    written = {"entities": len(write_entities), "relations": len(write_relations),
               "communities": len(new_rows)}
    return GraphOutcome(store.counts(), reused, fallbacks, refusals, written)
