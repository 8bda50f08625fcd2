"""The server's side of the model's queue: questions first.

Each question answered with the language model is counted in the server's
:class:`~graphready.llm.gate.ModelGate` from its start to its last streamed token, and every
change of that count is sent to the graph build worker (``questions N`` on its standard input,
see ``indexing/control.py``), whose LLM calls wait, and are preempted, while it is above zero.
``/status`` shows the queue: requests in flight and waiting per purpose (the server's answer and
agent calls, the build worker's extract and report calls) and the build's LLM progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from graphready.indexing.events import LLMActivity
from graphready.llm.gate import BUILD, ModelGate

T = TypeVar("T")
Item = TypeVar("Item")


class QuestionQueue:
    """Counts questions in ``gate`` and tells the build worker (``signal``, called on the
    event loop ``loop`` with the current count) whenever the count changes."""

    def __init__(self, gate: ModelGate, signal: Callable[[int], None],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.gate = gate
        self._signal = signal
        self._loop = loop
        gate.listen(self._changed)

    def _changed(self, _count: int) -> None:
        """Called from any thread: send the count as it is when the loop gets to it (so that
        changes from several threads never arrive out of order)."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._send)

    def _send(self) -> None:
        self._signal(self.gate.questions)

    def answer(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` (blocking: run it in a thread), counted as a question."""
        with self.gate.question():
            return work(*args)

    def stream(self, source: Iterator[Item]) -> HeldAnswer[Item]:
        """``source``'s items, counted as a question from the first to the last, or until the
        client goes away (:meth:`HeldAnswer.abandon`)."""
        return HeldAnswer(self.gate, source)

    def close(self) -> None:
        """Stop signalling."""
        self.gate.listen(None)


class HeldAnswer(Generic[Item]):
    """A streamed answer counted as a question while it is read. Read in worker threads;
    :meth:`abandon` (from the event loop, when the client went away) lets the question go at
    once and closes the source, which cancels its model request."""

    def __init__(self, gate: ModelGate, source: Iterator[Item]) -> None:
        self._gate = gate
        self._source = source
        self._lock = threading.Lock()
        self._counted = False
        self._over = False

    def __iter__(self) -> HeldAnswer[Item]:
        return self

    def __next__(self) -> Item:
        with self._lock:
            if not self._over and not self._counted:
                self._counted = True
                self._gate.begin_question()
        if self._over:
            self._close()
            raise StopIteration
        try:
            item = next(self._source)
        except BaseException:
            self.abandon()
            raise
        if self._over:  # abandoned while the source was busy
            self._close()
            raise StopIteration
        return item

    def abandon(self) -> None:
        """The answer is over (read to the end, or its client went away): stop counting it,
        and close the source unless a thread is reading it (then that thread closes it when
        its item comes), which cancels the source's model request."""
        with self._lock:
            self._over = True
            counted, self._counted = self._counted, False
        if counted:
            self._gate.end_question()
        self._close()

    def _close(self) -> None:
        with contextlib.suppress(ValueError):  # a generator still running elsewhere
            close = getattr(self._source, "close", None)
            if close is not None:
                close()


def queue_status(gate: ModelGate, build: LLMActivity | None) -> dict[str, Any]:
    """``/status``'s ``llm.queue`` and ``llm.build``: the server's requests (answer, agent)
    and the build worker's (extract, report), in flight and waiting; the build's LLM progress
    (None when no LLM graph build is running)."""
    here = gate.snapshot()
    in_flight, waiting = dict(here["in_flight"]), dict(here["waiting"])
    if build is not None:
        for purpose in BUILD:
            in_flight[purpose] = build.in_flight.get(purpose, 0)
            waiting[purpose] = build.waiting.get(purpose, 0)
    queue = {"in_flight": in_flight, "waiting": waiting, "questions": gate.questions,
             "build_paused": bool(build.paused) if build is not None else False}
    progress = None if build is None else {
        "chunks_extracted": build.chunks_done, "chunks_total": build.chunks_total,
        "reports_written": build.reports_done, "reports_total": build.reports_total,
        "calls": build.calls, "calls_per_minute": build.calls_per_minute,
        "eta_seconds": build.eta_seconds, "preemptions": build.preemptions,
    }
    return {"queue": queue, "build": progress}
