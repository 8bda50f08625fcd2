"""Reciprocal rank fusion."""

from __future__ import annotations

import pytest

from graphready.retrieval.fusion import reciprocal_rank_fusion
from graphready.stores.base import Hit


def hits(*ids: str) -> list[Hit]:
    return [Hit(i, 1.0) for i in ids]


def test_agreement_wins_over_a_single_first_place() -> None:
    fused = reciprocal_rank_fusion([hits("a", "b", "c"), hits("b", "c", "a"), hits("b", "x")])
    assert [h.chunk_id for h in fused][:2] == ["b", "a"]


def test_scores_follow_the_formula_and_duplicates_count_once() -> None:
    fused = reciprocal_rank_fusion([hits("a", "a", "b")], k=10)
    assert fused[0] == Hit("a", pytest.approx(1 / 11))
    assert fused[1] == Hit("b", pytest.approx(1 / 13))


def test_weights_scale_each_ranking() -> None:
    fused = reciprocal_rank_fusion([hits("a"), hits("b")], weights=[1.0, 3.0])
    assert fused[0].chunk_id == "b"
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([hits("a")], weights=[1.0, 2.0])


def test_empty_rankings_give_nothing() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []


def test_rescore_by_lifts_what_the_evidence_supports() -> None:
    from graphready.retrieval.fusion import rescore_by

    walk = [Hit("a", 0.5), Hit("b", 0.4), Hit("c", 0.1)]
    dense = [Hit("b", 0.9), Hit("c", 0.2)]
    assert [h.chunk_id for h in rescore_by(walk, dense, 0.0)] == ["a", "b", "c"]
    # a is missing from the evidence, so it gets its lowest score (0.2): b overtakes it
    assert [h.chunk_id for h in rescore_by(walk, dense, 1.0)] == ["b", "a", "c"]
    assert rescore_by([], dense, 1.0) == []
    assert [h.chunk_id for h in rescore_by(walk, [], 1.0)] == ["a", "b", "c"]
