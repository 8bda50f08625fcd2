"""A deleted document leaves the graph API the moment ``DELETE`` returns, long before the graph
stage rebuilds the graph (this app never builds): its id, its passages, the entities and
relations only it supports are gone from search, detail, subgraph, communities, passages and
both exports; an entity another document supports too stays, with that document's passages and
its description withheld; a re-upload shows the document again."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphready.commands import run_index
from graphready.config import load_settings
from graphready.server.library import Library
from graphready.stores.registry import open_stores
from support.api import app_client, assert_error
from support.catalog_data import apply
from support.shared_entity_docs import GONE, GONE_WORDS, KEPT

pytestmark = pytest.mark.anyio



@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    response = await client.get(path, params=params)
    assert response.status_code in (200, 404), (path, response.text)
    return response


async def one(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    found = (await get(client, "/graph/entities", q=name)).json()["entities"]
    assert found and found[0]["name"] == name, (name, found)
    entity: dict[str, Any] = found[0]
    return entity


async def everything(client: httpx.AsyncClient, ids: list[str], chunk: str) -> list[str]:
    """The text of every graph response about the graph and these entities and passage."""
    bodies = [(await get(client, "/graph/entities", limit=200)).text,
              (await get(client, "/graph/communities", limit=200)).text,
              (await get(client, "/graph/export", format="graphml")).text,
              (await get(client, "/graph/export", format="json")).text,
              (await get(client, f"/passages/{chunk}")).text]
    for entity_id in ids:
        bodies.append((await get(client, f"/graph/entities/{entity_id}")).text)
        bodies.append((await get(client, "/graph/subgraph", entity=entity_id, hops=2)).text)
    for community in (await get(client, "/graph/communities", limit=200)).json()["communities"]:
        bodies.append((await get(client, f"/graph/communities/{community['id']}")).text)
    return bodies


async def test_a_deleted_document_leaves_every_graph_endpoint_at_once(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", embedder="hashing")
    async for client in app_client(settings):  # builds nothing: stores the uploads
        added = await client.post("/documents", json={"documents": [GONE, KEPT]})
        assert added.status_code == 202, added.text
    assert await asyncio.to_thread(run_index, settings) == 0

    async for client in app_client(settings):  # builds nothing: no rebuild after the DELETE
        shared, farraway = await one(client, "Brittany"), await one(client, "Farraway")
        quenby = await one(client, "Marisol Quenby")
        before = (await get(client, f"/graph/entities/{shared['id']}")).json()
        assert {d["id"] for d in before["documents"]} == {GONE["id"], KEPT["id"]}
        chunk = next(p["chunk_id"] for p in before["passages"]
                     if p["document_id"] == GONE["id"])
        ids = [shared["id"], farraway["id"], quenby["id"]]
        seen = "".join(await everything(client, ids, chunk))
        assert all(word in seen for word in GONE_WORDS), "the test must see them first"

        deleted = await client.delete(f"/documents/{GONE['id']}")
        assert deleted.status_code == 200, deleted.text

        bodies = await everything(client, ids, chunk)
        for body in bodies:
            for word in GONE_WORDS:
                assert word not in body, (word, body[:2000])
        assert_error(await client.get(f"/graph/entities/{farraway['id']}"), 404, "not_found")
        assert_error(await client.get("/graph/subgraph", params={"entity": farraway["id"]}),
                     404, "not_found")
        assert_error(await client.get(f"/passages/{chunk}"), 404, "not_found")

        after = (await get(client, f"/graph/entities/{shared['id']}")).json()
        assert after["rewriting"] and after["description"] == ""
        assert after["documents"] == [{"id": KEPT["id"], "title": KEPT["title"]}]
        assert after["passages"] and {p["document_id"] for p in after["passages"]} == {
            KEPT["id"]}
        assert after["passage_count"] < before["passage_count"]
        others = {r["other"]["name"] for r in after["relations"]}
        assert "Marisol Quenby" in others and "Farraway" not in others
        kept = (await get(client, f"/graph/entities/{quenby['id']}")).json()
        assert kept["documents"] == [{"id": KEPT["id"], "title": KEPT["title"]}]
        assert not kept["rewriting"] or kept["description"] == ""
        graph = json.loads(bodies[3])
        names = {n["name"] for n in graph["nodes"]}
        assert {"Marisol Quenby", "Greyfield Mill", "Brittany"} <= names
        node_ids = {n["id"] for n in graph["nodes"]}
        assert graph["edges"] and all(e["source"] in node_ids and e["target"] in node_ids
                                      for e in graph["edges"])
        communities = (await get(client, "/graph/communities", limit=200)).json()
        assert communities["communities"]
        assert all(c["summary"] == "" for c in communities["communities"] if c["rewriting"])

        again = await client.post("/documents", json={"documents": [GONE]})
        assert again.status_code == 202, again.text
        back = (await get(client, f"/graph/entities/{farraway['id']}")).json()
        assert back["name"] == "Farraway" and not back["rewriting"]


def test_a_deleted_document_stays_hidden_from_the_graph_until_it_leaves_it(
        tmp_path: Path) -> None:
    """After the documents stage removed it, answers stop hiding it (the catalog no longer
    gives its passages), but the loaded graph still holds it until the graph stage has run."""
    settings = load_settings({}, data_dir=tmp_path, embedder="hashing")
    stores = open_stores(settings)
    try:
        apply(stores.catalog, ".uploads/x.json", {"gone": "Herons were counted in May."})
        library = Library(settings, stores)
        loaded = frozenset({"gone", "kept"})  # the documents of the loaded graph
        assert library.graph_hidden(loaded) == frozenset()
        library.hide("gone")
        assert library.graph_hidden(loaded) == {"gone"}
        stores.catalog.remove_source(".uploads/x.json")  # the documents stage removed it
        library.settle_hidden()
        assert library.hidden == frozenset()
        assert library.graph_hidden(loaded) == {"gone"}
        assert library.graph_hidden(frozenset({"kept"})) == frozenset()  # a graph without it
        assert library.graph_hidden(loaded) == frozenset()  # ... forgets it for good
        library.hide("gone")
        library.unhide(["gone"])
        assert library.graph_hidden(loaded) == frozenset()
    finally:
        stores.close()
