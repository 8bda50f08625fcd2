"""Reciprocal rank fusion of several rankings (pure)."""

from __future__ import annotations

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
