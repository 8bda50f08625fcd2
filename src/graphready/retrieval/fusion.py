"""Reciprocal rank fusion of several rankings, and re-scoring one ranking by another (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from graphready.stores.base import Hit


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hit]],
    weights: Sequence[float] | None = None,
    k: int = 60,
) -> list[Hit]:
    """Fuse rankings: each chunk scores ``sum(weight / (k + rank))`` over the rankings it
    appears in (rank starting at 1). Ties keep the order of first appearance."""
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[str] = set()
        for rank, hit in enumerate(ranking, start=1):
            if hit.chunk_id in seen:
                continue
            seen.add(hit.chunk_id)
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (k + rank)
    order = sorted(scores.items(), key=lambda item: -item[1])
    return [Hit(chunk_id, score) for chunk_id, score in order]


def rescore_by(ranking: Sequence[Hit], evidence: Sequence[Hit], weight: float) -> list[Hit]:
    """``ranking`` (positive scores, such as PageRank) re-ordered by ``log(score) + weight *
    evidence``, where a chunk's evidence is its score in ``evidence`` (a dense ranking's cosine)
    and a chunk missing from it gets the lowest score there (0 when it is empty)."""
    if not ranking or weight == 0.0:
        return list(ranking)
    known = {hit.chunk_id: hit.score for hit in evidence}
    floor = min(known.values(), default=0.0)
    rescored = [Hit(hit.chunk_id, math.log(max(hit.score, 1e-300))
                    + weight * known.get(hit.chunk_id, floor)) for hit in ranking]
    return sorted(rescored, key=lambda hit: -hit.score)
