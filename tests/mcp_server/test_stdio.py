"""``graphready mcp DOCS_DIR`` driven by the MCP SDK's own client over standard input and
output: every tool answers what its HTTP route answers, errors are MCP errors with the HTTP
API's codes and messages, and while the knowledge graph is still being built (its extraction
held by a scripted language model that takes minutes per passage) the tools answer at once:
search and ask without the graph, saying so; the graph tools ``not_ready``."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.mcp_client import (
    ANSWER,
    QUESTION,
    call,
    check_every_tool,
    refusal,
    stdio_client,
    wait_for,
    write_docs,
)
from support.scripted_llm_server import Pace, ScriptedLLMServer

pytestmark = pytest.mark.anyio
HELD_EXTRACTION = Pace(first_s=600.0)
"""Each extraction call of the graph build takes ten minutes: the graph stays being built for
the whole test (a question preempts the call, which starts again after it)."""


async def test_every_tool_over_stdio(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    async with stdio_client(docs, tmp_path / "data") as client:
        assert client.server_info is not None and client.server_info.name == "graphready"
        assert client.instructions is not None and "search_passages" in client.instructions
        await check_every_tool(client)


async def test_the_tools_answer_while_the_graph_is_still_being_built(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    with ScriptedLLMServer(paces={"extract": HELD_EXTRACTION}) as llm:
        env = {**llm.env(), "GRAPHREADY_LLM_RETRIES": "0", "GRAPHREADY_LLM_TOOL_CALLING": "off"}
        async with stdio_client(docs, tmp_path / "data", env) as client:
            status = await wait_for(client, lambda s: s["ready"] and bool(llm.of("extract")),
                                    "retrieval, and the graph's extraction under way")
            assert status["graphrag_initializing"] and not status["graphrag_ready"]
            assert status["stages"]["graph"]["state"] == "running"

            found = await call(client, "search_passages", query=QUESTION)
            assert found["passages"][0]["document_id"] == "curie.md"
            assert ANSWER in found["passages"][0]["text"]
            assert not found["graph_used"] and found["tools_used"] == [
                "keyword_search", "vector_search"]
            assert found["graph"]["ready"] is False and found["graph"]["building"] is True
            assert "still being built" in found["graph"]["note"]

            answer = await call(client, "ask", question=QUESTION)
            assert answer["citations"][0]["id"] == "curie.md" and answer["found"] is True
            assert not answer["graph_used"] and answer["graph"]["building"] is True
            assert "still being built" in answer["graph"]["note"]

            error = await refusal(client, "find_entities", query="Curie")
            assert error.code == 503 and error.data["code"] == "not_ready"
            assert error.data["retry_after"] > 0 and "not built yet" in error.message
            local = await refusal(client, "search_passages", query=QUESTION, mode="graph_local")
            assert local.code == 503 and "graph_local" in local.message
            still = await call(client, "status")
            assert still["graphrag_initializing"] and not still["graphrag_ready"]


async def test_a_folder_of_no_documents_is_served_and_documents_are_added(
        tmp_path: Path) -> None:
    async with stdio_client(None, tmp_path / "data") as client:
        nothing = await refusal(client, "search_passages", query=QUESTION)
        assert nothing.code == 503 and nothing.data["code"] == "not_ready"
        added = await call(client, "add_document", text="The Zephyr Lighthouse stands on "
                           "Cape Farewell. It was lit in 1888.")
        assert added["documents"][0]["title"].startswith("The Zephyr Lighthouse")
        await wait_for(client, lambda s: s["ready"] and not s["building"], "the new document")
        found = await call(client, "search_passages", query="Zephyr Lighthouse")
        assert found["passages"][0]["document_id"] == added["documents"][0]["id"]
