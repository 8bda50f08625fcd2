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
import re
import threading
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from graphready.curation.apply import Marks
from graphready.errors import StoreError
from graphready.knowledge import ChunkExtraction, Community, Entity, KnowledgeGraph, Relation

from .aliases import entity_aliases
from .visible import without_documents

log = logging.getLogger("graphready.explore")

_WORD = re.compile(r"[^\W_]+")
_WORD_END = "\U0010ffff"


def fold(text: str) -> str:
    """``text`` without case or accents: NFKD, combining marks dropped, casefolded."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def name_words(text: str) -> list[str]:
    """The folded words of a name or query."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a long list: the positions of the items and where the next page starts."""

    items: list[int]
    total: int
    next_offset: int | None


def page_of(positions: Sequence[int], offset: int, limit: int) -> Page:
    """Items ``offset`` to ``offset + limit`` of ``positions``."""
    items = list(positions[offset: offset + limit])
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
    """The loaded graph, indexed for browsing. ``chunk_docs`` maps each chunk id to its document
    id (for the documents that mention an entity, and the export's attributes);
    ``extractions`` reads the stored extractions, for the entities' other names (read once, at
    the first question about them). ``withheld_entities`` and ``withheld_communities`` are
    those whose description or report is withheld while a deleted document is hidden.
    ``curation``: the marks of the curators' edits the graph holds."""

    def __init__(self, graph: KnowledgeGraph, chunk_docs: Mapping[str, str],
                 extractions: Callable[[], Iterable[ChunkExtraction]] | None = None, *,
                 withheld_entities: frozenset[str] = frozenset(),
                 withheld_communities: frozenset[str] = frozenset(),
                 curation: Marks | None = None) -> None:
        self._extractions = extractions
        self.curation = curation or Marks()
        self._aliases: dict[str, tuple[str, ...]] | None = None
        self._aliases_lock = threading.Lock()
        self.entities: tuple[Entity, ...] = graph.entities
        self.relations: tuple[Relation, ...] = graph.relations
        self.communities: tuple[Community, ...] = graph.communities
        self.chunk_docs = chunk_docs
        self.withheld_entities = withheld_entities
        self.withheld_communities = withheld_communities
        self.documents: frozenset[str] = frozenset(chunk_docs.values())
        """The ids of the documents whose chunks the catalog held when the graph was loaded."""
        self._orphans: bool | None = None  # known at the first call of visible()
        self._shown: tuple[frozenset[str], GraphView] | None = None
        self._shown_lock = threading.Lock()
        self._position = {e.id: i for i, e in enumerate(self.entities)}
        self._build_names()
        self._build_adjacency()
        self._build_communities()

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
            graph = KnowledgeGraph(self.entities, self.relations, self.communities)
            found = without_documents(graph, self.chunk_docs, wanted)
            view = GraphView(found.graph, found.chunk_docs, self._extractions,
                             withheld_entities=found.withheld_entities,
                             withheld_communities=found.withheld_communities,
                             curation=self.curation)
            self._shown = (wanted, view)
            return view

    # -- construction ----------------------------------------------------------------------

    def _build_adjacency(self) -> None:
        """Both directions of every relation in CSR form, each entity's neighbours strongest
        first."""
        n, count = len(self.entities), len(self.relations)
        # Read straight into arrays (no list or tuple per relation on the way: what a load
        # frees in small pieces fragments the heap it leaves behind).
        src = np.fromiter((self._position.get(r.source, -1) for r in self.relations),
                          dtype=np.int64, count=count)
        dst = np.fromiter((self._position.get(r.target, -1) for r in self.relations),
                          dtype=np.int64, count=count)
        weight = np.fromiter((r.weight for r in self.relations), dtype=np.float64, count=count)
        keep = np.flatnonzero((src >= 0) & (dst >= 0))
        src, dst, weight = src[keep], dst[keep], weight[keep]
        rel = keep.astype(np.int32)
        node = np.concatenate([src, dst])
        other = np.concatenate([dst, src])
        both_weight = np.concatenate([weight, weight])
        order = np.lexsort((-both_weight, node))
        counts = np.bincount(node, minlength=n)
        self._indptr: npt.NDArray[np.int64] = np.concatenate(
            [np.zeros(1, dtype=np.int64), np.cumsum(counts)])
        self._other: npt.NDArray[np.int32] = other[order].astype(np.int32)
        self._rel: npt.NDArray[np.int32] = np.concatenate([rel, rel])[order]
        # Each relation's weight once (``_weights(start, end)`` reads them by ``_rel``).
        self._rel_weight = np.zeros(count, dtype=np.float64)
        self._rel_weight[keep] = weight
        self.degree: npt.NDArray[np.int64] = counts.astype(np.int64)
        by_name = np.argsort(np.asarray(self._folded, dtype=object), kind="stable")
        self._by_degree = array("i", by_name[np.argsort(-counts[by_name], kind="stable")]
                                .tolist())

    def _build_names(self) -> None:
        self._folded = [fold(e.name) for e in self.entities]
        shared: dict[str, str] = {}  # each word held once, not once per name it is in
        words: list[str] = []
        owners = array("i")
        aliases = self.curation.aliases
        for i, name in enumerate(self._folded):
            found = _WORD.findall(name)
            for alias in aliases.get(self.entities[i].id, ()) if aliases else ():
                found.extend(_WORD.findall(fold(alias)))  # a merged or old name finds it
            for word in dict.fromkeys(found):
                words.append(shared.setdefault(word, word))
                owners.append(i)
        # By word, then by owner (a stable sort of pairs listed by owner).
        order = np.argsort(np.asarray(words, dtype=object), kind="stable")
        self._words = [words[j] for j in order.tolist()]
        self._word_owner = array("i", np.frombuffer(owners, dtype=np.int32)[order].tobytes())
        self.types = sorted({e.type for e in self.entities})

    def _build_communities(self) -> None:
        self._community = {c.id: c for c in self.communities}
        self._children: dict[str, list[str]] = {}
        self._by_level = sorted(self.communities, key=lambda c: (c.level, c.id))
        members: list[int] = []
        owners: list[int] = []
        for index, community in enumerate(self._by_level):
            if community.parent is not None:
                self._children.setdefault(community.parent, []).append(community.id)
            for entity_id in community.entity_ids:
                position = self._position.get(entity_id)
                if position is not None:
                    members.append(position)
                    owners.append(index)
        # Each entity's communities (top level first) as CSR: positions into ``_by_level``.
        by_member = np.argsort(np.asarray(members, dtype=np.int64), kind="stable")
        self._of_entity = np.asarray(owners, dtype=np.int32)[by_member]
        self._of_entity_at = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(
            np.bincount(np.asarray(members, dtype=np.int64), minlength=len(self.entities)))])
        self.levels = sorted({c.level for c in self.communities})

    # -- entities ----------------------------------------------------------------------------

    def position(self, entity_id: str) -> int | None:
        """The position of an entity, or None for an unknown id."""
        return self._position.get(entity_id)

    def _with_prefix(self, prefix: str) -> set[int]:
        start = bisect.bisect_left(self._words, prefix)
        end = bisect.bisect_left(self._words, prefix + _WORD_END, lo=start)
        return set(self._word_owner[start:end])

    def _weights(self, start: int, end: int) -> npt.NDArray[np.float64]:
        """The weights of adjacency entries ``start`` to ``end``."""
        return self._rel_weight[self._rel[start:end]]

    def search(self, query: str, entity_type: str | None, offset: int, limit: int) -> Page:
        """Entities whose name starts with ``query`` or has a word starting with each word of
        it (case and accents ignored), of ``entity_type`` if given; exact names first, then
        whole-name prefixes, then word matches, each by degree. No query: all, by degree."""
        wanted = name_words(query)
        if not wanted:
            found: Sequence[int] = self._by_degree
        else:
            sets = sorted((self._with_prefix(w) for w in wanted), key=len)
            hits = set.intersection(*sets) if sets else set()
            whole = fold(query).strip()
            found = sorted(hits, key=lambda i: (
                0 if self._folded[i] == whole else 1 if self._folded[i].startswith(whole) else 2,
                -int(self.degree[i]), self._folded[i]))
        if entity_type:
            found = [i for i in found if self.entities[i].type == entity_type]
        return page_of(found, offset, limit)

    def neighbours(self, position: int, limit: int) -> list[Neighbour]:
        """The entity's strongest ``limit`` relations."""
        start = int(self._indptr[position])
        end = min(int(self._indptr[position + 1]), start + limit)
        return [Neighbour(int(self._other[j]), self.relations[int(self._rel[j])])
                for j in range(start, end)]

    def communities_of(self, position: int) -> list[Community]:
        """The communities an entity belongs to, top level first."""
        start, end = self._of_entity_at[position], self._of_entity_at[position + 1]
        return [self._by_level[i] for i in self._of_entity[start:end].tolist()]

    def top_community(self, position: int) -> str | None:
        """The id of the entity's top-level community (what the app colours by)."""
        start, end = self._of_entity_at[position], self._of_entity_at[position + 1]
        return self._by_level[int(self._of_entity[start])].id if end > start else None

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
        start = int(self._indptr[position])
        end = min(int(self._indptr[position + 1]), start + limit + 1)
        return list(zip(self._other[start:end].tolist(), self._weights(start, end).tolist(),
                        strict=True))

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
        inside = np.zeros(len(self.entities), dtype=bool)
        inside[nodes] = True
        found: dict[int, float] = {}
        for node in nodes:
            start, end = int(self._indptr[node]), int(self._indptr[node + 1])
            mask = inside[self._other[start:end]]
            for rel, weight in zip(self._rel[start:end][mask].tolist(),
                                   self._weights(start, end)[mask].tolist(), strict=True):
                found[rel] = weight
        strongest = sorted(found, key=lambda r: (-found[r], r))[:max_edges]
        return [self.relations[r] for r in strongest]

    # -- communities -------------------------------------------------------------------------

    def community(self, community_id: str) -> Community | None:
        """A community by id, or None."""
        return self._community.get(community_id)

    def children(self, community_id: str) -> list[Community]:
        """The communities one level below, largest first."""
        found = [self._community[c] for c in self._children.get(community_id, ())]
        return sorted(found, key=lambda c: (-len(c.entity_ids), c.id))

    def list_communities(self, level: int | None) -> list[Community]:
        """Communities (of one level, if given), by level, then largest first."""
        found = [c for c in self.communities if level is None or c.level == level]
        return sorted(found, key=lambda c: (c.level, -len(c.entity_ids), c.id))

    def members(self, community: Community) -> list[int]:
        """The positions of a community's entities, highest degree first."""
        positions = [p for p in (self._position.get(e) for e in community.entity_ids)
                     if p is not None]
        return sorted(positions, key=lambda p: (-int(self.degree[p]), self._folded[p]))
