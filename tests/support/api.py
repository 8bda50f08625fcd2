"""The real app in-process: lifespan run, requests through ASGI; and the error-shape check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from graphready.config import Settings
from graphready.llm.protocol import ChatModel
from graphready.server.app import create_app


async def app_client(settings: Settings,
                     chat_model: ChatModel | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, build=False, chat_model=chat_model)
    async with app.router.lifespan_context(app):
        await app.state.graphready.wait_loaded()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    for word in words:
        assert word in body["error"]["message"], body


def frames(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE frame."""
    out = []
    for block in text.strip().split("\n\n"):
        name, data = None, ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((name, data))
    return out
