"""Servers that keep no state of their own, end to end: two ``graphready serve`` processes with
their own empty data dirs and no folder, sharing one FalkorDB (graph, vectors, and the catalog
with ``GRAPHREADY_CATALOG_URL``): a document uploaded to one is cited by the other, a document
deleted on one is never cited by the other after the DELETE returns, and a third server started
later with an empty data dir answers the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.corpus import NEEDLE, NEEDLE_QUESTION
from support.falkordb_server import FalkorDBServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
TIMEOUT_S = 120.0
"""Generous: how long a change may take to reach another server on a loaded machine."""
LIGHTHOUSE = {"id": "lighthouse", "title": NEEDLE["title"], "text": NEEDLE["text"]}
HARBOUR = {"id": "harbour", "title": "The Quillon Harbour",
           "text": "The Quillon Harbour was dredged by the engineer Tobias Venkman in 1901. "
                   "Its breakwater shelters forty fishing boats."}
HARBOUR_QUESTION = "Who dredged the Quillon Harbour?"


def env_of(falkordb: FalkorDBServer, queue_url: str) -> dict[str, str]:
    return {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_GRAPH_URL": f"{falkordb.url}/sh_graph",
            "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/sh_vectors",
            "GRAPHREADY_CATALOG_URL": queue_url}


def cited(server: ServerProcess, question: str, waiting: bool = False) -> set[str]:
    """The documents the answer cites (while ``waiting``, none until the server can answer)."""
    response = server.chat(question)
    if waiting and response.status_code == 503:
        return set()
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return {c["id"] for c in body["citations"]}


def test_servers_with_empty_data_dirs_share_uploads_and_deletions(
        falkordb: FalkorDBServer, queue_url: str, tmp_path: Path) -> None:
    env = env_of(falkordb, queue_url)
    a = ServerProcess(None, tmp_path / "a", env)
    b = ServerProcess(None, tmp_path / "b", env)
    servers = [a, b]
    try:
        a.wait_listening(60.0)
        b.wait_listening(60.0)
        added = a.client.post("/documents", json={"documents": [LIGHTHOUSE, HARBOUR]})
        assert added.status_code == 202, added.text
        b.wait_until(lambda: "lighthouse" in cited(b, NEEDLE_QUESTION, True), TIMEOUT_S,
                     "server B to cite the document uploaded to A")
        listed = {d["id"] for d in b.client.get("/documents").json()["documents"]}
        assert {"lighthouse", "harbour"} <= listed
        for data in (tmp_path / "a", tmp_path / "b"):  # only caches: no catalog, no upload
            assert not any((data / "uploads").iterdir())
            assert not list(data.rglob("catalog.db*"))
        a.wait_until(lambda: "lighthouse" in cited(a, NEEDLE_QUESTION, True), TIMEOUT_S,
                     "server A to cite it too")

        deleted = b.client.delete("/documents/lighthouse")
        assert deleted.status_code == 200, deleted.text
        for _ in range(5):  # A's keyword cache may still hold it: A reads passages shared
            assert "lighthouse" not in cited(a, NEEDLE_QUESTION)
        assert "lighthouse" not in {d["id"] for d in a.client.get("/documents").json()
                                    ["documents"]}

        c = ServerProcess(None, tmp_path / "c", env)
        servers.append(c)
        c.wait_listening(60.0)
        c.wait_until(lambda: "harbour" in cited(c, HARBOUR_QUESTION, True), TIMEOUT_S,
                     "a server started later with an empty data dir to answer")
        assert "lighthouse" not in cited(c, NEEDLE_QUESTION)
        assert cited(c, HARBOUR_QUESTION) == cited(a, HARBOUR_QUESTION)
        c.wait_until(lambda: bool(c.status()["graphrag_ready"]), TIMEOUT_S,
                     "the later server to load the graph the shared graph store holds")
        assert c.status()["counts"]["documents"] == a.status()["counts"]["documents"] == 1
    finally:
        for server in servers:
            server.stop()


def test_a_catalog_server_that_does_not_answer_stops_start_up_naming_the_setting(
        falkordb: FalkorDBServer, tmp_path: Path) -> None:
    env = env_of(falkordb, "redis://127.0.0.1:1/0")
    server = ServerProcess(None, tmp_path / "data", env)
    try:
        code = server.proc.wait(60)
    finally:
        server.kill()
    assert code != 0
    assert "GRAPHREADY_CATALOG_URL" in server.log()
