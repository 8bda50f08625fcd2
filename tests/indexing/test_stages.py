"""The build stages are named once (``config.STAGES``); ``indexing/stages.py`` runs each."""

from __future__ import annotations

from graphready.config import STAGES
from graphready.indexing.stages import RUNNERS


def test_every_stage_has_a_runner_in_the_declared_order() -> None:
    assert tuple(RUNNERS) == STAGES == ("documents", "vectors", "graph")
