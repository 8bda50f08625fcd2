"""The job queue on Redis Streams against a real Redis-protocol server (FalkorDB's
``redis-server``), and ``QueueWorker`` taking its jobs: acknowledgement, reclaiming after the
lease, dead jobs after their deliveries, foreign jobs refused, counts, heartbeats."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from graphready.config import Settings
from graphready.documents.types import Chunk
from graphready.embeddings.registry import create_embedder
from graphready.errors import ConfigError
from graphready.extraction.base import OFFLINE_EXTRACTOR
from graphready.queue.base import JOB_STAGES, WorkerBeat
from graphready.queue.connect import open_queue
from graphready.queue.jobs import decode_job, encode_job, make_job
from graphready.queue.redis_streams import RedisJobQueue
from graphready.queue.watch import QueueWatch
from graphready.queue.worker import QueueWorker
from graphready.stores.registry import open_graph_store, open_vector_store
from support.falkordb_server import FalkorDBServer, free_port

from .conftest import queue_settings

TEXT = "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine."


def chunks(count: int, prefix: str = "c") -> tuple[Chunk, ...]:
    return tuple(Chunk(f"{prefix}{i}", "doc", i, "Ada Lovelace", f"{TEXT} Part {i}.")
                 for i in range(count))


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.05)


@contextmanager
def running(worker: QueueWorker) -> Iterator[QueueWorker]:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()


@pytest.fixture
def settings(falkordb: FalkorDBServer, queue_url: str, tmp_path: Path) -> Settings:
    return queue_settings(falkordb, tmp_path / "worker", queue_url, queue_lease_s=1,
                          queue_max_deliveries=2)


def test_a_job_round_trips_through_json_and_a_tampered_one_is_refused(
        settings: Settings) -> None:
    job = make_job("embed", "run", settings, "hashing", chunks(2))
    assert decode_job(encode_job(job)) == job
    with pytest.raises(ValueError, match="hash of its content"):
        decode_job(encode_job(job).replace("Part 1", "Part 9"))


def test_a_job_finished_twice_is_counted_once_and_leaves_the_stream(
        settings: Settings, queue_url: str) -> None:
    queue = RedisJobQueue(queue_url, lease_s=30, max_deliveries=3)
    job = make_job("extract", "run-1", settings, OFFLINE_EXTRACTOR, chunks(3))
    queue.put([job])
    assert queue.status(15).stages["extract"].waiting == 1
    taken = queue.take("a", JOB_STAGES, 0.1)
    assert taken is not None and taken.job == job and taken.deliveries == 1
    counts = queue.status(15).stages["extract"]
    assert (counts.waiting, counts.in_flight) == (0, 1)
    queue.finish(taken)
    queue.finish(taken)
    progress = queue.progress("run-1")
    assert (progress.done_jobs, progress.done_chunks, progress.failed_jobs) == (1, 3, 0)
    counts = queue.status(15).stages["extract"]
    assert (counts.waiting, counts.in_flight, counts.done, counts.failed) == (0, 0, 1, 0)
    assert queue.take("b", JOB_STAGES, 0.1) is None
    queue.close()


def test_a_job_whose_lease_lapsed_is_taken_again_and_counted_once(
        settings: Settings, queue_url: str) -> None:
    patient = RedisJobQueue(queue_url, lease_s=30, max_deliveries=3)
    hasty = RedisJobQueue(queue_url, lease_s=1, max_deliveries=3)
    job = make_job("embed", "run-2", settings, "hashing", chunks(2))
    patient.put([job])
    first = patient.take("a", JOB_STAGES, 0.1)
    assert first is not None
    assert patient.take("b", JOB_STAGES, 0.1) is None  # its lease (30 s) holds
    time.sleep(1.2)
    again = hasty.take("b", JOB_STAGES, 0.1)  # past a lease of 1 s: reclaimed
    assert again is not None and again.job == job and again.deliveries == 2
    hasty.finish(again)
    patient.finish(first)  # the first worker was only slow: finishing it again changes nothing
    assert patient.progress("run-2").done_jobs == 1
    assert patient.status(15).stages["embed"].done == 1
    patient.close()
    hasty.close()


def test_a_renewed_job_stays_its_workers_and_a_released_one_is_taken_at_once(
        settings: Settings, queue_url: str) -> None:
    queue = RedisJobQueue(queue_url, lease_s=2, max_deliveries=3)
    queue.put([make_job("embed", "run-3", settings, "hashing", chunks(1))])
    taken = queue.take("a", JOB_STAGES, 0.1)
    assert taken is not None
    for _ in range(6):  # 3 s in all, more than the lease, renewed every 0.5 s
        time.sleep(0.5)
        queue.renew(taken, "a")
        assert queue.take("b", JOB_STAGES, 0.01) is None
    queue.release(taken, "a")
    again = queue.take("b", JOB_STAGES, 0.1)
    assert again is not None and again.entry == taken.entry and again.deliveries == 2
    queue.close()


def test_a_worker_does_both_stages_and_the_same_jobs_again_write_the_same_thing_once(
        settings: Settings, queue_url: str) -> None:
    queue = open_queue(settings)
    batch = chunks(5)
    jobs = [make_job("extract", "run-4", settings, OFFLINE_EXTRACTOR, batch),
            make_job("embed", "run-4", settings, create_embedder(settings).model_id, batch)]
    graph = open_graph_store(settings.graph_url, settings.db_dir)
    vectors = open_vector_store(settings.vector_url, settings.db_dir)
    worker = QueueWorker(settings, open_queue(settings))
    with running(worker):
        queue.put(jobs)
        wait_for(lambda: queue.progress("run-4").done_jobs == 2, "both jobs")
        alive = queue.status(15).workers
        assert [(w.name, w.pid) for w in alive] == [(worker.name, os.getpid())]
        first = sorted(graph.iter_extractions(), key=lambda x: x.chunk_id)
        assert [x.chunk_id for x in first] == [c.id for c in batch]
        assert any(x.mentions for x in first)
        assert vectors.ids() == {c.id for c in batch}
        queue.put([make_job(j.stage, "run-5", settings, j.producer, j.chunks) for j in jobs])
        wait_for(lambda: queue.progress("run-5").done_jobs == 2, "the same jobs again")
    assert sorted(graph.iter_extractions(), key=lambda x: x.chunk_id) == first
    assert vectors.ids() == {c.id for c in batch}
    assert queue.status(15).stages["extract"].done == 2
    assert queue.status(15).workers == []  # a worker that stopped is forgotten
    queue.put([make_job("embed", "run-6", settings, "another-model", batch)])
    with running(QueueWorker(settings, open_queue(settings))):
        wait_for(lambda: queue.progress("run-6").failed_jobs == 1, "the other model's job")
    assert "embeds with another-model" in (queue.progress("run-6").error or "")
    for closing in (graph, vectors, queue):
        closing.close()


def test_a_job_handed_out_more_than_its_deliveries_is_failed_with_its_last_error(
        settings: Settings, queue_url: str) -> None:
    queue = open_queue(settings)  # lease 1 s, 2 deliveries
    queue.put([make_job("extract", "run-6", settings, OFFLINE_EXTRACTOR, chunks(2))])
    for ghost in ("ghost-1", "ghost-2"):  # two workers that took it and were lost
        taken = queue.take(ghost, JOB_STAGES, 0.1)
        assert taken is not None
        queue.note_error(taken, f"{ghost} lost its store")
        time.sleep(1.2)
    with running(QueueWorker(settings, open_queue(settings))):
        wait_for(lambda: queue.progress("run-6").failed_jobs == 1, "the job to fail")
    progress = queue.progress("run-6")
    assert progress.done_jobs == 0 and progress.error is not None
    assert "handed out 2 times" in progress.error and "ghost-2 lost its store" in progress.error
    assert queue.status(15).stages["extract"].failed == 1
    assert queue.take("anyone", JOB_STAGES, 0.1) is None  # never handed out again
    graph = open_graph_store(settings.graph_url, settings.db_dir)
    assert graph.ids() == set()
    graph.close()
    queue.close()


def test_a_job_of_another_deployment_is_refused_never_applied(
        settings: Settings, queue_url: str, falkordb: FalkorDBServer, tmp_path: Path) -> None:
    elsewhere = queue_settings(falkordb, tmp_path / "other", queue_url,  # another server
                               graph_url=f"falkordb://{falkordb.host}:{free_port()}/q_graph")
    queue = open_queue(settings)
    foreign = make_job("extract", "run-7", elsewhere, OFFLINE_EXTRACTOR, chunks(2))
    assert foreign.graph.endswith("/q_graph") and foreign.deployment != make_job(
        "extract", "r", settings, OFFLINE_EXTRACTOR, chunks(1)).deployment
    queue.put([foreign])
    worker = QueueWorker(settings, open_queue(settings))
    with running(worker):
        wait_for(lambda: queue.progress("run-7").failed_jobs == 1, "the refusal")
    assert worker.refused == 1
    error = queue.progress("run-7").error or ""
    assert "refused" in error and "GRAPHREADY_QUEUE_URL" in error
    counts = queue.status(15).stages["extract"]
    assert (counts.failed, counts.refused, counts.done) == (1, 1, 0)
    graph = open_graph_store(settings.graph_url, settings.db_dir)  # same graph name, unapplied
    assert graph.ids() == set()
    graph.close()
    queue.close()


def test_status_shows_the_workers_that_beat_and_forgets_the_silent_ones(
        settings: Settings, queue_url: str) -> None:
    queue = open_queue(settings)
    queue.beat(WorkerBeat("w1", "host-a", 4242, job="j1", jobs_done=7))
    (beat,) = queue.status(15).workers
    assert (beat.name, beat.host, beat.pid, beat.job, beat.jobs_done) == (
        "w1", "host-a", 4242, "j1", 7)
    assert beat.last_beat > 0
    time.sleep(0.05)
    assert queue.status(0.01).workers == []  # silent for longer than the expiry
    assert queue.status(15).workers == []
    queue.close()


def test_the_status_watch_reads_in_the_background(settings: Settings) -> None:
    watch = QueueWatch(settings)
    try:
        first = watch.snapshot()  # at once: nothing read yet, or what was read
        assert first["where"].startswith("redis://")
        assert first["available"] is True or first["stages"] == {}
        wait_for(lambda: watch.snapshot()["available"] is True, "the first read")
        shown = watch.snapshot()
        assert set(shown["stages"]) == {"extract", "embed"}
        assert shown["stages"]["embed"] == {"waiting": 0, "in_flight": 0, "done": 0,
                                            "failed": 0, "refused": 0}
    finally:
        watch.close()


def test_an_unreachable_queue_or_one_without_shared_stores_is_a_clear_error(
        settings: Settings, tmp_path: Path) -> None:
    from graphready.config import load_settings

    url = f"redis://127.0.0.1:{free_port()}/0"
    unreachable = load_settings({}, data_dir=str(tmp_path), graph_url=settings.graph_url,
                                vector_url=settings.vector_url, queue_url=url)
    with pytest.raises(ConfigError, match=r"GRAPHREADY_QUEUE_URL.*cannot reach the queue"):
        open_queue(unreachable)
    with pytest.raises(ConfigError, match=r"GRAPHREADY_QUEUE_URL.*GRAPHREADY_VECTOR_URL"):
        load_settings({}, data_dir=str(tmp_path), graph_url=settings.graph_url,
                      queue_url=url)
    for bad in ("http://127.0.0.1:6379", "redis://127.0.0.1", "redis://h:1/zero"):
        with pytest.raises(ConfigError, match=r"GRAPHREADY_QUEUE_URL.*expected redis://"):
            load_settings({}, data_dir=str(tmp_path), graph_url=settings.graph_url,
                          vector_url=settings.vector_url, queue_url=bad)


def test_the_worker_command_stops_at_once_on_an_unreachable_queue_naming_the_setting(
        settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env.update({"GRAPHREADY_GRAPH_URL": settings.graph_url or "",
                "GRAPHREADY_VECTOR_URL": settings.vector_url or "",
                "GRAPHREADY_QUEUE_URL": f"redis://127.0.0.1:{free_port()}/0"})
    for command in (["worker"], ["index", str(tmp_path)]):
        done = subprocess.run([sys.executable, "-m", "graphready.cli", *command,
                               "--data-dir", str(tmp_path / "data")], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "GRAPHREADY_QUEUE_URL" in done.stderr and "cannot reach the queue" in done.stderr
        assert "Traceback" not in done.stderr


def test_a_job_that_fails_each_try_is_tried_again_after_its_lease_then_failed(
        settings: Settings, queue_url: str, falkordb: FalkorDBServer, tmp_path: Path) -> None:
    broken = queue_settings(falkordb, tmp_path / "b", queue_url, name="q",
                            vector_url=f"{falkordb.url}/no{{braces}}")  # no such store name
    queue = open_queue(settings)  # lease 1 s, 2 deliveries
    queue.put([make_job("embed", "run-8", broken, create_embedder(settings).model_id,
                        chunks(1))])
    worker = QueueWorker(settings, open_queue(settings))
    with running(worker):
        wait_for(lambda: queue.progress("run-8").failed_jobs == 1, "the job to fail")
    error = queue.progress("run-8").error or ""
    assert "handed out 2 times" in error and "invalid FalkorDB graph name" in error
    assert queue.status(15).stages["embed"].failed == 1
    queue.close()
