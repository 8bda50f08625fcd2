"""Fair shares per client over the real app in-process: one API key holding its share of the
chat slots is refused (429) while another key still gets a slot; graph API requests and exports
in flight are bounded per key (a response held open by a client that does not read it holds its
place); and the slot policy itself (:class:`Shares`): the last slots go to clients under their
share, and a freed slot to a waiting client under its share before one over it."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from graphready.config import Settings, load_settings
from graphready.llm.protocol import ChatReply, Prompt
from graphready.server.admission import Shares
from graphready.server.app import create_app
from support.api import assert_error
from support.corpus import NEEDLE_QUESTION
from support.scripted_llm import ScriptedChatModel

pytestmark = pytest.mark.anyio
KEYS = ("key-alpha-0123456789abcdef", "key-bravo-0123456789abcdef")
QUESTION = {"message": NEEDLE_QUESTION, "mode": "retrieval"}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def gated_model(gate: threading.Event) -> ScriptedChatModel:
    """A scripted model whose every answer waits until the test opens ``gate``."""
    def answer(prompt: Prompt) -> ChatReply:
        assert gate.wait(60), "the test never opened the gate"
        return ChatReply("Marisol Quenby designed it [1].")

    return ScriptedChatModel(default=answer)


async def figures(client: httpx.AsyncClient) -> dict[str, Any]:
    status = (await client.get("/status", headers=auth(KEYS[1]))).json()
    found: dict[str, Any] = status["chat_admission"]
    return found


async def until(client: httpx.AsyncClient, check: Callable[[dict[str, Any]], bool]) -> None:
    """Poll ``/status`` until ``check`` holds of its ``chat_admission``."""
    for _ in range(1000):
        if check(await figures(client)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached: {await figures(client)}")


@asynccontextmanager
async def serving(settings: Settings, chat_model: Any = None
                  ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings, build=False, chat_model=chat_model)
    async with app.router.lifespan_context(app), AsyncExitStack() as stack:
        await app.state.graphready.wait_loaded()
        client = await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost", timeout=60))
        yield app, client


class HeldResponse:
    """A GET sent straight through ASGI by a client that stops reading: the app's first body
    message waits until :meth:`release`."""

    def __init__(self, app: FastAPI, path: str, query: str, key: str) -> None:
        self.started = asyncio.Event()
        self._release = asyncio.Event()
        self.status = 0
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": query.encode(), "root_path": "",
                 "headers": [(b"host", b"localhost"),
                             (b"authorization", f"Bearer {key}".encode())],
                 "client": ("127.0.0.1", 50000), "server": ("localhost", 80)}
        self.task = asyncio.create_task(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        if not self.started.is_set() and not hasattr(self, "_sent_request"):
            self._sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._release.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and not self.started.is_set():
            self.started.set()
            await self._release.wait()

    async def release(self) -> None:
        self._release.set()
        await asyncio.wait_for(self.task, 30)


async def test_a_key_over_its_chat_share_is_refused_while_another_key_gets_a_slot(
        built: Settings) -> None:
    gate = threading.Event()
    settings = dataclasses.replace(built, api_key=",".join(KEYS), max_chats_in_flight=4,
                                   chat_slots_per_client=1, chat_queue_timeout_s=0)
    async with serving(settings, gated_model(gate)) as (_, client):
        alpha = [asyncio.create_task(client.post("/chat", json=QUESTION, headers=auth(KEYS[0])))
                 for _ in range(3)]
        await until(client, lambda f: f["in_flight"] == 3)
        refused = await client.post("/chat", json=QUESTION, headers=auth(KEYS[0]))
        assert_error(refused, 429, "rate_limited", "GRAPHREADY_CHAT_SLOTS_PER_CLIENT",
                     "3 chats in flight")
        assert int(refused.headers["retry-after"]) >= 1
        openai = await client.post("/v1/chat/completions", headers=auth(KEYS[0]), json={
            "messages": [{"role": "user", "content": "hi"}]})
        assert_error(openai, 429, "rate_limited")
        bravo = asyncio.create_task(client.post("/chat", json=QUESTION, headers=auth(KEYS[1])))
        await until(client, lambda f: f["in_flight"] == 4)
        gate.set()
        assert [(await t).status_code for t in (*alpha, bravo)] == [200] * 4
        counted = await figures(client)
        assert counted["share_refused"] == 2 and counted["shed"] == 0
        assert counted["kept_for_others"] == 1


async def test_shares_are_on_by_default(tmp_path: Any) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.chat_rate_per_minute > 0
    assert settings.chat_share == 4 and settings.max_chats_in_flight == 16
    assert settings.graph_requests_per_client >= 1 and settings.exports_per_client >= 1


@pytest.mark.parametrize(("path", "query", "other", "setting"), [
    ("/graph/export", "format=json", "/graph/export", "GRAPHREADY_EXPORTS_PER_CLIENT"),
    ("/graph/entities", "q=", "/graph/communities", "GRAPHREADY_GRAPH_REQUESTS_PER_CLIENT"),
])
async def test_graph_requests_and_exports_in_flight_are_bounded_per_key(
        built: Settings, path: str, query: str, other: str, setting: str) -> None:
    settings = dataclasses.replace(built, api_key=",".join(KEYS), exports_per_client=1,
                                   graph_requests_per_client=1, chat_queue_timeout_s=0)
    async with serving(settings) as (app, client):
        held = HeldResponse(app, path, query, KEYS[0])
        await asyncio.wait_for(held.started.wait(), 30)
        refused = await client.get(other, headers=auth(KEYS[0]))
        assert_error(refused, 429, "rate_limited", setting, "1 ")
        assert int(refused.headers["retry-after"]) >= 1
        assert (await client.get(other, headers=auth(KEYS[1]))).status_code == 200
        # The other bound is separate: a held export leaves graph requests free, and back.
        separate = "/graph/communities" if path == "/graph/export" else "/graph/export"
        assert (await client.get(separate, headers=auth(KEYS[0]))).status_code == 200
        assert (await client.get("/status", headers=auth(KEYS[0]))).status_code == 200
        await held.release()
        assert held.status == 200
        assert (await client.get(other, headers=auth(KEYS[0]))).status_code == 200


async def taken(shares: Shares, client: str) -> asyncio.Task[bool]:
    task = asyncio.create_task(shares.take(client, 60))
    await asyncio.sleep(0)
    return task


async def test_the_last_slots_wait_for_clients_under_their_share() -> None:
    shares = Shares(limit=3, share=1, cap=3)
    assert await shares.take("a", 0) and await shares.take("a", 0)
    assert not await shares.take("a", 0)  # the last slot is kept for others
    assert await shares.take("b", 0) and shares.full
    a_waits = await taken(shares, "a")
    c_waits = await taken(shares, "c")
    assert shares.waiting == 2
    shares.give_back("b")  # freed: to c (under its share), though a asked first
    await asyncio.sleep(0)
    assert c_waits.done() and c_waits.result() and not a_waits.done()
    shares.give_back("a")  # a holds 1, its share: the freed slot, the last, stays free
    await asyncio.sleep(0)
    assert not a_waits.done() and shares.in_flight == 2
    shares.give_back("a")  # a holds none: under its share, it gets one
    await asyncio.sleep(0)
    assert a_waits.done() and a_waits.result() and shares.held("a") == 1
    assert shares.in_flight == 2 and shares.waiting == 0


async def test_a_waiter_that_gives_up_leaves_no_place_taken() -> None:
    shares = Shares(limit=1, share=1, cap=1)
    assert await shares.take("a", 0)
    waiter = await taken(shares, "b")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    shares.give_back("a")
    assert shares.in_flight == 0 and shares.waiting == 0 and await shares.take("c", 0)
