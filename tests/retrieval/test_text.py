"""The word helpers retrieval and answers share: content words, and the folding of an English
word's inflections so that its forms meet ("died" and "die", "designed" and "design")."""

from __future__ import annotations

import pytest

from graphready.retrieval.text import fold, terms, words


@pytest.mark.parametrize("forms", [
    ("die", "dies", "died", "dying"),
    ("design", "designs", "designed", "designing"),
    ("study", "studies", "studied"),
    ("film", "films"),
    ("stop", "stops", "stopped", "stopping"),
    ("run", "runs", "running"),
    ("fall", "falls", "falling"),
    ("miss", "missed"),
    ("build", "builds", "building"),
])
def test_the_forms_of_a_word_meet(forms: tuple[str, ...]) -> None:
    assert {fold(form) for form in forms} == {forms[0]}


@pytest.mark.parametrize("word", ["thing", "bred", "need", "agreed", "bus", "analysis", "us",
                                  "1912", "born", "king"])
def test_a_word_without_an_ending_to_take_off_stays(word: str) -> None:
    assert fold(word) == word


def test_terms_drop_stop_words_and_possessives_and_fold_the_rest() -> None:
    assert terms("When did Alan Turing die?") == ["alan", "turing", "die"]
    assert terms("Turing's death: he died at Wilmslow.") == ["turing", "death", "die", "wilmslow"]
    assert words("Hopper's co-worker") == ["Hopper's", "co-worker"]


def test_folding_is_linear_in_the_word() -> None:
    # a long run of one ending folds once, at once: no pattern backtracks over it
    long = "ed" * 50_000 + "ing"
    assert fold(long) == "ed" * 50_000
    assert fold("s" * 100_000) == "s" * 100_000
