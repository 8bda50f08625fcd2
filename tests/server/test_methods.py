"""`OPTIONS` on a path answers 204 with an `Allow` that names exactly the methods of the path's
operations (as the OpenAPI document lists them), and a method the path does not take gets 405
with the same `Allow`, in the one error shape. A CORS preflight is `crosssite.py`'s
(`test_crosssite.py`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support.api import assert_error

pytestmark = pytest.mark.anyio
METHODS = ("get", "put", "post", "delete", "patch")


def documented(document: dict[str, Any], path: str) -> set[str]:
    return {m.upper() for m in document["paths"][path] if m in METHODS}


def allow(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


@pytest.mark.parametrize(("path", "documented_path"), [
    ("/documents", "/documents"),
    ("/documents/some-id", "/documents/{doc_id}"),
    ("/chat", "/chat"),
    ("/graph/entities/e1", "/graph/entities/{entity_id}"),
    ("/v1/chat/completions", "/v1/chat/completions"),
])
async def test_options_lists_every_method_of_the_path(
        client: httpx.AsyncClient, path: str, documented_path: str) -> None:
    document = (await client.get("/openapi.json")).json()
    response = await client.options(path)
    assert response.status_code == 204, response.text
    assert allow(response) == documented(document, documented_path) | {"OPTIONS"}
    assert response.content == b""


async def test_a_method_the_path_does_not_take_is_405_with_the_same_allow(
        client: httpx.AsyncClient) -> None:
    response = await client.patch("/documents", json={})
    assert_error(response, 405, "method_not_allowed", "PATCH", "/documents")
    assert allow(response) == {"GET", "POST", "OPTIONS"}
    deleted = await client.put("/documents/x", json={})
    assert_error(deleted, 405, "method_not_allowed")
    assert allow(deleted) == {"GET", "DELETE", "OPTIONS"}


async def test_static_files_take_get_and_head(client: httpx.AsyncClient) -> None:
    response = await client.options("/static/app.css")
    assert response.status_code == 204
    assert allow(response) == {"GET", "HEAD", "OPTIONS"}


async def test_options_on_no_path_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.options("/no/such/path"), 404, "not_found")
