"""Graph curation over HTTP (``server/curation_api.py``) with the real app in-process, building
with the real build workers: every route, edits pending until the graph stage has run, then
applied or stale; a merged name found by search with the target's aliases; curated marks in the
entity, the subgraph and the export; undo (twice: 409); bad bodies in the one error shape; a
read-only key refused; the workspace paths."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from graphready.commands import run_index
from graphready.config import Settings, load_settings
from graphready.server.app import create_app
from support.api import assert_error
from support.corpus import write_corpus

pytestmark = pytest.mark.anyio

CURATOR, READER, ADMIN = "curator-key-000000000", "reader-key-1111111111", "admin-key-22222222"
KEYS = f"curator {CURATOR} write *\nreader {READER} read *\nadmin {ADMIN} admin *\n"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("curation")
    write_corpus(root / "docs", passages=12)
    (root / "keys").write_text(KEYS, "utf-8")
    (root / "keys").chmod(0o600)
    assert run_index(_settings(root, root / "data")) == 0
    return root


def _settings(root: Path, data: Path) -> Settings:
    return load_settings({"GRAPHREADY_KEYS_FILE": str(root / "keys")}, data_dir=data,
                         docs_dir=root / "docs", embedder="hashing")


async def _app(built: Path, tmp_path: Path,
               build: bool) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    shutil.copytree(built / "data", tmp_path / "data")
    app = create_app(_settings(built, tmp_path / "data"), build=build)
    async with app.router.lifespan_context(app):
        await app.state.graphready.wait_loaded()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost",
                                     headers=_auth(CURATOR)) as client:
            yield app, client


@pytest.fixture
async def served(built: Path, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on a copy of the built data dir, building (an edit schedules the graph stage)."""
    async for pair in _app(built, tmp_path, build=True):
        yield pair


@pytest.fixture
async def reading(built: Path,
                  tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The same, not building (for requests that the graph stage need not follow)."""
    async for pair in _app(built, tmp_path, build=False):
        yield pair


async def _built(app: FastAPI) -> None:
    """Wait for the build the last edit scheduled (and any queued after it)."""
    await app.state.graphready.wait_loaded()


async def _entity(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    found = (await client.get("/graph/entities", params={"q": name})).json()["entities"]
    assert found and found[0]["name"] == name, found
    entity: dict[str, Any] = found[0]
    return entity


async def _edits(client: httpx.AsyncClient, path: str = "/graph/edits") -> list[dict[str, Any]]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    edits: list[dict[str, Any]] = response.json()["edits"]
    return edits


async def test_a_merge_and_a_rename_apply_are_found_marked_and_undone(
        served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = served
    person, place = (await _entity(client, "Marisol Quenby")), (await _entity(client, "Brittany"))
    merge = await client.post("/graph/edits", json={"op": "merge", "sources": [person["id"]],
                                                    "target": place["id"]})
    assert merge.status_code == 202, merge.text
    made = merge.json()
    assert made["status"] == "pending" and made["by"] == "curator"
    assert made["id"].startswith("edit_") and made["undone_at"] is None
    assert made["sources"] == [person["id"]] and made["target"] == place["id"]
    assert made["created_at"].endswith("Z") and "name" not in made
    assert made["names"] == {person["id"]: "Marisol Quenby", place["id"]: "Brittany"}
    light = await _entity(client, "Zephyr Lighthouse")
    rename = await client.post("/graph/edits", json={"op": "rename", "entity": light["id"],
                                                     "name": "Phare Zephyr"})
    assert rename.status_code == 202, rename.text
    await _built(app)
    edits = await _edits(client)
    assert [(e["id"], e["status"], e["problem"]) for e in edits] == [
        (made["id"], "applied", None), (rename.json()["id"], "applied", None)]
    found = (await client.get("/graph/entities", params={"q": "Marisol Quenby"})).json()
    assert found["entities"][0]["id"] == place["id"], found
    assert found["entities"][0]["aliases"] == ["Marisol Quenby"]
    assert found["entities"][0]["curated"] is True
    detail = (await client.get(f"/graph/entities/{place['id']}")).json()
    assert detail["curated"] is True and "Marisol Quenby" in detail["aliases"]
    moved = {r["other"]["id"]: r for r in detail["relations"]}
    assert moved[light["id"]]["curated"] is True  # the person's relation moved to the place
    assert (await client.get(f"/graph/entities/{person['id']}")).status_code == 404
    renamed = await _entity(client, "Phare Zephyr")
    assert renamed["id"] == light["id"] and renamed["aliases"] == ["Zephyr Lighthouse"]
    drawn = (await client.get("/graph/subgraph", params={"entity": place["id"]})).json()
    assert any(e["curated"] for e in drawn["edges"])
    export = (await client.get("/graph/export", params={"format": "json"})).json()
    assert {n["id"] for n in export["nodes"] if n["curated"]} == {place["id"], light["id"]}
    assert any(e["curated"] for e in export["edges"])
    graphml = (await client.get("/graph/export", params={"format": "graphml"})).text
    assert 'attr.name="curated"' in graphml and "<data key=\"n_curated\">true</data>" in graphml
    undone = await client.delete(f"/graph/edits/{made['id']}")
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "undone" and undone.json()["undone_by"] == "curator"
    again = await client.delete(f"/graph/edits/{made['id']}")
    assert_error(again, 409, "conflict", "undone already")
    await _built(app)
    back = await client.get(f"/graph/entities/{person['id']}")
    assert back.status_code == 200 and back.json()["curated"] is False
    statuses = [e["status"] for e in await _edits(client)]
    assert statuses == ["undone", "applied"]


async def test_an_edit_whose_entity_is_gone_is_stale_with_the_entity_named(
        served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = served
    light = await _entity(client, "Zephyr Lighthouse")
    gone = await client.post("/graph/edits", json={"op": "delete_entity", "entity": light["id"]})
    later = await client.post("/graph/edits", json={"op": "rename", "entity": light["id"],
                                                    "name": "Lighthouse"})
    assert gone.status_code == later.status_code == 202
    await _built(app)
    edits = await _edits(client)
    assert [e["status"] for e in edits] == ["applied", "stale"]
    assert edits[1]["problem"] == (f"entity 'Zephyr Lighthouse' ({light['id']}) no longer "
                                   "exists")
    assert (await client.get(f"/graph/entities/{light['id']}")).status_code == 404
    assert_error(await client.post("/graph/edits", json={
        "op": "rename", "entity": light["id"], "name": "X"}), 404, "not_found", light["id"])
    await client.delete(f"/graph/edits/{gone.json()['id']}")
    await _built(app)
    assert [e["status"] for e in await _edits(client)] == ["undone", "applied"]
    assert (await _entity(client, "Lighthouse"))["id"] == light["id"]


async def test_relations_are_added_and_deleted(served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = served
    light, place = (await _entity(client, "Zephyr Lighthouse")), (await _entity(client,
                                                                                  "Brittany"))
    person = await _entity(client, "Marisol Quenby")
    added = await client.post("/graph/edits", json={
        "op": "add_relation", "source": person["id"], "target": place["id"],
        "label": "lived_in", "description": "She lived on the coast."})
    cut = await client.post("/graph/edits", json={"op": "delete_relation",
                                                  "source": light["id"], "target": person["id"]})
    assert added.status_code == cut.status_code == 202, (added.text, cut.text)
    assert added.json()["label"] == "lived_in" and cut.json()["source"] == light["id"]
    await _built(app)
    assert [e["status"] for e in await _edits(client)] == ["applied", "applied"]
    relations = {r["other"]["id"]: r for r in (
        await client.get(f"/graph/entities/{person['id']}")).json()["relations"]}
    assert relations[place["id"]]["label"] == "lived_in" and relations[place["id"]]["curated"]
    assert light["id"] not in relations
    assert_error(await client.post("/graph/edits", json={
        "op": "delete_relation", "source": light["id"], "target": person["id"]}),
        404, "not_found", "no relation between")


@pytest.mark.parametrize(("body", "status", "code", "words"), [
    ({"op": "split", "entity": "x"}, 422, "invalid_request", "op"),
    ({"op": "rename", "entity": "x"}, 422, "invalid_request", "name"),
    ({"op": "rename", "entity": "x", "name": "y", "extra": 1}, 422, "invalid_request", "extra"),
    ({"op": "merge", "sources": "x", "target": "y"}, 422, "invalid_request", "sources"),
    ({"op": "merge", "sources": [], "target": "y"}, 422, "invalid_request", "sources"),
    ({"op": "rename", "entity": "x", "name": "n" * 201}, 422, "invalid_request", "name"),
    ({"op": "rename", "entity": "x", "name": "   "}, 422, "invalid_request", "white space"),
    ({"op": "add_relation", "source": "x", "target": "x", "label": "l"}, 404, "not_found",
     "'x'"),
    ({"op": "delete_entity", "entity": "0000000000000000"}, 404, "not_found",
     "0000000000000000"),
    ([1, 2], 422, "invalid_request", ""),
])
async def test_bad_bodies_get_the_error_naming_the_problem(
        reading: tuple[FastAPI, httpx.AsyncClient], body: object, status: int, code: str,
        words: str) -> None:
    _, client = reading
    assert_error(await client.post("/graph/edits", json=body), status, code, words)


async def test_bad_requests_and_merging_into_itself(
        reading: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = reading
    place = await _entity(client, "Brittany")
    assert_error(await client.post("/graph/edits", json={
        "op": "merge", "sources": [place["id"]], "target": place["id"]}),
        422, "invalid_request", "into itself")
    for op in ({"op": "add_relation", "label": "self"}, {"op": "delete_relation"}):
        assert_error(await client.post("/graph/edits", json={
            **op, "source": place["id"], "target": place["id"]}),
            422, "invalid_request", "two entities")
    assert_error(await client.post("/graph/edits", content=b"{not json",
                                   headers={"Content-Type": "application/json"}),
                 400, "malformed_json")
    assert_error(await client.delete("/graph/edits/edit_0123456789abcdef"), 404, "not_found",
                 "edit_0123456789abcdef")
    assert_error(await client.delete("/graph/edits/nope"), 422, "invalid_request")
    assert await _edits(client) == []


async def test_a_read_only_key_reads_the_edits_but_cannot_edit(
        reading: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = reading
    place = await _entity(client, "Brittany")
    made = await client.post("/graph/edits", json={"op": "rename", "entity": place["id"],
                                                   "name": "Bretagne"})
    assert made.status_code == 202
    reader = _auth(READER)
    assert_error(await client.post("/graph/edits", headers=reader, json={
        "op": "delete_entity", "entity": place["id"]}), 403, "forbidden")
    assert_error(await client.delete(f"/graph/edits/{made.json()['id']}", headers=reader),
                 403, "forbidden")
    listed = await client.get("/graph/edits", headers=reader)
    assert listed.status_code == 200 and len(listed.json()["edits"]) == 1
    assert listed.json()["may_edit"] is False
    assert (await client.get("/graph/edits")).json()["may_edit"] is True  # the curator's key


async def test_the_workspace_paths_reach_each_workspace_s_own_edits(
        served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = served
    place = await _entity(client, "Brittany")
    made = await client.post("/workspaces/default/graph/edits", json={
        "op": "rename", "entity": place["id"], "name": "Bretagne"})
    assert made.status_code == 202, made.text
    assert [e["id"] for e in await _edits(client)] == [made.json()["id"]]
    created = await client.post("/workspaces", json={"name": "alpha"}, headers=_auth(ADMIN))
    assert created.status_code == 201, created.text
    assert await _edits(client, "/workspaces/alpha/graph/edits") == []
    assert_error(await client.post("/workspaces/alpha/graph/edits", json={
        "op": "rename", "entity": place["id"], "name": "X"}), 503, "not_ready")
    assert_error(await client.delete(f"/workspaces/alpha/graph/edits/{made.json()['id']}"),
                 404, "not_found")
    await _built(app)
    assert (await _edits(client))[0]["status"] == "applied"
