"""Personalised PageRank: local push against exact power iteration, on random graphs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphready.retrieval.pagerank import Adjacency, LocalPush, RandomWalk


@st.composite
def graphs(draw: st.DrawFn) -> tuple[Adjacency, np.ndarray, np.ndarray]:
    """A random weighted graph (isolated nodes and parallel edges allowed) and a reset."""
    nodes = draw(st.integers(2, 30))
    node = st.integers(0, nodes - 1)
    edges = draw(st.lists(st.tuples(node, node, st.floats(0.05, 5.0)), max_size=80))
    edges = [(a, b, w) for a, b, w in edges if a != b]
    reset = draw(st.dictionaries(node, st.floats(0.01, 10.0), min_size=1, max_size=5))
    adjacency = Adjacency.from_edges(nodes, [a for a, _, _ in edges], [b for _, b, _ in edges],
                                     [w for _, _, w in edges])
    return (adjacency, np.array(list(reset), dtype=np.int64),
            np.array(list(reset.values()), dtype=np.float64))


def dense(nodes: int, ranked: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    scores = np.zeros(nodes)
    scores[ranked[0]] = ranked[1]
    return scores


@settings(max_examples=200, deadline=None)
@given(graphs(), st.sampled_from([0.5, 0.85]), st.sampled_from([1e-2, 1e-3, 1e-5]))
def test_push_is_below_the_exact_rank_by_less_than_its_bound(
        case: tuple[Adjacency, np.ndarray, np.ndarray], damping: float, tolerance: float) -> None:
    adjacency, nodes, weights = case
    exact = dense(adjacency.nodes, RandomWalk(adjacency).rank(nodes, weights, damping,
                                                                tol=1e-14, max_iter=10_000))
    push = LocalPush(adjacency, tolerance)
    approx = dense(adjacency.nodes, push.rank(nodes, weights, damping))
    everything = np.arange(adjacency.nodes)
    bound = push.bound(everything, (nodes, weights), damping)
    assert exact.sum() == pytest.approx(1.0)
    assert np.all(approx <= exact + 1e-12)
    assert np.all(exact - approx <= bound + 1e-12)
    # where the exact scores differ by more than the bound, the order is the same
    apart = exact[:, None] - exact[None, :] > bound[:, None] + 1e-12
    assert np.all((approx[:, None] > approx[None, :])[apart])


def test_both_match_the_closed_form_on_a_path() -> None:
    adjacency = Adjacency.from_edges(3, [0, 1], [1, 2], [1.0, 1.0])
    seed = (np.array([0]), np.array([1.0]))
    for ranked in (RandomWalk(adjacency).rank(*seed, damping=0.5, tol=1e-12),
                   LocalPush(adjacency, 1e-12).rank(*seed, damping=0.5)):
        scores = dense(3, ranked)
        assert scores.sum() == pytest.approx(1.0)
        # x2 = damping * x1 / degree(1): node 2 only hears from node 1, which has two edges
        assert scores[0] > scores[1] > scores[2] > 0
        assert scores[2] == pytest.approx(scores[1] / 4)


def test_a_node_without_edges_keeps_its_share_of_the_reset() -> None:
    adjacency = Adjacency.from_edges(4, [0], [1], [1.0])
    seed = (np.array([0, 3]), np.array([1.0, 1.0]))
    exact = dense(4, RandomWalk(adjacency).rank(*seed, damping=0.85, tol=1e-14, max_iter=5000))
    approx = dense(4, LocalPush(adjacency, 1e-10).rank(*seed, damping=0.85))
    assert approx == pytest.approx(exact, abs=1e-8)
    assert exact[2] == 0 and exact[3] > 0


def test_push_reads_only_the_neighbourhood_of_its_seeds() -> None:
    # a path of 100,000 nodes: from one end, the walk stops long before the other
    nodes = 100_000
    path = np.arange(nodes - 1)
    push = LocalPush(Adjacency.from_edges(nodes, path, path + 1, np.ones(nodes - 1)), 1e-4)
    reached, scores = push.rank(np.array([0]), np.array([1.0]), damping=0.85)
    assert 1 < len(reached) < 200
    assert scores.sum() == pytest.approx(1.0, abs=0.01)


def test_walks_at_once_from_many_threads_give_what_one_at_a_time_gives() -> None:
    rng = np.random.default_rng(7)
    nodes = 2000
    sources, targets = rng.integers(0, nodes, 8000), rng.integers(0, nodes, 8000)
    keep = sources != targets
    push = LocalPush(Adjacency.from_edges(nodes, sources[keep], targets[keep],
                                          rng.uniform(0.1, 2.0, int(keep.sum()))), 1e-5)
    seeds = [np.array([s]) for s in rng.choice(nodes, 64, replace=False)]
    alone = [push.rank(s, np.ones(1), 0.85) for s in seeds]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda s: push.rank(s, np.ones(1), 0.85), seeds * 4))
    for i, (reached, scores) in enumerate(together):
        expected = alone[i % len(seeds)]
        assert np.array_equal(reached, expected[0]) and np.array_equal(scores, expected[1])
