"""token_batches: every text once, shortest first, within both bounds."""

from __future__ import annotations

import random

import pytest

from graphready.embeddings.batching import token_batches


def _check(lengths: list[int], max_texts: int, max_tokens: int) -> list[list[int]]:
    out = token_batches(lengths, max_texts, max_tokens)
    assert sorted(i for batch in out for i in batch) == list(range(len(lengths)))
    for batch in out:
        assert len(batch) <= max_texts
        longest = max(lengths[i] for i in batch)
        assert len(batch) * longest <= max_tokens or len(batch) == 1
    flat = [lengths[i] for batch in out for i in batch]
    assert flat == sorted(flat)
    return out


def test_empty() -> None:
    assert token_batches([], 32, 1024) == []


def test_short_texts_fill_the_count_long_ones_the_budget() -> None:
    lengths = [10] * 40 + [128] * 10
    out = _check(lengths, 32, 1024)
    assert [len(b) for b in out] == [32, 8, 8, 2]
    assert out[0] == list(range(32))  # ties keep the input order


def test_a_text_over_the_budget_goes_alone() -> None:
    out = _check([5, 300, 6], 32, 100)
    assert out == [[0, 2], [1]]


def test_random_lengths_respect_both_bounds() -> None:
    rng = random.Random(7)
    for _ in range(50):
        lengths = [rng.randint(2, 128) for _ in range(rng.randint(1, 300))]
        _check(lengths, rng.randint(1, 40), rng.randint(64, 2048))


def test_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError):
        token_batches([1], 0, 10)
    with pytest.raises(ValueError):
        token_batches([1], 1, 0)
