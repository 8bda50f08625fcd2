"""End to end over a real socket: ``graphready serve --workers 2``. Both processes answer, one
builds (once) and the other follows, ``/status`` agrees whichever answers, a document added or
deleted through one process is cited or not by every process, SIGTERM stops them all, a killed
process is started again, a parent killed outright takes its processes with it, and a
question a follower answers with the language model holds the builder's LLM graph build back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.scripted_llm_server import Pace, ScriptedLLMServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 400.0
ENV = {"GRAPHREADY_EMBEDDER": "hashing"}
ADDED = {"id": "orchid-observatory", "title": "Orchid Observatory",
         "text": ("The Orchid Observatory is a copper dome above the harbour of Tromso. It was "
                  "designed by the architect Tobiah Wrenfield and opened in 1911.")}
ADDED_QUESTION = "Who designed the Orchid Observatory?"
SHARED = ("building", "graphrag_initializing", "graphrag_error", "counts", "stages", "skipped")


def start(servers: list[ServerProcess], tmp_path: Path, passages: int = 150,
          workers: int = 2) -> ServerProcess:
    docs, data = tmp_path / "docs", tmp_path / "data"
    write_corpus(docs, passages=passages)
    server = ServerProcess(docs, data, ENV, ("--workers", str(workers)))
    servers.append(server)
    server.wait_listening(timeout=60.0)
    return server


def status_of_each(server: ServerProcess, count: int = 2,
                   timeout: float = 60.0) -> dict[int, dict[str, Any]]:
    """``/status`` from every process (each on a new connection, until all have answered)."""
    seen: dict[int, dict[str, Any]] = {}

    def all_seen() -> bool:
        body = httpx.get(f"{server.url}/status", timeout=30.0).json()
        seen[body["workers"]["index"]] = body
        return len(seen) == count

    server.wait_until(all_seen, timeout, "every process to answer /status")
    return seen


def client_of(server: ServerProcess, index: int) -> httpx.Client:
    """A client whose (kept-alive) connection is served by process ``index``."""
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        api = httpx.Client(base_url=server.url, timeout=30.0)
        if api.get("/status").json()["workers"]["index"] == index:
            return api
        api.close()
    raise AssertionError(f"no connection reached process {index}")


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cites(api: httpx.Client, question: str, doc_id: str) -> bool:
    response = api.post("/chat", json={"message": question})
    assert response.status_code == 200, response.text
    return any(c["id"] == doc_id for c in response.json()["citations"])


def test_one_builds_every_process_answers_and_reports_the_same_status(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = start(servers, tmp_path)

    def built_everywhere() -> bool:
        each = status_of_each(server)
        return all(s["graphrag_ready"] and not s["building"] for s in each.values())

    server.wait_until(built_everywhere, BUILD_TIMEOUT, "the graph on every process")
    each = status_of_each(server)
    builder, follower = each[0], each[1]
    assert builder["workers"]["role"] == "builder" and follower["workers"]["role"] == "follower"
    assert builder["workers"]["pid"] != follower["workers"]["pid"]
    assert {builder["workers"]["count"], follower["workers"]["count"]} == {2}
    for key in SHARED:
        assert builder[key] == follower[key], key
    assert builder["tools"] == follower["tools"]
    assert {"keyword_search", "vector_search", "graph_local_search"} <= set(follower["tools"])
    assert builder["counts"]["documents"] == 151 and builder["counts"]["entities"] > 0

    log = server.log()
    assert log.count("build stage graph done") == 1, log[-3000:]  # built once, by worker 0
    assert "[worker 0] graphready.server INFO build stage graph done" in log
    assert "[worker 1] graphready.server INFO worker 1: loaded the graph index" in log
    for index in (0, 1):
        api = client_of(server, index)
        try:
            assert cites(api, NEEDLE_QUESTION, NEEDLE["id"]), index
            local = api.post("/chat", json={"message": NEEDLE_QUESTION, "mode": "graph_local"})
            assert local.status_code == 200 and local.json()["graph_used"], local.text
        finally:
            api.close()
    assert server.stop() == 0
    assert server.log().count("shutdown complete") == 2


def test_a_document_added_or_deleted_through_one_process_reaches_every_process(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = start(servers, tmp_path, passages=60)
    server.wait_until(lambda: all(not s["building"] and s["graphrag_ready"]
                                  for s in status_of_each(server).values()),
                      BUILD_TIMEOUT, "the first build")
    builder, follower = client_of(server, 0), client_of(server, 1)
    try:
        added = follower.post("/documents", json={"documents": [ADDED]})
        assert added.status_code == 202, added.text

        def indexed_everywhere() -> bool:
            return all(api.get(f"/documents/{ADDED['id']}").json()["state"] == "indexed"
                       for api in (builder, follower))

        server.wait_until(indexed_everywhere, BUILD_TIMEOUT, "the added document's build")
        assert cites(builder, ADDED_QUESTION, ADDED["id"])
        assert cites(follower, ADDED_QUESTION, ADDED["id"])

        deleted = follower.delete(f"/documents/{ADDED['id']}")
        assert deleted.status_code == 200, deleted.text
        assert not cites(follower, ADDED_QUESTION, ADDED["id"])  # at once where it was deleted
        server.wait_until(lambda: not cites(builder, ADDED_QUESTION, ADDED["id"]), 10.0,
                          "the builder to hide the deleted document")
        server.wait_until(lambda: builder.get(f"/documents/{ADDED['id']}").status_code == 404
                          and not builder.get("/status").json()["building"],
                          BUILD_TIMEOUT, "the build that removes the document")
        for api in (builder, follower):
            assert not cites(api, ADDED_QUESTION, ADDED["id"])
            assert api.get(f"/documents/{ADDED['id']}").status_code == 404
        assert "a follower asked for a build (changes)" in server.log()
    finally:
        builder.close()
        follower.close()


def test_sigterm_stops_every_process_and_a_killed_one_is_started_again(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = start(servers, tmp_path, passages=20)
    first = {i: s["workers"]["pid"] for i, s in status_of_each(server).items()}
    os.kill(first[1], signal.SIGKILL)
    server.wait_until(lambda: status_of_each(server)[1]["workers"]["pid"] != first[1], 60.0,
                      "worker 1 to be started again")
    assert "worker 1 (pid" in server.log() and "starting it again" in server.log()
    now = {i: s["workers"]["pid"] for i, s in status_of_each(server).items()}
    assert now[0] == first[0]
    assert server.stop() == 0
    assert not any(pid_alive(pid) for pid in now.values())
    assert server.log().count("shutdown complete") == 2


def test_processes_stop_when_their_parent_is_killed(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    server = start(servers, tmp_path, passages=20)
    pids = [s["workers"]["pid"] for s in status_of_each(server).values()]
    server.proc.kill()
    server.proc.wait(10)
    deadline = time.monotonic() + 30.0
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in pids), server.log()[-3000:]


def test_workers_setting_is_checked(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "graphready.cli", "serve", str(tmp_path), "--data-dir",
         str(tmp_path / "data"), "--workers", "0"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")})
    assert result.returncode == 2
    assert "GRAPHREADY_WORKERS" in result.stderr and "between 1 and 64" in result.stderr


def test_a_question_answered_by_a_follower_holds_the_builders_llm_build_back(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    docs.mkdir()
    (docs / "corpus.jsonl").write_text(json.dumps(NEEDLE) + "\n")
    paces = {"extract": Pace(first_s=60.0), "report": Pace(first_s=60.0),
             "answer": Pace(first_s=8.0)}
    with ScriptedLLMServer(paces) as llm:
        env = {**ENV, **llm.env(), "GRAPHREADY_LLM_RETRIES": "0",
               "GRAPHREADY_LLM_BUILD_CONCURRENCY": "1", "GRAPHREADY_LLM_ANSWER_DEADLINE_S": "20"}
        server = ServerProcess(docs, data, env, ("--workers", "2"))
        servers.append(server)
        server.wait_listening(timeout=60.0)

        def llm_queue() -> dict[str, Any]:
            queue: dict[str, Any] = httpx.get(f"{server.url}/status", timeout=30).json()[
                "llm"]["queue"]
            return queue

        server.wait_until(lambda: llm_queue()["in_flight"]["extract"] == 1, BUILD_TIMEOUT,
                          "the builder's extraction call in flight")
        # In flight for graphready is not yet begun for the model server: wait until it is,
        # or a busy machine lets the question cancel the call before it is ever served.
        server.wait_until(lambda: bool(llm.of("extract")), 60,
                          "the model server to begin the extraction call")
        follower = client_of(server, 1)
        answered: list[httpx.Response] = []
        asking = threading.Thread(target=lambda: answered.append(follower.post(
            "/chat", json={"message": NEEDLE_QUESTION, "mode": "retrieval"}, timeout=60)))
        asking.start()
        try:
            server.wait_until(lambda: llm_queue()["build_paused"], 30,
                              "the builder's build to hold its calls back")
        finally:
            asking.join(60)
            follower.close()
        assert answered and answered[0].json()["answer_type"] == "generated", answered
        assert llm.of("extract")[0].outcome == "gone"  # preempted for the follower's question
        assert server.stop() == 0
