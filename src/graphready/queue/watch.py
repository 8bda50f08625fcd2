"""The queue's part of ``/status``: each stage's jobs (waiting, in flight, done, failed) and the
workers alive (host, process, job, last heartbeat). ``/status`` never waits on the queue: it
shows what was read last, and a read older than :data:`REFRESH_S` starts another in a thread."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from graphready.config import Settings
from graphready.errors import GraphReadyError
from graphready.redact import redact, redact_url

from .base import JobQueue, QueueStatus
from .dispatch import worker_expiry

log = logging.getLogger("graphready.queue")

REFRESH_S = 2.0
"""The age past which a ``/status`` starts a new read of the queue."""


def render(status: QueueStatus, lease_s: float) -> dict[str, Any]:
    """The ``stages`` and ``workers`` of ``/status``'s ``queue``."""
    return {
        "lease_s": lease_s,
        "stages": {stage: {"waiting": c.waiting, "in_flight": c.in_flight, "done": c.done,
                           "failed": c.failed, "refused": c.refused}
                   for stage, c in status.stages.items()},
        "workers": [{"name": w.name, "host": w.host, "pid": w.pid, "job": w.job,
                     "jobs_done": w.jobs_done, "llm_waiting": w.llm_waiting,
                     "last_beat": w.last_beat,
                     "seconds_since_beat": round(max(0.0, status.now - w.last_beat), 3)}
                    for w in status.workers],
    }


class QueueWatch:
    """Reads the queue of ``settings`` in the background for ``/status``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = settings.queue_url or ""
        self._lock = threading.Lock()
        self._queue: JobQueue | None = None
        self._latest: dict[str, Any] = {"available": None, "error": None, "lease_s":
                                         settings.queue_lease_s, "stages": {}, "workers": []}
        self._read_at = 0.0
        self._reading = False
        self._closed = False

    def snapshot(self) -> dict[str, Any]:
        """What was read last (``available``: None before the first read), with ``where``
        and ``read_seconds_ago``; starts a new read when it is older than ``REFRESH_S``."""
        with self._lock:
            now = time.monotonic()
            if not self._reading and not self._closed and now - self._read_at >= REFRESH_S:
                self._reading = True
                threading.Thread(target=self._read, name="queue-status", daemon=True).start()
            latest = dict(self._latest)
            ago = None if self._read_at == 0.0 else round(now - self._read_at, 3)
        return {"where": redact_url(self._url), **latest, "read_seconds_ago": ago}

    def _read(self) -> None:
        try:
            if self._queue is None:
                from .connect import open_queue

                self._queue = open_queue(self._settings)
            queue = self._queue
            fresh = {"available": True, "error": None,
                     **render(queue.status(worker_expiry(queue.lease_s)), queue.lease_s)}
        except GraphReadyError as exc:
            fresh = {**self._latest, "available": False,
                     "error": redact(str(exc), [self._url])}
            self._drop()
        with self._lock:
            self._latest, self._read_at, self._reading = fresh, time.monotonic(), False

    def _drop(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            with contextlib.suppress(GraphReadyError):
                queue.close()

    def close(self) -> None:
        """Stop reading; close the connection."""
        with self._lock:
            self._closed = True
        self._drop()
