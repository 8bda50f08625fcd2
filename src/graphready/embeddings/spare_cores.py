"""Running independent jobs on the calling thread and on cores nobody else wants.

The vectors build worker shares the machine with the graph build worker, the server and
whatever else runs there. A second onnxruntime thread (intra-op) would contend with them: each
operator waits for its slowest thread, so on a busy core every batch stalls. Instead, whole
batches are handed to helper threads that run at Linux's lowest scheduling class
(``SCHED_IDLE``): they get a core only when nothing else wants it, so the graph build keeps its
core and, once it finishes, the vectors build takes both. The calling thread never waits for a
helper: when it runs out of unclaimed jobs it does any job a helper has not finished itself
(the helper's late result is dropped), so a helper starved on a busy machine costs only the
idle CPU it was given. At most ``helpers`` helper threads run at a time, across calls.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _lowest_priority() -> None:
    """Put the calling thread in ``SCHED_IDLE`` (Linux; elsewhere it keeps its priority)."""
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, policy, os.sched_param(0))


class _Call(Generic[T, R]):
    """One ``map`` call's shared state: which jobs are claimed and which results are in."""

    def __init__(self, fn: Callable[[T], R], items: Sequence[T]) -> None:
        self.fn = fn
        self.items = items
        self.results: list[tuple[R] | None] = [None] * len(items)
        self.next = 0
        self.lock = threading.Lock()

    def claim(self, *, redo: bool) -> int | None:
        """The next unclaimed job, or (``redo``) the first whose result is not in yet."""
        with self.lock:
            if self.next < len(self.items):
                self.next += 1
                return self.next - 1
            if redo:
                return next((i for i, r in enumerate(self.results) if r is None), None)
            return None

    def cancel(self) -> None:
        """Leave the jobs nobody has claimed unclaimed (the caller failed)."""
        with self.lock:
            self.next = len(self.items)

    def work(self, *, redo: bool) -> None:
        while (i := self.claim(redo=redo)) is not None:
            result = self.fn(self.items[i])
            with self.lock:
                if self.results[i] is None:
                    self.results[i] = (result,)


class SpareCoreRunner:
    """Maps a function over items on the calling thread plus up to ``helpers`` threads that
    run only on otherwise idle cores (see the module docstring). ``fn`` must be safe to call
    from several threads and must not depend on which thread runs it. Safe to call from
    several threads."""

    def __init__(self, helpers: int = 1) -> None:
        if helpers < 0:
            raise ValueError("helpers must be >= 0")
        self._helpers = helpers
        self._running: list[threading.Thread] = []
        self._lock = threading.Lock()

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]``, the items spread over the threads."""
        call = _Call(fn, items)
        self._start_helpers(call, len(items) - 1)
        try:
            call.work(redo=True)
        except BaseException:
            call.cancel()
            raise
        out: list[R] = []
        for result in call.results:
            assert result is not None  # the calling thread finished every job left
            out.append(result[0])
        return out

    def _start_helpers(self, call: _Call[T, R], wanted: int) -> None:
        with self._lock:
            self._running = [t for t in self._running if t.is_alive()]
            for _ in range(min(wanted, self._helpers - len(self._running))):
                # Not a daemon: the interpreter waits for a helper's job in progress (one batch)
                # at exit instead of tearing onnxruntime down under it.
                thread = threading.Thread(target=_helper, args=(call,), name="embed-spare-core",
                                          daemon=False)
                self._running.append(thread)
                thread.start()


def _helper(call: _Call[T, R]) -> None:
    _lowest_priority()
    call.work(redo=False)
