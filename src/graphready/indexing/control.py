"""The build worker's side of the model's queue: questions first, across processes.

The graph build's LLM calls run in a worker process and the questions in the server process,
so the server tells the worker, on the worker's standard input, how many questions it is
answering: one line ``questions N`` each time the number changes (and once when the worker
starts). A pipe the server already holds needs no port, no file and no polling, and it closes
when either side dies. :class:`BuildControl` reads those lines into the worker's
:class:`~graphready.llm.gate.ModelGate` (which holds build calls back, and preempts those in
flight, while N > 0), and reports the build's use of the model as
:class:`~graphready.indexing.events.LLMActivity` events, at most every ``interval_s``, while it
changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import IO

from graphready.llm.gate import ModelGate

from .events import Event, LLMActivity, Progress

log = logging.getLogger("graphready.indexing")

QUESTIONS = "questions"
"""The command word: ``questions N``."""


def questions_line(count: int) -> bytes:
    """The line that tells a worker how many questions the server is answering."""
    return f"{QUESTIONS} {max(0, count)}\n".encode()


def parse_questions(line: str) -> int | None:
    """N of a ``questions N`` line; None for anything else."""
    word, _, value = line.strip().partition(" ")
    if word != QUESTIONS or not value.strip().isdigit():
        return None
    return int(value)


class _Step:
    """Progress of one step (extraction or reports) and its rate since it began."""

    def __init__(self) -> None:
        self.done = 0
        self.total: int | None = None
        self._first: tuple[float, int] | None = None

    def update(self, done: int, total: int) -> None:
        if self._first is None:
            self._first = (time.monotonic(), done)
        self.done, self.total = done, total

    def eta(self) -> float | None:
        """Seconds left at the rate since the step began (None without a rate)."""
        if self._first is None or self.total is None:
            return None
        since, base = self._first
        rate = (self.done - base) / max(time.monotonic() - since, 1e-6)
        if self.done >= self.total:
            return 0.0
        return round((self.total - self.done) / rate, 1) if rate > 0 else None


class BuildControl:
    """Connects a build worker's model gate to the server (see the module docstring).
    ``report`` is the worker's event reporter; :meth:`report` is what the stage reports to."""

    def __init__(self, gate: ModelGate, report: Callable[[Event], None],
                 interval_s: float = 1.0) -> None:
        self.gate = gate
        self._report = report
        self._interval = interval_s
        self._lock = threading.Lock()
        self._extract = _Step()
        self._reports = _Step()
        self._step = "graph.extract"
        self._done = threading.Event()
        self._last: LLMActivity | None = None

    def start(self, commands: IO[bytes] | None) -> None:
        """Read ``questions N`` lines from ``commands`` (the worker's standard input) and
        report the model's activity, each in a daemon thread."""
        if commands is not None:
            threading.Thread(target=self._read, args=(commands,), name="build-control",
                             daemon=True).start()
        threading.Thread(target=self._watch, name="build-llm-activity", daemon=True).start()

    def report(self, event: Event) -> None:
        """Forward ``event``, noting the extraction and report progress it carries."""
        if isinstance(event, Progress) and event.stage in ("graph.extract", "graph.summaries"):
            with self._lock:
                step = self._extract if event.stage == "graph.extract" else self._reports
                step.update(event.done, event.total)
                self._step = event.stage
        self._report(event)

    def stop(self) -> None:
        """Stop reporting, and cancel the model calls in flight (the worker is stopping)."""
        self._done.set()
        self.gate.stop()

    def close(self) -> None:
        """Stop reporting (the stage is over)."""
        self._done.set()

    def activity(self) -> LLMActivity:
        """The build's use of the model now."""
        queue = self.gate.snapshot()
        with self._lock:
            step = self._extract if self._step == "graph.extract" else self._reports
            return LLMActivity(
                stage="graph", in_flight=queue["in_flight"], waiting=queue["waiting"],
                paused=bool(queue["build_paused"]), preemptions=int(queue["build_preemptions"]),
                calls=self.gate.build_calls, calls_per_minute=self.gate.build_calls_per_minute(),
                chunks_done=self._extract.done, chunks_total=self._extract.total or 0,
                reports_done=self._reports.done, reports_total=self._reports.total,
                eta_seconds=step.eta())

    def _read(self, commands: IO[bytes]) -> None:
        for raw in iter(commands.readline, b""):
            count = parse_questions(raw.decode("utf-8", "replace"))
            if count is not None:
                self.gate.set_remote_questions(count)
        # End of input while the stage runs: the server went away (it closes the pipe only
        # after the worker exited). Stop the model calls, so that a build held back for the
        # server's questions does not wait for ever; the stage then ends and the worker exits.
        log.warning("the server closed the control channel; stopping the LLM calls")
        self.stop()

    def _watch(self) -> None:
        while not self._done.wait(self._interval):
            activity = self.activity()
            if activity == self._last:
                continue
            self._last = activity
            try:
                self._report(activity)
            except (SystemExit, OSError, ValueError) as exc:  # the parent went away
                log.debug("cannot report the model's activity: %s", exc)
                return
