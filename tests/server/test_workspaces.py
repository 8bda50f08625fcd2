"""Workspaces over HTTP with the real app: the resource (create, list, get, delete, names),
the default workspace at today's URLs, unknown workspaces (404 on every route form, never
created), and isolation: documents uploaded to one workspace are cited there and never in
another, a delete leaves the others' content unchanged, a workspace unloaded and loaded again
(idle, over the memory budget, or a restarted server) answers the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from graphready.config import Settings, load_settings
from graphready.server.app import create_app
from graphready.server.workspace_list import (
    check_name,
    neo4j_namespace,
    scoped_url,
    workspace_settings,
)
from graphready.stores.digest import content_digest
from graphready.stores.registry import open_stores
from support.api import assert_error
from support.corpus import write_corpus

pytestmark = pytest.mark.anyio
MARKERS = {"alpha": "zanzibarite", "beta": "quokkalith", "gamma": "vermillionex"}
"""A word only each workspace's documents hold."""


def document(workspace: str) -> dict[str, str]:
    marker = MARKERS[workspace]
    return {"id": f"{workspace}-notes", "title": f"Notes of {workspace}",
            "text": f"The {marker} deposit was found by the {workspace} survey team in 1901. "
                    f"Geologists describe {marker} as a rare green mineral of the northern "
                    f"hills.\n\nThe {workspace} survey team mapped the {marker} deposit again "
                    "in 1932 and published a report."}


@asynccontextmanager
async def serving(settings: Settings, build: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in-process, lifespan run."""
    app = create_app(settings, build=build)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost",
                                     timeout=120) as client:
            yield client


async def settled(client: httpx.AsyncClient, base: str, documents: int,
                  limit_s: float = 240) -> dict[str, Any]:
    """``base``'s status once it holds ``documents`` documents, its build done and its graph
    loaded (polled: a test never asserts on time, it only stops waiting at ``limit_s``)."""
    status: dict[str, Any] = {}
    for _ in range(int(limit_s / 0.25)):
        status = (await client.get(f"{base}/status")).json()
        if status["counts"]["documents"] == documents and not status["building"] \
                and status["graphrag_ready"] and status["retrieval"]["vector_ready"]:
            return status
        await asyncio.sleep(0.25)
    raise AssertionError(f"{base} did not settle: {status}")


def settings_for(root: Path, **overrides: Any) -> Settings:
    return load_settings({}, data_dir=root / "data", embedder="hashing", **overrides)


async def chat(client: httpx.AsyncClient, base: str, message: str) -> dict[str, Any]:
    response = await client.post(f"{base}/chat", json={"message": message})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cited_ids(answer: dict[str, Any]) -> set[str]:
    return {c["id"].split("#")[0] for c in answer["citations"]}


# -- names and the resource ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "Upper", "-lead", "_lead", "a b", "a.b", "ü", "a/b",
                                  "x" * 64])
def test_names_breaking_the_rule_are_refused(name: str) -> None:
    with pytest.raises(Exception, match="workspace name") as caught:
        check_name(name)
    assert getattr(caught.value, "code", None) == "invalid_workspace"


def test_each_workspace_has_its_own_server_names() -> None:
    assert scoped_url("falkordb://:pw@db:6379/kb", "team-a", "X") == \
        "falkordb://:pw@db:6379/kb.ws.team-a"
    assert scoped_url(None, "team-a", "X") is None
    names = {neo4j_namespace(n) for n in ("a-b", "a_b", "a_0b", "a__b", "x" * 63, "y" * 63)}
    assert len(names) == 6 and all(len(n) <= 40 for n in names)
    assert scoped_url("neo4j://u:p@db:7687/neo4j", "a-b", "X") == \
        "neo4j://u:p@db:7687/neo4j?namespace=ws_a_0b"


async def test_create_list_get_delete(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    async with serving(settings_for(tmp_path, workspace_folders=tmp_path),
                       build=False) as client:
        listed = (await client.get("/workspaces")).json()["workspaces"]
        assert [w["name"] for w in listed] == ["default"]
        created = await client.post("/workspaces", json={"name": "alpha"})
        assert created.status_code == 201, created.text
        assert created.json() == {"name": "alpha", "folder": None, "documents": 0, "chunks": 0,
                                  "loaded": True, "ready": False}
        watched = await client.post("/workspaces", json={"name": "beta", "folder": str(folder)})
        assert watched.json()["folder"] == str(folder.resolve())
        assert_error(await client.post("/workspaces", json={"name": "alpha"}), 409,
                     "workspace_exists", "alpha")
        assert_error(await client.post("/workspaces", json={"name": "default"}), 409,
                     "workspace_reserved")
        assert_error(await client.post("/workspaces", json={"name": "Bad Name"}), 400,
                     "invalid_workspace", "lowercase")
        assert_error(await client.post("/workspaces", json={"name": "gamma",
                                                            "folder": "relative/path"}),
                     422, "invalid_request", "folder")
        for outside in ("/", str(tmp_path / "missing"), str(tmp_path.parent)):
            assert_error(await client.post("/workspaces", json={"name": "gamma",
                                                                "folder": outside}),
                         403, "forbidden", "folder", "WORKSPACE_FOLDERS")
        assert_error(await client.post("/workspaces", json={}), 422, "invalid_request", "name")
        listed = (await client.get("/workspaces")).json()["workspaces"]
        assert [w["name"] for w in listed] == ["default", "alpha", "beta"]
        assert (await client.get("/workspaces/beta")).json()["name"] == "beta"
        assert (tmp_path / "data" / "workspaces" / "alpha" / "index").is_dir()
        assert (await client.delete("/workspaces/alpha")).json() == {"deleted": "alpha"}
        assert not (tmp_path / "data" / "workspaces" / "alpha").exists()
        assert_error(await client.get("/workspaces/alpha"), 404, "unknown_workspace",
                     "no workspace 'alpha'")
        assert_error(await client.delete("/workspaces/alpha"), 404, "unknown_workspace")
        assert_error(await client.delete("/workspaces/default"), 409, "workspace_reserved")
        listed = (await client.get("/workspaces")).json()["workspaces"]
        assert [w["name"] for w in listed] == ["default", "beta"]


UNKNOWN_ROUTES = [("GET", "/status"), ("POST", "/chat"), ("POST", "/build"),
                  ("GET", "/documents"), ("POST", "/documents"), ("GET", "/documents/x"),
                  ("DELETE", "/documents/x"), ("GET", "/graph/entities"),
                  ("GET", "/graph/entities/e1"), ("GET", "/graph/subgraph"),
                  ("GET", "/graph/communities"), ("GET", "/graph/communities/c1"),
                  ("GET", "/graph/export"), ("GET", "/passages/p1"), ("GET", ""),
                  ("DELETE", ""), ("GET", "/health"), ("GET", "/v1/models")]


async def test_an_unknown_workspace_is_404_on_every_route_and_never_created(
        tmp_path: Path) -> None:
    async with serving(settings_for(tmp_path), build=False) as client:
        for method, path in UNKNOWN_ROUTES:
            response = await client.request(method, f"/workspaces/nowhere{path}",
                                            json={"message": "hi"} if method == "POST" else None)
            assert_error(response, 404, "unknown_workspace", "no workspace 'nowhere'")
        shell = await client.get("/workspaces/nowhere/")  # open, and the same for every name
        assert shell.status_code == 200 and shell.text == (await client.get("/")).text
        completion = await client.post("/v1/chat/completions", json={
            "model": "nowhere:graph_local", "messages": [{"role": "user", "content": "hi"}]})
        assert_error(completion, 404, "unknown_workspace", "no workspace 'nowhere'")
        listed = (await client.get("/workspaces")).json()["workspaces"]
        assert [w["name"] for w in listed] == ["default"]
    assert not (tmp_path / "data" / "workspaces" / "nowhere").exists()


# -- isolation -------------------------------------------------------------------------------


async def test_documents_of_a_workspace_are_cited_there_and_nowhere_else(
        tmp_path: Path, backend: dict[str, str]) -> None:
    settings = settings_for(tmp_path, **backend)
    async with serving(settings) as client:
        for name in ("alpha", "beta"):
            assert (await client.post("/workspaces", json={"name": name})).status_code == 201
            added = await client.post(f"/workspaces/{name}/documents",
                                      json={"documents": [document(name)]})
            assert added.status_code == 202, added.text
        await client.post("/documents", json={"documents": [document("gamma")]})
        for base in ("/workspaces/alpha", "/workspaces/beta", ""):
            await settled(client, base, 1)
        for name, base in (("alpha", "/workspaces/alpha"), ("beta", "/workspaces/beta"),
                           ("gamma", ""), ("gamma", "/workspaces/default")):
            own = await chat(client, base, f"Who found the {MARKERS[name]} deposit?")
            assert cited_ids(own) == {f"{name}-notes"}, own
            for other, marker in MARKERS.items():
                if other == name:
                    continue
                question = f"Who found the {marker} deposit?"
                answer = await chat(client, base, question)
                assert f"{other}-notes" not in cited_ids(answer)
                assert marker not in str(answer).replace(question, "")  # the query echoed
                assert marker not in (await client.get(f"{base}/documents")).text
        listed = (await client.get("/workspaces")).json()["workspaces"]
        assert {w["name"]: (w["documents"], w["ready"]) for w in listed} == {
            "default": (1, True), "alpha": (1, True), "beta": (1, True)}
        models = (await client.get("/v1/models")).json()["data"]
        assert {"alpha", "beta", "default", "graphready"} <= {m["id"] for m in models}
        for model, name in (("alpha", "alpha"), ("beta:graph_local", "beta"),
                            ("graphready", "gamma"), ("retrieval", "gamma")):
            completion = await client.post("/v1/chat/completions", json={
                "model": model,
                "messages": [{"role": "user", "content": f"Who found the {MARKERS[name]}?"}]})
            assert completion.status_code == 200, completion.text
            assert {c["id"].split("#")[0] for c in completion.json()["citations"]} == {
                f"{name}-notes"}
            assert not any(m in completion.text for o, m in MARKERS.items() if o != name)
            unknown = await client.post("/v1/chat/completions", json={
                "model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]})
            assert_error(unknown, 404, "unknown_workspace", "gpt-4")
        beta = content_digest(settings_of(settings, "beta"))
        default = content_digest(settings)
        assert (await client.delete("/workspaces/alpha")).status_code == 200
        assert content_digest(settings_of(settings, "beta")) == beta
        assert content_digest(settings) == default
        assert not (tmp_path / "data" / "workspaces" / "alpha").exists()
        stores = open_stores(settings_of(settings, "alpha"))  # its server graph: emptied
        try:
            assert not stores.vectors.ids() and not stores.graph.ids()
        finally:
            stores.close()
        assert cited_ids(await chat(client, "/workspaces/beta",
                                    f"Who found the {MARKERS['beta']}?")) == {"beta-notes"}
        assert_error(await client.post("/workspaces/alpha/chat", json={"message": "hi"}), 404,
                     "unknown_workspace")


def settings_of(settings: Settings, name: str) -> Settings:
    return workspace_settings(settings, name, None)


async def test_a_workspace_unloaded_and_loaded_again_answers_the_same(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, workspace_idle_s=1)
    question = f"Who found the {MARKERS['alpha']} deposit?"
    async with serving(settings) as client:
        await client.post("/workspaces", json={"name": "alpha"})
        await client.post("/workspaces/alpha/documents", json={"documents": [document("alpha")]})
        await settled(client, "/workspaces/alpha", 1)
        first = await chat(client, "/workspaces/alpha", question)
        for _ in range(240):  # idle for a second: unloaded by the sweep
            if not (await client.get("/workspaces/alpha")).json()["loaded"]:
                break
            await asyncio.sleep(0.25)
        described = (await client.get("/workspaces/alpha")).json()
        assert described == {"name": "alpha", "folder": None, "documents": 1,
                             "chunks": described["chunks"], "loaded": False, "ready": True}
        again = await chat(client, "/workspaces/alpha", question)
        assert again["answer"] == first["answer"] and again["citations"] == first["citations"]
    async with serving(settings) as client:  # a restarted server
        assert [w["name"] for w in (await client.get("/workspaces")).json()["workspaces"]] == [
            "default", "alpha"]
        await settled(client, "/workspaces/alpha", 1)
        restarted = await chat(client, "/workspaces/alpha", question)
        assert restarted["answer"] == first["answer"]


async def test_over_the_memory_budget_the_least_recently_used_is_unloaded(
        tmp_path: Path) -> None:
    async with serving(settings_for(tmp_path, workspace_memory_mb=1), build=False) as client:
        assert_error(await client.post("/workspaces", json={"name": "alpha",
                                                            "folder": str(tmp_path)}),
                     403, "forbidden", "WORKSPACE_FOLDERS")  # no folders unless allowed
        for name in ("alpha", "beta"):
            assert (await client.post("/workspaces", json={"name": name})).status_code == 201
        loaded = {w["name"]: w["loaded"] for w in
                  (await client.get("/workspaces")).json()["workspaces"]}
        assert loaded == {"default": True, "alpha": False, "beta": True}
        assert (await client.get("/workspaces/alpha/status")).status_code == 200
        loaded = {w["name"]: w["loaded"] for w in
                  (await client.get("/workspaces")).json()["workspaces"]}
        assert loaded == {"default": True, "alpha": True, "beta": False}


async def test_a_small_workspaces_change_goes_before_a_large_cold_build(
        tmp_path: Path) -> None:
    large = tmp_path / "large"
    write_corpus(large, passages=3000)
    async with serving(settings_for(tmp_path, workspace_folders=tmp_path)) as client:
        created = await client.post("/workspaces", json={"name": "large", "folder": str(large)})
        assert created.status_code == 201, created.text

        async def large_status() -> dict[str, Any]:
            status: dict[str, Any] = (await client.get("/workspaces/large/status")).json()
            return status

        for _ in range(2400):  # until its graph stage runs (a cold build of 3,000 passages)
            status = await large_status()
            if status["stages"]["graph"]["state"] == "running":
                break
            await asyncio.sleep(0.25)
        assert status["stages"]["graph"]["state"] == "running", status
        await client.post("/workspaces", json={"name": "small"})
        await client.post("/workspaces/small/documents", json={"documents": [document("alpha")]})
        await settled(client, "/workspaces/small", 1)
        assert cited_ids(await chat(client, "/workspaces/small",
                                    f"Who found the {MARKERS['alpha']}?")) == {"alpha-notes"}
        status = await large_status()  # the large build was paused, not ended, meanwhile
        assert status["building"] and status["stages"]["graph"]["state"] == "running", status


async def test_a_workspace_deleted_while_it_builds_stops_its_build_first(
        tmp_path: Path) -> None:
    async with serving(settings_for(tmp_path)) as client:
        for _ in range(2400):  # the default workspace's first build, over first
            status = (await client.get("/status")).json()
            if not status["building"] and status["stages"]["graph"]["state"] == "done":
                break
            await asyncio.sleep(0.1)
        await client.post("/workspaces", json={"name": "alpha"})
        await client.post("/workspaces/alpha/documents", json={"documents": [document("alpha")]})
        for _ in range(100):
            if (await client.get("/workspaces/alpha/status")).json()["building"]:
                break
            await asyncio.sleep(0.05)
        assert (await client.get("/workspaces/alpha/status")).json()["building"]
        assert (await client.delete("/workspaces/alpha")).json() == {"deleted": "alpha"}
        workers = [p for p in psutil.Process().children(recursive=True)
                   if "graphready.indexing.worker" in " ".join(p.cmdline())]
        assert workers == []
        assert not (tmp_path / "data" / "workspaces" / "alpha").exists()
        assert_error(await client.get("/workspaces/alpha/status"), 404, "unknown_workspace")
