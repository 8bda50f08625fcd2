"""One object for each repeated value while a graph is read from a store.

A stored graph names the same things over and over: every relation names two entity ids and
the chunks it came from, every entity its chunks, every community its members. Read row by
row, each mention is a new string (and each chunk list a new tuple, each weight a new float):
for 2Wiki (36,071 entities, 104,193 relations) about half of the loaded graph's memory. A
:class:`Shared` hands out the first object seen for each value instead, so the loaded graph
holds each id once. It lives for one load (no global table such as ``sys.intern``'s).
"""

from __future__ import annotations

import json


class Shared:
    """The first-seen object for each string, tuple of strings and float of one load."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._numbers: dict[float, float] = {}
        self._decoded: dict[str, tuple[str, ...]] = {}

    def text(self, value: str) -> str:
        """``value``, or the equal string seen first."""
        return self._texts.setdefault(value, value)

    def texts(self, values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """A tuple of shared strings, itself shared with equal tuples."""
        shared = tuple(self.text(v) for v in values)
        return self._tuples.setdefault(shared, shared)

    def json_texts(self, encoded: str) -> tuple[str, ...]:
        """A JSON list of strings, decoded once per distinct text, as shared strings."""
        found = self._decoded.get(encoded)
        if found is None:
            found = self._decoded[encoded] = self.texts(json.loads(encoded))
        return found

    def number(self, value: float) -> float:
        """``value``, or the equal float seen first."""
        return self._numbers.setdefault(value, value)
