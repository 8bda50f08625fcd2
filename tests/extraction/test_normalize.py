"""Tests of the pure normalisation helpers."""

from __future__ import annotations

import pytest

from graphready.extraction.normalize import (
    entity_key,
    is_meaningful_title,
    is_worth_keeping,
    strip_determiners,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("The University of Paris", "university of paris"),
        ("  the   Beatles  ", "beatles"),
        ("a Tale of Two Cities", "tale of two cities"),
        ("an Apple", "apple"),
        ("Guy's", "guy"),
        ("Guy’s", "guy"),
        ("children ’s literature", "children's literature"),
        ('"Hamlet".', "hamlet"),
        ("Theodred II (Bishop of Elmham)", "theodred ii bishop of elmham"),
        ("NEW\tYork\nCity", "new york city"),
        ("The", "the"),
    ],
)
def test_entity_key(name: str, key: str) -> None:
    assert entity_key(name) == key


def test_entity_key_is_idempotent() -> None:
    for name in ["The Guy's", "St. Maurice's Abbey", "  A  b  "]:
        assert entity_key(entity_key(name)) == entity_key(name)


@pytest.mark.parametrize("key", ["paris", "marie curie", "ww", "1990s", "king of italy"])
def test_worth_keeping(key: str) -> None:
    assert is_worth_keeping(key)


@pytest.mark.parametrize(
    "key", ["", "a", "he", "they", "the", "of the", "1867", "12 34", "--", "x" * 81, "it all"]
)
def test_not_worth_keeping(key: str) -> None:
    assert not is_worth_keeping(key)


def test_strip_determiners_keeps_case() -> None:
    assert strip_determiners("The  Eiffel Tower") == "Eiffel Tower"
    assert strip_determiners("an") == "an"


@pytest.mark.parametrize(
    "title", ["Teutberga", "Lambert, Margrave of Tuscany", "README", "Polish physicists"]
)
def test_meaningful_titles(title: str) -> None:
    assert is_meaningful_title(title)


@pytest.mark.parametrize(
    "title",
    ["", "notes/meeting.md", "report.pdf", "3f2a9c1e7b6d5a40", "doc_001", "12345", "lowercase",
     "C:\\docs\\x"],
)
def test_meaningless_titles(title: str) -> None:
    assert not is_meaningful_title(title)
