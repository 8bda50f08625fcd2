"""Fault injection for tests and ``benchmarks/faults.py``: ``GRAPHREADY_KILL_AT=POINT`` makes the
build worker kill itself with SIGKILL (``POINT:server``: kill the server that started it) at a
named point of the build, the way a power cut or the OOM killer would, once per data dir.

The points are the build's own progress events, so no stage carries test code:

    documents          the first source file is in the catalog, the keyword index not synced
    vectors            the first batch of vectors is stored
    graph.extract      the first batch of extractions is stored
    graph.assemble     extraction is done; the graph is about to be assembled
    graph.communities  communities are detected; the previous graph is about to be read
    graph.summaries    the communities are about to be summarised
    graph.publish      everything is summarised; the graph is about to be replaced
    graph.done         the new graph is published but the server has not been told

A kill at ``POINT:server`` leaves the worker running until its next event, when it sees that
its parent is gone and stops, as it would after any crash of the server.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from graphready.config import KILL_POINTS, KillPoint, Settings

from .events import Event, Progress, StageDone

FIRED_FILE = "kill-at.fired"
"""Created in the data dir when the kill fires, so that the rebuild after it runs through."""


def _reached(point: KillPoint, event: Event) -> bool:
    """Whether ``event`` is the moment ``point`` names."""
    if isinstance(event, StageDone):
        return point == "graph.done" and event.stage == "graph" and event.source == "built"
    if not isinstance(event, Progress):
        return False
    first_unit: tuple[KillPoint, ...] = ("documents", "vectors", "graph.extract")
    if point in first_unit:
        return event.stage == point and event.done >= 1
    moments: dict[KillPoint, tuple[str, bool]] = {
        "graph.assemble": ("graph.communities", False),
        "graph.communities": ("graph.communities", True),
        "graph.summaries": ("graph.summaries", False),
        "graph.publish": ("graph.summaries", True)}
    stage, at_end = moments.get(point, ("", False))
    return event.stage == stage and (event.done == event.total if at_end else event.done == 0)


class KillSwitch:
    """Kills the worker, or its parent, when the build reaches ``GRAPHREADY_KILL_AT``."""

    def __init__(self, settings: Settings) -> None:
        point, _, victim = (settings.kill_at or "").partition(":")
        self._point = next((p for p in KILL_POINTS if p == point), None)
        self._server = victim == "server"
        self._fired = settings.data_dir / FIRED_FILE

    def __call__(self, event: Event) -> None:
        """Called with each event before it is reported."""
        if self._point is None or not _reached(self._point, event) or self._fired.exists():
            return
        Path(self._fired).write_text(f"{self._point} {event}\n")
        if self._server:
            os.kill(os.getppid(), signal.SIGKILL)
        else:
            os.kill(os.getpid(), signal.SIGKILL)
