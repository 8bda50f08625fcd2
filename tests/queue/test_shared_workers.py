"""A server of ``--workers 2`` in a deployment whose catalog is shared: only its builder
process (worker 0) follows the catalog's change stream, and its other process answers with
what the builder indexed. A document uploaded to another server is cited by each process of
it, the follower included, by retrieval and by its graph (the follower loads the graph the
builder's build found in the shared store); a document deleted there is never cited by
either after the DELETE returns."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.falkordb_server import FalkorDBServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
TIMEOUT_S = 180.0
"""Generous: a loaded machine."""
MILL = {"id": "mill", "title": "The Orrin Mill",
        "text": "The Orrin Mill was rebuilt by the millwright Hesper Calloway in 1788."}
QUESTION = "Who rebuilt the Orrin Mill?"


def process_client(server: ServerProcess, index: int) -> httpx.Client:
    """A client whose kept-alive connection is served by process ``index`` of ``server``."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        api = httpx.Client(base_url=server.url, timeout=30.0)
        try:
            if api.get("/status").json()["workers"]["index"] == index:
                return api
        except httpx.TransportError:
            pass
        api.close()
        time.sleep(0.05)
    raise AssertionError(f"no connection reached process {index}:\n{server.log()[-4000:]}")


def cites(api: httpx.Client, doc_id: str, mode: str = "retrieval") -> bool:
    response = api.post("/chat", json={"message": QUESTION, "mode": mode})
    if response.status_code == 503:  # not answering yet
        return False
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if mode == "graph_local" and not body["graph_used"]:  # its graph not loaded yet
        return False
    return doc_id in {c["id"] for c in body["citations"]}


def test_each_process_of_a_multi_process_server_cites_another_servers_upload(
        falkordb: FalkorDBServer, queue_url: str, tmp_path: Path) -> None:
    env = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_GRAPH_URL": f"{falkordb.url}/mw_graph",
           "GRAPHREADY_VECTOR_URL": f"{falkordb.url}/mw_vectors",
           "GRAPHREADY_CATALOG_URL": queue_url}
    a = ServerProcess(None, tmp_path / "a", env, ("--workers", "2"))
    b = ServerProcess(None, tmp_path / "b", env)
    clients: list[httpx.Client] = []
    try:
        a.wait_listening(TIMEOUT_S)
        b.wait_listening(TIMEOUT_S)
        clients = [process_client(a, 0), process_client(a, 1)]
        added = b.client.post("/documents", json={"documents": [MILL]})
        assert added.status_code == 202, added.text
        for index, api in enumerate(clients):  # its graph too: the follower loads it
            for mode in ("retrieval", "graph_local"):
                a.wait_until(lambda api=api, mode=mode: cites(api, "mill", mode), TIMEOUT_S,
                             f"process {index} of A to cite B's upload ({mode})")
            assert api.get("/status").json()["workers"]["index"] == index
        deleted = b.client.delete("/documents/mill")
        assert deleted.status_code == 200, deleted.text
        for api in clients:  # passages are read from the shared catalog by every process
            assert not cites(api, "mill")
            assert not cites(api, "mill", "graph_local")
    finally:
        for api in clients:
            api.close()
        a.stop()
        b.stop()
