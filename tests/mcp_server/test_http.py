"""MCP over streamable HTTP at ``/mcp`` of a real ``graphready serve`` on a real socket, driven
by the MCP SDK's own client: every tool, behind the server's API keys (a read-only key sees and
calls only the read tools), in a workspace at ``/workspaces/{w}/mcp``, with the handshake of
earlier protocol versions too; and what HTTP itself refuses before any MCP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from support.api import assert_error
from support.mcp_client import (
    EVERY_TOOL,
    OFFLINE,
    QUESTION,
    WRITE_TOOLS,
    built,
    call,
    check_every_tool,
    refusal,
    wait_for,
    write_docs,
)
from support.server import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
FULL = "full-key-for-mcp-tests-0001"
READ_ONLY = "read-only-key-for-mcp-0002"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module: the documents of ``DOCS``, a full and a read-only key."""
    root = tmp_path_factory.mktemp("mcp-http")
    started = ServerProcess(write_docs(root / "docs"), root / "data", {
        **OFFLINE, "GRAPHREADY_API_KEY": FULL, "GRAPHREADY_READ_ONLY_API_KEY": READ_ONLY})
    try:
        started.wait_listening()
        yield started
        assert started.stop() == 0  # SIGTERM: the MCP endpoint stops with the app, cleanly
        assert "shutdown complete" in started.log()
    finally:
        started.kill()


@asynccontextmanager
async def client(server: ServerProcess, key: str, path: str = "/mcp",
                 mode: str = "auto") -> AsyncIterator[Client]:
    """The SDK's client of ``path`` on ``server``, sending ``key``."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http, \
            Client(streamable_http_client(server.url + path, http_client=http),
                   mode=mode) as connected:
        yield connected


async def test_every_tool_over_http(server: ServerProcess) -> None:
    async with client(server, FULL) as mcp:
        await check_every_tool(mcp)


async def test_a_read_only_key_sees_and_calls_only_the_read_tools(
        server: ServerProcess) -> None:
    async with client(server, READ_ONLY) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        assert set(tools) == EVERY_TOOL - WRITE_TOOLS
        assert all(t.annotations is not None and t.annotations.read_only_hint
                   for t in tools.values())
        assert (await call(mcp, "status"))["auth"] == {"required": True}
        for tool, arguments in [("add_document", {"text": "Notes of a reader."}),
                                ("delete_document", {"document_id": "curie.md"})]:
            error = await refusal(mcp, tool, **arguments)
            assert error.code == 403 and error.data["code"] == "forbidden"
            assert error.message.startswith(f"the tool {tool} changes documents")
            assert "read-only key cannot" in error.message
    async with client(server, READ_ONLY, mode="legacy") as mcp:  # the initialize handshake
        assert {t.name for t in (await mcp.list_tools()).tools} == EVERY_TOOL - WRITE_TOOLS
        assert (await refusal(mcp, "add_document", text="More notes.")).code == 403


async def test_a_workspace_over_http(server: ServerProcess) -> None:
    created = server.client.post("/workspaces", json={"name": "notes"},
                                 headers={"Authorization": f"Bearer {FULL}"})
    assert created.status_code == 201, created.text
    note = "The Zephyr Lighthouse stands on Cape Farewell. It was first lit in 1888."
    async with client(server, FULL, "/workspaces/notes/mcp") as mcp:
        added = (await call(mcp, "add_document", title="Lighthouse", text=note))["documents"]
        await wait_for(mcp, lambda s: s["ready"] and not s["building"], "the workspace")
        listed = await call(mcp, "list_documents")
        assert [d["id"] for d in listed["documents"]] == [added[0]["id"]]
        found = await call(mcp, "search_passages", query="When was the lighthouse lit?")
        assert found["passages"][0]["document_id"] == added[0]["id"]
        assert all(p["document_id"] == added[0]["id"] for p in found["passages"])
    async with client(server, FULL) as mcp:  # the default workspace never sees it
        await wait_for(mcp, built, "the default workspace")
        listed = await call(mcp, "list_documents")
        assert added[0]["id"] not in {d["id"] for d in listed["documents"]}
        answer = await call(mcp, "ask", question=QUESTION)
        assert all(c["id"] != added[0]["id"] for c in answer["citations"])


async def test_http_refuses_before_any_mcp(server: ServerProcess) -> None:
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert_error(http.post("/mcp", json=message, headers=accept), 401, "unauthorized")
        wrong = {**accept, "Authorization": "Bearer not-a-key-of-this-server"}
        assert_error(http.post("/mcp", json=message, headers=wrong), 401, "unauthorized")
        keyed = {**accept, "Authorization": f"Bearer {FULL}"}
        assert_error(http.post("/workspaces/nowhere/mcp", json=message, headers=keyed), 404,
                     "unknown_workspace")
        assert_error(http.get("/mcp", headers=keyed), 405, "method_not_allowed")
        document = http.get("/openapi.json", headers=keyed).json()
        assert not [p for p in document["paths"] if p.endswith("/mcp")]



async def test_add_document_takes_a_text_up_to_the_upload_limit(server: ServerProcess) -> None:
    created = server.client.post("/workspaces", json={"name": "long"},
                                 headers={"Authorization": f"Bearer {FULL}"})
    assert created.status_code == 201, created.text
    sentence = "The Quillon Archive keeps the letters of the harbour master. "
    text = sentence * (100_000 // len(sentence))  # over the 64 KiB of a chat request's body
    async with client(server, FULL, "/workspaces/long/mcp") as mcp:
        added = (await call(mcp, "add_document", title="Archive", text=text))["documents"]
        assert len(added) == 1
    keyed = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
             "Authorization": f"Bearer {FULL}"}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        over = http.post("/workspaces/long/mcp", content=b" " * (10_485_760 + 1), headers=keyed)
        assert_error(over, 413, "body_too_large", "GRAPHREADY_MAX_UPLOAD_BYTES")
