"""Keyset pagination, shared by every store that reads a large table a page at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

Rows = Sequence[Sequence[Any]]


def keyset_pages(read_page: Callable[[str, int], Rows], size: int) -> Iterator[Rows]:
    """The pages ``read_page(after, size)`` returns, where each page holds the rows whose key
    (first column, a string) comes after ``after``, in key order; the first page starts after
    ``""``, each next one after the last key of the page before, until a page comes back short.
    Nothing is held between pages."""
    after = ""
    while True:
        rows = read_page(after, size)
        yield rows
        if len(rows) < size:
            return
        after = rows[-1][0]
