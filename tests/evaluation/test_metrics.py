"""Evaluation metrics on hand-made cases."""

from __future__ import annotations

import pytest

from graphready.evaluation.metrics import (
    answer_in_texts,
    exact_match,
    normalize_answer,
    percentile,
    recall_at_k,
    token_f1,
)


def test_recall_at_k() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at_k(ranked, ["a", "c"], 1) == 0.5
    assert recall_at_k(ranked, ["a", "c"], 3) == 1.0
    assert recall_at_k(ranked, ["x"], 4) == 0.0
    assert recall_at_k(ranked, [], 4) == 0.0
    assert recall_at_k(["a", "a"], ["a", "b"], 2) == 0.5


def test_normalisation_follows_squad() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("“An apple”, a pear") == "apple pear"


def test_exact_match_and_f1() -> None:
    assert exact_match("the Eiffel tower", ["Eiffel Tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    assert token_f1("Eiffel", ["Eiffel Tower"]) == pytest.approx(2 / 3)
    assert token_f1("Paris France", ["Paris", "Lyon"]) == pytest.approx(2 / 3)
    assert token_f1("nothing", ["Paris"]) == 0.0


def test_answer_in_texts_matches_whole_words() -> None:
    assert answer_in_texts(["20 March 851"], ["She died on 20 March 851."]) == 1.0
    assert answer_in_texts(["Art"], ["The cart rolled."]) == 0.0
    assert answer_in_texts([""], ["anything"]) == 0.0


def test_percentile() -> None:
    assert percentile([], 95) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
