"""End to end over a real socket: `graphready serve` as a subprocess on a generated corpus.
Progressive readiness, a warm restart that rebuilds nothing, start-up that runs once, an injected
graph failure, SIGTERM in the middle of the build, incremental updates."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from support.corpus import NEEDLE, NEEDLE_ANSWER, NEEDLE_QUESTION, write_corpus
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
BUILD_TIMEOUT = 400.0


def start(servers: list[ServerProcess], docs: Path, data: Path, **env: str) -> ServerProcess:
    server = ServerProcess(docs, data, env)
    servers.append(server)
    server.wait_listening()
    return server


def cites_needle(body: dict[str, Any]) -> bool:
    return any(c["id"] == NEEDLE["id"] for c in body["citations"])


def test_answers_during_build_then_graph_then_warm_restart(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    write_corpus(docs, passages=1500)
    server = start(servers, docs, data)
    server.wait_until(lambda: server.status()["ready"], 60, "the keyword index")

    before = server.status()
    response = server.chat(NEEDLE_QUESTION)
    after = server.status()
    assert before["graphrag_initializing"] and after["graphrag_initializing"], after
    assert not after["graphrag_ready"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert cites_needle(body), body
    assert NEEDLE_ANSWER in body["answer"]
    assert body["answer_type"] == "extractive" and not body["graph_used"]
    assert "graph_local_search" not in after["tools"]

    server.wait_until(lambda: server.status()["graphrag_ready"], BUILD_TIMEOUT, "the graph")
    server.wait_until(lambda: not server.status()["building"], BUILD_TIMEOUT, "the whole build")
    ready = server.status()
    assert ready["graphrag_error"] is None
    assert {"keyword_search", "vector_search", "graph_local_search",
            "graph_global_search"} <= set(ready["tools"])
    assert ready["counts"]["documents"] == 1501
    assert ready["counts"]["entities"] > 0 and ready["counts"]["communities"] > 0
    assert all(t["source"] == "built" for t in ready["timings"].values()), ready["timings"]

    local = server.chat(NEEDLE_QUESTION, mode="graph_local").json()
    assert cites_needle(local) and local["graph_used"], local
    themes = server.chat("What are the main themes?").json()
    assert themes["mode"] == "graph_global" and themes["citations"], themes
    assert "graph_global_search" in themes["tools_used"]

    assert ready["startup_runs"] == 1
    assert server.log().count("startup phase 1") == 1
    assert server.stop() == 0
    assert "shutdown complete" in server.log()

    warm = start(servers, docs, data)
    warm.wait_until(lambda: warm.status()["graphrag_ready"]
                    and not warm.status()["building"], 60, "the warm restart")
    status = warm.status()
    assert {name: t["source"] for name, t in status["timings"].items()} == {
        "documents": "loaded", "vectors": "loaded", "graph": "loaded"}
    assert status["counts"] == ready["counts"]
    assert cites_needle(warm.chat(NEEDLE_QUESTION).json())
    assert warm.stop() == 0


def test_injected_graph_failure_keeps_chat_and_is_retried(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    write_corpus(docs, passages=200)
    failing = start(servers, docs, data, GRAPHREADY_FAIL_STAGE="graph")
    failing.wait_until(lambda: failing.status()["graphrag_error"] is not None, BUILD_TIMEOUT,
                       "the injected failure")
    status = failing.status()
    assert "injected failure" in status["graphrag_error"]
    assert not status["graphrag_ready"] and not status["graphrag_initializing"]
    assert status["ready"]
    response = failing.chat(NEEDLE_QUESTION)
    assert response.status_code == 200 and cites_needle(response.json())
    refused = failing.chat(NEEDLE_QUESTION, mode="graph_local")
    assert refused.status_code == 503 and "Retry-After" in refused.headers
    assert failing.stop() == 0

    retried = start(servers, docs, data)
    retried.wait_until(lambda: retried.status()["graphrag_ready"], BUILD_TIMEOUT, "the retry")
    assert retried.status()["graphrag_error"] is None
    assert retried.stop() == 0


def test_sigterm_during_build_exits_cleanly_and_next_start_completes(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    write_corpus(docs, passages=1500)
    server = start(servers, docs, data)

    def extracting() -> bool:
        progress = server.status()["progress"]
        return bool(progress) and progress["stage"].startswith(("graph", "vectors")) \
            and progress["done"] > 0

    server.wait_until(extracting, BUILD_TIMEOUT, "the build to be under way")
    assert not server.status()["graphrag_ready"]
    assert server.stop(signal.SIGTERM) == 0
    assert "shutdown complete" in server.log()

    again = start(servers, docs, data)
    status = again.status()
    assert not status["graphrag_ready"], "a half-built graph must never be loaded as ready"
    again.wait_until(lambda: again.status()["graphrag_ready"], BUILD_TIMEOUT, "the rebuild")
    final = again.status()
    assert final["counts"]["documents"] == 1501 and final["counts"]["entities"] > 0
    assert again.stop() == 0


def test_changed_files_update_exactly_what_came_from_them(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    corpus = write_corpus(docs, passages=150)
    server = start(servers, docs, data)
    # every stage done (the graph can be ready while the vectors are still being embedded)
    server.wait_until(lambda: server.status()["graphrag_ready"]
                      and not server.status()["building"], BUILD_TIMEOUT, "first build")
    first = server.status()
    assert server.stop() == 0

    rows = [json.loads(line) for line in corpus.read_text().splitlines()]
    rows = [r for r in rows if r["id"] != "bio-00003"]
    rows.append({"id": "new-observatory", "title": "Kestrel Observatory",
                 "text": "The Kestrel Observatory in Tbilisi was founded by Ilsa Vantongeren."})
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (docs / "notes.md").write_text("# Harbour notes\n\nThe harbour of Valparaiso was dredged "
                                   "by the Odalys Company.\n")

    again = start(servers, docs, data)
    again.wait_until(lambda: again.status()["graphrag_ready"] and not again.status()["building"],
                     BUILD_TIMEOUT, "the incremental build")
    stages = again.status()["stages"]
    assert stages["documents"]["counts"]["chunks_added"] == 2
    assert stages["documents"]["counts"]["chunks_removed"] == 1
    assert stages["vectors"]["counts"]["vectors_added"] == 2
    assert stages["graph"]["counts"]["chunks_extracted"] == 2
    assert again.status()["counts"]["documents"] == first["counts"]["documents"] + 1
    body = again.chat("Who founded the Kestrel Observatory?").json()
    assert any(c["id"] == "new-observatory" for c in body["citations"]), body
    assert again.stop() == 0


def test_post_build_picks_up_a_new_file_while_serving(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    write_corpus(docs, passages=40)
    server = start(servers, docs, data, GRAPHREADY_EMBEDDER="hashing")
    server.wait_until(lambda: not server.status()["building"] and server.status()["graphrag_ready"],
                      BUILD_TIMEOUT, "the first build")
    (docs / "extra").mkdir()
    (docs / "extra" / "harbour.txt").write_text(
        "Harbour of Valparaiso\nThe harbour of Valparaiso was dredged by the Odalys Company.\n")
    (docs / "extra" / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    started = server.client.post("/build").json()
    assert started["started"] is True and started["queued"] is False
    # a file written while that build runs may come after its scan: a second POST queues
    # another build, which picks it up
    (docs / "extra" / "lighthouse.txt").write_text(
        "Lighthouse of Punta Arenas\nThe lighthouse was lit by Ilse Varga in 1899.\n")
    queued = server.client.post("/build").json()
    assert queued["started"] is False and queued["queued"] is True, queued
    server.wait_until(lambda: server.status()["counts"]["documents"] == 43
                      and not server.status()["building"], BUILD_TIMEOUT, "the rebuilds")
    status = server.status()
    assert status["counts"]["documents"] == 43
    assert status["counts"]["skipped_files"] == 1
    assert status["skipped"][0]["path"] == "extra/blob.txt"
    body = server.chat("Who dredged the harbour of Valparaiso?").json()
    assert body["citations"][0]["id"] == "extra/harbour.txt", body
    with server.client.stream("POST", "/chat", json={
            "message": "Who dredged the harbour of Valparaiso?", "stream": True}) as streamed:
        lines = [line for line in streamed.iter_lines() if line.startswith("data: ")]
    assert len(lines) > 3 and json.loads(lines[-1][6:])["answer"] == body["answer"]
    assert server.stop() == 0
