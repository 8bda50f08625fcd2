"""Per-question cost of graph-local search's walk as the graph grows around a fixed
neighbourhood: local push (what questions use) against exact power iteration.

Synthetic passage-entity graphs shaped like the real ones (about 7 named entities per passage,
weighted by specificity as ``GraphIndex`` weighs them): passages fall into topics of 50 with
their own 120 entities (so a seed's neighbourhood is the same at every size), and one entity
of each passage comes from a shared Zipf-distributed pool (hubs that grow with the corpus).
Questions are seeded with 1-3 entities of the first 20 topics, the same at every size. For
each size: edges, milliseconds per question (median and p95) and the nodes each walk reached,
and the edges of those nodes (what the walk may have read: the machine's load does not change
it), for push and (up to ``--exact-up-to`` passages) for exact PageRank (which reads every edge,
up to 60 times).

    .venv/bin/python benchmarks/graph_walk.py                          # 10k .. 1M passages
    .venv/bin/python benchmarks/graph_walk.py --sizes 10000,100000 --questions 50
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from graphready.retrieval.graph_local import GraphSearchParams
from graphready.retrieval.pagerank import Adjacency, LocalPush, RandomWalk

TOPIC_PASSAGES, TOPIC_ENTITIES, PER_PASSAGE, POOL_SHARE = 50, 120, 6, 0.5


def synthetic(passages: int, seed: int = 7) -> tuple[Adjacency, int]:
    """The graph (passages first, then entities) and its number of passages."""
    rng = np.random.default_rng(seed)
    topics = math.ceil(passages / TOPIC_PASSAGES)
    topic_entities = topics * TOPIC_ENTITIES
    pool = max(100, int(POOL_SHARE * passages))
    rows = np.repeat(np.arange(passages), PER_PASSAGE + 1)
    local = (rows.reshape(passages, -1)[:, :PER_PASSAGE] // TOPIC_PASSAGES) * TOPIC_ENTITIES \
        + rng.integers(0, TOPIC_ENTITIES, (passages, PER_PASSAGE))
    shared = topic_entities + np.minimum(rng.zipf(1.6, passages) - 1, pool - 1)
    entities = np.concatenate([local, shared[:, None]], axis=1).ravel()
    pairs = np.unique(np.stack([entities, rows], axis=1), axis=0)
    df = np.bincount(pairs[:, 0], minlength=topic_entities + pool)
    weights = 1.0 / np.log(df[pairs[:, 0]] + math.e - 1)
    return Adjacency.from_edges(passages + topic_entities + pool, passages + pairs[:, 0],
                                pairs[:, 1], weights), passages


def question_seeds(count: int, passages: int) -> list[np.ndarray]:
    """Seeds of each question: entities of the first 20 topics, the same at every size."""
    rng = np.random.default_rng(11)
    topics = min(20, math.ceil(passages / TOPIC_PASSAGES))
    return [passages + np.unique(rng.integers(0, topics * TOPIC_ENTITIES, rng.integers(1, 4)))
            for _ in range(count)]


def timed(ranker: LocalPush | RandomWalk, seeds: list[np.ndarray], damping: float) -> (
        tuple[list[float], list[int], list[int]]):
    """Milliseconds, nodes reached and the edges of those nodes (an upper bound on the edges
    read, which the machine's load does not change) of each question's walk."""
    ms, reached, edges = [], [], []
    degree = np.diff(ranker.adjacency.indptr)
    for nodes in seeds:
        started = time.perf_counter()
        ranked, _ = ranker.rank(nodes.astype(np.int64), np.ones(len(nodes)), damping)
        ms.append(1000 * (time.perf_counter() - started))
        reached.append(len(ranked))
        edges.append(int(degree[ranked].sum()))
    return ms, reached, edges


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000,300000,1000000")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--exact-up-to", type=int, default=100_000)
    args = parser.parse_args()
    params = GraphSearchParams()
    assert params.push_tolerance is not None
    print(f"push tolerance {params.push_tolerance:g}, damping {params.damping}; "
          f"{args.questions} questions; ms per question")
    print(f"{'passages':>10} {'nodes':>10} {'edges':>11} | {'push p50':>8} {'p95':>7} "
          f"{'reached':>8} {'edges<=':>8} | {'exact p50':>9} {'p95':>8} {'reached':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        adjacency, passages = synthetic(size)
        seeds = question_seeds(args.questions, passages)
        push_ms, push_reached, push_edges = timed(LocalPush(adjacency, params.push_tolerance),
                                                  seeds, params.damping)
        line = (f"{passages:>10,} {adjacency.nodes:>10,} {len(adjacency.indices) // 2:>11,} | "
                f"{statistics.median(push_ms):>8.2f} {p95(push_ms):>7.2f} "
                f"{statistics.median(push_reached):>8,.0f} "
                f"{statistics.median(push_edges):>8,.0f} |")
        if size <= args.exact_up_to:
            exact_ms, exact_reached, _ = timed(RandomWalk(adjacency), seeds[:20],
                                               params.damping)
            line += (f" {statistics.median(exact_ms):>9.1f} {p95(exact_ms):>8.1f} "
                     f"{statistics.median(exact_reached):>8,.0f}")
        else:
            line += f" {'-':>9} {'-':>8} {'-':>8}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
