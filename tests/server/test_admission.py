"""Limits under load, over the real app in-process: the per-client chat rate limit (429 with
Retry-After), the bound on chats in flight (queue, then 503 ``overloaded`` with Retry-After),
streamed answers holding their slot to the end, and the token bucket itself."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from graphready.config import Settings, load_settings
from graphready.errors import ConfigError
from graphready.llm.protocol import ChatModel, ChatReply, Prompt
from graphready.server.admission import RateLimiter
from graphready.server.app import create_app
from support.api import assert_error
from support.corpus import NEEDLE_QUESTION
from support.scripted_llm import ScriptedChatModel

pytestmark = pytest.mark.anyio
QUESTION = {"message": NEEDLE_QUESTION, "mode": "retrieval"}


@asynccontextmanager
async def clients(settings: Settings, *addresses: str, chat_model: ChatModel | None = None
                  ) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One app, and a client for each of ``addresses`` (the clients' IP addresses)."""
    app = create_app(settings, build=False, chat_model=chat_model)
    async with app.router.lifespan_context(app), AsyncExitStack() as stack:
        await app.state.graphready.wait_loaded()
        yield [await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 40000)),
            base_url="http://localhost", timeout=60)) for address in addresses or ("127.0.0.1",)]


class GatedModel:
    """A scripted model whose every answer waits until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

        def answer(prompt: Prompt) -> ChatReply:
            assert self.gate.wait(60), "the test never opened the gate"
            return ChatReply("Marisol Quenby designed it [1].")

        self.model = ScriptedChatModel(default=answer)


async def admission(client: httpx.AsyncClient) -> dict[str, Any]:
    status = (await client.get("/status")).json()
    figures: dict[str, Any] = status["chat_admission"]
    return figures


async def until(client: httpx.AsyncClient, check: Callable[[dict[str, Any]], bool]) -> None:
    """Poll ``/status`` until ``check`` holds of its ``chat_admission``."""
    for _ in range(1000):
        if check(await admission(client)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached: {await admission(client)}")


async def test_the_rate_limit_is_per_client_and_says_when_to_retry(built: Settings) -> None:
    settings = dataclasses.replace(built, chat_rate_per_minute=2)
    async with clients(settings, "10.0.0.1", "10.0.0.2") as (first, second):
        for _ in range(2):
            assert (await first.post("/chat", json=QUESTION)).status_code == 200
        limited = await first.post("/chat", json=QUESTION)
        assert_error(limited, 429, "rate_limited", "GRAPHREADY_CHAT_RATE_PER_MINUTE", "2 a minute")
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        openai = await first.post("/v1/chat/completions",
                                  json={"messages": [{"role": "user", "content": "hi"}]})
        assert_error(openai, 429, "rate_limited")
        assert (await second.post("/chat", json=QUESTION)).status_code == 200
        figures = await admission(first)  # /status is not rate-limited
        assert figures["rate_limited"] == 2 and figures["rate_per_minute"] == 2


async def test_with_api_keys_the_rate_limit_is_per_key(built: Settings) -> None:
    keys = ["key-one-0123456789abcdef", "key-two-0123456789abcdef"]
    settings = dataclasses.replace(built, chat_rate_per_minute=1, api_key=",".join(keys))
    async with clients(settings, "10.0.0.1") as (client,):
        def auth(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        assert (await client.post("/chat", json=QUESTION, headers=auth(keys[0]))).status_code \
            == 200
        assert_error(await client.post("/chat", json=QUESTION, headers=auth(keys[0])), 429,
                     "rate_limited")
        # Same address, another key: its own allowance.
        assert (await client.post("/chat", json=QUESTION, headers=auth(keys[1]))).status_code \
            == 200
        assert_error(await client.post("/chat", json=QUESTION), 401, "unauthorized")


async def test_the_default_rate_limit_is_more_than_a_person_asks(built: Settings) -> None:
    assert load_settings({}, data_dir=built.data_dir).chat_rate_per_minute == 300
    async with clients(built) as (client,):
        for _ in range(5):
            assert (await client.post("/chat", json=QUESTION)).status_code == 200
        assert (await admission(client))["rate_limited"] == 0


async def test_overload_is_shed_with_503_and_retry_after(built: Settings) -> None:
    gated = GatedModel()
    settings = dataclasses.replace(built, max_chats_in_flight=1, chat_queue_timeout_s=0)
    async with clients(settings, chat_model=gated.model) as (client,):
        first = asyncio.create_task(client.post("/chat", json=QUESTION))
        await until(client, lambda f: f["in_flight"] == 1)
        for path, body in (("/chat", QUESTION), ("/v1/chat/completions", {
                "model": "graphready-retrieval", "messages": [{"role": "user", "content": "x"}]})):
            shed = await client.post(path, json=body)
            assert_error(shed, 503, "overloaded", "GRAPHREADY_MAX_CHATS_IN_FLIGHT")
            assert int(shed.headers["retry-after"]) >= 1
        gated.gate.set()
        assert (await first).status_code == 200
        assert (await client.post("/chat", json=QUESTION)).status_code == 200
        figures = await admission(client)
        assert figures["shed"] == 2 and figures["in_flight"] == 0 and figures["waiting"] == 0


async def test_a_chat_waits_for_a_slot_within_the_queue_timeout(built: Settings) -> None:
    gated = GatedModel()
    settings = dataclasses.replace(built, max_chats_in_flight=1, chat_queue_timeout_s=60)
    async with clients(settings, chat_model=gated.model) as (client,):
        first = asyncio.create_task(client.post("/chat", json=QUESTION))
        await until(client, lambda f: f["in_flight"] == 1)
        second = asyncio.create_task(client.post("/chat", json=QUESTION))
        await until(client, lambda f: f["waiting"] == 1)
        gated.gate.set()
        assert [(await t).status_code for t in (first, second)] == [200, 200]
        figures = await admission(client)
        assert figures["shed"] == 0 and figures["in_flight"] == 0


async def test_a_streamed_answer_holds_its_slot_until_it_ends(built: Settings) -> None:
    gated = GatedModel()
    settings = dataclasses.replace(built, max_chats_in_flight=1, chat_queue_timeout_s=0)
    async with clients(settings, chat_model=gated.model) as (client,):
        stream = asyncio.create_task(client.post("/chat", json={**QUESTION, "stream": True}))
        await until(client, lambda f: f["in_flight"] == 1)
        assert_error(await client.post("/chat", json=QUESTION), 503, "overloaded")
        gated.gate.set()
        streamed = await stream
        assert streamed.status_code == 200 and "event: done" in streamed.text
        await until(client, lambda f: f["in_flight"] == 0)
        assert (await client.post("/chat", json=QUESTION)).status_code == 200


async def test_a_refused_request_gives_its_slot_back(built: Settings) -> None:
    settings = dataclasses.replace(built, max_chats_in_flight=1, chat_queue_timeout_s=0)
    async with clients(settings) as (client,):
        response = await client.post("/chat", json={**QUESTION, "top_k": 10_000})
        assert_error(response, 422, "invalid_request", "top_k")
        assert (await admission(client))["in_flight"] == 0
        assert (await client.post("/chat", json=QUESTION)).status_code == 200


def test_a_bucket_allows_a_burst_then_refills_evenly() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=6, clock=lambda: now[0], max_clients=2)
    assert [limiter.take("a") for _ in range(6)] == [0.0] * 6
    assert limiter.take("a") == pytest.approx(10.0)  # 6 a minute: one every 10 s
    now[0] = 5.0
    assert limiter.take("a") == pytest.approx(5.0)  # a refusal spends nothing
    now[0] = 10.0
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
    assert limiter.take("b") == 0.0
    limiter.take("c")  # a third client: the least recently seen bucket ("a") is dropped
    assert limiter.take("a") == 0.0


@pytest.mark.parametrize(("name", "value"), [("chat_rate_per_minute", -1),
                                             ("max_chats_in_flight", 0),
                                             ("chat_queue_timeout_s", -1),
                                             ("chat_slots_per_client", -1),
                                             ("graph_requests_per_client", 0),
                                             ("exports_per_client", 0)])
def test_limits_are_validated(tmp_path: Any, name: str, value: int) -> None:
    with pytest.raises(ConfigError, match=f"GRAPHREADY_{name.upper()}"):
        load_settings({f"GRAPHREADY_{name.upper()}": str(value)}, data_dir=tmp_path)
