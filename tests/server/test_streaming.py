"""Streaming answers (Server-Sent Events) and the OpenAI-compatible surface, in-process."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from graphready.server.sse import event, pieces
from support.api import assert_error, frames
from support.corpus import NEEDLE, NEEDLE_QUESTION

pytestmark = pytest.mark.anyio


def test_pieces_join_back_exactly() -> None:
    for text in ("", "one", "  two words ", "Answer [1].\nNext line [2]"):
        assert "".join(pieces(text)) == text
    assert len(pieces("a b c")) == 3
    assert event({"x": 1}, "token") == b'event: token\ndata: {"x":1}\n\n'


async def test_chat_streams_tokens_then_the_whole_response(client: httpx.AsyncClient) -> None:
    plain = (await client.post("/chat", json={"message": NEEDLE_QUESTION})).json()
    response = await client.post("/chat", json={"message": NEEDLE_QUESTION, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    got = frames(response.text)
    tokens = [json.loads(d)["text"] for name, d in got if name == "token"]
    assert len(tokens) > 3 and "".join(tokens) == plain["answer"]
    name, data = got[-1]
    assert name == "done" and json.loads(data) == plain


async def test_stream_must_be_a_boolean(client: httpx.AsyncClient) -> None:
    response = await client.post("/chat", json={"message": "hi", "stream": "yes"})
    assert_error(response, 422, "invalid_request", "stream")


async def test_models_are_listed(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/models")).json()
    assert body["object"] == "list"
    assert {m["id"] for m in body["data"]} >= {"graphready", "graphready-graph-local"}


def completion(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "graphready", "messages": messages, "temperature": 0.2, **extra}


async def test_completion_answers_the_last_user_message(client: httpx.AsyncClient) -> None:
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hello"},
                {"role": "assistant", "content": "Hi."},
                {"role": "user", "content": [{"type": "text", "text": NEEDLE_QUESTION}]}]
    response = await client.post("/v1/chat/completions", json=completion(messages))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "graphready"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    assert "Marisol Quenby" in content and "Sources:" in content
    assert f"({NEEDLE['id']})" in content
    assert body["citations"][0]["id"] == NEEDLE["id"]
    assert body["usage"]["total_tokens"] > 0


async def test_completion_streams_openai_chunks(client: httpx.AsyncClient) -> None:
    plain = (await client.post("/v1/chat/completions", json=completion(
        [{"role": "user", "content": NEEDLE_QUESTION}]))).json()
    response = await client.post("/v1/chat/completions", json=completion(
        [{"role": "user", "content": NEEDLE_QUESTION}], stream=True))
    assert response.headers["content-type"].startswith("text/event-stream")
    got = [d for _, d in frames(response.text)]
    assert got[-1] == "[DONE]"
    chunks = [json.loads(d) for d in got[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == plain["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"model": "gpt.4", "messages": [{"role": "user", "content": "hi"}]}, ("model", "gpt.4")),
        ({"model": "x:fast", "messages": [{"role": "user", "content": "hi"}]}, ("model", "fast")),
        ({"messages": []}, ("messages",)),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, ("user",)),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, ("role",)),
        ({"messages": "hello"}, ("messages",)),
    ],
)
async def test_bad_completion_requests_are_named(
    client: httpx.AsyncClient, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    response = await client.post("/v1/chat/completions", json=body)
    assert_error(response, 422, "invalid_request", *words)


async def test_graph_modes_are_models(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", json={
        "model": "graphready-graph-global",
        "messages": [{"role": "user", "content": "What are the main themes?"}]})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith("Main themes")
