"""Personalised PageRank on an undirected weighted graph held as a symmetric CSR adjacency: exact
by power iteration over every edge (:class:`RandomWalk`, for tests and comparisons), or
approximate by local push from the seeds (:class:`LocalPush`, what questions use), whose cost is
bounded by the seeds' neighbourhood and the tolerance, not by the size of the graph.

Both follow an edge with probability ``damping`` (by weight) and jump back to the normalised
reset vector otherwise; a walk at a node without edges jumps back too. Both take the reset as
sparse ``(nodes, weights)`` and give the nodes they ranked with their scores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Adjacency:
    """A symmetric CSR adjacency: node ``u``'s neighbours are ``indices[indptr[u]:indptr[u+1]]``,
    ``share`` the probability of each edge among ``u``'s (its weight over ``strength[u]``, the
    sum of ``u``'s edge weights: 0 for a node without edges)."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    share: Floats
    strength: Floats

    @property
    def nodes(self) -> int:
        """Nodes, with or without edges."""
        return len(self.indptr) - 1

    @classmethod
    def from_edges(cls, nodes: int, sources: npt.ArrayLike, targets: npt.ArrayLike,
                   weights: npt.ArrayLike) -> Adjacency:
        """The adjacency of undirected weighted edges (each given once)."""
        src = np.asarray(sources, dtype=np.int64)
        dst = np.asarray(targets, dtype=np.int64)
        both_w = np.asarray(weights, dtype=np.float64)
        rows = np.concatenate([src, dst])
        cols = np.concatenate([dst, src])
        both = np.concatenate([both_w, both_w])
        order = np.argsort(rows, kind="stable")
        rows, cols, both = rows[order], cols[order], both[order]
        indptr = np.zeros(nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=nodes), out=indptr[1:])
        strength = np.bincount(rows, weights=both, minlength=nodes).astype(np.float64)
        share = both / np.maximum(strength[rows], 1e-300)
        return cls(indptr, cols.astype(np.int32), share, strength)


def _start(adjacency: Adjacency, nodes: Ids, weights: Floats) -> tuple[Floats, Floats, float]:
    """The normalised reset; which of its nodes have edges; the share of the walk that a node
    without edges sends straight back (``damping`` times their reset, added back by scaling)."""
    start = weights / weights.sum()
    linked = adjacency.strength[nodes] > 0
    return start, linked.astype(np.float64), float(start[~linked].sum())


class RandomWalk:
    """Exact personalised PageRank by power iteration with numpy (to ``tol``); each iteration
    reads every edge. It never holds the interpreter lock for more than one numpy call."""

    def __init__(self, adjacency: Adjacency) -> None:
        self.adjacency = adjacency
        self._rows = np.repeat(np.arange(adjacency.nodes, dtype=np.int64),
                               np.diff(adjacency.indptr))

    def rank(self, nodes: Ids, weights: Floats, damping: float, tol: float = 1e-7,
             max_iter: int = 60) -> tuple[Ids, Floats]:
        """The nodes with a score above zero and their scores (summing to 1)."""
        graph = self.adjacency
        start = np.zeros(graph.nodes, dtype=np.float64)
        np.add.at(start, nodes, weights / weights.sum())
        dangling = graph.strength == 0
        x = start
        for _ in range(max_iter):
            spread = np.bincount(graph.indices, weights=x[self._rows] * graph.share,
                                 minlength=graph.nodes)
            lost = x[dangling].sum()
            nxt: Floats = (1.0 - damping + damping * lost) * start + damping * spread
            done = np.abs(nxt - x).sum() < tol
            x = nxt
            if done:
                break
        ranked = np.flatnonzero(x > 0)
        return ranked, x[ranked]


class _Slots:
    """Scratch maps from a graph node to its slot in one walk's arrays (slot + 1; 0 where the
    walk has not been), one per walk running at once: a walk takes one, sets only the nodes it
    reaches and clears them before giving it back, so no walk pays for the whole graph. Maps
    are made with ``np.zeros`` (pages the system hands out only once written)."""

    def __init__(self, nodes: int) -> None:
        self._nodes = nodes
        self._free: list[npt.NDArray[np.int32]] = []
        self._lock = threading.Lock()

    @contextmanager
    def taken(self) -> Iterator[npt.NDArray[np.int32]]:
        with self._lock:
            slots = self._free.pop() if self._free else None
        if slots is None:
            slots = np.zeros(self._nodes, dtype=np.int32)
        try:
            yield slots
        finally:
            with self._lock:
                self._free.append(slots)


class _Walk:
    """One walk's reached nodes (``ids``) and their score, residual and push threshold, in slot
    order, grown by doubling."""

    def __init__(self, ids: Ids, thresholds: Floats) -> None:
        capacity = max(64, 2 * len(ids))
        self.size = len(ids)
        self.ids = np.zeros(capacity, dtype=np.int64)
        self.score = np.zeros(capacity, dtype=np.float64)
        self.residual = np.zeros(capacity, dtype=np.float64)
        self.threshold = np.zeros(capacity, dtype=np.float64)
        self.ids[: self.size] = ids
        self.threshold[: self.size] = thresholds

    def add(self, ids: Ids, thresholds: Floats) -> None:
        end = self.size + len(ids)
        if end > len(self.ids):
            capacity = max(end, 2 * len(self.ids))
            for name in ("ids", "score", "residual", "threshold"):
                old = getattr(self, name)
                grown = np.zeros(capacity, dtype=old.dtype)
                grown[: self.size] = old[: self.size]
                setattr(self, name, grown)
        self.ids[self.size : end] = ids
        self.threshold[self.size : end] = thresholds
        self.size = end


class LocalPush:
    """Approximate personalised PageRank by local push (Andersen, Chung and Lang 2006), in
    rounds vectorised with numpy: every node whose residual is at least ``tolerance`` times its
    strength keeps ``1 - damping`` of it as score and spreads the rest to its neighbours by edge
    share. It stops when no residual is that large, having read only the edges of the nodes it
    pushed: at most ``1 / ((1 - damping) * tolerance)`` of edge weight in all, whatever the
    size of the graph. Each node's score is below the exact one by less than ``tolerance``
    times its strength (``bound``). Safe to call from many threads at once."""

    def __init__(self, adjacency: Adjacency, tolerance: float) -> None:
        if not tolerance > 0:
            raise ValueError("the push tolerance must be above 0")
        self.adjacency = adjacency
        self.tolerance = tolerance
        self._slots = _Slots(adjacency.nodes)

    def bound(self, nodes: Ids, reset: tuple[Ids, Floats], damping: float) -> Floats:
        """How far below its exact score each of ``nodes`` may be ranked from ``reset``."""
        _, _, isolated = _start(self.adjacency, *reset)
        return self.tolerance * self.adjacency.strength[nodes] / (1.0 - damping * isolated)

    def rank(self, nodes: Ids, weights: Floats, damping: float) -> tuple[Ids, Floats]:
        """The nodes the walk reached with their scores (above zero; summing to at most 1)."""
        graph = self.adjacency
        start, linked, isolated = _start(graph, nodes, weights)
        walk = _Walk(nodes, self.tolerance * graph.strength[nodes])
        walk.residual[: walk.size] = start * linked
        walk.score[: walk.size] = (1.0 - damping) * start * (1.0 - linked)
        with self._slots.taken() as slots:
            slots[nodes] = np.arange(1, walk.size + 1, dtype=np.int32)
            try:
                self._push(walk, slots, damping, np.flatnonzero(linked))
            finally:
                slots[walk.ids[: walk.size]] = 0
        scores = walk.score[: walk.size] / (1.0 - damping * isolated)
        kept = scores > 0
        return walk.ids[: walk.size][kept], scores[kept]

    def _push(self, walk: _Walk, slots: npt.NDArray[np.int32], damping: float,
              frontier: Ids) -> None:
        graph = self.adjacency
        frontier = frontier[walk.residual[frontier] >= walk.threshold[frontier]]
        while frontier.size:
            amount = walk.residual[frontier]
            walk.residual[frontier] = 0.0
            walk.score[frontier] += (1.0 - damping) * amount
            nodes = walk.ids[frontier]
            first = graph.indptr[nodes]
            counts = graph.indptr[nodes + 1] - first
            ends = np.cumsum(counts)
            edges = np.repeat(first - ends + counts, counts) + np.arange(int(ends[-1]))
            targets = graph.indices[edges]
            values = np.repeat(damping * amount, counts) * graph.share[edges]
            where = slots[targets].astype(np.int64) - 1
            new = where < 0
            if new.any():
                fresh = _distinct(targets[new].astype(np.int64))
                slots[fresh] = np.arange(walk.size + 1, walk.size + len(fresh) + 1,
                                         dtype=np.int32)
                walk.add(fresh, self.tolerance * graph.strength[fresh])
                where = slots[targets].astype(np.int64) - 1
            np.add.at(walk.residual, where, values)
            frontier = _distinct(where[walk.residual[where] >= walk.threshold[where]])


def _distinct(values: Ids) -> Ids:
    """``values`` sorted, each once (by sorting: faster than ``np.unique`` on small arrays)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
