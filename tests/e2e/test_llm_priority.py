"""Questions come before the graph build on the model server, end to end over real sockets:
`graphready serve` as a subprocess, building its graph with a language model, and a scripted
OpenAI-compatible server (tests/support/scripted_llm_server.py: one reply at a time, as
llama.cpp's server and Ollama serve, slow for build calls) so that the timing is controlled.
A question asked during the build is answered by the model without waiting for the build's
calls (those in flight are preempted), the build completes with the same graph as a build
without questions, /status reports the model's queue and the build's LLM progress, and SIGTERM
during the build stops the worker within its few seconds."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from graphready.config import load_settings
from graphready.indexing.stages import run_documents, run_graph
from graphready.knowledge import KnowledgeGraph
from graphready.stores.registry import open_stores
from support.scripted_llm_server import Pace, ScriptedLLMServer, Served
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 300.0
DOCS = [
    {"id": "curie", "title": "Marie Curie",
     "text": "Marie Curie was a physicist born in Warsaw. She worked in Paris with Pierre Curie."},
    {"id": "pierre", "title": "Pierre Curie",
     "text": "Pierre Curie taught physics in Paris. He married Marie Curie in Sceaux."},
    {"id": "lisbon", "title": "Lisbon",
     "text": "Lisbon is the capital of Portugal. An earthquake struck Lisbon and Setubal."},
    {"id": "porto", "title": "Porto",
     "text": "Porto lies on the Douro river in Portugal. Ships sailed from Porto to Brazil."},
]
QUESTIONS = ["Where did Marie Curie work?", "What struck Lisbon?", "Which river is in Porto?"]
SLOW_BUILD = {"extract": Pace(first_s=3.0, token_s=0.02), "report": Pace(3.0, 0.02)}
"""A build call takes ~4 s: its prompt 3 s (a question asked in that time must preempt it),
then ~50 tokens."""
LLM_ENV = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_LLM_RETRIES": "0",
           "GRAPHREADY_LLM_BUILD_CONCURRENCY": "1", "GRAPHREADY_LLM_CONCURRENCY": "2",
           "GRAPHREADY_LLM_MAX_STEPS": "2", "GRAPHREADY_LLM_ANSWER_DEADLINE_S": "20",
           "GRAPHREADY_DEFAULT_TOP_K": "3"}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    return folder


def serve(servers: list[ServerProcess], docs: Path, data: Path,
          llm: ScriptedLLMServer) -> ServerProcess:
    server = ServerProcess(docs, data, {**llm.env(), **LLM_ENV})
    servers.append(server)
    server.wait_listening()
    return server


def graph_without_questions(docs: Path, data: Path, llm: ScriptedLLMServer) -> KnowledgeGraph:
    """The graph a build with the same model makes when nobody asks anything."""
    env = {k: v for k, v in {**llm.env(), **LLM_ENV}.items()}
    settings = load_settings(env, data_dir=data, docs_dir=docs)
    stores = open_stores(settings)
    try:
        run_documents(settings, stores, lambda _: None)
        run_graph(settings, stores, lambda _: None)
        graph = stores.graph.load_graph()
    finally:
        stores.close()
    assert graph is not None and graph.entities and graph.communities
    return graph


def stored_graph(docs: Path, data: Path) -> KnowledgeGraph | None:
    stores = open_stores(load_settings({}, data_dir=data, docs_dir=docs))
    try:
        return stores.graph.load_graph()
    finally:
        stores.close()


def first_event(server: ServerProcess, path: str, body: dict[str, Any]) -> tuple[
        dict[str, Any], list[dict[str, Any]]]:
    """The first data event of a streamed answer, and all of them."""
    events: list[dict[str, Any]] = []
    with server.client.stream("POST", path, json=body, timeout=120) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(json.loads(line[6:]))
    assert events
    return events[0], events


def just_begun(llm: ScriptedLLMServer) -> list[Served]:
    """Build calls the model began less than a second ago and is still on."""
    now = time.monotonic()
    return [s for s in llm.served if s.purpose in ("extract", "report")
            and s.outcome == "running" and now - s.began < 1.0]


def llm_status(server: ServerProcess) -> dict[str, Any]:
    llm: dict[str, Any] = server.status()["llm"]
    return llm


def test_questions_during_an_llm_build_come_first_and_the_graph_is_the_same(
        docs: Path, tmp_path: Path, servers: list[ServerProcess]) -> None:
    with ScriptedLLMServer({}) as quick:  # the same replies, at once
        reference = graph_without_questions(docs, tmp_path / "reference", quick)
    with ScriptedLLMServer(dict(SLOW_BUILD)) as llm:
        server = serve(servers, docs, tmp_path / "data", llm)
        server.wait_until(lambda: llm_status(server)["queue"]["in_flight"]["extract"] == 1,
                          BUILD_TIMEOUT, "an extraction call in flight")
        status = llm_status(server)
        assert set(status["queue"]["in_flight"]) == {"answer", "agent", "extract", "report"}
        assert set(status["queue"]["waiting"]) == {"answer", "agent", "extract", "report"}
        build = status["build"]
        assert build is not None and build["chunks_total"] == len(DOCS)
        assert 0 <= build["chunks_extracted"] <= len(DOCS)
        assert {"calls", "calls_per_minute", "eta_seconds", "reports_written",
                "reports_total", "preemptions"} <= set(build)

        asked: list[tuple[float, float]] = []
        for i, question in enumerate(QUESTIONS):
            # ask while a build call has the model, in the first second of its prompt
            server.wait_until(lambda: bool(just_begun(llm)), BUILD_TIMEOUT,
                              "a build call that has just begun")
            sent = time.monotonic()
            if i % 2 == 0:
                first, events = first_event(server, "/chat", {
                    "message": question, "mode": "retrieval", "stream": True})
                done = events[-1]
                assert "degraded" not in first and done["answer_type"] == "generated", done
            else:
                first, events = first_event(server, "/v1/chat/completions", {
                    "model": "graphready-retrieval", "stream": True,
                    "messages": [{"role": "user", "content": question}]})
                assert "degraded" not in first and events[-1]["degraded"] is False
            asked.append((sent, time.monotonic()))
        llm.paces.clear()  # every question asked: the rest of the build at full speed
        answers = llm.of("answer")
        assert len(answers) == len(QUESTIONS)
        assert all(a.outcome == "done" for a in answers)
        for (sent, _), answer in zip(asked, answers, strict=True):
            # No build call got the model between the question and its answer, except one
            # that was preempted (its client went away and generation stopped).
            overtaking = [s for s in llm.served if s.purpose in ("extract", "report")
                          and sent <= s.began <= answer.began]
            assert all(s.outcome == "gone" for s in overtaking), overtaking
            # and the build call that had the model when the question came was preempted
            holding = [s for s in llm.served if s.purpose in ("extract", "report")
                       and s.began <= sent and (s.ended == 0 or s.ended >= sent)]
            assert holding and all(s.outcome == "gone" for s in holding), holding

        server.wait_until(lambda: server.status()["graphrag_ready"], BUILD_TIMEOUT,
                          "the LLM graph")
        after = llm_status(server)
        assert after["build"] is None and after["queue"]["questions"] == 0
        assert server.stop() == 0
    assert any(s.outcome == "gone" for s in llm.served), [
        (s.purpose, round(s.began, 2), round(s.ended, 2), s.outcome) for s in llm.served]
    assert stored_graph(docs, tmp_path / "data") == reference


def test_a_slow_answer_shows_in_the_queue_and_sigterm_stops_the_build_at_once(
        docs: Path, tmp_path: Path, servers: list[ServerProcess]) -> None:
    paces = {"extract": Pace(first_s=60.0), "report": Pace(first_s=60.0),
             "answer": Pace(first_s=8.0)}  # long enough for a niced worker to report
    with ScriptedLLMServer(paces) as llm:
        server = serve(servers, docs, tmp_path / "data", llm)
        server.wait_until(lambda: llm_status(server)["queue"]["in_flight"]["extract"] == 1,
                          BUILD_TIMEOUT, "an extraction call in flight")
        # In flight for graphready is not yet begun for the model server: wait until it is,
        # or a busy machine lets the question cancel the call before it is ever served.
        server.wait_until(lambda: bool(llm.of("extract")), 60,
                          "the model server to begin the extraction call")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            answered: list[httpx.Response] = []
            asking = threading.Thread(target=lambda: answered.append(client.post(
                "/chat", json={"message": QUESTIONS[0], "mode": "retrieval"})))
            asking.start()
            server.wait_until(lambda: llm_status(server)["queue"]["in_flight"]["answer"] == 1,
                              30, "the answer call in flight")
            queue = llm_status(server)["queue"]
            assert queue["questions"] == 1
            server.wait_until(lambda: llm_status(server)["queue"]["build_paused"], 30,
                              "the build to hold its calls back")
            asking.join(60)
        assert answered and answered[0].json()["answer_type"] == "generated"
        assert llm.of("extract")[0].outcome == "gone"  # preempted while its prompt ran

        server.wait_until(lambda: llm_status(server)["queue"]["in_flight"]["extract"] == 1,
                          30, "the build's call sent again")
        assert server.stop(signal.SIGTERM) == 0
        log = server.log()
        assert "did not stop" not in log, log[-3000:]
        assert "shutdown complete" in log


def test_a_client_that_leaves_mid_answer_releases_the_build(
        docs: Path, tmp_path: Path, servers: list[ServerProcess]) -> None:
    paces = {"answer": Pace(first_s=0.0, token_s=1.0)}
    with ScriptedLLMServer(paces) as llm:
        server = serve(servers, docs, tmp_path / "data", llm)
        server.wait_until(lambda: server.status()["ready"], BUILD_TIMEOUT, "retrieval")
        with httpx.Client(base_url=server.url, timeout=60) as client, client.stream(
                "POST", "/chat", json={"message": QUESTIONS[1], "mode": "retrieval",
                                       "stream": True}) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    break  # the first token came: leave while the model still writes
            assert llm_status(server)["queue"]["questions"] == 1
        server.wait_until(lambda: llm_status(server)["queue"]["questions"] == 0, 30,
                          "the question to be let go")
        server.wait_until(lambda: llm.of("answer")[0].outcome == "gone", 30,
                          "the model to stop writing for nobody")


def test_a_worker_held_back_for_questions_exits_when_the_server_dies(
        docs: Path, tmp_path: Path, servers: list[ServerProcess]) -> None:
    paces = {"extract": Pace(first_s=60.0), "answer": Pace(first_s=60.0)}
    with ScriptedLLMServer(paces) as llm:
        server = serve(servers, docs, tmp_path / "data", llm)
        server.wait_until(lambda: llm_status(server)["queue"]["in_flight"]["extract"] == 1,
                          BUILD_TIMEOUT, "an extraction call in flight")
        workers = [p for p in psutil.Process(server.proc.pid).children()
                   if "graphready.indexing.worker" in " ".join(p.cmdline())]
        def ask() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server will die mid-answer
                httpx.post(f"{server.url}/chat", timeout=120,
                           json={"message": QUESTIONS[0], "mode": "retrieval"})

        threading.Thread(target=ask, daemon=True).start()
        server.wait_until(lambda: llm_status(server)["queue"]["build_paused"], 60,
                          "the build to wait for the question")
        server.proc.kill()  # the server dies while its worker waits for its question
        server.proc.wait(30)
        deadline = time.monotonic() + 60
        while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in workers):
            assert time.monotonic() < deadline, "a build worker outlived its server"
            time.sleep(0.2)
