"""``GET /graph/overview``: the most central entities, spread over the top-level communities,
each with its top-level community, the strongest relations among them and a legend; a deleted
document's entities leave it at once; 503 before a graph is built; an empty graph gives an
empty overview; bad limits are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphready.commands import run_index
from graphready.config import load_settings
from graphready.explore.overview import SCAN
from support.api import app_client, assert_error
from support.shared_entity_docs import GONE, KEPT

pytestmark = pytest.mark.anyio
LIMIT = 20


async def overview(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/graph/overview", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_overview_holds_central_entities_with_their_communities(
        client: httpx.AsyncClient) -> None:
    body = await overview(client, limit=LIMIT)
    nodes = body["nodes"]
    assert 1 < len(nodes) <= LIMIT == body["limit"]
    ranked = (await client.get("/graph/entities", params={"limit": LIMIT * SCAN})).json()
    assert body["total_entities"] == ranked["total"]
    by_degree = [e["id"] for e in ranked["entities"]]
    assert nodes[0]["id"] == by_degree[0], "the most central entity comes first"
    assert {n["id"] for n in nodes} <= set(by_degree)
    assert [n["degree"] for n in nodes] == sorted((n["degree"] for n in nodes), reverse=True)

    ids = {n["id"] for n in nodes}
    assert body["edges"], "central entities of this corpus are related"
    assert len(body["edges"]) <= 4 * LIMIT
    weights = [e["weight"] for e in body["edges"]]
    assert weights == sorted(weights, reverse=True)
    for edge in body["edges"]:
        assert {edge["source"], edge["target"]} <= ids

    legend = {c["id"]: c for c in body["communities"]}
    tops = (await client.get("/graph/communities", params={"level": 0, "limit": 200})).json()
    titles = {c["id"]: c["title"] for c in tops["communities"]}
    for node in nodes[:5]:
        detail = (await client.get(f"/graph/entities/{node['id']}")).json()
        assert node["community"] == detail["communities"][0]["id"]
        assert detail["communities"][0]["level"] == 0
    for node in nodes:
        assert node["community"] in legend
        assert legend[node["community"]]["title"] == titles[node["community"]]
    counts = [sum(1 for n in nodes if n["community"] == c) for c in legend]
    assert counts == sorted(counts, reverse=True), "the legend goes by nodes drawn"
    if len(titles) >= 4:
        assert len(legend) >= 2, "the overview spreads over the communities"


async def test_bad_limits_are_refused(client: httpx.AsyncClient) -> None:
    for limit in ("0", "501", "many"):
        assert_error(await client.get("/graph/overview", params={"limit": limit}), 422,
                     "invalid_request", "limit")


async def test_one_entity_is_an_overview(client: httpx.AsyncClient) -> None:
    body = await overview(client, limit=1)
    assert len(body["nodes"]) == 1 and body["edges"] == []
    assert len(body["communities"]) == 1


async def test_not_built_is_503_and_a_deleted_document_leaves_the_overview(
        tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", embedder="hashing")
    async for client in app_client(settings):  # builds nothing
        assert_error(await client.get("/graph/overview"), 503, "not_ready", "not built")
        added = await client.post("/documents", json={"documents": [GONE, KEPT]})
        assert added.status_code == 202, added.text
    assert await asyncio.to_thread(run_index, settings) == 0
    async for client in app_client(settings):
        names = {n["name"] for n in (await overview(client, limit=500))["nodes"]}
        assert {"Farraway", "Marisol Quenby", "Brittany"} <= names, names
        deleted = await client.delete(f"/documents/{GONE['id']}")
        assert deleted.status_code == 200, deleted.text
        body = await overview(client, limit=500)
        names = {n["name"] for n in body["nodes"]}
        assert "Farraway" not in names and {"Marisol Quenby", "Brittany"} <= names
        assert "Farraway" not in str(body)


async def test_a_graph_without_entities_gives_an_empty_overview(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", embedder="hashing")
    async for client in app_client(settings):
        added = await client.post("/documents", json={"documents": [
            {"id": "plain", "text": "it was so. and then it was not, and that was all."}]})
        assert added.status_code == 202, added.text
    assert await asyncio.to_thread(run_index, settings) == 0
    async for client in app_client(settings):
        body = await overview(client)
        assert body == {"limit": 60, "total_entities": 0, "nodes": [], "edges": [],
                        "communities": []}
