"""End to end with the knowledge graph on a real FalkorDB server (started by the test): the
server down at start, the server killed in the middle of a build, and two replicas sharing the
server for the graph and the vectors."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.falkordb_server import FalkorDBServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
TIMEOUT = 300.0


@pytest.fixture
def falkordb(tmp_path: Path) -> Iterator[FalkorDBServer]:
    server = FalkorDBServer(tmp_path / "falkordb")
    yield server
    server.close()


def start(started: list[ServerProcess], tmp_path: Path, url: str,
          passages: int) -> ServerProcess:
    docs = tmp_path / "docs"
    write_corpus(docs, passages=passages)
    server = ServerProcess(docs, tmp_path / "data", {"GRAPHREADY_GRAPH_URL": url,
                                                     "GRAPHREADY_EMBEDDER": "hashing"})
    started.append(server)
    server.wait_listening()
    return server


def test_graph_server_down_at_start_then_up(
    tmp_path: Path, falkordb: FalkorDBServer, servers: list[ServerProcess]
) -> None:
    server = start(servers, tmp_path, f"{falkordb.url}/docs", passages=60)
    server.wait_until(lambda: server.status()["graphrag_error"] is not None, TIMEOUT,
                      "the graph stage to fail on the missing server")
    status = server.status()
    store = status["graph_store"]
    assert store["available"] is False and str(falkordb.port) in store["error"]
    assert "GRAPHREADY_GRAPH_URL" in store["error"]
    assert store["where"] == f"{falkordb.url}/docs"
    assert not status["graphrag_ready"] and status["ready"]
    answer = server.chat(NEEDLE_QUESTION).json()
    assert answer["citations"][0]["id"] == NEEDLE["id"]

    falkordb.start()
    server.wait_until(lambda: server.status()["graphrag_ready"], TIMEOUT,
                      "the graph to be built once the server is up")
    status = server.status()
    assert status["graph_store"]["available"] is True and status["graphrag_error"] is None
    assert status["counts"]["entities"] > 0
    local = server.chat(NEEDLE_QUESTION, mode="graph_local").json()
    assert local["graph_used"] and local["citations"][0]["id"] == NEEDLE["id"]
    assert server.stop(signal.SIGTERM) == 0


def test_graph_server_killed_mid_build_is_retried_and_never_half_ready(
    tmp_path: Path, falkordb: FalkorDBServer, servers: list[ServerProcess]
) -> None:
    falkordb.start()
    server = start(servers, tmp_path, f"{falkordb.url}/docs", passages=1200)

    def extracting() -> bool:
        progress = server.status()["progress"]
        return bool(progress) and progress["stage"] == "graph.extract" and progress["done"] > 0

    server.wait_until(extracting, TIMEOUT, "the graph build to be under way")
    falkordb.stop()
    server.wait_until(lambda: server.status()["graphrag_error"] is not None, TIMEOUT,
                      "the graph stage to fail")
    server.wait_until(lambda: server.status()["graph_store"]["available"] is False, TIMEOUT,
                      "the graph store to be reported unavailable")
    status = server.status()
    assert not status["graphrag_ready"], "a half-built graph must never be reported ready"
    assert server.chat(NEEDLE_QUESTION).status_code == 200

    falkordb.start()
    server.wait_until(lambda: server.status()["graphrag_ready"], TIMEOUT, "the retried build")
    final = server.status()
    assert final["graphrag_error"] is None and final["counts"]["documents"] == 1201
    assert final["counts"]["entities"] > 0
    assert server.stop(signal.SIGTERM) == 0


def test_two_replicas_on_one_server_build_the_graph_and_vectors_once(
    tmp_path: Path, falkordb: FalkorDBServer, servers: list[ServerProcess]
) -> None:
    falkordb.start()
    docs = tmp_path / "docs"
    write_corpus(docs, passages=800)
    env = {"GRAPHREADY_GRAPH_URL": f"{falkordb.url}/shared",
           "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/shared", "GRAPHREADY_EMBEDDER": "hashing"}
    replicas = [ServerProcess(docs, tmp_path / name / "data", env) for name in ("a", "b")]
    servers.extend(replicas)
    for replica in replicas:
        replica.wait_listening()
    for replica in replicas:
        replica.wait_until(lambda r=replica: r.status()["graphrag_ready"]
                           and not r.status()["building"], TIMEOUT, "both replicas ready")
    first, second = (r.status() for r in replicas)
    assert first["counts"] == second["counts"] and first["counts"]["entities"] > 0
    sources = sorted(r.status()["timings"]["graph"]["source"] for r in replicas)
    assert sources == ["built", "loaded"], sources
    waited = next(r for r in replicas if r.status()["timings"]["graph"]["source"] == "loaded")
    assert waited.status()["stages"]["graph"]["counts"] == {"built_by_another_process": 1}

    # The vectors were embedded once, by one replica, into the shared store: the other found
    # them there (waiting for the builder if it came while the builder held the lease).
    vectors = sorted(((r.status()["timings"]["vectors"]["source"],
                       r.status()["stages"]["vectors"]["counts"]) for r in replicas),
                     key=lambda pair: pair[0])
    assert [source for source, _ in vectors] == ["built", "loaded"], vectors
    assert vectors[0][1] == {"vectors_added": first["counts"]["chunks"]}
    assert vectors[1][1] in ({}, {"built_by_another_process": 1})
    for replica in replicas:
        status = replica.status()
        assert status["retrieval"]["vector_ready"] and status["vector_store"]["where"]
        answer = replica.chat(NEEDLE_QUESTION, mode="retrieval").json()
        assert "vector_search" in answer["tools_used"]
        assert answer["citations"][0]["id"] == NEEDLE["id"]
        assert replica.chat(NEEDLE_QUESTION, mode="graph_local").json()["graph_used"]
        assert replica.stop() == 0
