"""Isolation between workspaces, property-based, against a real `graphready serve` on a real
socket, on the embedded stores and on a real FalkorDB: Hypothesis drives random operations
(documents added and deleted, builds, chats whole and streamed, `/v1` whole and streamed, graph
queries, exports, passages, status, document lists, a workspace deleted and created again) over
three workspaces (the default one at today's URLs, and two others) whose documents each hold a
marker word of their own, and every response of a workspace is checked: it never holds another
workspace's marker or document id, and its document list holds exactly the documents added to
it and not deleted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from support.falkordb_server import FalkorDBServer
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
MARKERS = {"default": "zanzibarite", "alpha": "quokkalith", "beta": "vermillionex"}
BASES = {"default": "", "alpha": "/workspaces/alpha", "beta": "/workspaces/beta"}
OPERATIONS = ("add", "delete", "build", "chat", "stream", "v1", "v1_stream", "entities",
              "export", "passage", "status", "documents", "drop_workspace")


@dataclass
class World:
    """The server, and what each workspace should hold."""

    server: ServerProcess
    api: httpx.Client
    held: dict[str, list[str]] = field(default_factory=lambda: {w: [] for w in MARKERS})
    added: int = 0


@pytest.fixture(scope="module", params=["embedded", "falkordb"])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp(f"isolation-{request.param}")
    env = {"GRAPHREADY_EMBEDDER": "hashing"}
    falkordb = None
    if request.param == "falkordb":
        falkordb = FalkorDBServer(root / "falkordb")
        falkordb.start()
        env.update(GRAPHREADY_GRAPH_URL=f"{falkordb.url}/kb",
                   GRAPHREADY_VECTOR_URL=f"{falkordb.url}/kb")
    server = ServerProcess(None, root / "data", env)
    try:
        server.wait_listening()
        api = httpx.Client(base_url=server.url, timeout=60)
        for name in ("alpha", "beta"):
            assert api.post("/workspaces", json={"name": name}).status_code == 201
        yield World(server, api)
    finally:
        server.kill()
        if falkordb is not None:
            falkordb.stop()


def text_of(workspace: str, number: int) -> dict[str, str]:
    marker = MARKERS[workspace]
    return {"id": f"{workspace}-{number}", "title": f"{marker} notes {number}",
            "text": f"The {marker} survey number {number} mapped the {marker} deposit of the "
                    f"northern hills. Its report {number} names the {marker} vein."}


def check(world: World, workspace: str, response: httpx.Response) -> None:
    """No other workspace's marker or document id in a response of ``workspace``."""
    assert response.status_code < 500 or response.json()["error"]["code"] == "not_ready", \
        response.text  # an empty workspace cannot answer yet
    body = response.text
    for other, marker in MARKERS.items():
        if other != workspace:
            assert marker not in body, (workspace, other, body[:2000])
            assert f'"{other}-' not in body and f"({other}-" not in body, (workspace, body[:2000])


def run(world: World, operation: str, workspace: str) -> None:
    api, base = world.api, BASES[workspace]
    question = {"message": f"What did the {MARKERS[workspace]} survey map?"}
    v1 = {"model": "graphready" if workspace == "default" else workspace,
          "messages": [{"role": "user", "content": question["message"]}]}
    if operation == "add":
        world.added += 1
        document = text_of(workspace, world.added)
        response = api.post(f"{base}/documents", json={"documents": [document]})
        assert response.status_code == 202, response.text
        world.held[workspace].append(document["id"])
    elif operation == "delete" and world.held[workspace]:
        doc_id = world.held[workspace].pop(0)
        response = api.delete(f"{base}/documents/{doc_id}")
        assert response.status_code == 200, response.text
    elif operation == "build":
        response = api.post(f"{base}/build")
    elif operation in ("chat", "stream"):
        response = api.post(f"{base}/chat", json={**question, "stream": operation == "stream"})
    elif operation in ("v1", "v1_stream"):
        response = api.post("/v1/chat/completions", json={**v1, "stream": operation != "v1"})
    elif operation == "entities":
        response = api.get(f"{base}/graph/entities", params={"limit": 200})
    elif operation == "export":
        response = api.get(f"{base}/graph/export")
    elif operation == "passage":
        answer = api.post(f"{base}/chat", json=question)
        check(world, workspace, answer)
        cited = answer.json().get("citations", []) if answer.status_code == 200 else []
        if not cited:
            return
        response = api.get(f"{base}/passages/{quote(cited[0]['id'], safe='')}")
    elif operation == "status":
        response = api.get(f"{base}/status")
    elif operation == "drop_workspace" and workspace != "default":
        assert api.delete(f"/workspaces/{workspace}").status_code == 200
        world.held[workspace] = []
        gone = api.get(f"{base}/documents")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_workspace"
        assert api.post("/workspaces", json={"name": workspace}).status_code == 201
        response = api.get(f"/workspaces/{workspace}")
        assert response.json()["documents"] == 0
    else:
        response = api.get(f"{base}/documents", params={"limit": 200})
    check(world, workspace, response)
    listed = api.get(f"{base}/documents", params={"limit": 200})
    check(world, workspace, listed)
    ids = sorted(d["id"] for d in listed.json()["documents"])
    assert ids == sorted(world.held[workspace]), (workspace, ids, world.held[workspace])


@settings(max_examples=4, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), st.sampled_from(sorted(MARKERS))),
                min_size=6, max_size=14))
def test_no_response_of_a_workspace_holds_another_workspaces_content(
        world: World, steps: list[tuple[str, str]]) -> None:
    for operation, workspace in steps:
        run(world, operation, workspace)
    for workspace in MARKERS:  # and once everything is built: its own count, nobody else's
        world.server.wait_until(lambda w=workspace: built(world, w), 300,
                                f"{workspace}'s build of {json.dumps(world.held[workspace])}")
        for operation in ("chat", "stream", "v1", "entities", "export", "passage", "status"):
            run(world, operation, workspace)


def built(world: World, workspace: str) -> bool:
    """Whether ``workspace`` is built, holding exactly the documents it should."""
    status = world.api.get(f"{BASES[workspace]}/status").json()
    return not status["building"] and status["counts"]["documents"] == len(
        world.held[workspace])

