"""Answers from a real OpenAI-compatible LLM server, end to end over real sockets: `graphready
serve` as a subprocess, llama.cpp's server with the tiny SmolLM2 model beside it. The model's
answers are poor; these tests check the protocol: generated answers whose citations are real
passages, the agent's tool calls, streaming through /chat and /v1/chat/completions, the response
cache, and an LLM outage (the server stopped mid-test) that degrades answers instead of failing
them, and heals when the server is back. The graph is built offline here (GRAPHREADY_LLM_GRAPH
=off); LLM graph building has its own tests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.llm_server import LlamaServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 300.0


def llm_env(llama: LlamaServer) -> dict[str, str]:
    return {**llama.env(), "GRAPHREADY_LLM_GRAPH": "off", "GRAPHREADY_EMBEDDER": "hashing",
            "GRAPHREADY_LLM_MAX_TOKENS": "48", "GRAPHREADY_LLM_MAX_STEPS": "2",
            "GRAPHREADY_LLM_RETRIES": "0", "GRAPHREADY_LLM_TIMEOUT_S": "60",
            "GRAPHREADY_DEFAULT_TOP_K": "3",
            # these tests check answers, not the deadline: a busy test machine is slower
            "GRAPHREADY_LLM_ANSWER_DEADLINE_S": "600"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    root = tmp_path_factory.mktemp("llm-corpus")
    write_corpus(root / "docs", passages=12)
    ids = {json.loads(line)["id"] for path in (root / "docs").glob("*.jsonl")
           for line in path.read_text("utf-8").splitlines() if line.strip()}
    return root / "docs", ids


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    with LlamaServer(tools=True) as running:
        yield running


@pytest.fixture(scope="module")
def server(corpus: tuple[Path, set[str]], llama: LlamaServer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(corpus[0], tmp_path_factory.mktemp("llm-data") / "data",
                            llm_env(llama))
    # An agent's rounds with grammar-constrained tool calls run at a few tokens a second, and a
    # busy 2-core machine is slower still: these tests check answers, not speed.
    process.client.timeout = httpx.Timeout(300.0)
    try:
        process.wait_listening()
        process.wait_until(lambda: process.status()["graphrag_ready"], BUILD_TIMEOUT,
                           "the graph")
        yield process
    finally:
        process.kill()


def sse_events(response: httpx.Response) -> Iterator[tuple[str | None, str, float]]:
    """(event name, data, seconds since the request) of each frame as it arrives."""
    started = time.monotonic()
    name: str | None = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, line[6:], time.monotonic() - started
            name = None


def assert_grounded(body: dict[str, Any], ids: set[str]) -> None:
    assert body["answer"].strip()
    assert {c["id"] for c in body["citations"]} <= ids, body["citations"]
    for citation in body["citations"]:
        assert f"[{citation['number']}]" in body["answer"] or "cited no passage" in body["note"]


def test_chat_answers_with_the_model_citing_real_passages(
        server: ServerProcess, corpus: tuple[Path, set[str]]) -> None:
    response = server.chat(NEEDLE_QUESTION)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer_type"] == "generated" and body["degraded"] is False
    assert_grounded(body, corpus[1])
    assert body["citations"], body
    llm = server.status()["llm"]
    assert llm["model"] == "smollm2-135m" and llm["calls_by_purpose"]["answer"] >= 1
    assert llm["calls_by_purpose"]["agent"] >= 1


def test_the_agent_calls_tools_by_function_calling(server: ServerProcess) -> None:
    plans = [server.chat(q).json() for q in (
        "Search the documents for the Zephyr Lighthouse.",
        "Use the search tool to find who founded the Royal Observatory.",
        "Find passages about astronomy with the keyword search tool.")]
    assert any(p["plan"] == "agent" and p["tools_used"] for p in plans), plans
    assert all(1 <= p["agent_steps"] <= 2 for p in plans)


def test_the_same_question_again_is_answered_from_the_cache(server: ServerProcess) -> None:
    question = {"message": "What is the Zephyr Lighthouse made of?", "mode": "retrieval"}
    first = server.client.post("/chat", json=question).json()
    before = server.status()["llm"]
    second = server.client.post("/chat", json=question).json()
    after = server.status()["llm"]
    assert second["answer"] == first["answer"]
    assert after["calls"] == before["calls"] and after["cache_hits"] == before["cache_hits"] + 1


def test_chat_streams_the_models_tokens(server: ServerProcess) -> None:
    with server.client.stream("POST", "/chat", json={
            "message": "Describe the Zephyr Lighthouse.", "mode": "retrieval",
            "stream": True}) as response:
        assert response.status_code == 200
        events = list(sse_events(response))
    tokens = [(json.loads(d)["text"], t) for name, d, t in events if name == "token"]
    done = json.loads(events[-1][1])
    assert events[-1][0] == "done" and done["answer_type"] == "generated"
    assert len(tokens) > 3, events
    assert tokens[0][1] < events[-1][2]


def test_openai_clients_get_streamed_and_whole_completions(server: ServerProcess) -> None:
    messages = [{"role": "user", "content": "Who designed the Zephyr Lighthouse?"}]
    whole = server.client.post("/v1/chat/completions", json={
        "model": "graphready-retrieval", "messages": messages}).json()
    assert whole["object"] == "chat.completion" and whole["choices"][0]["message"]["content"]
    with server.client.stream("POST", "/v1/chat/completions", json={
            "model": "graphready-retrieval", "messages": messages, "stream": True,
            "max_tokens": 5}) as response:
        events = [d for _, d, _ in sse_events(response)]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(d) for d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.strip() and chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_an_llm_outage_degrades_answers_and_heals(server: ServerProcess,
                                                  llama: LlamaServer) -> None:
    llama.stop()
    try:
        response = server.chat(NEEDLE_QUESTION + " (asked during the outage)")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["degraded"] is True and body["answer_type"] == "extractive"
        assert "LLM" in body["note"] and any(c["id"] == NEEDLE["id"] for c in body["citations"])
        with server.client.stream("POST", "/chat", json={
                "message": NEEDLE_QUESTION + " (streamed during the outage)",
                "stream": True}) as streamed:
            events = list(sse_events(streamed))
        assert events[-1][0] == "done" and json.loads(events[-1][1])["degraded"] is True
        assert server.status()["llm"]["failures"] >= 2
    finally:
        llama.start()
    healed = server.chat(NEEDLE_QUESTION + " (asked after the outage)").json()
    assert healed["degraded"] is False and healed["answer_type"] == "generated"


def test_a_model_without_tool_calling_gets_the_fixed_plan(
        corpus: tuple[Path, set[str]], tmp_path: Path) -> None:
    with LlamaServer(tools=False) as plain:
        process = ServerProcess(corpus[0], tmp_path / "data", llm_env(plain))
        try:
            process.wait_listening()
            process.wait_until(lambda: process.status()["ready"], BUILD_TIMEOUT, "retrieval")
            body = process.chat(NEEDLE_QUESTION).json()
        finally:
            process.kill()
    assert body["plan"] == "fixed" and body["answer_type"] == "generated"
    assert_grounded(body, corpus[1])
