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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from graphready.knowledge import KnowledgeGraph
from graphready.stores.base import Hit

from .graph_arrays import GraphArrays, KeyTable, Strings, build_arrays
from .keys import link_key as link_key  # where callers have always found it
from .pagerank import LocalPush, RandomWalk
from .text import words


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
    """A read-only passage-entity graph held as flat arrays (``arrays``: :class:`GraphArrays`),
    built from a stored knowledge graph or mapped from the graph file (:meth:`from_arrays`,
    :mod:`graph_file`), which every process of the machine then shares. Safe to ask from many
    threads at once."""

    def __init__(self, graph: KnowledgeGraph, titles: Mapping[str, Sequence[str]] | None = None,
                 params: GraphSearchParams | None = None) -> None:
        """``titles`` maps each document title to its chunks: a question that names a title
        seeds that document's passages directly, and the entity of that name is tied to them
        (its own page)."""
        params = params or GraphSearchParams()
        self._open(build_arrays(graph, titles or {}, params.own_page_weight), params)

    @classmethod
    def from_arrays(cls, arrays: GraphArrays, params: GraphSearchParams | None = None) -> (
            GraphIndex):
        """The index over ``arrays`` as they are (memory-mapped ones stay mapped), which
        :func:`build_arrays` made with ``params.own_page_weight``."""
        index = cls.__new__(cls)
        index._open(arrays, params or GraphSearchParams())
        return index

    def _open(self, arrays: GraphArrays, params: GraphSearchParams) -> None:
        self._params = params
        self.arrays = arrays
        self._chunk_ids = Strings(arrays.chunk_blob, arrays.chunk_offsets)
        self._n_chunks = len(self._chunk_ids)
        self._chunk_index = KeyTable(arrays.chunk_hashes, arrays.chunk_rows,
                                     self._chunk_ids.__getitem__)
        self._names = Strings(arrays.name_blob, arrays.name_offsets)
        self._types = Strings(arrays.type_blob, arrays.type_offsets)
        self._ids = Strings(arrays.id_blob, arrays.id_offsets)
        self._by_key = KeyTable(arrays.link_hashes, arrays.link_rows,
                                lambda row: link_key(self._names[row]))
        title_keys = Strings(arrays.title_blob, arrays.title_offsets)
        self._titles = KeyTable(arrays.title_hashes, arrays.title_rows, title_keys.__getitem__)
        self._df = arrays.df
        adjacency = arrays.adjacency
        tolerance = params.push_tolerance
        self._walk: LocalPush | RandomWalk = (
            RandomWalk(adjacency) if tolerance is None else LocalPush(adjacency, tolerance))
        self._max_seed_df = max(params.seed_df_min, int(params.seed_df_share * self._n_chunks))

    def _mentions(self, chunk_id: str) -> list[int]:
        """The entities a passage mentions, in graph order."""
        (node,) = self._chunk_index.find([chunk_id])
        if node < 0:
            return []
        mentions = self.arrays.mention_idx[self.arrays.mention_ptr[node]
                                           : self.arrays.mention_ptr[node + 1]]
        return [int(i) for i in mentions]

    def _title_nodes(self, row: int) -> list[int]:
        ptr = self.arrays.title_ptr
        return [int(n) for n in self.arrays.title_nodes[ptr[row] : ptr[row + 1]]]

    @property
    def chunk_count(self) -> int:
        """Passages in the graph."""
        return self._n_chunks

    def names_in(self, chunk_id: str) -> list[str]:
        """The names of the entities a passage mentions, each once, in graph order."""
        return list(dict.fromkeys(self._names[i] for i in self._mentions(chunk_id)))

    def typed_names_in(self, chunk_id: str) -> list[tuple[str, str]]:
        """``(name, type)`` of the entities a passage mentions, each once, in graph order (the
        type is the extractor's label: ``PERSON``, ``GPE``, ``ORG``...)."""
        return list(dict.fromkeys((self._names[i], self._types[i])
                                  for i in self._mentions(chunk_id)))

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
        ngrams = self._ngrams(question)
        for (_, size), index in zip(ngrams, self._by_key.find([k for k, _ in ngrams]),
                                    strict=True):
            if index < 0 or index in found or self._df[index] > self._max_seed_df:
                continue
            name = self._names[index]
            if not name.islower():
                found[index] = Seed(name, self._idf(int(self._df[index]), size))
        return found

    def title_seeds(self, question: str) -> dict[int, float]:
        """Passages whose document title the question names, with their weights."""
        found: dict[int, float] = {}
        ngrams = self._ngrams(question)
        for (_, size), row in zip(ngrams, self._titles.find([k for k, _ in ngrams]), strict=True):
            nodes = self._title_nodes(row) if row >= 0 else []
            weight = self._params.title_weight * self._idf(len(nodes), size)
            for node in nodes:
                found[node] = found.get(node, 0.0) + weight
        return found

    def titles_named(self, question: str) -> int:
        """How many document titles the question names in full."""
        rows = self._titles.find([key for key, _ in self._ngrams(question)])
        return sum(1 for row in rows if row >= 0 and self.arrays.title_full[row])

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
            positions = self._chunk_index.find([hit.chunk_id for hit in passage_seeds])
            for hit, position in zip(passage_seeds, positions, strict=True):
                if position >= 0 and hit.score > 0:
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
