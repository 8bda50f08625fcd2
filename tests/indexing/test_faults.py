"""``GRAPHREADY_KILL_AT``'s points are moments of the build's own events (``indexing/faults.py``);
the kills themselves are exercised end to end (``tests/e2e/test_faults.py``)."""

from __future__ import annotations

import pytest

from graphready.config import KILL_POINTS
from graphready.indexing.events import Event, Progress, StageDone
from graphready.indexing.faults import _reached

BUILD: list[Event] = [
    Progress("documents", 0, 2), Progress("documents", 1, 2), Progress("documents", 2, 2),
    Progress("vectors", 0, 300), Progress("vectors", 128, 300),
    Progress("graph.extract", 0, 300), Progress("graph.extract", 128, 300),
    Progress("graph.extract", 300, 300), Progress("graph.communities", 0, 1),
    Progress("graph.communities", 1, 1), Progress("graph.summaries", 0, 9),
    Progress("graph.summaries", 9, 9), StageDone("graph", 1.0, "built"),
]


@pytest.mark.parametrize(("point", "first"), [
    ("documents", 1), ("vectors", 4), ("graph.extract", 6), ("graph.assemble", 8),
    ("graph.communities", 9), ("graph.summaries", 10), ("graph.publish", 11),
    ("graph.done", 12)])
def test_each_point_is_reached_first_at_its_moment(point: str, first: int) -> None:
    reached = [i for i, event in enumerate(BUILD) if _reached(point, event)]
    assert reached and reached[0] == first, reached


def test_every_point_is_named_in_the_settings() -> None:
    assert {"documents", "vectors", "graph.extract", "graph.assemble", "graph.communities",
            "graph.summaries", "graph.publish", "graph.done"} == set(KILL_POINTS)


def test_a_graph_that_was_only_loaded_is_not_a_publish() -> None:
    assert not _reached("graph.done", StageDone("graph", 0.1, "loaded"))
