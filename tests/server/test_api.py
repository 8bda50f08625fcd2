"""The HTTP API in-process through ASGI, lifespan included, on a small index built by the real
build workers. Every error has the one JSON shape and names the problem."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from graphready.config import load_settings
from graphready.retrieval.modes import MODES
from support.api import app_client, assert_error
from support.corpus import NEEDLE, NEEDLE_QUESTION

pytestmark = pytest.mark.anyio


async def test_chat_cites_the_passage_that_answers(client: httpx.AsyncClient) -> None:
    response = await client.post("/chat", json={"message": NEEDLE_QUESTION})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["citations"][0]["id"] == NEEDLE["id"]
    assert "[1]" in body["answer"] and body["answer_type"] == "extractive"
    assert body["mode"] == "auto" and "keyword_search" in body["tools_used"]


@pytest.mark.parametrize("mode", ["retrieval", "graph_local", "graph_global"])
async def test_every_mode_answers(client: httpx.AsyncClient, mode: str) -> None:
    response = await client.post("/chat", json={"message": NEEDLE_QUESTION, "mode": mode,
                                                "top_k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == mode and body["citations"]
    assert body["graph_used"] == (mode != "retrieval")


async def test_content_type_is_not_required(client: httpx.AsyncClient) -> None:
    response = await client.post("/chat", content=b'{"message": "Zephyr Lighthouse"}')
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (b"{bad", 400, "malformed_json", ("not valid JSON",)),
        (b"\xff\xfe", 400, "malformed_json", ("UTF-8",)),
        (b"", 422, "invalid_request", ("required",)),
        (b"[1, 2]", 422, "invalid_request", ("JSON object",)),
        (b'{"mode": "auto"}', 422, "invalid_request", ("message",)),
        (b'{"message": "   "}', 422, "invalid_request", ("message", "empty")),
        (b'{"message": 7}', 422, "invalid_request", ("message", "string")),
        (b'{"message": "hi", "mode": "psychic"}', 422, "invalid_request", ("mode",)),
        (b'{"message": "hi", "top_k": "5"}', 422, "invalid_request", ("top_k",)),
        (b'{"message": "hi", "top_k": 0}', 422, "invalid_request", ("top_k",)),
        (b'{"message": "hi", "top_k": 51}', 422, "invalid_request", ("top_k", "50")),
        (b'{"message": "hi", "temperature": 1}', 422, "invalid_request", ("temperature",)),
        (b'{"message": "' + b"x" * 300 + b'"}', 422, "invalid_request", ("200",)),
    ],
)
async def test_bad_requests_are_named(
    client: httpx.AsyncClient, body: bytes, status: int, code: str, words: tuple[str, ...]
) -> None:
    response = await client.post("/chat", content=body,
                                 headers={"content-type": "application/json"})
    assert_error(response, status, code, *words)


async def test_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    big = b'{"message": "' + b"a" * 5000 + b'"}'
    assert_error(await client.post("/chat", content=big), 413, "body_too_large",
                 "GRAPHREADY_MAX_BODY_BYTES")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"a" * 1000

    assert_error(await client.post("/chat", content=chunks()), 413, "body_too_large")


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/nope"), 404, "not_found")
    assert_error(await client.get("/chat"), 405, "method_not_allowed")


async def test_status_health_openapi_and_page(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    status = (await client.get("/status")).json()
    for key in ("ready", "retrieval", "graphrag_initializing", "graphrag_ready",
                "graphrag_error", "agent_available", "tools", "progress", "counts", "timings"):
        assert key in status
    assert status["counts"]["documents"] == 81 and status["counts"]["entities"] > 0
    schema = (await client.get("/openapi.json")).json()
    assert {"/chat", "/status", "/health", "/build"} <= set(schema["paths"])
    chat_body = schema["paths"]["/chat"]["post"]["requestBody"]["content"]["application/json"]
    assert "message" in chat_body["schema"]["properties"]
    page = await client.get("/")
    assert page.status_code == 200 and "/static/js/app.js" in page.text


async def test_the_pages_mode_menu_offers_the_modes_the_api_accepts(
        client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    menu = page[page.index('<select id="chat-mode">'):]
    offered = re.findall(r'<option value="([^"]+)"', menu[:menu.index("</select>")])
    schema = (await client.get("/openapi.json")).json()
    chat = schema["paths"]["/chat"]["post"]["requestBody"]["content"]["application/json"]
    accepted = chat["schema"]["properties"]["mode"]["enum"]
    assert offered == accepted == list(MODES)


async def test_nothing_indexed_answers_503_with_retry_after(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "empty", embedder="hashing")
    async for client in app_client(settings):
        status = (await client.get("/status")).json()
        assert status["ready"] is False and status["tools"] == []
        response = await client.post("/chat", json={"message": "anything"})
        assert_error(response, 503, "not_ready")
        assert int(response.headers["retry-after"]) > 0
