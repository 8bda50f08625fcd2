"""Graph-local search in the spirit of HippoRAG: a graph of passages and the entities they
mention (plus entity-entity relations), seeded with the entities named in the question and the
best dense passages, ranked by personalised PageRank."""

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

MAX_NGRAM = 6


@dataclass(frozen=True, slots=True)
class Seed:
    """An entity the question names, with its weight in the personalisation vector."""

    name: str
    weight: float


class GraphIndex:
    """An in-memory, read-only passage-entity graph, built once from a stored knowledge graph."""

    def __init__(self, graph: KnowledgeGraph, damping: float = 0.5) -> None:
        chunk_ids = sorted({c for e in graph.entities for c in e.chunk_ids})
        self._chunk_ids = chunk_ids
        chunk_index = {c: i for i, c in enumerate(chunk_ids)}
        n_chunks = len(chunk_ids)
        entity_index = {e.id: n_chunks + i for i, e in enumerate(graph.entities)}
        self._names = [e.name for e in graph.entities]
        self._df = [len(e.chunk_ids) for e in graph.entities]
        self._by_key: dict[str, int] = {}
        for i, entity in enumerate(graph.entities):
            self._by_key.setdefault(entity_key(entity.name), i)
        edges: list[tuple[int, int]] = []
        weights: list[float] = []
        for entity in graph.entities:
            node = entity_index[entity.id]
            for chunk_id in entity.chunk_ids:
                edges.append((node, chunk_index[chunk_id]))
                weights.append(1.0)
        for rel in graph.relations:
            a, b = entity_index.get(rel.source), entity_index.get(rel.target)
            if a is not None and b is not None and a != b:
                edges.append((a, b))
                weights.append(min(1.0, 0.25 * math.log1p(rel.weight)))
        self._graph = igraph.Graph(n=n_chunks + len(graph.entities), edges=edges)
        self._weights = weights
        self._n_chunks = n_chunks
        self._chunk_index = chunk_index
        self._damping = damping

    @property
    def chunk_count(self) -> int:
        """Passages in the graph."""
        return self._n_chunks

    def seeds(self, question: str) -> dict[int, Seed]:
        """Entities whose normalised name equals an n-gram of the question, weighted by inverse
        document frequency (a name that occurs everywhere says little)."""
        tokens = words(question)
        found: dict[int, Seed] = {}
        total = max(self._n_chunks, 1)
        for size in range(min(MAX_NGRAM, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                key = entity_key(" ".join(tokens[start : start + size]))
                index = self._by_key.get(key) if key else None
                if index is None or index in found:
                    continue
                idf = math.log((total + 1) / (self._df[index] + 1)) + 0.1
                found[index] = Seed(self._names[index], idf * (1.0 + 0.25 * (size - 1)))
        return found

    def search(self, question: str, k: int, passage_seeds: Sequence[Hit] = ()) -> list[Hit]:
        """The ``k`` passages with the highest personalised PageRank; [] when nothing seeds it."""
        seeds = self.seeds(question)
        reset = np.zeros(self._graph.vcount(), dtype=np.float64)
        for index, seed in seeds.items():
            reset[self._n_chunks + index] = seed.weight
        if seeds:
            reset /= reset.sum()
        passage_weight = 0.5 if seeds else 1.0
        dense = [(self._chunk_index[h.chunk_id], max(h.score, 0.0)) for h in passage_seeds
                 if h.chunk_id in self._chunk_index]
        dense_total = sum(score for _, score in dense)
        if dense_total > 0:
            for node, score in dense:
                reset[node] += passage_weight * score / dense_total
        if not reset.any():
            return []
        ranks = self._graph.personalized_pagerank(
            damping=self._damping, reset=reset.tolist(), weights=self._weights, directed=False
        )
        scores = np.asarray(ranks[: self._n_chunks])
        top = min(k, self._n_chunks)
        order = np.argpartition(-scores, top - 1)[:top] if top else np.array([], dtype=int)
        order = order[np.argsort(-scores[order])]
        return [Hit(self._chunk_ids[i], float(scores[i])) for i in order if scores[i] > 0]
