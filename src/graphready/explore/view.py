"""A read-only view of the loaded knowledge graph for people to explore: entity search by name
(case- and accent-insensitive, whole-name prefix or word prefixes), each entity's relations and
communities, the neighbourhood of an entity for drawing (strongest relations first, capped), and
the community hierarchy. Built once when a graph is loaded (the same graph the retrieval tools
use, from whichever store holds it), then only read: it is safe to share between requests.
While deleted documents are hidden, :meth:`GraphView.visible` gives the graph without them
(:mod:`graphready.explore.visible`), built once per change of the hidden set. The curators'
marks (:class:`~graphready.curation.apply.Marks`) say which entities and relations an edit
made or changed, and the names merged or renamed away, which search finds."""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from graphready.curation.apply import Marks
from graphready.errors import StoreError
from graphready.knowledge import ChunkExtraction, Community, Entity, KnowledgeGraph, Relation
from graphready.retrieval.graph_arrays import Strings

from .aliases import entity_aliases
from .view_arrays import WORD, ViewArrays, fold, view_arrays
from .visible import without_documents

__all__ = ["GraphView", "Neighbour", "Page", "Subgraph", "fold", "name_words", "page_of"]
log = logging.getLogger("graphready.explore")

_WORD_END = "\U0010ffff"


def name_words(text: str) -> list[str]:
    """The folded words of a name or query."""
    return WORD.findall(fold(text))


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a long list: the positions of the items and where the next page starts."""

    items: list[int]
    total: int
    next_offset: int | None


Positions = Sequence[int] | npt.NDArray[np.int32]


def page_of(positions: Positions, offset: int, limit: int) -> Page:
    """Items ``offset`` to ``offset + limit`` of ``positions``."""
    items = [int(p) for p in positions[offset: offset + limit]]
    after = offset + len(items)
    return Page(items, len(positions), after if after < len(positions) else None)


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One relation of an entity, seen from it: the other end and the relation."""

    other: int
    relation: Relation


@dataclass(frozen=True, slots=True)
class Subgraph:
    """Entities (by position) around a centre, the hop at which each was reached, and the
    relations among them; ``truncated`` when the neighbourhood was larger than the cap."""

    nodes: list[int]
    hops: list[int]
    edges: list[Relation]
    truncated: bool


class GraphView:
    """The loaded graph, indexed for browsing: its arrays (:mod:`graphready.explore.view_arrays`),
    built from ``graph`` here, or mapped from a file (:meth:`of_arrays`) so that no process
    holds an object per entity, relation or community. ``chunk_docs`` maps each chunk id to
    its document id (for the documents that mention an entity, and the export's attributes);
    ``extractions`` reads the stored extractions, for the entities' other names (read once, at
    the first question about them). ``withheld_entities`` and ``withheld_communities`` are
    those whose description or report is withheld while a deleted document is hidden.
    ``curation``: the marks of the curators' edits the graph holds."""

    def __init__(self, graph: KnowledgeGraph, chunk_docs: Mapping[str, str],
                 extractions: Callable[[], Iterable[ChunkExtraction]] | None = None, *,
                 withheld_entities: frozenset[str] = frozenset(),
                 withheld_communities: frozenset[str] = frozenset(),
                 curation: Marks | None = None,
                 arrays: ViewArrays | None = None) -> None:
        self._extractions = extractions
        self.curation = curation or Marks()
        self._aliases: dict[str, tuple[str, ...]] | None = None
        self._aliases_lock = threading.Lock()
        self.arrays = arrays or view_arrays(graph, self.curation.aliases)
        found = self.arrays
        self.entities: Sequence[Entity] = found.entities()
        self.relations: Sequence[Relation] = found.relations()
        self.communities: Sequence[Community] = found.communities()
        self.chunk_docs = chunk_docs
        self.withheld_entities = withheld_entities
        self.withheld_communities = withheld_communities
        self.documents: frozenset[str] = frozenset(chunk_docs.values())
        """The ids of the documents whose chunks the catalog held when the graph was loaded."""
        self._orphans: bool | None = None  # known at the first call of visible()
        self._shown: tuple[frozenset[str], GraphView] | None = None
        self._shown_lock = threading.Lock()
        self._ids = found.ids()
        self._community_ids = found.community_ids()
        self._folded = Strings(found.folded_blob, found.folded_offsets)
        self._words = Strings(found.word_blob, found.word_offsets)
        types = Strings(found.type_blob, found.type_offsets)
        self.types: list[str] = [types[i] for i in range(len(types))]
        self.degree = found.degree
        self.levels: list[int] = sorted(set(found.community_level.tolist()))

    @classmethod
    def of_arrays(cls, arrays: ViewArrays, chunk_docs: Mapping[str, str],
                  extractions: Callable[[], Iterable[ChunkExtraction]] | None = None, *,
                  curation: Marks | None = None) -> GraphView:
        """The view of a graph whose arrays were built already (mapped from a file)."""
        return cls(KnowledgeGraph(), chunk_docs, extractions, curation=curation, arrays=arrays)

    # -- hidden documents --------------------------------------------------------------------

    def shows_all(self, hidden: frozenset[str]) -> bool:
        """Whether this view is what may be shown while ``hidden`` are hidden (cheap; False
        until :meth:`visible` has looked for chunks the catalog no longer held, once)."""
        return self._orphans is False and hidden.isdisjoint(self.documents)

    def visible(self, hidden: frozenset[str]) -> GraphView:
        """This graph as it may be shown while the documents ``hidden`` are hidden: itself
        when it holds none of them (and no chunk the catalog no longer held when it was
        loaded), else the graph without them (:mod:`graphready.explore.visible`), built on
        the first call for this set and kept for the next (blocking when it builds)."""
        wanted = hidden & self.documents
        with self._shown_lock:
            if self._orphans is None:
                self._orphans = not all(map(self.chunk_docs.__contains__, chain.from_iterable(
                    e.chunk_ids for e in self.entities)))
            if not wanted and not self._orphans:
                self._shown = None
                return self
            if self._shown is not None and self._shown[0] == wanted:
                return self._shown[1]
            graph = KnowledgeGraph(tuple(self.entities), tuple(self.relations),
                                   tuple(self.communities))
            found = without_documents(graph, self.chunk_docs, wanted)
            view = GraphView(found.graph, found.chunk_docs, self._extractions,
                             withheld_entities=found.withheld_entities,
                             withheld_communities=found.withheld_communities,
                             curation=self.curation)
            self._shown = (wanted, view)
            return view

    # -- entities ----------------------------------------------------------------------------

    def position(self, entity_id: str) -> int | None:
        """The position of an entity, or None for an unknown id."""
        found = self._ids.find([entity_id])[0]
        return None if found < 0 else found

    def _with_prefix(self, prefix: str) -> set[int]:
        start = bisect.bisect_left(self._words, prefix)
        end = bisect.bisect_left(self._words, prefix + _WORD_END, lo=start)
        return set(self.arrays.word_owner[start:end].tolist())

    def _weights(self, start: int, end: int) -> npt.NDArray[np.float64]:
        """The weights of adjacency entries ``start`` to ``end``."""
        return self.arrays.rel_weight[self.arrays.rel[start:end]]

    def search(self, query: str, entity_type: str | None, offset: int, limit: int) -> Page:
        """Entities whose name starts with ``query`` or has a word starting with each word of
        it (case and accents ignored), of ``entity_type`` if given; exact names first, then
        whole-name prefixes, then word matches, each by degree. No query: all, by degree."""
        wanted = name_words(query)
        if not wanted:
            found: Positions = self.arrays.by_degree
        else:
            sets = sorted((self._with_prefix(w) for w in wanted), key=len)
            hits = set.intersection(*sets) if sets else set()
            whole = fold(query).strip()
            folded = {i: self._folded[i] for i in hits}
            found = sorted(hits, key=lambda i: (
                0 if folded[i] == whole else 1 if folded[i].startswith(whole) else 2,
                -int(self.degree[i]), folded[i]))
        if entity_type:
            code = self.types.index(entity_type) if entity_type in self.types else -1
            chosen = np.asarray(found, dtype=np.int64)
            found = chosen[self.arrays.type_code[chosen] == code].tolist()
        return page_of(found, offset, limit)

    def neighbours(self, position: int, limit: int) -> list[Neighbour]:
        """The entity's strongest ``limit`` relations."""
        indptr, other, rel = self.arrays.indptr, self.arrays.other, self.arrays.rel
        start = int(indptr[position])
        end = min(int(indptr[position + 1]), start + limit)
        return [Neighbour(int(other[j]), self.relations[int(rel[j])]) for j in range(start, end)]

    def communities_of(self, position: int) -> list[Community]:
        """The communities an entity belongs to, top level first."""
        at = self.arrays.of_entity_at
        return [self.communities[i] for i in
                self.arrays.of_entity[at[position]: at[position + 1]].tolist()]

    def top_community(self, position: int) -> str | None:
        """The id of the entity's top-level community (what the app colours by)."""
        start, end = self.arrays.of_entity_at[position], self.arrays.of_entity_at[position + 1]
        if end <= start:
            return None
        index = int(self.arrays.of_entity[start])
        return Strings(self.arrays.community_id_blob, self.arrays.community_id_offsets)[index]

    def aliases_of(self, entity: Entity) -> tuple[str, ...]:
        """The entity's other names: those curation gave it first, then the documents'
        (blocking: the first call reads every stored extraction; a store that fails gives
        only the former, and the next call tries again)."""
        curated = self.curation.aliases.get(entity.id, ())
        with self._aliases_lock:
            if self._aliases is None and self._extractions is not None:
                names = {e.id: e.name for e in self.entities}
                try:
                    self._aliases = entity_aliases(self._extractions(), names, self.chunk_docs)
                except StoreError as exc:
                    log.warning("cannot read the extractions for entity aliases: %s", exc)
                    return curated
            found = (self._aliases or {}).get(entity.id, ())
        if not curated:
            return found
        return tuple(dict.fromkeys((*curated, *found)))

    def curated(self, entity_id: str) -> bool:
        """Whether a curator's edit made or changed the entity (a merge, a rename)."""
        return entity_id in self.curation.entities

    def curated_relation(self, relation: Relation) -> bool:
        """Whether a curator's edit made or changed the relation."""
        return (relation.source, relation.target) in self.curation.relations

    def documents_of(self, entity: Entity) -> list[str]:
        """The ids of the documents whose passages mention the entity, each once."""
        return list(dict.fromkeys(self.chunk_docs[c] for c in entity.chunk_ids
                                  if c in self.chunk_docs))

    # -- neighbourhoods ----------------------------------------------------------------------

    def subgraph(self, position: int, hops: int, limit: int, max_edges: int) -> Subgraph:
        """The centre and up to ``limit - 1`` entities around it: its neighbours by relation
        weight, then (``hops == 2``) their neighbours by the weaker of the two weights on the
        way; and the strongest ``max_edges`` relations among them. Cost grows with ``limit``
        and with the degrees of the entities chosen, never with the whole neighbourhood
        beyond what is read of each adjacency list."""
        chosen = {position: 0}
        first = self._ranked(position, limit)
        for other, _ in first:
            if len(chosen) >= limit:
                break
            chosen.setdefault(other, 1)
        truncated = len(first) > len(chosen) - 1
        if hops >= 2 and len(chosen) < limit:
            truncated = self._second_hop(chosen, first, limit) or truncated
        elif hops >= 2:
            truncated = True
        nodes = list(chosen)
        return Subgraph(nodes, [chosen[i] for i in nodes],
                        self._edges_among(nodes, max_edges), truncated)

    def _ranked(self, position: int, limit: int) -> list[tuple[int, float]]:
        """Up to ``limit + 1`` neighbours with their weights, strongest first (a graph holds
        one relation per pair of entities, and none from an entity to itself)."""
        start = int(self.arrays.indptr[position])
        end = min(int(self.arrays.indptr[position + 1]), start + limit + 1)
        return list(zip(self.arrays.other[start:end].tolist(),
                        self._weights(start, end).tolist(), strict=True))

    def _second_hop(self, chosen: dict[int, int], first: list[tuple[int, float]],
                    limit: int) -> bool:
        room = limit - len(chosen)
        best: dict[int, float] = {}
        for via, w1 in first:
            if via not in chosen:
                continue
            for other, w2 in self._ranked(via, room):
                if other not in chosen:
                    best[other] = max(best.get(other, 0.0), min(w1, w2))
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        for other, _ in ranked[:room]:
            chosen[other] = 2
        return len(ranked) > room

    def _edges_among(self, nodes: list[int], max_edges: int) -> list[Relation]:
        indptr, others, rels = self.arrays.indptr, self.arrays.other, self.arrays.rel
        inside = set(nodes)
        found: dict[int, float] = {}
        for node in nodes:
            start, end = int(indptr[node]), int(indptr[node + 1])
            for other, rel, weight in zip(others[start:end].tolist(), rels[start:end].tolist(),
                                          self._weights(start, end).tolist(), strict=True):
                if other in inside:
                    found[rel] = weight
        strongest = sorted(found, key=lambda r: (-found[r], r))[:max_edges]
        return [self.relations[r] for r in strongest]

    # -- communities -------------------------------------------------------------------------

    def community(self, community_id: str) -> Community | None:
        """A community by id, or None."""
        found = self._community_ids.find([community_id])[0]
        return None if found < 0 else self.communities[found]

    def _largest_first(self, indexes: Iterable[int], by_level: bool) -> list[Community]:
        """The communities ``indexes``, largest first, then by id (by level first)."""
        level, size = self.arrays.community_level, self.arrays.community_size
        ids = Strings(self.arrays.community_id_blob, self.arrays.community_id_offsets)
        order = sorted(indexes, key=lambda i: (int(level[i]) if by_level else 0,
                                               -int(size[i]), ids[i]))
        return [self.communities[i] for i in order]

    def children(self, community_id: str) -> list[Community]:
        """The communities one level below, largest first."""
        found = self._community_ids.find([community_id])[0]
        if found < 0:
            return []
        at = self.arrays.children_at
        kids = self.arrays.children[at[found]: at[found + 1]].tolist()
        return self._largest_first(kids, by_level=False)

    def list_communities(self, level: int | None) -> list[Community]:
        """Communities (of one level, if given), by level, then largest first."""
        levels = self.arrays.community_level
        chosen = range(len(levels)) if level is None else np.flatnonzero(levels == level).tolist()
        return self._largest_first(chosen, by_level=True)

    def members(self, community: Community) -> list[int]:
        """The positions of a community's entities, highest degree first."""
        positions = [p for p in self._ids.find(list(community.entity_ids)) if p >= 0]
        return sorted(positions, key=lambda p: (-int(self.degree[p]), self._folded[p]))
