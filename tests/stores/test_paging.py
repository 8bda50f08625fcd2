"""Keyset pagination: every row once, in key order, across exact and short last pages."""

from __future__ import annotations

from graphready.stores.paging import keyset_pages


def pages_of(keys: list[str], size: int) -> tuple[list[list[str]], list[str]]:
    asked: list[str] = []

    def read(after: str, limit: int) -> list[tuple[str]]:
        asked.append(after)
        return [(k,) for k in sorted(keys) if k > after][:limit]

    return [[row[0] for row in page] for page in keyset_pages(read, size)], asked


def test_pages_follow_the_last_key_until_a_short_page() -> None:
    pages, asked = pages_of(["c", "a", "e", "b", "d"], 2)
    assert pages == [["a", "b"], ["c", "d"], ["e"]] and asked == ["", "b", "d"]


def test_an_exact_multiple_ends_with_an_empty_page() -> None:
    pages, asked = pages_of(["a", "b", "c", "d"], 2)
    assert pages == [["a", "b"], ["c", "d"], []] and asked == ["", "b", "d"]
    assert pages_of([], 3) == ([[]], [""])
