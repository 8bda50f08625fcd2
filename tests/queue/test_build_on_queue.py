"""A build on the queue, end to end: ``graphready index`` with ``GRAPHREADY_QUEUE_URL`` enqueues
its chunks' extraction and embedding, ``graphready worker`` processes (each with its own empty
data dir) do them against one real FalkorDB holding graph, vectors and queue, and the stores
hold exactly what a one-process build gives (``stores/digest.content_digest``), also when a
worker is killed with SIGKILL in the middle of a job (its results stored, not acknowledged)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from graphready.config import Settings, load_settings
from graphready.indexing.faults import FIRED_FILE
from graphready.queue.redis_streams import RedisJobQueue
from graphready.stores.digest import content_digest
from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.falkordb_server import FalkorDBServer
from support.server import ServerProcess

PASSAGES = 24
BATCH = 5
COMMAND_TIMEOUT_S = 120


def env_of(falkordb: FalkorDBServer, name: str, queue: str | None = None,
           **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    env.update({"GRAPHREADY_EMBEDDER": "hashing",
                "GRAPHREADY_GRAPH_URL": f"{falkordb.url}/{name}_graph",
                "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/{name}_vectors", **more})
    if queue is not None:
        env.update({"GRAPHREADY_QUEUE_URL": queue, "GRAPHREADY_QUEUE_BATCH": str(BATCH),
                    "GRAPHREADY_QUEUE_LEASE_S": "1"})
    return env


def settings_of(env: dict[str, str], data: Path) -> Settings:
    return load_settings({k: v for k, v in env.items() if k.startswith("GRAPHREADY_")
                          and k != "GRAPHREADY_QUEUE_URL"}, data_dir=str(data))


def index(docs: Path, data: Path, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "graphready.cli", "index", str(docs),
                           "--data-dir", str(data)], env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]


def worker(data: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    data.mkdir(parents=True)
    with (data.parent / f"{data.name}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "graphready.cli", "worker",
                                 "--data-dir", str(data)], env=env, stdout=log, stderr=log)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    write_corpus(folder, passages=PASSAGES)
    return folder


@pytest.fixture(scope="module")
def reference(falkordb: FalkorDBServer, docs: Path,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The content digest of a one-process build of the documents (no queue)."""
    env, data = env_of(falkordb, "reference"), tmp_path_factory.mktemp("reference")
    index(docs, data, env)
    return content_digest(settings_of(env, data))


@pytest.fixture
def queue(falkordb: FalkorDBServer) -> Iterator[str]:
    """The queue in database 1 of the FalkorDB server (its graphs are in 0), emptied."""
    client = redis.Redis(host=falkordb.host, port=falkordb.port, db=1)
    client.flushdb()
    client.close()
    yield f"redis://{falkordb.host}:{falkordb.port}/1"


def jobs_done(url: str) -> dict[str, tuple[int, int]]:
    status = RedisJobQueue(url, 1, 3)
    try:
        return {stage: (c.done, c.failed) for stage, c in status.status(5).stages.items()}
    finally:
        status.close()


def test_two_workers_build_what_one_process_builds(
        falkordb: FalkorDBServer, docs: Path, reference: dict[str, str], queue: str,
        tmp_path: Path) -> None:
    env = env_of(falkordb, "two", queue)
    workers = [worker(tmp_path / f"worker-{i}", env) for i in (1, 2)]
    try:
        index(docs, tmp_path / "builder", env)
    finally:
        codes = [stop(w) for w in workers]
    assert codes == [0, 0]
    done = jobs_done(queue)
    assert done["extract"][1] == done["embed"][1] == 0
    assert done["extract"][0] == done["embed"][0] > 1  # every chunk's jobs, in batches
    assert content_digest(settings_of(env, tmp_path / "builder")) == reference
    assert not any((tmp_path / f"worker-{i}" / "index" / "graph.db").exists() for i in (1, 2))


@pytest.mark.parametrize("kill_at", ["graph.extract", "vectors"])
def test_a_worker_killed_in_a_job_loses_nothing_and_applies_nothing_twice(
        falkordb: FalkorDBServer, docs: Path, reference: dict[str, str], queue: str,
        tmp_path: Path, kill_at: str) -> None:
    name = kill_at.replace(".", "_")
    env = env_of(falkordb, name, queue)
    doomed = worker(tmp_path / "doomed", {**env, "GRAPHREADY_KILL_AT": kill_at})
    builder = subprocess.Popen([sys.executable, "-m", "graphready.cli", "index", str(docs),
                                "--data-dir", str(tmp_path / "builder")], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rescuer: subprocess.Popen[bytes] | None = None
    try:
        # the doomed worker works alone until it kills itself after storing a job's results,
        # before acknowledging it; the job can then only be finished by being reclaimed
        assert doomed.wait(timeout=COMMAND_TIMEOUT_S) == -signal.SIGKILL
        assert (tmp_path / "doomed" / FIRED_FILE).exists()
        rescuer = worker(tmp_path / "rescuer", env)
        _, errors = builder.communicate(timeout=COMMAND_TIMEOUT_S)
        assert builder.returncode == 0, errors[-3000:]
    finally:
        if builder.poll() is None:
            builder.kill()
        if rescuer is not None:
            assert stop(rescuer) == 0
    done = jobs_done(queue)
    assert done["extract"][1] == done["embed"][1] == 0
    assert content_digest(settings_of(env, tmp_path / "builder")) == reference


def _shows_done(queue: dict[str, Any]) -> bool:
    return bool(queue["workers"]) and all(queue["stages"][s]["done"] > 0
                                          for s in ("extract", "embed"))


def test_a_server_builds_through_a_worker_and_its_status_shows_the_queue(
        falkordb: FalkorDBServer, docs: Path, queue: str, tmp_path: Path) -> None:
    env = env_of(falkordb, "served", queue)
    helper = worker(tmp_path / "worker", env)
    server = ServerProcess(docs, tmp_path / "server", env)
    try:
        server.wait_listening(60.0)
        server.wait_until(lambda: bool(server.status()["graphrag_ready"])
                          and not server.status()["building"], COMMAND_TIMEOUT_S, "the build")
        # /status shows the queue as last read in the background: wait for a read made after
        # the jobs were done (the first one with a worker may precede them)
        server.wait_until(lambda: _shows_done(server.status()["queue"]), 30.0,
                          "the queue's part of /status")
        shown = server.status()["queue"]
        assert shown["where"] == queue and shown["available"] is True
        assert shown["stages"]["extract"]["done"] > 0 and shown["stages"]["embed"]["done"] > 0
        assert shown["stages"]["extract"]["failed"] == shown["stages"]["embed"]["failed"] == 0
        (alive,) = shown["workers"]
        assert (alive["host"], alive["pid"]) == (socket.gethostname(), helper.pid)
        answer = server.chat(NEEDLE_QUESTION)
        assert answer.status_code == 200
        assert NEEDLE["id"] in {c["id"] for c in answer.json()["citations"]}
    finally:
        server.stop()
        assert stop(helper) == 0
