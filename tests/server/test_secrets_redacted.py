"""A user name and password, or a key in the query string, of GRAPHREADY_LLM_BASE_URL never
reach a chat note, ``/status`` or a log line, even when the model server echoes the URL in its
error: the real app in-process, its real build workers, and a real OpenAI-compatible HTTP server
(the scripted one) that answers every prompt with a 500 naming the URL it was sent; then the
same URL on a port where nothing listens."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphready.config import Settings, load_settings
from graphready.server.app import create_app
from support.api import app_client
from support.corpus import NEEDLE_QUESTION, write_corpus
from support.scripted_llm_server import MODEL, Refusal, ScriptedLLMServer
from support.server import free_port

pytestmark = pytest.mark.anyio
SECRETS = ("secret", "key=abc")
FAILED_TIMEOUT = 180.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def with_llm(root: Path, base_url: str) -> Settings:
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="hashing")
    return replace(settings, llm_base_url=base_url, llm_model=MODEL, llm_retries=0,
                   llm_max_steps=2)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (secret, text[:3000])


async def chat_texts(client: httpx.AsyncClient) -> list[str]:
    """The bodies of an answer as JSON, streamed, and through the OpenAI-style endpoint: each
    is the extractive answer, with a note saying why."""
    whole = await client.post("/chat", json={"message": NEEDLE_QUESTION, "mode": "retrieval"})
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert body["degraded"] is True and "the language model failed" in body["note"], body
    streamed = await client.post("/chat", json={"message": NEEDLE_QUESTION, "stream": True,
                                                "mode": "retrieval"})
    completion = await client.post("/v1/chat/completions", json={
        "model": "graphready-retrieval", "stream": True,
        "messages": [{"role": "user", "content": NEEDLE_QUESTION}]})
    assert '"degraded":true' in streamed.text.replace(" ", "")
    return [whole.text, streamed.text, completion.text]


async def test_no_secret_of_the_llm_url_in_notes_status_or_logs(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    write_corpus(tmp_path / "docs", passages=12)
    with ScriptedLLMServer() as llm:
        url = f"http://user:secret@127.0.0.1:{llm.port}/v1?key=abc"
        llm.refusals.append(Refusal("", 500, f"upstream error calling {url}: try later"))
        settings = with_llm(tmp_path, url)
        app = create_app(settings, build=True)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport,
                                         base_url="http://localhost") as client:
                status = await graph_failed(client)
                graph = status["stages"]["graph"]
                assert "GRAPHREADY_LLM_BASE_URL=http://127.0.0.1:" in graph["error"], graph
                assert "answered 500" in graph["error"] and "upstream error calling http://127" \
                    in graph["error"], graph  # the server's own words are kept, redacted
                assert status["llm"]["base_url"] == f"http://127.0.0.1:{llm.port}/v1"
                assert_clean(json.dumps(status))
                for text in await chat_texts(client):
                    assert "500" in text
                    assert_clean(text)
        assert any(s.outcome == "refused" for s in llm.of("extract"))
    assert_clean(capfd.readouterr().err)  # the build worker's log lines

    nobody = f"http://user:secret@127.0.0.1:{free_port()}/v1?key=abc"
    async for client in app_client(with_llm(tmp_path, nobody)):
        for text in await chat_texts(client):
            assert "cannot reach the LLM at http://127.0.0.1:" in text
            assert_clean(text)


async def graph_failed(client: httpx.AsyncClient) -> dict[str, Any]:
    """``/status`` once the graph stage has failed (the model fails every prompt)."""
    deadline = time.monotonic() + FAILED_TIMEOUT
    while time.monotonic() < deadline:
        status: dict[str, Any] = (await client.get("/status")).json()
        if status["stages"]["graph"]["state"] == "failed":
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"the graph stage did not fail: {status}")
