"""A graph build with a language model that refuses one chunk's prompt (a 400, as a server does
for a prompt too long for its context) completes: that chunk is extracted offline, counted and
named with the reason in ``/status``, and every other chunk is extracted by the model. The next
build does not send the refused prompt again (the chunk is content-hashed: it would get the same
400). The real app in-process, its real build workers, a real OpenAI-compatible HTTP server
(the scripted one)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphready.config import Settings, load_settings
from graphready.indexing.stages import run_documents, run_graph
from graphready.server.app import create_app
from graphready.stores.registry import open_stores
from support.scripted_llm_server import MODEL, Refusal, ScriptedLLMServer

pytestmark = pytest.mark.anyio
MARKER = "Zanzibar"
DOCS = [
    {"id": "curie", "title": "Marie Curie",
     "text": "Marie Curie was a physicist born in Warsaw. She worked in Paris with Pierre Curie."},
    {"id": "island", "title": "Islands",
     "text": f"{MARKER} lies off the coast of Tanzania. Its port traded cloves with Oman."},
    {"id": "lisbon", "title": "Lisbon",
     "text": "Lisbon is the capital of Portugal. An earthquake struck Lisbon and Setubal."},
]
PORTO = {"id": "porto", "title": "Porto",
         "text": "Porto lies on the Douro river in Portugal. Ships sailed from Porto to Brazil."}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def write_docs(folder: Path, docs: list[dict[str, str]]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))


def settings_for(root: Path, llm: ScriptedLLMServer) -> Settings:
    settings = load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                             embedder="hashing")
    return replace(settings, llm_base_url=llm.base_url, llm_model=MODEL, llm_retries=0)


async def status_after_build(settings: Settings) -> dict[str, Any]:
    app = create_app(settings, build=True)
    async with app.router.lifespan_context(app):
        await app.state.graphready.wait_loaded()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            body: dict[str, Any] = (await client.get("/status")).json()
            return body


def extract_prompts(llm: ScriptedLLMServer, outcome: str) -> int:
    return sum(1 for s in llm.of("extract") if s.outcome == outcome)


async def test_a_refused_chunk_is_skipped_and_reported_not_fatal(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", DOCS)
    refusal = Refusal(MARKER, 400, "the request (9000 tokens) exceeds the available context "
                      "size (4096 tokens)", purpose="extract")
    with ScriptedLLMServer(refusals=[refusal]) as llm:
        settings = settings_for(tmp_path, llm)
        status = await status_after_build(settings)
        graph = status["stages"]["graph"]
        assert graph["state"] == "done" and graph["error"] is None, graph
        assert status["graphrag_ready"] is True and status["graphrag_error"] is None
        counts = graph["counts"]
        assert counts["chunks_extracted"] == len(DOCS)
        assert counts["extract_refused"] == 1 and counts["extract_fallbacks"] == 0, counts
        [note] = graph["notes"]
        assert note.startswith("chunk ") and "of document 'island'" in note, note
        assert "(400)" in note and "exceeds the available context size" in note
        assert note.endswith("extracted offline instead")
        refused = extract_prompts(llm, "refused")
        assert refused >= 1 and extract_prompts(llm, "done") == len(DOCS) - 1  # by the model

        stores = open_stores(settings)
        try:
            mentions = {x.chunk_id: {m.name for m in x.mentions}
                        for x in stores.graph.iter_extractions()}
            by_doc = {c.doc_id: c.id for c in stores.catalog.iter_chunks()}
        finally:
            stores.close()
        assert "Warsaw" in mentions[by_doc["curie"]] and "Setubal" in mentions[by_doc["lisbon"]]
        assert mentions[by_doc["island"]] & {"Zanzibar", "Tanzania", "Oman"}  # offline

        # The next build extracts the new document and does not ask about the refused chunk
        # again: its offline extraction is stored under its content-hashed id.
        write_docs(tmp_path / "docs", [*DOCS, PORTO])
        stores = open_stores(settings)
        try:
            run_documents(settings, stores, lambda _: None)
            done = run_graph(settings, stores, lambda _: None)
        finally:
            stores.close()
        assert done.counts["chunks_extracted"] == 1 and done.counts["extract_refused"] == 0
        assert done.notes == [] and extract_prompts(llm, "refused") == refused
