"""FalkorDB stopped and restarted (with persistence) during a build, end to end: a server whose
graph and vectors are on FalkorDB and whose catalog is shared on a ``redis-server`` of its own
keeps serving while FalkorDB is down (its status, its documents, and answers: retrieval goes on
without the vector store, from the keyword index and the graph it has mapped),
and the build that was under way goes on when FalkorDB is back, with nothing asked again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.corpus import NEEDLE, NEEDLE_QUESTION
from support.falkordb_server import FalkorDBServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
TIMEOUT_S = 180.0
"""Generous: a loaded machine, and the build's retry after the store came back."""
LATER = {"id": "mill", "title": "The Orrin Mill",
         "text": "The Orrin Mill was rebuilt by the millwright Hesper Calloway in 1788."}
LATER_QUESTION = "Who rebuilt the Orrin Mill?"


def cited(server: ServerProcess, question: str) -> set[str]:
    response = server.chat(question)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return {c["id"] for c in body["citations"]}


def indexed(server: ServerProcess, doc_id: str) -> bool:
    response = server.client.get(f"/documents/{doc_id}")
    body: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return body.get("state") == "indexed"


def test_a_server_keeps_serving_while_falkordb_restarts_and_its_build_goes_on(
        tmp_path: Path) -> None:
    with FalkorDBServer(tmp_path / "falkordb", persistent=True) as store, \
            FalkorDBServer() as catalog:
        env = {"GRAPHREADY_EMBEDDER": "hashing",
               "GRAPHREADY_GRAPH_URL": f"{store.url}/rs_graph",
               "GRAPHREADY_VECTOR_URL": f"{store.url}/rs_vectors",
               "GRAPHREADY_CATALOG_URL": f"redis://{catalog.host}:{catalog.port}/0"}
        server = ServerProcess(None, tmp_path / "a", env)
        try:
            server.wait_listening(TIMEOUT_S)
            added = server.client.post("/documents", json={"documents": [NEEDLE]})
            assert added.status_code == 202, added.text
            server.wait_until(lambda: indexed(server, NEEDLE["id"]), TIMEOUT_S,
                              "the first document in every index")

            added = server.client.post("/documents", json={"documents": [LATER]})
            assert added.status_code == 202, added.text
            store.stop()  # saves what it holds, as a persistent server does on SIGTERM
            assert server.client.get("/status").status_code == 200
            listed = server.client.get("/documents")
            assert listed.status_code == 200, listed.text
            assert {NEEDLE["id"], LATER["id"]} <= {d["id"] for d in listed.json()["documents"]}
            # answered without the vector store: the keyword index and the mapped graph
            assert NEEDLE["id"] in cited(server, NEEDLE_QUESTION)

            store.start()
            server.wait_until(lambda: indexed(server, LATER["id"]), TIMEOUT_S,
                              "the build to go on once FalkorDB is back")
            assert LATER["id"] in cited(server, LATER_QUESTION)
            assert NEEDLE["id"] in cited(server, NEEDLE_QUESTION)
            assert server.status()["graphrag_ready"]
        finally:
            server.stop()
