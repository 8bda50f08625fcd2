"""Graph-local search in the spirit of HippoRAG: a graph of passages and the named entities they
mention (titles included), seeded with the entities the question names, ranked by personalised
PageRank, so that a passage two hops away (the film's director's own page) is reached through
the entity both passages share.

Tuned on the dev halves of the multi-hop sets (``graphready eval``; see the README): noun-phrase
concepts and co-occurrence relations make PageRank spread into hubs and cost recall, so this
graph keeps named entities and titles only, and weighs each passage-entity edge by the entity's
specificity. Dense passages seed the walk only when the question names no known entity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import igraph
import numpy as np

from graphready.extraction.normalize import entity_key
from graphready.knowledge import KnowledgeGraph
from graphready.stores.base import Hit

from .text import words

CONCEPT = "CONCEPT"


@dataclass(frozen=True, slots=True)
class GraphSearchParams:
    """How graph-local search walks. ``damping`` is the probability of continuing the walk;
    an entity in more than ``seed_df_share`` of the passages (at least ``seed_df_min``) is
    too common to seed it."""

    damping: float = 0.85
    max_ngram: int = 6
    seed_df_share: float = 0.01
    seed_df_min: int = 20


@dataclass(frozen=True, slots=True)
class Seed:
    """An entity the question names, with its weight in the personalisation vector."""

    name: str
    weight: float


class GraphIndex:
    """An in-memory, read-only passage-entity graph, built once from a stored knowledge graph."""

    def __init__(self, graph: KnowledgeGraph, params: GraphSearchParams | None = None) -> None:
        self._params = params or GraphSearchParams()
        entities = [e for e in graph.entities if e.type != CONCEPT and e.chunk_ids]
        chunk_ids = sorted({c for e in entities for c in e.chunk_ids})
        chunk_index = {c: i for i, c in enumerate(chunk_ids)}
        n_chunks = len(chunk_ids)
        sources: list[int] = []
        targets: list[int] = []
        weights: list[float] = []
        for i, entity in enumerate(entities):
            specificity = 1.0 / math.log(len(entity.chunk_ids) + math.e - 1)
            for chunk_id in entity.chunk_ids:
                sources.append(n_chunks + i)
                targets.append(chunk_index[chunk_id])
                weights.append(specificity)
        self._graph = igraph.Graph(n=n_chunks + len(entities),
                                   edges=list(zip(sources, targets, strict=True)))
        self._graph.es["weight"] = weights
        self._chunk_ids = chunk_ids
        self._chunk_index = chunk_index
        self._n_chunks = n_chunks
        self._names = [e.name for e in entities]
        self._df = [len(e.chunk_ids) for e in entities]
        self._by_key: dict[str, int] = {}
        for i, entity in enumerate(entities):
            self._by_key.setdefault(entity_key(entity.name), i)
        self._max_seed_df = max(self._params.seed_df_min,
                                int(self._params.seed_df_share * n_chunks))

    @property
    def chunk_count(self) -> int:
        """Passages in the graph."""
        return self._n_chunks

    def seeds(self, question: str) -> dict[int, Seed]:
        """Entities whose normalised name equals an n-gram of the question, weighted by inverse
        document frequency (longer names a little more); very common ones are left out."""
        tokens = words(question)
        found: dict[int, Seed] = {}
        total = max(self._n_chunks, 1)
        for size in range(min(self._params.max_ngram, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                key = entity_key(" ".join(tokens[start : start + size]))
                index = self._by_key.get(key) if key else None
                if index is None or index in found or self._df[index] > self._max_seed_df:
                    continue
                idf = math.log((total + 1) / (self._df[index] + 1)) + 0.1
                found[index] = Seed(self._names[index], idf * (1.0 + 0.25 * (size - 1)))
        return found

    def search(self, question: str, k: int, passage_seeds: Sequence[Hit] = ()) -> list[Hit]:
        """The ``k`` passages with the highest personalised PageRank from the question's
        entities (or, when it names none, from ``passage_seeds``); [] when nothing seeds it."""
        reset = np.zeros(self._graph.vcount(), dtype=np.float64)
        for index, seed in self.seeds(question).items():
            reset[self._n_chunks + index] = seed.weight
        if not reset.any():
            for hit in passage_seeds:
                node = self._chunk_index.get(hit.chunk_id)
                if node is not None:
                    reset[node] += max(hit.score, 0.0)
        if not reset.any():
            return []
        ranks = self._graph.personalized_pagerank(
            damping=self._params.damping, reset=reset.tolist(), weights="weight",
            directed=False,
        )
        scores = np.asarray(ranks[: self._n_chunks])
        top = min(k, self._n_chunks)
        order = np.argpartition(-scores, top - 1)[:top]
        order = order[np.argsort(-scores[order], kind="stable")]
        return [Hit(self._chunk_ids[i], float(scores[i])) for i in order if scores[i] > 0]
