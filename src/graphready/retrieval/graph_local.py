"""Graph-local search in the spirit of HippoRAG: a graph of passages and the named entities they
mention (titles included), seeded with the entities the question names, ranked by personalised
PageRank, so that a passage two hops away (the film's director's own page) is reached through
the entity both passages share.

Tuned on the dev halves of the multi-hop sets (``graphready eval``; see
docs/retrieval-quality.md): noun-phrase
concepts and co-occurrence relations make PageRank spread into hubs and cost recall, so this
graph keeps named entities and titles only, and weighs each passage-entity edge by the entity's
specificity. An entity is tied strongly to its own page: the passages of the document whose
title names it, a disambiguating ``(film)`` or ``(born 1950)`` left out. Names are matched on
their words alone (``J. M. Barrie`` meets ``J M Barrie``), and an entity whose name is never
capitalised (``award``, ``island``: a common noun that NER took for a name) does not seed the
walk. Dense passages seed the walk only when the question names no known entity."""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from graphready.extraction.normalize import entity_key
from graphready.knowledge import KnowledgeGraph
from graphready.stores.base import Hit

from .pagerank import Adjacency, LocalPush, RandomWalk
from .text import words

CONCEPT = "CONCEPT"
_WORD = re.compile(r"[^\W_]+")
_DISAMBIGUATION = re.compile(r"(?<!\s)\s*\([^()]*\)\s*$")
"""A parenthesised ending; the lookbehind starts a match only at the first space of a run, so
a long run of spaces is scanned once (a match from inside it would have matched from its start)."""


def link_key(name: str) -> str:
    """The key that question n-grams, entity names and titles are matched on: the words of the
    normalised name (:func:`entity_key`) joined by single spaces, punctuation inside dropped."""
    return " ".join(_WORD.findall(entity_key(name)))


def title_keys(title: str) -> tuple[str, str | None]:
    """The link key of a document title and, for a title ending in a parenthesised
    disambiguation (``Alien (film)``), the key of the title without it (``alien``)."""
    full = link_key(title)
    short = _DISAMBIGUATION.sub("", title)
    alias = link_key(short) if short != title else None
    return full, (alias if alias and alias != full else None)


@dataclass(frozen=True, slots=True)
class GraphSearchParams:
    """How graph-local search walks. ``damping`` is the probability of continuing the walk;
    an entity in more than ``seed_df_share`` of the passages (at least ``seed_df_min``) is
    too common to seed it. A question n-gram that names a title seeds its passages with
    ``title_weight`` times its inverse document frequency; an entity's edges to its own page
    weigh ``own_page_weight`` times its other edges. The walk is personalised PageRank by
    local push (:class:`LocalPush`) to ``push_tolerance``."""

    damping: float = 0.85
    max_ngram: int = 6
    seed_df_share: float = 0.01
    seed_df_min: int = 20
    title_weight: float = 3.0
    own_page_weight: float = 3.0
    push_tolerance: float | None = 1e-5
    """Local push stops when every residual is below this times the node's strength (a
    passage's score is then at most that much below the exact one); None ranks by exact power
    iteration over the whole graph instead (each question reads every edge)."""


@dataclass(frozen=True, slots=True)
class Seed:
    """An entity the question names, with its weight in the personalisation vector."""

    name: str
    weight: float


@dataclass(frozen=True, slots=True)
class EntityRef:
    """An entity of the graph, by id and name (what a chat response says the walk used)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class GraphWalk:
    """What one graph-local search found: the passages, the entities the walk started from
    (``seeds``) and the entities it reached with the most weight (``reached``, seeds left out)."""

    hits: list[Hit]
    seeds: tuple[EntityRef, ...] = ()
    reached: tuple[EntityRef, ...] = ()


REACHED_SHOWN = 10


class GraphIndex:
    """An in-memory, read-only passage-entity graph, built once from a stored knowledge graph."""

    def __init__(self, graph: KnowledgeGraph, titles: Mapping[str, Sequence[str]] | None = None,
                 params: GraphSearchParams | None = None) -> None:
        """``titles`` maps each document title to its chunks: a question that names a title
        seeds that document's passages directly, and the entity of that name is tied to them
        (its own page)."""
        self._params = params or GraphSearchParams()
        entities = [e for e in graph.entities if e.type != CONCEPT and e.chunk_ids]
        titles = titles or {}
        chunk_ids = sorted({c for e in entities for c in e.chunk_ids}
                           | {c for ids in titles.values() for c in ids})
        chunk_index = {c: i for i, c in enumerate(chunk_ids)}
        n_chunks = len(chunk_ids)
        self._chunk_ids = chunk_ids
        self._chunk_index = chunk_index
        self._n_chunks = n_chunks
        self._titles, self._full_titles = _title_index(titles, chunk_index)
        self._by_key: dict[str, int] = {}
        for i, entity in enumerate(entities):
            self._by_key.setdefault(link_key(entity.name), i)
        self._mentions: dict[str, list[int]] = {}
        for i, entity in enumerate(entities):
            for chunk_id in entity.chunk_ids:
                self._mentions.setdefault(chunk_id, []).append(i)
        self._names = [e.name for e in entities]
        self._types = [e.type for e in entities]
        self._ids = [e.id for e in entities]
        # What lasts is built above, what is dropped below (mixed, the heap would stay larger).
        members = [{chunk_index[c] for c in e.chunk_ids} for e in entities]
        own_pages = self._own_pages(members)
        # Edges gathered in typed arrays: no object per edge, even while the index is built.
        sources, targets, weights = array("i"), array("i"), array("d")
        for i, nodes in enumerate(members):
            specificity = 1.0 / math.log(len(nodes) + math.e - 1)
            own = own_pages.get(i, set())
            for node in sorted(nodes):
                sources.append(n_chunks + i)
                targets.append(node)
                weights.append(specificity * (self._params.own_page_weight if node in own
                                              else 1.0))
        adjacency = Adjacency.from_edges(n_chunks + len(entities),
                                         np.frombuffer(sources, dtype=np.int32),
                                         np.frombuffer(targets, dtype=np.int32),
                                         np.frombuffer(weights, dtype=np.float64))
        tolerance = self._params.push_tolerance
        self._walk: LocalPush | RandomWalk = (
            RandomWalk(adjacency) if tolerance is None else LocalPush(adjacency, tolerance))
        self._df = array("i", (len(nodes) for nodes in members))
        self._max_seed_df = max(self._params.seed_df_min,
                                int(self._params.seed_df_share * n_chunks))

    def _own_pages(self, members: list[set[int]]) -> dict[int, set[int]]:
        """Entity -> the passages of the documents its name titles; they join ``members``."""
        own: dict[int, set[int]] = {}
        for key, nodes in self._titles.items():
            index = self._by_key.get(key)
            if index is not None:
                own.setdefault(index, set()).update(nodes)
                members[index].update(nodes)
        return own

    @property
    def chunk_count(self) -> int:
        """Passages in the graph."""
        return self._n_chunks

    def names_in(self, chunk_id: str) -> list[str]:
        """The names of the entities a passage mentions, each once, in graph order."""
        return list(dict.fromkeys(self._names[i] for i in self._mentions.get(chunk_id, ())))

    def typed_names_in(self, chunk_id: str) -> list[tuple[str, str]]:
        """``(name, type)`` of the entities a passage mentions, each once, in graph order (the
        type is the extractor's label: ``PERSON``, ``GPE``, ``ORG``...)."""
        return list(dict.fromkeys((self._names[i], self._types[i])
                                  for i in self._mentions.get(chunk_id, ())))

    def _ngrams(self, question: str) -> list[tuple[str, int]]:
        """Link keys of the question's n-grams, longest first, each once, with their length."""
        tokens = words(question)
        seen: dict[str, int] = {}
        for size in range(min(self._params.max_ngram, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                key = link_key(" ".join(tokens[start : start + size]))
                if key and key not in seen:
                    seen[key] = size
        return list(seen.items())

    def _idf(self, df: int, size: int) -> float:
        return (math.log((self._n_chunks + 1) / (df + 1)) + 0.1) * (1.0 + 0.25 * (size - 1))

    def seeds(self, question: str) -> dict[int, Seed]:
        """Entities whose name matches an n-gram of the question, weighted by inverse document
        frequency (longer names a little more); very common ones, and names never written with
        a capital, are left out."""
        found: dict[int, Seed] = {}
        for key, size in self._ngrams(question):
            index = self._by_key.get(key)
            if index is None or index in found or self._df[index] > self._max_seed_df \
                    or self._names[index].islower():
                continue
            found[index] = Seed(self._names[index], self._idf(self._df[index], size))
        return found

    def title_seeds(self, question: str) -> dict[int, float]:
        """Passages whose document title the question names, with their weights."""
        found: dict[int, float] = {}
        for key, size in self._ngrams(question):
            nodes = self._titles.get(key, [])
            weight = self._params.title_weight * self._idf(len(nodes), size)
            for node in nodes:
                found[node] = found.get(node, 0.0) + weight
        return found

    def titles_named(self, question: str) -> int:
        """How many document titles the question names in full."""
        return sum(1 for key, _ in self._ngrams(question) if key in self._full_titles)

    def search(self, question: str, k: int, passage_seeds: Sequence[Hit] = ()) -> list[Hit]:
        """The ``k`` passages with the highest personalised PageRank from the question's
        entities and titles (or, when it names none, from ``passage_seeds``); [] when nothing
        seeds it."""
        return self.walk(question, k, passage_seeds).hits

    def walk(self, question: str, k: int, passage_seeds: Sequence[Hit] = ()) -> GraphWalk:
        """:meth:`search`, with the entities the walk started from and those it reached. Its
        cost is that of the seeds' neighbourhood: nothing here reads the whole graph."""
        reset: dict[int, float] = {}
        seeds = self.seeds(question)
        for index, seed in seeds.items():
            reset[self._n_chunks + index] = seed.weight
        for node, weight in self.title_seeds(question).items():
            reset[node] = reset.get(node, 0.0) + weight
        if not reset:
            for hit in passage_seeds:
                position = self._chunk_index.get(hit.chunk_id)
                if position is not None and hit.score > 0:
                    reset[position] = reset.get(position, 0.0) + hit.score
        if not reset:
            return GraphWalk([])
        nodes, scores = self._walk.rank(np.fromiter(reset, dtype=np.int64, count=len(reset)),
                                        np.fromiter(reset.values(), dtype=np.float64,
                                                    count=len(reset)), self._params.damping)
        passages = nodes < self._n_chunks
        hits = [Hit(self._chunk_ids[i], float(score))
                for i, score in _top(nodes[passages], scores[passages], k)]
        entities = ~passages
        reached = _top(nodes[entities] - self._n_chunks, scores[entities],
                       REACHED_SHOWN + len(seeds))
        return GraphWalk(hits, tuple(self._ref(i) for i in seeds),
                         tuple(self._ref(i) for i, _ in reached if i not in seeds)[:REACHED_SHOWN])

    def _ref(self, index: int) -> EntityRef:
        return EntityRef(self._ids[index], self._names[index])


def _top(nodes: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], k: int) -> (
        list[tuple[int, float]]):
    """The ``k`` nodes with the highest score (above zero), highest first, ties by node."""
    order = np.lexsort((nodes, -scores))[:k]
    return [(int(nodes[i]), float(scores[i])) for i in order if scores[i] > 0]


def _title_index(titles: Mapping[str, Sequence[str]], chunk_index: Mapping[str, int]) -> (
        tuple[dict[str, list[int]], frozenset[str]]):
    """Link key (of a title, or of a title without its disambiguation) -> the graph nodes of
    the passages of those documents; and the keys of the full titles."""
    nodes_of: dict[str, set[int]] = {}
    full: set[str] = set()
    for title, ids in titles.items():
        nodes = {chunk_index[c] for c in ids if c in chunk_index}
        if not nodes:
            continue
        key, alias = title_keys(title)
        for name in (key, alias):
            if name:
                nodes_of.setdefault(name, set()).update(nodes)
        if key:
            full.add(key)
    return {key: sorted(nodes) for key, nodes in nodes_of.items()}, frozenset(full)
