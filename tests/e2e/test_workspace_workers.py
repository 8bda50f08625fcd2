"""Workspaces on ``graphready serve --workers 2`` over a real socket: a workspace created
through one process is known to the other; documents added to it through a follower are built
by the builder (which loads the workspace when the follower's request appears) and cited by
both processes, and never by the default workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.server import ServerProcess

pytestmark = pytest.mark.e2e
ENV = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_CHAT_RATE_PER_MINUTE": "0"}
BUILD_TIMEOUT = 300.0
MARKER = "zanzibarite"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(None, tmp_path / "data", ENV, ("--workers", "2"))
    try:
        process.wait_listening()
        yield process
    finally:
        process.kill()


def client_of(server: ServerProcess, index: int) -> httpx.Client:
    """A client whose kept-alive connection is served by process ``index``."""
    for _ in range(200):
        api = httpx.Client(base_url=server.url, timeout=30.0)
        if api.get("/status").json()["workers"]["index"] == index:
            return api
        api.close()
    raise AssertionError(f"no connection reached process {index}")


def cited(api: httpx.Client, base: str) -> set[str]:
    """The documents an answer of ``base`` cites (none while it cannot answer yet)."""
    response = api.post(f"{base}/chat", json={"message": f"Who found the {MARKER} deposit?"})
    if response.status_code == 503 and response.json()["error"]["code"] == "not_ready":
        return set()
    assert response.status_code == 200, response.text
    return {c["id"].split("#")[0] for c in response.json()["citations"]}


def test_a_followers_workspace_is_built_by_the_builder(server: ServerProcess) -> None:
    builder, follower = client_of(server, 0), client_of(server, 1)
    created = follower.post("/workspaces", json={"name": "alpha"})
    assert created.status_code == 201, created.text
    assert [w["name"] for w in builder.get("/workspaces").json()["workspaces"]] == [
        "default", "alpha"]
    added = follower.post("/workspaces/alpha/documents", json={"documents": [{
        "id": "ore", "title": "Survey notes",
        "text": f"The {MARKER} deposit was found by the survey team in 1901. Geologists "
                f"describe {MARKER} as a rare green mineral of the northern hills."}]})
    assert added.status_code == 202, added.text

    def cited_everywhere() -> bool:
        return all(cited(api, "/workspaces/alpha") == {"ore"} for api in (builder, follower))

    server.wait_until(cited_everywhere, BUILD_TIMEOUT, "the workspace's document cited")
    assert "ore" not in cited(follower, "") | cited(builder, "")
    assert "[worker 0] graphready.server INFO workspace alpha loaded" in server.log()
