"""The build stages are named once (``config.STAGES``); ``build/stages.py`` runs each."""

from __future__ import annotations

from graphready.build.stages import RUNNERS
from graphready.config import STAGES


def test_every_stage_has_a_runner_in_the_declared_order() -> None:
    assert tuple(RUNNERS) == STAGES == ("documents", "vectors", "graph")
