"""Questions first across machines, end to end: ``graphready serve --workers 2`` and a
``graphready worker`` (its own empty data dir, as on another host) on one queue and one
FalkorDB (the fixtures' ``redis-server``), both using a scripted OpenAI-compatible model server
(``tests/support/scripted_llm_server.py``). A question asked of the server's follower process
is held at the model server by the test; meanwhile the worker, extracting the build's chunks
with the model, holds its calls back (its beat says so, and the follower's ``/status`` shows the
queue), and the model serves no extraction until the question's answer is over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from support.corpus import NEEDLE_QUESTION, write_corpus
from support.falkordb_server import FalkorDBServer
from support.scripted_llm_server import ScriptedLLMServer, Served
from support.server import ServerProcess

WAIT_S = 300.0
INTERACTIVE = ("answer", "agent")


class HeldQuestions(ScriptedLLMServer):
    """The scripted model server, holding every question's request (answer or agent) until
    the test releases it."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.asked = threading.Event()
        self.release = threading.Event()

    def generate(self, purpose: str, body: dict[str, Any], streamed: bool,
                 gone: Callable[[], bool] = lambda: False,
                 ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        if purpose in INTERACTIVE:
            self.asked.set()
            self.release.wait(WAIT_S)
        return super().generate(purpose, body, streamed, gone)


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` over this process's environment less its ``GRAPHREADY_`` settings."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}, **env}


def env_of(falkordb: FalkorDBServer, queue_url: str, llm: ScriptedLLMServer) -> dict[str, str]:
    return {**llm.env(), "GRAPHREADY_EMBEDDER": "hashing",
            "GRAPHREADY_GRAPH_URL": f"{falkordb.url}/held_graph",
            "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/held_vectors",
            "GRAPHREADY_QUEUE_URL": queue_url, "GRAPHREADY_QUEUE_BATCH": "1",
            "GRAPHREADY_QUEUE_LEASE_S": "3", "GRAPHREADY_LLM_RETRIES": "0",
            "GRAPHREADY_LLM_ANSWER_DEADLINE_S": "120", "GRAPHREADY_LLM_MAX_STEPS": "2"}


def wait_for(check: Callable[[], bool], what: str, *processes: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"a process exited while waiting for {what}"
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def client_of(server: ServerProcess, index: int) -> httpx.Client:
    """A client whose kept-alive connection is served by process ``index``."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        api = httpx.Client(base_url=server.url, timeout=WAIT_S)
        if api.get("/status").json()["workers"]["index"] == index:
            return api
        api.close()
    raise AssertionError(f"no connection reached process {index}")


def holding(status: dict[str, Any]) -> bool:
    """Whether a worker of the queue in ``status`` holds a model call back."""
    queue = status["queue"]
    return queue is not None and any(w["llm_waiting"] >= 1 for w in queue["workers"])


def test_a_question_on_a_server_holds_a_workers_extraction_on_another_host(
        falkordb: FalkorDBServer, queue_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write_corpus(docs, passages=2)
    with HeldQuestions({}) as llm:
        env = env_of(falkordb, queue_url, llm)
        server = ServerProcess(docs, tmp_path / "server", env, ("--workers", "2"))
        worker: subprocess.Popen[bytes] | None = None
        answered: list[httpx.Response] = []
        try:
            server.wait_listening(timeout=WAIT_S)
            follower = client_of(server, 1)
            wait_for(lambda: bool(follower.get("/status").json()["ready"]), "chat", server.proc)
            asking = threading.Thread(target=lambda: answered.append(follower.post(
                "/chat", json={"message": NEEDLE_QUESTION})), daemon=True)
            asking.start()
            assert llm.asked.wait(WAIT_S), "the question never reached the model"

            (tmp_path / "worker").mkdir()
            with (tmp_path / "worker.log").open("wb") as log:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "graphready.cli", "worker", "--data-dir",
                     str(tmp_path / "worker")], env=worker_env(env), stdout=log, stderr=log)
            wait_for(lambda: holding(follower.get("/status").json()),
                     "the worker to hold an extraction back (in the follower's /status)",
                     server.proc, worker)
            assert llm.of("extract") == []
            llm.release.set()
            asking.join(WAIT_S)
            assert [r.status_code for r in answered] == [200], answered
            wait_for(lambda: bool(server.status()["graphrag_ready"]), "the graph", server.proc,
                     worker)

            extracts = llm.of("extract")
            questions: list[Served] = [s for p in INTERACTIVE for s in llm.of(p)]
            assert extracts and questions
            assert min(e.began for e in extracts) > max(q.ended for q in questions)
            chunks = server.status()["counts"]["chunks"]
            wait_for(lambda: follower.get("/status").json()["queue"]["stages"]["extract"][
                "done"] >= chunks > 0, "the follower's /status to count the extractions")
            queue = follower.get("/status").json()["queue"]
            assert [w["pid"] for w in queue["workers"]] == [worker.pid]
            follower.close()
        finally:
            llm.release.set()
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
            server.stop()
