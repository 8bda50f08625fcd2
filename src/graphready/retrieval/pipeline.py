"""The retrieval path that ``/chat``, ``ask`` and ``eval`` share: the tools that exist now, and
how each mode uses them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphready.embeddings.base import Embedder
from graphready.errors import LLMError, NotReady, StoreError
from graphready.stores.base import Hit, KeywordIndex, VectorStore

from .fusion import reciprocal_rank_fusion, rescore_by
from .graph_global import CommunityHit, CommunityIndex, is_global_question
from .graph_local import EntityRef, GraphIndex, GraphWalk
from .modes import Mode as Mode

if TYPE_CHECKING:  # rerank.py imports this module
    from .rerank import Reranker

log = logging.getLogger("graphready.retrieval")

KEYWORD, VECTOR, GRAPH_LOCAL, GRAPH_GLOBAL = (
    "keyword_search", "vector_search", "graph_local_search", "graph_global_search"
)


@dataclass(frozen=True, slots=True)
class VectorSearch:
    """Dense search: the embedder for the question, the store for the passages."""

    embedder: Embedder
    store: VectorStore

    def search(self, question: str, k: int) -> list[Hit]:
        """The ``k`` passages nearest to the question; none when a remote embedder or the
        vector store fails (a shared store restarting, say: the other retrievers still
        answer)."""
        try:
            vector = self.embedder.embed([question])[0]
        except LLMError as exc:
            log.warning("vector search skipped: the embedding server failed: %s", exc)
            return []
        try:
            return self.store.search(vector, k)
        except StoreError as exc:
            log.warning("vector search skipped: the vector store failed: %s", exc)
            return []


@dataclass(frozen=True, slots=True)
class Toolset:
    """The retrieval tools available at one moment. Immutable: the server swaps in a new one
    when an index becomes ready, and a request keeps the one it started with."""

    keyword: KeywordIndex | None = None
    vectors: VectorSearch | None = None
    graph: GraphIndex | None = None
    communities: CommunityIndex | None = None
    reranker: Reranker | None = None
    """Reorders the passages that :func:`retrieve` finds (``GRAPHREADY_RERANK_URL``)."""

    def names(self) -> list[str]:
        """The names of the tools usable now."""
        present = [(KEYWORD, self.keyword), (VECTOR, self.vectors), (GRAPH_LOCAL, self.graph),
                   (GRAPH_GLOBAL, self.communities)]
        return [name for name, tool in present if tool is not None]

    @property
    def can_answer(self) -> bool:
        """Whether any retriever exists."""
        return self.keyword is not None or self.vectors is not None


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What one retrieval found and how."""

    mode: Mode
    hits: list[Hit]
    tools_used: tuple[str, ...]
    communities: tuple[CommunityHit, ...] = ()
    seeds: tuple[EntityRef, ...] = ()
    """The graph entities the walk started from (graph-local search only)."""
    reached: tuple[EntityRef, ...] = ()
    """The graph entities the walk reached with the most weight."""

    @property
    def graph_used(self) -> bool:
        """Whether a graph tool contributed."""
        return GRAPH_LOCAL in self.tools_used or GRAPH_GLOBAL in self.tools_used


def retrieve(tools: Toolset, question: str, mode: Mode, k: int) -> Retrieval:
    """Retrieve for ``question`` in ``mode``; with a reranker, its candidates (``k`` or more)
    reordered by it and cut to ``k`` (:meth:`.rerank.Reranker.apply`)."""
    if tools.reranker is None:
        return _retrieve(tools, question, mode, k)
    depth = max(k, tools.reranker.candidates)
    return tools.reranker.apply(question, _retrieve(tools, question, mode, depth), k)


def _retrieve(tools: Toolset, question: str, mode: Mode, k: int) -> Retrieval:
    """``auto`` sends corpus-wide questions to the community summaries when they exist, and
    fuses every passage retriever otherwise."""
    if not tools.can_answer:
        raise NotReady("no index is ready yet: the documents are still being read")
    if mode == "auto":
        if tools.communities is not None and len(tools.communities) and is_global_question(
            question
        ):
            return _global(tools, question, k)
        return _fused(tools, question, k, use_graph=True, mode="auto")
    if mode == "retrieval":
        return _fused(tools, question, k, use_graph=False, mode="retrieval")
    if tools.graph is None or tools.communities is None:
        raise NotReady(f"mode {mode!r} needs the knowledge graph, which is not ready yet; "
                       "use mode 'auto' or 'retrieval' meanwhile", retry_after=10)
    if mode == "graph_global":
        return _global(tools, question, k)
    return _local(tools, question, k)


def _depth(k: int) -> int:
    return max(4 * k, 20)


@dataclass(frozen=True, slots=True)
class FusionWeights:
    """Reciprocal-rank-fusion weights and constants. Without the graph, keyword and dense count
    alike (the usual k=60); with it, the graph ranking leads and a small k lets each list's top
    ranks count; before fusion the graph's passages are re-scored by ``log(PageRank) +
    graph_dense * cosine`` to the question, so the walk's passages that also match the question
    rise (tuned with ``graphready eval`` on the dev halves of 2Wiki, HotpotQA and MuSiQue).
    With the graph, a second hop follows the fused ranking's top passage: a keyword search for
    the question plus the entities that passage names (and the question does not) finds the
    passage about the bridging entity, and its ranking joins the fusion with weight
    ``second_hop``."""

    keyword: float = 1.0
    vector: float = 1.0
    k: int = 60
    graph_keyword: float = 0.5
    graph_vector: float = 0.5
    graph: float = 1.0
    graph_k: int = 5
    graph_dense: float = 1.0
    second_hop: float = 1.0


FUSION = FusionWeights()


def _fused(tools: Toolset, question: str, k: int, use_graph: bool, mode: Mode) -> Retrieval:
    rankings: list[list[Hit]] = []
    names: list[str] = []
    dense: list[Hit] = []
    if tools.keyword is not None:
        rankings.append(tools.keyword.search(question, _depth(k)))
        names.append(KEYWORD)
    if tools.vectors is not None:
        dense = tools.vectors.search(question, _depth(k))
        rankings.append(dense)
        names.append(VECTOR)
    local: list[Hit] = []
    walk = GraphWalk([])
    if use_graph and tools.graph is not None:
        walk = tools.graph.walk(question, _depth(k), passage_seeds=dense[:5])
        local = rescore_by(walk.hits, dense, FUSION.graph_dense)
        if local:
            rankings.append(local)
            names.append(GRAPH_LOCAL)
    weights = {KEYWORD: FUSION.graph_keyword if local else FUSION.keyword,
               VECTOR: FUSION.graph_vector if local else FUSION.vector,
               GRAPH_LOCAL: FUSION.graph}
    fusion_weights = [weights[n] for n in names]
    hits = reciprocal_rank_fusion(rankings, fusion_weights,
                                  k=FUSION.graph_k if local else FUSION.k)
    if local and hits and tools.keyword is not None and tools.graph is not None:
        bridge = bridge_query(question, tools.graph.names_in(hits[0].chunk_id))
        if bridge != question:
            rankings.append(tools.keyword.search(bridge, _depth(k)))
            hits = reciprocal_rank_fusion(rankings, [*fusion_weights, FUSION.second_hop],
                                          k=FUSION.graph_k)
    return Retrieval(mode=mode, hits=hits[:k], tools_used=tuple(names), seeds=walk.seeds,
                     reached=walk.reached)


def bridge_query(question: str, names: list[str]) -> str:
    """The question followed by those of ``names`` that it does not already contain."""
    lowered = question.lower()
    new = [name for name in names if name.lower() not in lowered]
    return " ".join([question, *new]) if new else question


def _local(tools: Toolset, question: str, k: int) -> Retrieval:
    assert tools.graph is not None
    dense = tools.vectors.search(question, 5) if tools.vectors is not None else []
    walk = tools.graph.walk(question, k, passage_seeds=dense)
    used = (VECTOR, GRAPH_LOCAL) if dense else (GRAPH_LOCAL,)
    if not walk.hits:
        return _fused(tools, question, k, use_graph=False, mode="graph_local")
    return Retrieval(mode="graph_local", hits=walk.hits, tools_used=used, seeds=walk.seeds,
                     reached=walk.reached)


def _global(tools: Toolset, question: str, k: int) -> Retrieval:
    assert tools.communities is not None
    found = tools.communities.search(question, k)
    if not found:
        return _fused(tools, question, k, use_graph=True, mode="graph_global")
    hits = [Hit(c.community.chunk_ids[0], c.score) for c in found if c.community.chunk_ids]
    return Retrieval(mode="graph_global", hits=hits, tools_used=(GRAPH_GLOBAL,),
                     communities=tuple(found))
