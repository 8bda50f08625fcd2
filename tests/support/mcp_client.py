"""What the MCP tests (``tests/mcp/``) share: a small folder of documents, the SDK's client over
stdio (``graphready mcp`` as a subprocess), and the check of every tool, run over stdio and over
HTTP alike. (Here, not in a module of ``tests/mcp``: ``tests/`` is on the import path, where a
package ``mcp`` would stand in for the SDK's.)"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

DOCS = {
    "curie.md": "# Marie Curie\n\nMarie Curie was a physicist born in Warsaw. She worked in "
                "Paris with Pierre Curie at the Sorbonne. Marie Curie won the Nobel Prize.\n",
    "lisbon.md": "# Lisbon\n\nLisbon is the capital of Portugal. An earthquake struck Lisbon "
                 "in 1755. Porto lies on the Douro river in Portugal.\n",
    "turing.md": "# Alan Turing\n\nAlan Turing was a mathematician born in London. Alan Turing "
                 "worked at Bletchley Park with Gordon Welchman.\n",
}
QUESTION = "Where was Marie Curie born?"
ANSWER = "Warsaw"
EVERY_TOOL = {"search_passages", "ask", "find_entities", "get_entity", "neighbourhood",
              "community_summaries", "list_documents", "add_document", "delete_document",
              "status"}
WRITE_TOOLS = {"add_document", "delete_document"}
OFFLINE = {"GRAPHREADY_EMBEDDER": "hashing"}
"""Settings of every server here: the hashing embedder starts at once."""
READY_TIMEOUT = 240.0


def write_docs(folder: Path) -> Path:
    """``folder`` holding the documents of :data:`DOCS`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, "utf-8")
    return folder


def stdio_client(docs: Path | None, data: Path, env: dict[str, str] | None = None) -> Client:
    """The SDK's client of ``graphready mcp DOCS --data-dir DATA`` (started by ``async
    with``), the settings of ``env`` added to the test's environment."""
    args = ["-m", "graphready.cli", "mcp", *([str(docs)] if docs else []), "--data-dir",
            str(data)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    params = StdioServerParameters(command=sys.executable, args=args,
                                   env={**environment, **OFFLINE, **(env or {})})
    return Client(params, read_timeout_seconds=120)


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The structured result of a tool call that succeeds."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result
    found: dict[str, Any] = result.structured_content
    return found


async def refusal(client: Client, tool: str, **arguments: Any) -> MCPError:
    """The MCP error of a tool call that fails."""
    with pytest.raises(MCPError) as raised:
        await client.call_tool(tool, arguments)
    return raised.value


async def wait_for(client: Client, ready: Callable[[dict[str, Any]], bool],
                   what: str) -> dict[str, Any]:
    """The status tool's answer once ``ready`` says so (polled; fails after a long while)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        status = await call(client, "status")
        if ready(status):
            return status
        assert time.monotonic() < deadline, f"waited too long for {what}: {status}"
        await anyio.sleep(0.2)


def built(status: dict[str, Any]) -> bool:
    """Every index built, no build running."""
    return bool(status["graphrag_ready"]) and not status["building"]


async def check_every_tool(client: Client) -> None:
    """Every tool, each answering what its HTTP route answers, on the documents of ``DOCS``
    with the graph built; and the errors: a bad argument, an unknown tool, a missing
    document, a document of the folder."""
    assert {t.name for t in (await client.list_tools()).tools} == EVERY_TOOL
    await wait_for(client, built, "the graph")

    found = await call(client, "search_passages", query=QUESTION, k=2)
    assert found["passages"][0]["document_id"] == "curie.md"
    assert ANSWER in found["passages"][0]["text"] and len(found["passages"]) <= 2
    assert found["graph"] == {"ready": True, "building": False, "note": None}
    answer = await call(client, "ask", question=QUESTION)
    assert ANSWER in answer["answer"] and answer["found"] is True
    assert answer["citations"][0]["id"] == "curie.md" and answer["graph"]["ready"]

    entities = await call(client, "find_entities", query="Marie Curie")
    curie = entities["entities"][0]
    assert curie["name"] == "Marie Curie" and entities["total"] >= 1
    entity = await call(client, "get_entity", entity_id=curie["id"])
    assert entity["name"] == "Marie Curie" and entity["passages"][0]["document_id"] == "curie.md"
    assert entity["relations"] and entity["communities"]
    around = await call(client, "neighbourhood", entity_id=curie["id"], hops=1, limit=10)
    assert around["center"] == curie["id"] and len(around["nodes"]) > 1 and around["edges"]
    communities = await call(client, "community_summaries", level=0, limit=5)
    assert communities["communities"] and all(c["level"] == 0 and c["summary"]
                                              for c in communities["communities"])

    listed = await call(client, "list_documents")
    assert sorted(d["id"] for d in listed["documents"]) == sorted(DOCS)
    added = (await call(client, "add_document", title="Ada Lovelace",
                        text="Ada Lovelace wrote the first program."))["documents"][0]
    assert added["title"] == "Ada Lovelace" and added["source"] == "upload"
    listed = await call(client, "list_documents")
    assert added["id"] in {d["id"] for d in listed["documents"]}
    preview = await call(client, "delete_document", document_id="curie.md", dry_run=True)
    assert preview["dry_run"] is True and preview["source"] == "folder"
    assert preview["passages"] == 1 and preview["graph_ready"]
    assert "Marie Curie" in {e["name"] for e in preview["entities_removed"]}
    deleted = await call(client, "delete_document", document_id=added["id"])
    assert deleted["deleted"] == added["id"]
    gone = await refusal(client, "delete_document", document_id=added["id"])
    assert gone.code == 404 and gone.data["code"] == "not_found" and added["id"] in gone.message
    folder = await refusal(client, "delete_document", document_id="curie.md")
    assert folder.code == 409 and folder.data == {
        "code": "conflict", "message": folder.message, "status": 409}

    bad = await refusal(client, "search_passages", query=QUESTION, k=0)
    assert bad.code == -32602 and bad.data["code"] == "invalid_request"
    assert bad.message.startswith("k: ") and bad.data["status"] == 422
    unknown = await refusal(client, "summon")
    assert unknown.code == -32602 and "'summon'" in unknown.message
