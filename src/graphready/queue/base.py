"""The job queue's protocol and the values it deals in.

A job is a batch of chunks for one stage (``extract`` or ``embed``) of one build run, with the
stores its result goes to and the deployment it belongs to (``jobs.py``). A worker takes a job
(:meth:`JobQueue.take`), holds it under a lease it renews while it works, and finishes it (done
or failed); a job whose lease lapses (its worker was killed, its machine lost) is taken again
by another worker, and one handed out ``max_deliveries`` times without finishing is finished as
failed, never handed out for ever. Finishing a job is recorded once per run, however often it
was done: the stores are keyed by content hash, so the same job done twice writes the same
thing once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

from graphready.documents.types import Chunk

JobStage = Literal["extract", "embed"]
"""The kinds of job: a chunk's extraction (the graph stage's first step) and its vector (the
vectors stage)."""
JOB_STAGES: tuple[JobStage, ...] = get_args(JobStage)


@dataclass(frozen=True, slots=True)
class Job:
    """One batch of chunks for one stage. ``deployment`` names the stores' servers (a worker
    of another deployment refuses the job); ``graph`` and ``vectors`` the stores the result
    goes to (their URLs without credentials: a workspace's stores are other names on the same
    servers); ``producer`` the extractor or embedder the build expects (a worker with another
    one refuses the job rather than mix two in one store)."""

    stage: JobStage
    run: str
    """The build run that enqueued it (its completion is counted there)."""
    deployment: str
    graph: str
    vectors: str
    producer: str
    chunks: tuple[Chunk, ...]
    id: str = ""
    """A content hash of everything above but the run (``jobs.job_id``)."""


@dataclass(frozen=True, slots=True)
class Taken:
    """A job as a worker holds it: the queue's entry, how many times it was handed out (this
    time included), and the job (None when its entry could not be read: it is failed)."""

    stage: JobStage
    entry: str
    deliveries: int
    job: Job | None
    problem: str | None = None
    """Why ``job`` is None."""


@dataclass(frozen=True, slots=True)
class RunProgress:
    """How far a build run's jobs are: finished jobs (each counted once) and their chunks, and
    the first failure's reason."""

    done_jobs: int = 0
    done_chunks: int = 0
    failed_jobs: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StageCounts:
    """One stage's jobs: ``waiting`` (not handed out yet), ``in_flight`` (handed out, not
    finished), ``done`` and ``failed`` (since the queue was made; ``refused``, foreign jobs,
    are among the failed)."""

    waiting: int = 0
    in_flight: int = 0
    done: int = 0
    failed: int = 0
    refused: int = 0


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """A worker's heartbeat: its name, host and process, what it does, and when it last beat
    (the queue server's clock, seconds since the epoch)."""

    name: str
    host: str
    pid: int
    stages: tuple[JobStage, ...] = JOB_STAGES
    job: str | None = None
    """The job it works on now, if any."""
    jobs_done: int = 0
    last_beat: float = 0.0
    llm_waiting: int = 0
    """Its calls to the language model held back while questions are answered (anywhere)."""


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """What ``/status`` shows of the queue."""

    stages: dict[JobStage, StageCounts] = field(default_factory=dict)
    workers: list[WorkerBeat] = field(default_factory=list)
    now: float = 0.0
    """When it was read, by the queue server's clock (as ``WorkerBeat.last_beat``)."""


class JobQueue(Protocol):
    """A queue of build jobs shared by the builder and the workers of one deployment."""

    lease_s: float
    """Seconds a taken job stays its worker's without renewal."""
    max_deliveries: int
    """Times a job is handed out before it is failed."""

    def put(self, jobs: Sequence[Job]) -> None:
        """Enqueue ``jobs`` (each on its stage's stream)."""
        ...

    def take(self, consumer: str, stages: Sequence[JobStage], block_s: float) -> Taken | None:
        """A job for ``consumer``: first one whose lease lapsed, else a new one, waiting up to
        ``block_s`` for one; None when there is none."""
        ...

    def renew(self, taken: Taken, consumer: str) -> None:
        """Start the lease of a job ``consumer`` still works on again."""
        ...

    def release(self, taken: Taken, consumer: str) -> None:
        """Give a job up unfinished, to be taken again at once (a worker that stops)."""
        ...

    def note_error(self, taken: Taken, error: str) -> None:
        """Record why a try at a job failed (it is taken again after its lease; the reason
        is what its run reports if it ends failed)."""
        ...

    def last_error(self, taken: Taken) -> str | None:
        """The reason recorded by :meth:`note_error` for this job, if any."""
        ...

    def finish(self, taken: Taken, error: str | None = None, refused: bool = False) -> None:
        """Acknowledge a job: done (``error`` None) or failed with ``error`` (``refused``: a
        foreign job). Its run counts it once, however many times it is finished."""
        ...

    def progress(self, run: str) -> RunProgress:
        """How far the jobs of ``run`` are."""
        ...

    def status(self, expiry_s: float) -> QueueStatus:
        """Each stage's counts, and the workers that beat within the last ``expiry_s``."""
        ...

    def beat(self, worker: WorkerBeat) -> None:
        """Record a worker's heartbeat (``last_beat`` is set to the server's time)."""
        ...

    def leave(self, name: str) -> None:
        """Forget a worker that stopped."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...
