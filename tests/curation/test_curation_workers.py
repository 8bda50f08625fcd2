"""End to end over a real socket with ``graphready serve --workers 2``: an edit made through
a follower is built by the builder, and every process then answers with the curated graph
(the follower reloads a graph whose catalog fingerprint did not change: the edits applied are
part of what it watches); undone through the builder, every process drops it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.test_workers import BUILD_TIMEOUT, client_of, start, status_of_each
from support.server import ServerProcess

pytestmark = pytest.mark.e2e


def _first(api: httpx.Client, q: str) -> dict[str, Any]:
    found = api.get("/graph/entities", params={"q": q})
    assert found.status_code == 200, found.text
    entities: list[dict[str, Any]] = found.json()["entities"]
    assert entities, q
    return entities[0]


def _on_each(server: ServerProcess, check: Callable[[httpx.Client], bool]) -> bool:
    """Whether ``check`` holds on each process: asked on a connection that process serves
    (asked again when the connection moved to another process meanwhile)."""
    for index in (0, 1):
        api = client_of(server, index)
        try:
            held = check(api)
            if api.get("/status").json()["workers"]["index"] != index or not held:
                return False
        finally:
            api.close()
    return True


def test_an_edit_through_a_follower_reaches_every_process(tmp_path: Path) -> None:
    servers: list[ServerProcess] = []
    try:
        server = start(servers, tmp_path, passages=30)
        server.wait_until(lambda: all(not s["building"] and s["graphrag_ready"]
                                      for s in status_of_each(server).values()),
                          BUILD_TIMEOUT, "the first build")
        builder, follower = client_of(server, 0), client_of(server, 1)
        person, place = _first(follower, "Marisol Quenby"), _first(follower, "Brittany")
        made = follower.post("/graph/edits", json={"op": "merge", "sources": [person["id"]],
                                                   "target": place["id"]})
        assert made.status_code == 202, made.text

        server.wait_until(lambda: _on_each(server, lambda api: _first(
            api, "Marisol Quenby")["id"] == place["id"]), BUILD_TIMEOUT,
            "the merge on every process")
        edits = follower.get("/graph/edits").json()["edits"]
        assert [e["status"] for e in edits] == ["applied"]
        assert _first(follower, "Brittany")["aliases"] == ["Marisol Quenby"]
        undone = builder.delete(f"/graph/edits/{made.json()['id']}")
        assert undone.status_code == 200, undone.text

        server.wait_until(lambda: _on_each(server, lambda api: api.get(
            f"/graph/entities/{person['id']}").status_code == 200), BUILD_TIMEOUT,
            "the undo on every process")
        assert not _first(follower, "Brittany")["curated"]
        assert server.log().count("build stage graph done") >= 3  # the first, the edit, the undo
        builder.close()
        follower.close()
    finally:
        for server in servers:
            server.kill()
