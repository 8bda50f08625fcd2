"""Build events: what a worker process reports to whoever started it, one JSON object a line on
its standard output. Pure encoding and decoding, nothing else."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from graphready.config import Stage, Step

Source = Literal["built", "loaded"]
Cause = Literal["llm", "store", "disk", "other"]
"""What a stage's failure came from: the language model, a store, the data dir's full disk, or
anything else. The server decides what to wait for by it, never by the error's text."""


@dataclass(frozen=True, slots=True)
class Progress:
    """``done`` of ``total`` units of ``stage`` (a stage, or a step of one) are finished."""

    stage: Step
    done: int
    total: int
    kind: Literal["progress"] = "progress"


@dataclass(frozen=True, slots=True)
class StageDone:
    """A stage completed. ``source`` says whether anything had to be built; ``counts`` holds
    stage-specific numbers (chunks added, entities, ...); ``notes`` what an operator should know
    of this run (the first prompts the model refused, with the reasons)."""

    stage: Stage
    seconds: float
    source: Source
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    kind: Literal["done"] = "done"


@dataclass(frozen=True, slots=True)
class StageFailed:
    """A stage failed; nothing it had not finished is marked complete. ``error`` says why in
    words; ``cause`` is what failed (``other`` where the worker did not say, e.g. it died)."""

    stage: Stage
    error: str
    cause: Cause = "other"
    kind: Literal["failed"] = "failed"


@dataclass(frozen=True, slots=True)
class LLMActivity:
    """The build's use of the language model: its requests in flight and waiting per purpose,
    whether they are held back for questions (``paused``), how many were preempted, and its
    progress: chunks extracted and community reports written (``reports_total`` is None until
    the communities are known), model calls answered, calls per minute over the last minute,
    and the estimated seconds left of the current step (None until there is a rate)."""

    stage: Stage
    in_flight: dict[str, int]
    waiting: dict[str, int]
    paused: bool
    preemptions: int
    calls: int
    calls_per_minute: float
    chunks_done: int
    chunks_total: int
    reports_done: int
    reports_total: int | None
    eta_seconds: float | None
    kind: Literal["llm"] = "llm"


Event = Progress | StageDone | StageFailed | LLMActivity


def encode(event: Event) -> str:
    """One line of JSON, without the newline."""
    return json.dumps(asdict(event), separators=(",", ":"))


def decode(line: str) -> Event | None:
    """The event on ``line``, or None when the line is not an event (a stray print)."""
    try:
        data: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.pop("kind", None)
    try:
        if kind == "progress":
            return Progress(**data)
        if kind == "done":
            return StageDone(**data)
        if kind == "failed":
            return StageFailed(**data)
        if kind == "llm":
            return LLMActivity(**data)
    except TypeError:
        return None
    return None
