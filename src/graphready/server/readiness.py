"""What the server can do right now, as ``/status`` reports it. Only the event loop mutates it;
``snapshot()`` renders it without any I/O, so ``/status`` stays fast under any load. Every text
it renders that came from elsewhere (a stage's error and notes, a store's error, a skipped
file's reason) goes through :func:`~graphready.redact.redact`: no secret of a configured URL
reaches a holder of a read-only key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from graphready.config import STAGES, Settings, Stage, Step
from graphready.documents.types import SkippedFile
from graphready.indexing.events import Cause, Event, LLMActivity, Progress, StageDone
from graphready.redact import redact
from graphready.retrieval.pipeline import Toolset

if TYPE_CHECKING:  # imported when there is a queue only
    from graphready.queue.watch import QueueWatch

StageStateName = Literal["pending", "running", "done", "failed"]
MAX_SKIPPED_SHOWN = 50


def stage_of(step: Step) -> Stage:
    """The stage a progress step (``graph.extract``, or a stage itself) belongs to."""
    name = step.split(".", 1)[0]
    for stage in STAGES:
        if stage == name:
            return stage
    raise KeyError(step)


@dataclass(slots=True)
class StageState:
    """One build stage: its state, timing and error."""

    state: StageStateName = "pending"
    seconds: float | None = None
    source: str | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What the stage's last run wants known (a prompt the model refused, ...)."""
    cause: Cause | None = None
    """What the stage's error came from (``indexing/events.py``); None while there is none."""


@dataclass(slots=True)
class Readiness:
    """The server's readiness, stage by stage."""

    started_at: float = field(default_factory=time.monotonic)
    startup_runs: int = 0
    building: bool = False
    stages: dict[Stage, StageState] = field(
        default_factory=lambda: {s: StageState() for s in STAGES}
    )
    loads: dict[str, float] = field(default_factory=dict)
    progress: Progress | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("documents", "chunks", "entities", "relations", "communities", "skipped_files"), 0))
    skipped: list[SkippedFile] = field(default_factory=list)
    graph_store: str = "embedded (SQLite)"
    vector_store: str = "embedded (SQLite)"
    graph_store_error: str | None = None
    llm_build: LLMActivity | None = None
    """The graph build's use of the language model, while an LLM graph build runs."""
    damaged_files: list[str] = field(default_factory=list)
    """Damaged SQLite files of the data dir that were moved aside (and are still there)."""
    secret_urls: tuple[str, ...] = ()
    """The configured URLs whose secrets are removed from every text rendered."""
    queue: Callable[[], dict[str, Any]] | None = None
    """The build queue's part of the report, read in the background (``queue/watch.py``);
    None without ``GRAPHREADY_QUEUE_URL``."""

    def watch_queue(self, settings: Settings) -> QueueWatch | None:
        """With ``GRAPHREADY_QUEUE_URL``, a watch of the build queue that :attr:`queue` shows
        (the caller closes it); None without one."""
        if settings.queue_url is None:
            return None
        from graphready.queue.watch import QueueWatch

        watch = QueueWatch(settings)
        self.queue = watch.snapshot
        return watch

    def stage_for(self, step: Step) -> StageState:
        """The stage a progress step (``graph.extract``) belongs to."""
        return self.stages[stage_of(step)]

    def apply(self, event: Event) -> None:
        """Record a build event."""
        if isinstance(event, LLMActivity):
            self.llm_build = event
            return
        if isinstance(event, Progress):
            self.progress = event
            stage = self.stage_for(event.stage)
            stage.state, stage.error, stage.cause = "running", None, None
            return
        stage = self.stages[event.stage]
        if event.stage == "graph":
            self.llm_build = None
        if isinstance(event, StageDone):
            stage.state, stage.seconds, stage.source = "done", event.seconds, event.source
            stage.counts, stage.error, stage.cause = dict(event.counts), None, None
            stage.notes = list(event.notes)
        else:
            stage.state, stage.error, stage.cause = "failed", event.error, event.cause
        if self.progress is not None and self.progress.stage.startswith(event.stage):
            self.progress = None

    def restart_build(self) -> None:
        """A new build begins: stages that are not done go back to pending."""
        self.building = True
        for stage in self.stages.values():
            stage.state = "pending"

    def _clean(self, text: str | None) -> str | None:
        return None if text is None else redact(text, self.secret_urls)

    def snapshot(self, tools: Toolset) -> dict[str, Any]:
        """The ``/status`` body."""
        clean = self._clean
        graph = self.stages["graph"]
        graph_ready = tools.graph is not None
        return {
            "ready": tools.can_answer,
            "retrieval": {"keyword_ready": tools.keyword is not None,
                          "vector_ready": tools.vectors is not None},
            "graphrag_initializing": graph.state in ("pending", "running") and self.building,
            "graphrag_ready": graph_ready,
            "graphrag_error": clean(graph.error),
            "agent_available": tools.can_answer,
            "tools": tools.names(),
            "progress": None if self.progress is None else {
                "stage": self.progress.stage, "done": self.progress.done,
                "total": self.progress.total},
            "counts": dict(self.counts),
            "timings": {
                name: {"seconds": s.seconds, "source": s.source, "load_seconds":
                       self.loads.get(name)}
                for name, s in self.stages.items() if s.state == "done"
            },
            "stages": {name: {"state": s.state, "error": clean(s.error), "counts": s.counts,
                              "notes": [redact(n, self.secret_urls) for n in s.notes]}
                       for name, s in self.stages.items()},
            "building": self.building,
            "vector_store": {"where": self.vector_store},
            "graph_store": {"where": self.graph_store,
                            "available": self.graph_store_error is None,
                            "error": clean(self.graph_store_error)},
            "skipped": [{"path": s.path, "reason": redact(s.reason, self.secret_urls)}
                        for s in self.skipped[:MAX_SKIPPED_SHOWN]],
            "damaged_files": list(self.damaged_files),
            "queue": None if self.queue is None else self.queue(),
            "startup_runs": self.startup_runs,
            "uptime_seconds": round(time.monotonic() - self.started_at, 3),
        }
