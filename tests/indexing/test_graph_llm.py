"""The graph stage with a real OpenAI-compatible LLM: llama.cpp's server with SmolLM2-135M (its
replies are poor, so fallbacks happen and are counted). It switches from offline extraction,
fails cleanly when the server goes away mid-build, resumes from the LLM cache, switches back,
and rebuilds a lost graph store from the cache alone."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphready.config import Settings, load_settings
from graphready.errors import BuildError
from graphready.extraction.base import OFFLINE_EXTRACTOR
from graphready.extraction.llm_extract import llm_extractor_id
from graphready.indexing.events import Event, StageDone
from graphready.indexing.stages import run_documents, run_graph
from graphready.llm.cache import CACHE_FILE, LLMCache
from graphready.stores.registry import Stores, open_stores
from support.llm_server import MODEL_NAME, LlamaServer

pytestmark = pytest.mark.e2e

DOCS = [
    {"id": "curie", "title": "Marie Curie",
     "text": "Marie Curie was a physicist born in Warsaw. She worked in Paris with Pierre Curie."},
    {"id": "pierre", "title": "Pierre Curie",
     "text": "Pierre Curie taught physics in Paris. He married Marie Curie in 1895."},
    {"id": "lisbon", "title": "Lisbon",
     "text": "Lisbon is the capital of Portugal. An earthquake struck Lisbon in 1755."},
]
LLM_ENV = {"GRAPHREADY_LLM_MAX_TOKENS": "48", "GRAPHREADY_LLM_RETRIES": "0",
           "GRAPHREADY_LLM_CONCURRENCY": "2", "GRAPHREADY_LLM_TIMEOUT_S": "60"}


@pytest.fixture(scope="module")
def llm() -> Iterator[LlamaServer]:
    """One llama.cpp server for the module (JSON mode, no tool calling)."""
    with LlamaServer(tools=False) as server:
        yield server


def settings_for(root: Path, llm: LlamaServer | None) -> Settings:
    env = {**llm.env(), **LLM_ENV} if llm is not None else {}
    return load_settings(env, data_dir=root / "data", docs_dir=root / "docs",
                         embedder="hashing")


def build(settings: Settings) -> tuple[StageDone, list[Event]]:
    stores = open_stores(settings)
    events: list[Event] = []
    try:
        run_documents(settings, stores, events.append)
        return run_graph(settings, stores, events.append), events
    finally:
        stores.close()


def with_stores(settings: Settings) -> Stores:
    return open_stores(settings)


def stop_after_first_reply(server: LlamaServer, cache_path: Path, gone: threading.Event) -> None:
    """Stop the LLM server as soon as the cache holds one reply (the build is then mid-way)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not gone.is_set():
        if cache_path.exists():
            cache = LLMCache(cache_path)
            try:
                if cache.count() >= 1:
                    server.stop()
                    return
            finally:
                cache.close()
        time.sleep(0.05)


def test_graph_stage_with_a_real_llm(llm: LlamaServer, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    offline = settings_for(tmp_path, None)
    online = settings_for(tmp_path, llm)

    # Offline first: no LLM counts, the offline extractor.
    done, _ = build(offline)
    assert done.source == "built" and "llm_calls" not in done.counts
    stores = with_stores(offline)
    offline_graph = stores.graph.load_graph()
    fingerprint = stores.catalog.fingerprint()
    stores.close()
    assert offline_graph is not None and offline_graph.entities

    # With the LLM: the server goes away mid-build. The stage fails naming the setting, and
    # the stored graph is still the whole offline one.
    gone = threading.Event()
    watcher = threading.Thread(target=stop_after_first_reply,
                               args=(llm, online.db_dir / CACHE_FILE, gone))
    watcher.start()
    try:
        with pytest.raises(BuildError, match="GRAPHREADY_LLM_BASE_URL=http://") as failed:
            build(online)
    finally:
        gone.set()
        watcher.join()
    assert "cannot reach the LLM" in str(failed.value) or "timed out" in str(failed.value)
    stores = with_stores(online)
    assert stores.graph.load_graph() == offline_graph  # still served, never half-replaced
    assert stores.graph.synced_fingerprint() is None  # but not taken for the LLM's graph
    assert stores.graph.extractor_id() == llm_extractor_id(MODEL_NAME)
    stores.close()

    # The server is back: the build completes, reusing the replies it already had.
    llm.start()
    done, events = build(online)
    counts: dict[str, Any] = done.counts
    assert done.source == "built"
    assert counts["chunks_extracted"] == len(DOCS)  # all re-extracted, none mixed in
    assert counts["llm_cache_hits"] >= 1
    assert counts["llm_calls"] >= 1
    # Build calls are streamed (so that a question can preempt them): tokens are counted when
    # the server reports a stream's usage, which llama.cpp's Python server does not.
    assert counts["llm_prompt_tokens"] >= 0 and counts["llm_completion_tokens"] >= 0
    assert 0 <= counts["extract_fallbacks"] <= len(DOCS)
    assert 0 <= counts["report_fallbacks"] <= counts["communities"]
    assert counts["entities"] > 0
    stores = with_stores(online)
    graph = stores.graph.load_graph()
    assert graph is not None and graph.entities
    assert stores.graph.synced_fingerprint() == fingerprint
    assert {e.id for e in graph.entities} >= {r.source for r in graph.relations}
    assert all(0.0 <= c.rating <= 10.0 and c.title for c in graph.communities)
    stores.close()
    extract_progress = [e for e in events if getattr(e, "stage", "") == "graph.extract"]
    assert extract_progress[-1].done == extract_progress[-1].total == len(DOCS)  # type: ignore[union-attr]
    print(f"\nLLM build on {len(DOCS)} chunks: {json.dumps(counts)}")

    # Nothing changed: loaded, no call.
    done, _ = build(online)
    assert done.source == "loaded"

    # The graph store is lost: rebuilt from the LLM cache alone, without a call.
    (online.db_dir / "graph.db").unlink()
    for suffix in ("-wal", "-shm"):
        (online.db_dir / f"graph.db{suffix}").unlink(missing_ok=True)
    done, _ = build(online)
    assert done.counts["llm_calls"] == 0
    assert done.counts["llm_cache_hits"] >= len(DOCS)
    assert done.counts["entities"] == counts["entities"]
    assert done.counts["communities"] == counts["communities"]

    # Back to offline: every chunk is extracted offline again, nothing is asked.
    done, _ = build(offline)
    assert done.counts["chunks_extracted"] == len(DOCS) and "llm_calls" not in done.counts
    stores = with_stores(offline)
    assert stores.graph.extractor_id() == OFFLINE_EXTRACTOR
    stores.close()
