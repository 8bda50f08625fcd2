"""The builder's side of the queue: a stage's chunks become jobs of one run, the builder waits
until every job of the run is done (reporting how many chunks are) and then goes on with what
must be done once (``indexing/stages.py``). A job that failed (dead after its deliveries, or
refused by a worker) fails the stage, naming why; what the other jobs wrote stays, keyed by
content hash, and the next build enqueues only what is still missing."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence

from graphready.config import Settings
from graphready.errors import BuildError
from graphready.settings_spec import env_name
from graphready.stores.base import Catalog

from .base import JobQueue, JobStage
from .connect import open_queue
from .jobs import make_job

log = logging.getLogger("graphready.queue")

POLL_S = 0.25
"""How often the builder reads its run's progress."""
REPORT_S = 5.0
"""The longest the builder goes without a progress report (each renews its build lease)."""
IDLE_WARNING_S = 30.0
"""How often the builder says so in its log while no worker is alive."""
PUT_JOBS = 256
"""Jobs made and enqueued at once (their chunks' text is held meanwhile)."""


def beat_every(lease_s: float) -> float:
    """How often a worker beats and renews its job's lease: a third of the lease, at most 5 s."""
    return min(5.0, lease_s / 3)


def worker_expiry(lease_s: float) -> float:
    """How long after its last beat a worker is no longer shown as alive."""
    return 3 * beat_every(lease_s)


def run_on_queue(settings: Settings, stage: JobStage, chunk_ids: Sequence[str],
                 catalog: Catalog, producer: str, report: Callable[[int], None]) -> None:
    """Enqueue the chunks ``chunk_ids`` (read from ``catalog``) as ``stage`` jobs of
    ``GRAPHREADY_QUEUE_BATCH`` chunks for ``producer`` (the extractor or embedder the build
    expects), and wait until all are done, calling ``report`` with the chunks done; a
    :class:`BuildError` when one failed."""
    if not chunk_ids:
        return
    queue = open_queue(settings)
    try:
        run = uuid.uuid4().hex
        size = settings.queue_batch
        starts = range(0, len(chunk_ids), size)
        for first in range(0, len(starts), PUT_JOBS):
            queue.put([make_job(stage, run, settings, producer,
                                tuple(catalog.get_chunks(chunk_ids[s:s + size])))
                       for s in starts[first:first + PUT_JOBS]])
        log.info("%d %s jobs of %d chunks enqueued (run %s)", len(starts), stage,
                 len(chunk_ids), run)
        _wait(queue, run, stage, len(starts), len(chunk_ids), report)
    finally:
        queue.close()


def _wait(queue: JobQueue, run: str, stage: JobStage, jobs: int, chunks: int,
          report: Callable[[int], None]) -> None:
    reported: int | None = None
    reported_at = checked_at = time.monotonic()
    while True:
        progress = queue.progress(run)
        if progress.failed_jobs:
            raise BuildError(f"{progress.failed_jobs} {stage} job(s) on the queue "
                             f"({env_name('queue_url')}) failed: {progress.error}")
        now = time.monotonic()
        if progress.done_chunks != reported or now - reported_at >= REPORT_S:
            reported, reported_at = progress.done_chunks, now
            report(min(progress.done_chunks, chunks))
        if progress.done_jobs >= jobs:
            return
        if now - checked_at >= IDLE_WARNING_S:
            checked_at = now
            if not queue.status(worker_expiry(queue.lease_s)).workers:
                log.warning("no worker is alive to take the %s jobs: start `graphready worker`"
                            " with the same %s", stage, env_name("queue_url"))
        time.sleep(POLL_S)
