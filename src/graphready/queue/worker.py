"""``graphready worker``: a process, on any machine, that takes build jobs from the queue until it
is stopped, does them with the build stages' own code (``indexing/stages.py``: the chunk
extractor, the embedding), writes the results to the shared stores and acknowledges them.

While it works on a job it beats (its host, process and job, every third of the lease, at most
every 5 s) and renews the job's lease with each beat; a worker killed mid-job stops renewing,
and another takes the job again once the lease has lapsed. It refuses (never applies) a job of
another deployment, and one whose extractor or embedder is not its own; a job handed out more
than ``GRAPHREADY_QUEUE_MAX_DELIVERIES`` times is failed. A try that fails (a store or the
language model unreachable) leaves the job to be taken again after its lease. Its calls to a
language model wait while any process of the deployment answers a question
(``llm/shared_gate.py``); its beat says how many wait.

SIGTERM or SIGINT: the job in hand is finished, then the worker stops; a second one abandons
the job at once (given back to be taken again without waiting for the lease). The queue being
unreachable for a while is waited out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import traceback
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from graphready.config import Settings
from graphready.errors import GraphReadyError, StoreError
from graphready.indexing.events import Event, Progress
from graphready.indexing.lease import new_owner
from graphready.redact import configured_urls, redact
from graphready.settings_spec import env_name

from .base import JOB_STAGES, Job, JobQueue, Taken, WorkerBeat
from .connect import open_queue
from .dispatch import beat_every
from .jobs import deployment_of, store_url

if TYPE_CHECKING:
    from graphready.embeddings.base import Embedder
    from graphready.indexing.stages import ChunkExtractor
    from graphready.llm.gate import ModelGate
    from graphready.stores.base import GraphStore, VectorStore

log = logging.getLogger("graphready.queue")

TAKE_BLOCK_S = 1.0
"""How long one ``take`` waits for a job (the stop signal is looked at in between)."""
OUTAGE_PAUSE_S = (1.0, 10.0)
"""The first and the longest pause after the queue did not answer."""
OPEN_STORES = 8
"""Stores (a workspace's graph or vectors) kept open at once."""


class Abandon(BaseException):
    """Raised in the worker by a second stop signal: give the job in hand back now."""


class QueueWorker:
    """Takes jobs from ``queue`` until :meth:`stop`; see the module docstring."""

    def __init__(self, settings: Settings, queue: JobQueue) -> None:
        self._settings = settings
        self._queue = queue
        self.name = new_owner()
        self.deployment = deployment_of(settings)
        self._stop = threading.Event()
        self._stops = 0
        self._current: Taken | None = None
        self._done = 0
        self.refused = 0
        self._stores: dict[tuple[str, str], Any] = {}
        self._embedder: Embedder | None = None
        self._extractor: ChunkExtractor | None = None
        self._gate: ModelGate | None = None
        """The language model's gate (with a model): questions anywhere hold its calls."""
        self._urls = configured_urls(settings)
        self._resources = contextlib.ExitStack()
        """What the worker closes when it stops (the language model)."""
        self._kill: Any = None
        if settings.kill_at is not None:  # tests: GRAPHREADY_KILL_AT (indexing/faults.py)
            from graphready.indexing.faults import KillSwitch

            self._kill = KillSwitch(settings)

    def stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        """The first call: stop after the job in hand; a second: abandon it now."""
        self._stops += 1
        self._stop.set()
        if self._stops > 1 and self._current is not None:
            raise Abandon

    def run(self) -> int:
        """Take and do jobs until stopped; 0."""
        beats = threading.Thread(target=self._beat_loop, name="worker-beat", daemon=True)
        beats.start()
        log.info("worker %s takes %s jobs for %s", self.name, ", ".join(JOB_STAGES),
                 self.deployment)
        with self._resources:
            self._resources.callback(self._close_stores)
            pause = OUTAGE_PAUSE_S[0]
            while not self._stop.is_set():
                try:
                    taken = self._queue.take(self.name, JOB_STAGES, TAKE_BLOCK_S)
                    pause = OUTAGE_PAUSE_S[0]
                except StoreError as exc:
                    log.warning("%s; trying again in %.0f s", redact(str(exc), self._urls),
                                pause)
                    self._stop.wait(pause)
                    pause = min(2 * pause, OUTAGE_PAUSE_S[1])
                    continue
                if taken is not None:
                    self._hold(taken)
        self._stop.set()
        beats.join(timeout=5)
        with contextlib.suppress(StoreError):
            self._queue.leave(self.name)
        log.info("worker %s stopped after %d jobs (%d refused)", self.name, self._done,
                 self.refused)
        return 0

    def _hold(self, taken: Taken) -> None:
        self._current = taken
        try:
            self._handle(taken)
        except Abandon:
            log.info("stopped: job %s given back", taken.entry)
            with contextlib.suppress(StoreError):
                self._queue.release(taken, self.name)
        finally:
            self._current = None

    def _handle(self, taken: Taken) -> None:
        job, queue = taken.job, self._queue
        if job is None:
            queue.finish(taken, taken.problem or "unreadable job")
            return
        if job.deployment != self.deployment:
            self.refused += 1
            reason = (f"refused by worker {self.name}: the job belongs to the deployment "
                      f"{job.deployment}, this worker's is {self.deployment} (each deployment "
                      f"needs its own {env_name('queue_url')}; the processes of one name the "
                      f"same servers in {env_name('graph_url')} and {env_name('vector_url')})")
            log.warning("%s", reason)
            queue.finish(taken, reason, refused=True)
            return
        if taken.deliveries > queue.max_deliveries:
            last = queue.last_error(taken) or "none recorded: its workers were stopped or lost"
            queue.finish(taken, f"job {job.id} was handed out {taken.deliveries - 1} times "
                                f"({env_name('queue_max_deliveries')}) without finishing; the "
                                f"last error: {last}")
            return
        try:
            refusal = self._run(job)
        except Abandon:
            raise
        except Exception as exc:  # this try failed: the job is taken again after its lease
            reason = redact(str(exc) if isinstance(exc, GraphReadyError)
                            else f"{type(exc).__name__}: {exc}", self._urls)
            if not isinstance(exc, GraphReadyError):
                log.error("%s", redact(traceback.format_exc(), self._urls))
            log.warning("%s job %s failed (try %d): %s", job.stage, job.id, taken.deliveries,
                        reason)
            if isinstance(exc, StoreError):
                self._close_stores()
            with contextlib.suppress(StoreError):
                queue.note_error(taken, reason)
            return
        queue.finish(taken, refusal)
        if refusal is None:
            self._done += 1

    def _run(self, job: Job) -> str | None:
        """Do ``job`` and store its results; None when done, else why it is refused."""
        from graphready.indexing.stages import embed_chunks, graph_extractor_id

        chunks = list(job.chunks)
        if job.stage == "extract":
            own = graph_extractor_id(self._settings)
            if own != job.producer:
                return f"the build extracts with {job.producer}, this worker with {own}"
            graph: GraphStore = self._store("graph", job.graph)
            graph.add_extractions(self._extract(chunks))
            self._reached(Progress("graph.extract", len(chunks), len(chunks)))
        else:
            embedder = self._embedder_now()
            if embedder.model_id != job.producer:
                return f"the build embeds with {job.producer}, this worker with " \
                       f"{embedder.model_id}"
            vectors: VectorStore = self._store("vectors", job.vectors)
            vectors.add([c.id for c in chunks], embed_chunks(embedder, chunks))
            self._reached(Progress("vectors", len(chunks), len(chunks)))
        return None

    def _reached(self, event: Event) -> None:
        """A job's results are stored, not yet acknowledged (``GRAPHREADY_KILL_AT``)."""
        if self._kill is not None:
            self._kill(event)

    def _extract(self, chunks: list[Any]) -> list[Any]:
        if self._extractor is None:
            from graphready.indexing.stages import ChunkExtractor, chat_model
            from graphready.llm.registry import model_gate

            gate = model_gate(self._settings)
            self._resources.callback(gate.close)
            model = self._resources.enter_context(chat_model(self._settings, gate))
            self._gate = gate
            self._extractor = ChunkExtractor(self._settings, model)
        return self._extractor.extract(chunks)

    def _embedder_now(self) -> Embedder:
        if self._embedder is None:
            from graphready.embeddings.registry import create_embedder

            self._embedder = create_embedder(self._settings)
        return self._embedder

    def _store(self, kind: str, name: str) -> Any:
        """The store a job names, opened with this worker's credentials (kept open)."""
        from graphready.stores.registry import open_graph_store, open_vector_store

        key = (kind, name)
        if key not in self._stores:
            if len(self._stores) >= OPEN_STORES:
                self._close_stores()
            url = store_url(self._settings, kind, name)
            opener = open_graph_store if kind == "graph" else open_vector_store
            self._stores[key] = opener(url, self._settings.db_dir)
        return self._stores[key]

    def _close_stores(self) -> None:
        stores, self._stores = self._stores, {}
        for store in stores.values():
            with contextlib.suppress(GraphReadyError):
                store.close()

    def _llm_waiting(self) -> int:
        gate = self._gate
        if gate is None:
            return 0
        waiting = gate.snapshot()["waiting"]
        return int(waiting["extract"] + waiting["report"])

    def _beat_loop(self) -> None:
        every = beat_every(self._queue.lease_s)
        host, pid = socket.gethostname(), os.getpid()
        while True:
            current = self._current
            try:
                if current is not None:
                    self._queue.renew(current, self.name)
                self._queue.beat(WorkerBeat(
                    self.name, host, pid, JOB_STAGES,
                    None if current is None or current.job is None else current.job.id,
                    self._done, llm_waiting=self._llm_waiting()))
            except StoreError as exc:
                log.warning("cannot beat: %s", redact(str(exc), self._urls))
            if self._stop.wait(every):
                return


@contextlib.contextmanager
def _stop_signals(worker: QueueWorker) -> Iterator[None]:
    previous = {sig: signal.signal(sig, worker.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(settings: Settings) -> int:
    """``graphready worker``: reach the queue (a ``ConfigError`` naming the setting when it
    does not answer, or is not configured), then take jobs until SIGTERM or SIGINT."""
    queue = open_queue(settings)
    try:
        worker = QueueWorker(settings, queue)
        with _stop_signals(worker):
            return worker.run()
    finally:
        queue.close()
