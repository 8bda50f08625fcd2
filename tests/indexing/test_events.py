"""Build events round-trip through their one-line JSON form."""

from __future__ import annotations

from graphready.indexing.events import Progress, StageDone, StageFailed, decode, encode


def test_round_trip() -> None:
    for event in (Progress("graph.extract", 3, 10),
                  StageDone("vectors", 1.5, "built", {"vectors_added": 4}),
                  StageFailed("graph", "boom")):
        line = encode(event)
        assert "\n" not in line
        assert decode(line) == event


def test_stray_lines_are_not_events() -> None:
    for line in ("", "hello", "[1]", '{"kind": "nope"}', '{"kind": "progress", "x": 1}'):
        assert decode(line) is None
