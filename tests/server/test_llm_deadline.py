"""The answer deadline (GRAPHREADY_LLM_ANSWER_DEADLINE_S), in-process, against a real
OpenAI-compatible HTTP server (the scripted one, so the model's pace is the test's): a model that
has not begun its answer by the deadline gives way to the extractive answer, flagged degraded
with a note naming the deadline, and streamed answers say so in their first event; a model that
answers in time is not affected."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from graphready.config import Settings
from support.api import app_client, frames
from support.corpus import NEEDLE, NEEDLE_QUESTION
from support.scripted_llm_server import MODEL, Pace, ScriptedLLMServer

pytestmark = pytest.mark.anyio
DEADLINE_S = 1


def with_model(built: Settings, llm: ScriptedLLMServer) -> Settings:
    return replace(built, llm_base_url=llm.base_url, llm_model=MODEL, llm_retries=0,
                   llm_answer_deadline_s=DEADLINE_S, llm_max_steps=2)


async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(settings):
        yield client


def assert_extractive_for_the_deadline(body: dict[str, Any]) -> None:
    assert body["degraded"] is True and body["answer_type"] == "extractive", body
    assert "GRAPHREADY_LLM_ANSWER_DEADLINE_S" in body["note"], body["note"]
    assert any(c["id"] == NEEDLE["id"] for c in body["citations"]), body["citations"]


async def test_a_model_that_does_not_start_in_time_gives_way_to_the_extractive_answer(
        built: Settings) -> None:
    with ScriptedLLMServer({"answer": Pace(first_s=20.0)}) as llm:
        async for client in client_for(with_model(built, llm)):
            for mode in ("retrieval", "auto"):
                response = await client.post("/chat", json={"message": NEEDLE_QUESTION,
                                                            "mode": mode})
                assert response.status_code == 200
                assert_extractive_for_the_deadline(response.json())

            streamed = await client.post("/chat", json={
                "message": NEEDLE_QUESTION, "mode": "retrieval", "stream": True})
            events = frames(streamed.text)
            name, data = events[0]
            first = json.loads(data)
            assert name == "token" and first["degraded"] is True
            assert "GRAPHREADY_LLM_ANSWER_DEADLINE_S" in first["note"]
            assert_extractive_for_the_deadline(json.loads(events[-1][1]))

            completion = await client.post("/v1/chat/completions", json={
                "model": "graphready-retrieval", "stream": True,
                "messages": [{"role": "user", "content": NEEDLE_QUESTION}]})
            chunks = [json.loads(d) for _, d in frames(completion.text) if d != "[DONE]"]
            assert chunks[0]["degraded"] is True and "DEADLINE" in chunks[0]["note"]
            assert chunks[-1]["degraded"] is True

            status = (await client.get("/status")).json()["llm"]
            assert status["deadline_misses"] >= 4 and status["answer_deadline_s"] == DEADLINE_S
            assert status["queue"]["questions"] == 0
        # The model server notices a closed connection at its next look (every 50 ms, later on
        # a busy machine): give it time before asking whether every answer call was cancelled.
        deadline = time.monotonic() + 10
        while any(s.outcome == "running" for s in llm.of("answer")) \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert all(s.outcome == "gone" for s in llm.of("answer"))  # cancelled, not left running


async def test_a_model_that_starts_in_time_writes_the_answer(built: Settings) -> None:
    with ScriptedLLMServer({"answer": Pace(first_s=0.0, token_s=0.2)}) as llm:
        async for client in client_for(with_model(built, llm)):
            streamed = await client.post("/chat", json={
                "message": NEEDLE_QUESTION, "mode": "retrieval", "stream": True})
            events = frames(streamed.text)
            assert "degraded" not in json.loads(events[0][1])
            done = json.loads(events[-1][1])
            # the whole answer takes longer than the deadline: only its start counts
            assert done["answer_type"] == "generated" and done["degraded"] is False, done
