"""The job queue on Redis Streams, on any Redis-protocol server (the ``redis-server`` a FalkorDB
deployment already runs will do).

One stream per stage (``graphready:queue:jobs:extract``, ``...:embed``), each read by one
consumer group (``workers``): a worker takes a new job with ``XREADGROUP``, which makes it
pending under its name; it finishes it with ``XACK`` and ``XDEL`` (so a stream holds only the
jobs waiting or in flight). While it works it renews its lease (``XCLAIM ... JUSTID``, which
sets the job's idle time back to 0); a job idle for longer than the lease (its worker was
killed or lost) is taken by another worker with ``XAUTOCLAIM``, which counts the delivery. A
job handed out more than ``max_deliveries`` times is finished as failed with the last error
recorded for it. Finishing is one Lua script (atomic): the run's record of the job is set once
(``HSETNX``), so a job finished twice (its first worker was only slow) counts once.

Other keys, all under ``graphready:queue:``: ``counts:<stage>`` (a hash: done, failed,
refused), ``run:<run>`` (a hash: done_jobs, done_chunks, failed_jobs, error) and
``run:<run>:jobs`` (job id -> outcome), both expiring a day after their last change,
``errors`` (job id -> the last try's error), ``workers`` (a sorted set: worker name by its last
beat, the server's time) and ``worker-info`` (worker name -> its beat as JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, ResponseError

from graphready.stores.client import client_errors

from .base import (
    JOB_STAGES,
    Job,
    JobStage,
    QueueStatus,
    RunProgress,
    StageCounts,
    Taken,
    WorkerBeat,
)
from .jobs import decode_job, encode_job

PREFIX = "graphready:queue:"
GROUP = "workers"
RUN_TTL_S = 86_400
"""How long a run's record is kept after its last change."""
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 30.0
"""Longer than any blocking read (``take``'s ``block_s`` is held under it)."""

_FINISH = """
local first = redis.call('HSETNX', KEYS[4], ARGV[3], ARGV[5])
if first == 1 then
  if ARGV[5] == 'done' then
    redis.call('HINCRBY', KEYS[3], 'done_jobs', 1)
    redis.call('HINCRBY', KEYS[3], 'done_chunks', tonumber(ARGV[4]))
  else
    redis.call('HINCRBY', KEYS[3], 'failed_jobs', 1)
    redis.call('HSETNX', KEYS[3], 'error', ARGV[6])
  end
end
redis.call('EXPIRE', KEYS[3], ARGV[7])
redis.call('EXPIRE', KEYS[4], ARGV[7])
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  if ARGV[5] == 'done' then
    redis.call('HINCRBY', KEYS[2], 'done', 1)
  else
    redis.call('HINCRBY', KEYS[2], 'failed', 1)
    if ARGV[5] == 'refused' then redis.call('HINCRBY', KEYS[2], 'refused', 1) end
  end
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[5], ARGV[3])
return first
"""


def stream(stage: JobStage) -> str:
    """The stream of a stage's jobs."""
    return f"{PREFIX}jobs:{stage}"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class RedisJobQueue:
    """The :class:`~graphready.queue.base.JobQueue` on the Redis server at ``url``
    (``redis://[:password@]host:port[/db]``). Opening it reaches the server (a
    :class:`~graphready.errors.StoreError` when it does not answer) and makes the consumer
    groups."""

    def __init__(self, url: str, lease_s: float, max_deliveries: int) -> None:
        self.lease_s = lease_s
        self.max_deliveries = max_deliveries
        self._client: Redis = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                             socket_timeout=SOCKET_TIMEOUT_S)
        kwargs = self._client.connection_pool.connection_kwargs
        self.address = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        self._closed = False
        self._cursors: dict[JobStage, str] = dict.fromkeys(JOB_STAGES, "0-0")
        self._turn = 0
        with self._errors("cannot reach the queue"):
            self._client.ping()
            for stage in JOB_STAGES:
                try:
                    self._client.xgroup_create(stream(stage), GROUP, id="0", mkstream=True)
                except ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise
            self._finish = self._client.register_script(_FINISH)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        with client_errors(f"the queue at {self.address}", action, closed=self._closed,
                           errors=(RedisError, OSError)):
            yield

    def put(self, jobs: Sequence[Job]) -> None:
        """Enqueue ``jobs``, in one round trip per thousand."""
        with self._errors("cannot enqueue jobs"):
            for start in range(0, len(jobs), 1000):
                pipe = self._client.pipeline(transaction=False)
                for job in jobs[start:start + 1000]:
                    pipe.xadd(stream(job.stage), {"job": encode_job(job)})
                pipe.execute()

    def take(self, consumer: str, stages: Sequence[JobStage], block_s: float) -> Taken | None:
        """A job whose lease lapsed, else a new one (waiting up to ``block_s``)."""
        with self._errors("cannot take a job"):
            for stage in stages:
                taken = self._reclaim(consumer, stage)
                if taken is not None:
                    return taken
            for stage in stages:  # one stream at a time: COUNT holds per stream
                taken = self._read(consumer, stage, None)
                if taken is not None:
                    return taken
            self._turn = (self._turn + 1) % len(stages)
            return self._read(consumer, stages[self._turn],
                              max(1, int(min(block_s, SOCKET_TIMEOUT_S / 2) * 1000)))

    def _read(self, consumer: str, stage: JobStage, block_ms: int | None) -> Taken | None:
        """A new job of ``stage`` (waiting up to ``block_ms``, None: not at all)."""
        reply: Any = self._client.xreadgroup(GROUP, consumer, {stream(stage): ">"}, count=1,
                                             block=block_ms)
        for _, entries in reply or []:
            for entry, fields in entries:
                return self._taken(stage, _text(entry), 1, fields)
        return None

    def _reclaim(self, consumer: str, stage: JobStage) -> Taken | None:
        reply = self._client.xautoclaim(stream(stage), GROUP, consumer,
                                        int(self.lease_s * 1000), self._cursors[stage], count=1)
        self._cursors[stage] = _text(reply[0])
        for entry, fields in reply[1]:
            if fields is None:  # deleted meanwhile
                continue
            pending = self._client.xpending_range(stream(stage), GROUP, min=entry, max=entry,
                                                  count=1)
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            return self._taken(stage, _text(entry), deliveries, fields)
        return None

    @staticmethod
    def _taken(stage: JobStage, entry: str, deliveries: int, fields: Any) -> Taken:
        raw = (fields or {}).get(b"job", (fields or {}).get("job"))
        try:
            if raw is None:
                raise ValueError("the entry has no job")
            return Taken(stage, entry, deliveries, decode_job(raw))
        except ValueError as exc:
            return Taken(stage, entry, deliveries, None, f"unreadable job: {exc}")

    def renew(self, taken: Taken, consumer: str) -> None:
        """Set the job's idle time back to 0 (it stays pending under ``consumer``)."""
        with self._errors("cannot renew a job's lease"):
            self._client.xclaim(stream(taken.stage), GROUP, consumer, 0, [taken.entry],
                                justid=True)

    def release(self, taken: Taken, consumer: str) -> None:
        """Make the job look idle past its lease, so the next ``take`` reclaims it."""
        with self._errors("cannot give a job back"):
            self._client.xclaim(stream(taken.stage), GROUP, consumer, 0, [taken.entry],
                                idle=int(self.lease_s * 1000) + 1000, justid=True)

    def note_error(self, taken: Taken, error: str) -> None:
        """Record the error of this try (kept until the job is finished)."""
        if taken.job is not None:
            with self._errors("cannot record a job's error"):
                self._client.hset(f"{PREFIX}errors", taken.job.id, error)

    def last_error(self, taken: Taken) -> str | None:
        """The error recorded for the job's last try."""
        if taken.job is None:
            return None
        with self._errors("cannot read a job's error"):
            value = self._client.hget(f"{PREFIX}errors", taken.job.id)
        return None if value is None else _text(value)

    def finish(self, taken: Taken, error: str | None = None, refused: bool = False) -> None:
        """Acknowledge and delete the entry; count the outcome once for its run."""
        job = taken.job
        outcome = "done" if error is None else "refused" if refused else "failed"
        run = job.run if job is not None else "unknown"
        job_key = job.id if job is not None else f"entry:{taken.entry}"
        keys = [stream(taken.stage), f"{PREFIX}counts:{taken.stage}", f"{PREFIX}run:{run}",
                f"{PREFIX}run:{run}:jobs", f"{PREFIX}errors"]
        args: list[str | int] = [GROUP, taken.entry, job_key, len(job.chunks) if job else 0,
                                 outcome, error or "", RUN_TTL_S]
        with self._errors("cannot finish a job"):
            self._finish(keys=keys, args=args)

    def progress(self, run: str) -> RunProgress:
        """The run's counts (nothing finished yet: zeros)."""
        with self._errors("cannot read a run's progress"):
            values = self._client.hmget(f"{PREFIX}run:{run}", "done_jobs", "done_chunks",
                                        "failed_jobs", "error")
        done_jobs, done_chunks, failed, error = values
        return RunProgress(int(done_jobs or 0), int(done_chunks or 0), int(failed or 0),
                           None if error is None else _text(error))

    def status(self, expiry_s: float) -> QueueStatus:
        """Each stage's counts and the workers alive (those whose last beat is older than
        ``expiry_s`` are forgotten)."""
        with self._errors("cannot read the queue's status"):
            pipe = self._client.pipeline(transaction=False)
            for stage in JOB_STAGES:
                pipe.xlen(stream(stage))
                pipe.xpending(stream(stage), GROUP)
                pipe.hgetall(f"{PREFIX}counts:{stage}")
            pipe.time()
            replies = pipe.execute()
            now = float(replies[-1][0]) + float(replies[-1][1]) / 1e6
            stale = self._client.zrangebyscore(f"{PREFIX}workers", "-inf", now - expiry_s)
            if stale:
                self._client.zrem(f"{PREFIX}workers", *stale)
                self._client.hdel(f"{PREFIX}worker-info", *stale)
            names: list[Any] = list(self._client.zrange(f"{PREFIX}workers", 0, -1))
            infos = self._client.hmget(f"{PREFIX}worker-info", names) if names else []
        stages: dict[JobStage, StageCounts] = {}
        for index, stage in enumerate(JOB_STAGES):
            length, pending, counts = replies[3 * index:3 * index + 3]
            in_flight = int(pending.get("pending", 0)) if isinstance(pending, dict) else 0
            got = {_text(k): int(v) for k, v in counts.items()}
            stages[stage] = StageCounts(max(0, int(length) - in_flight), in_flight,
                                        got.get("done", 0), got.get("failed", 0),
                                        got.get("refused", 0))
        workers = [_beat(info) for info in infos if info is not None]
        return QueueStatus(stages, sorted(workers, key=lambda w: w.name), now)

    def beat(self, worker: WorkerBeat) -> None:
        """Record the beat at the server's time."""
        with self._errors("cannot record a heartbeat"):
            seconds, micros = self._client.time()
            now = float(seconds) + float(micros) / 1e6
            info = json.dumps({"name": worker.name, "host": worker.host, "pid": worker.pid,
                               "stages": list(worker.stages), "job": worker.job,
                               "jobs_done": worker.jobs_done, "last_beat": now,
                               "llm_waiting": worker.llm_waiting})
            pipe = self._client.pipeline(transaction=True)
            pipe.zadd(f"{PREFIX}workers", {worker.name: now})
            pipe.hset(f"{PREFIX}worker-info", worker.name, info)
            pipe.execute()

    def leave(self, name: str) -> None:
        """Forget the worker's beat."""
        with self._errors("cannot remove a worker"):
            self._client.zrem(f"{PREFIX}workers", name)
            self._client.hdel(f"{PREFIX}worker-info", name)

    def close(self) -> None:
        """Close the connections; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._client.close()


def _beat(info: Any) -> WorkerBeat:
    data = json.loads(info)
    stages = tuple(s for s in JOB_STAGES if s in data.get("stages", []))
    return WorkerBeat(str(data["name"]), str(data["host"]), int(data["pid"]), stages,
                      data.get("job"), int(data.get("jobs_done", 0)),
                      float(data["last_beat"]), int(data.get("llm_waiting", 0)))
