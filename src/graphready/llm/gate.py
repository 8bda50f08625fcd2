"""The model's queue in one process: who may send a request to the language model now.

A user's question comes before build work. Calls are of two kinds, by purpose:

    interactive  ``answer``, ``agent``    a question is waiting for them
    build        ``extract``, ``report``  the graph build's calls

Interactive calls start while fewer than ``concurrency`` of them are in flight. A build call
starts only while fewer than ``build_concurrency`` build calls are in flight and no question is
being answered: none here (:meth:`ModelGate.question`, and interactive calls waiting or in
flight), none in another process (:meth:`ModelGate.set_remote_questions`: the server tells
its build worker how many questions it is answering) and, with a :class:`QuestionBoard` (the
queue's server, ``llm/shared_gate.py``), none in any other process of the deployment, on any
machine (:meth:`ModelGate.set_shared_questions`). When a question arrives, build calls in
flight are preempted (their requests cancelled, which makes the model server stop generating
them) and start again once no question is left; nothing they had is lost, since only whole
replies are used. :meth:`ModelGate.stop` cancels everything in flight and refuses new calls
(a worker told to stop).

A call waits for its slot no later than its deadline (a question's answer deadline), then
fails with :class:`~graphready.errors.LLMDeadlineExceeded`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Protocol

from graphready.errors import LLMCancelled, LLMDeadlineExceeded

INTERACTIVE = ("answer", "agent")
BUILD = ("extract", "report")
PURPOSES = (*INTERACTIVE, *BUILD)
Listener = Callable[[int], None]


class QuestionBoard(Protocol):
    """Where the processes that use one model share how many questions each answers
    (``llm/shared_gate.py``: on the queue's Redis-protocol server)."""

    def publish(self, count: int) -> None:
        """This process now answers ``count`` questions (must not block)."""
        ...

    def follow(self, changed: Listener) -> None:
        """Call ``changed`` with the other processes' sum each time it changes."""
        ...

    def close(self) -> None:
        """Stop following; withdraw this process's count."""
        ...


def is_build(purpose: str) -> bool:
    """Whether a call of ``purpose`` is build work (else it is interactive)."""
    return purpose in BUILD


def remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (a ``time.monotonic()`` value), None without one."""
    return None if deadline is None else deadline - time.monotonic()


class Preempted(Exception):
    """A build call was cancelled to let a question through; it is sent again later."""


class Slot:
    """One call's place in the queue: the request in flight (a future) can be cancelled by the
    gate, and :meth:`reason` says why it was."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self._future: Future[Any] | None = None
        self._reason: Exception | None = None
        self._lock = threading.Lock()

    def attach(self, future: Future[Any]) -> None:
        """The request now in flight for this slot (cancelled at once if the slot was)."""
        with self._lock:
            self._future = future
            cancelled = self._reason is not None
        if cancelled:
            future.cancel()

    def cancel(self, reason: Exception) -> None:
        """Cancel the request in flight, if any, for ``reason``."""
        with self._lock:
            if self._reason is None:
                self._reason = reason
            future = self._future
        if future is not None:
            future.cancel()

    def reason(self) -> Exception | None:
        """Why the gate cancelled this slot's request (None: it did not)."""
        with self._lock:
            return self._reason


class ModelGate:
    """The queue of one process's calls to one model (see the module docstring). Thread-safe;
    ``listener`` is called (outside the lock) with the number of questions being answered here
    each time it changes; so is ``board``'s :meth:`QuestionBoard.publish`, and the other
    processes' questions it reports hold build calls back (:meth:`close` stops following)."""

    def __init__(self, concurrency: int = 4, build_concurrency: int = 1,
                 listener: Listener | None = None, board: QuestionBoard | None = None) -> None:
        self._concurrency = max(1, concurrency)
        self._build_concurrency = max(1, build_concurrency)
        self._listener = listener
        self._cond = threading.Condition()
        self._in_flight: Counter[str] = Counter()
        self._waiting: Counter[str] = Counter()
        self._slots: set[Slot] = set()
        self._questions = 0
        self._remote = 0
        self._shared = 0
        self._board = board
        self._stopped = False
        self._answered: deque[float] = deque()
        self.preemptions = 0
        self.build_calls = 0
        """Build calls the model answered (cache hits never reach the gate)."""
        if board is not None:
            board.follow(self.set_shared_questions)

    def listen(self, listener: Listener | None) -> None:
        """Call ``listener`` with the number of questions each time it changes."""
        self._listener = listener

    # -- questions -----------------------------------------------------------------------------

    @contextmanager
    def question(self) -> Iterator[None]:
        """Count a question being answered (build calls wait while any is)."""
        self.begin_question()
        try:
            yield
        finally:
            self.end_question()

    def begin_question(self) -> None:
        """A question is being answered (pair with :meth:`end_question`)."""
        self._change_questions(+1)

    def end_question(self) -> None:
        """A question counted by :meth:`begin_question` is over."""
        self._change_questions(-1)

    def _change_questions(self, delta: int) -> None:
        with self._cond:
            before = self._busy()
            self._questions += delta
            count = self._questions
            if not before and self._busy():
                self._preempt_build()
            self._cond.notify_all()
        if self._board is not None:
            self._board.publish(count)
        if self._listener is not None:
            self._listener(count)

    def set_remote_questions(self, count: int) -> None:
        """How many questions another process (the server) is answering with this model."""
        self._set_elsewhere("_remote", count)

    def set_shared_questions(self, count: int) -> None:
        """How many questions the other processes sharing the board answer with this model."""
        self._set_elsewhere("_shared", count)

    def _set_elsewhere(self, field: str, count: int) -> None:
        with self._cond:
            before = self._busy()
            setattr(self, field, max(0, count))
            if not before and self._busy():
                self._preempt_build()
            self._cond.notify_all()

    def _busy(self) -> bool:
        """Whether a question is being answered, here or elsewhere (lock held)."""
        interactive = sum(self._in_flight[p] + self._waiting[p] for p in INTERACTIVE)
        return self._questions > 0 or self._remote > 0 or self._shared > 0 or interactive > 0

    def _preempt_build(self) -> None:
        for slot in list(self._slots):
            if is_build(slot.purpose):
                self.preemptions += 1
                slot.cancel(Preempted("a question needs the model"))

    # -- calls ---------------------------------------------------------------------------------

    @contextmanager
    def slot(self, purpose: str, deadline: float | None = None) -> Iterator[Slot]:
        """Wait for a place for one call of ``purpose`` (until ``deadline`` at most) and hold
        it while the call runs."""
        build = is_build(purpose)
        with self._cond:
            before = self._busy()
            self._waiting[purpose] += 1
            if not build and not before:
                self._preempt_build()
            try:
                while not self._may_start(build):
                    if self._stopped:
                        raise LLMCancelled("the build was stopped")
                    left = remaining(deadline)
                    if left is not None and left <= 0:
                        raise LLMDeadlineExceeded("no room at the model before the deadline")
                    self._cond.wait(left)
            finally:
                self._waiting[purpose] -= 1
            if self._stopped:
                raise LLMCancelled("the build was stopped")
            self._in_flight[purpose] += 1
            slot = Slot(purpose)
            self._slots.add(slot)
        answered = False
        try:
            yield slot
            answered = True
        finally:
            with self._cond:
                self._in_flight[purpose] -= 1
                self._slots.discard(slot)
                if answered and build:
                    self.build_calls += 1
                    self._answered.append(time.monotonic())
                self._cond.notify_all()

    def _may_start(self, build: bool) -> bool:
        if self._stopped:
            return False
        if not build:
            return sum(self._in_flight[p] for p in INTERACTIVE) < self._concurrency
        building = sum(self._in_flight[p] for p in BUILD)
        return building < self._build_concurrency and not self._busy()

    def stop(self) -> None:
        """Cancel every call in flight and refuse new ones (for good)."""
        with self._cond:
            self._stopped = True
            slots = list(self._slots)
            self._cond.notify_all()
        for slot in slots:
            slot.cancel(LLMCancelled("the build was stopped"))

    def close(self) -> None:
        """Stop following the board, and withdraw this process's questions from it."""
        board, self._board = self._board, None
        if board is not None:
            board.close()

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def questions(self) -> int:
        """Questions being answered in this process now."""
        with self._cond:
            return self._questions

    def build_calls_per_minute(self) -> float:
        """Build calls answered over the last minute."""
        with self._cond:
            horizon = time.monotonic() - 60.0
            while self._answered and self._answered[0] < horizon:
                self._answered.popleft()
            return float(len(self._answered))

    def snapshot(self) -> dict[str, Any]:
        """Requests in flight and waiting per purpose, questions being answered (by this
        process and the server it builds for; by the board's other processes), whether build
        calls are held back, and how many were preempted."""
        with self._cond:
            return {
                "in_flight": {p: self._in_flight[p] for p in PURPOSES},
                "waiting": {p: self._waiting[p] for p in PURPOSES},
                "questions": self._questions + self._remote,
                "questions_elsewhere": self._shared,
                "build_paused": self._busy(),
                "build_preemptions": self.preemptions,
            }
