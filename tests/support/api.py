"""The real app in-process: lifespan run, requests through ASGI; and the error-shape check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from graphready.config import Settings
from graphready.server.app import create_app


async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, build=False)
    async with app.router.lifespan_context(app):
        await app.state.graphready.wait_loaded()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client



def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    for word in words:
        assert word in body["error"]["message"], body


