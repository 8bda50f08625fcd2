"""The graph API in-process on a small index built by the real build workers: search, an
entity with its passages and relations, a neighbourhood, communities, the export (whose counts
are /status's), passages, the chat's graph entities, errors in the one shape, and 503 with
Retry-After before any graph exists."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import pytest

import graphready.server as server_package
from graphready.config import Settings, load_settings
from support.api import app_client, assert_error
from support.corpus import NEEDLE, NEEDLE_QUESTION

pytestmark = pytest.mark.anyio


async def find(client: httpx.AsyncClient, q: str) -> dict[str, Any]:
    response = await client.get("/graph/entities", params={"q": q})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_search_finds_an_entity_by_any_case_and_word_prefix(
        client: httpx.AsyncClient) -> None:
    for q in ("Marisol Quenby", "marisol", "QUEN", "quenby mari"):
        body = await find(client, q)
        assert body["entities"][0]["name"] == "Marisol Quenby", (q, body)
    top = body["entities"][0]
    assert top["passages"] >= 1 and top["degree"] >= 1 and top["type"]
    assert "PERSON" in body["types"]
    assert (await find(client, "no such entity xyz"))["entities"] == []


async def test_search_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    first = (await client.get("/graph/entities", params={"limit": 5})).json()
    assert len(first["entities"]) == 5 and first["next_cursor"] and first["total"] > 5
    second = (await client.get("/graph/entities", params={
        "limit": 5, "cursor": first["next_cursor"]})).json()
    ids = {e["id"] for e in first["entities"]} | {e["id"] for e in second["entities"]}
    assert len(ids) == 10
    degrees = [e["degree"] for e in first["entities"] + second["entities"]]
    assert degrees == sorted(degrees, reverse=True)
    people = (await client.get("/graph/entities", params={"type": "PERSON", "limit": 50})).json()
    assert people["entities"] and {e["type"] for e in people["entities"]} == {"PERSON"}


async def test_an_entity_with_its_passages_relations_and_communities(
        client: httpx.AsyncClient) -> None:
    entity_id = (await find(client, "Zephyr Lighthouse"))["entities"][0]["id"]
    response = await client.get(f"/graph/entities/{entity_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Zephyr Lighthouse" and body["passage_count"] >= 1
    assert isinstance(body["aliases"], list) and "Zephyr Lighthouse" not in body["aliases"]
    assert body["passages"][0]["document_id"] == NEEDLE["id"]
    assert "Zephyr Lighthouse" in body["passages"][0]["snippet"]
    assert body["documents"] == [{"id": NEEDLE["id"], "title": NEEDLE["title"]}]
    others = {r["other"]["name"] for r in body["relations"]}
    assert "Marisol Quenby" in others
    assert body["communities"] and body["communities"][0]["level"] == 0


async def test_the_subgraph_of_an_entity_is_capped_and_drawable(
        client: httpx.AsyncClient) -> None:
    hub = (await client.get("/graph/entities", params={"limit": 1})).json()["entities"][0]
    response = await client.get("/graph/subgraph", params={"entity": hub["id"], "hops": 2,
                                                            "limit": 7})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["center"] == hub["id"] and len(body["nodes"]) == 7 and body["truncated"]
    ids = {n["id"] for n in body["nodes"]}
    assert body["nodes"][0]["hop"] == 0 and {n["hop"] for n in body["nodes"]} <= {0, 1, 2}
    assert body["edges"] and all(e["source"] in ids and e["target"] in ids
                                 for e in body["edges"])
    legend = {c["id"] for c in body["communities"]}
    assert {n["community"] for n in body["nodes"]} - {None} <= legend


async def test_communities_by_level_and_one_with_its_members(client: httpx.AsyncClient) -> None:
    top = (await client.get("/graph/communities", params={"level": 0})).json()
    assert top["levels"][0] == 0 and top["communities"]
    assert {c["level"] for c in top["communities"]} == {0}
    first = top["communities"][0]
    assert first["title"] and first["summary"] and first["size"] >= 1
    detail = (await client.get(f"/graph/communities/{first['id']}")).json()
    assert detail["parent"] is None and detail["members"]
    assert len(detail["members"]) == min(detail["size"], 200)
    for child in detail["children"]:
        below = (await client.get(f"/graph/communities/{child['id']}")).json()
        assert below["parent"]["id"] == first["id"] and below["level"] == 1


async def test_the_graphml_export_holds_the_counts_status_reports(
        client: httpx.AsyncClient) -> None:
    counts = (await client.get("/status")).json()["counts"]
    response = await client.get("/graph/export", params={"format": "graphml"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/graphml+xml")
    graph = nx.read_graphml(io.BytesIO(response.content))
    assert graph.number_of_nodes() == counts["entities"]
    assert graph.number_of_edges() == counts["relations"]
    as_json = (await client.get("/graph/export", params={"format": "json"})).json()
    assert len(as_json["nodes"]) == counts["entities"]
    assert len(as_json["edges"]) == counts["relations"]


async def test_a_passage_whole(client: httpx.AsyncClient) -> None:
    answer = (await client.post("/chat", json={"message": NEEDLE_QUESTION})).json()
    chunk_id = answer["citations"][0]["chunk_id"]
    body = (await client.get(f"/passages/{chunk_id}")).json()
    assert body["text"] == NEEDLE["text"] and body["document_id"] == NEEDLE["id"]
    assert_error(await client.get("/passages/nope"), 404, "not_found", "nope")


async def test_chat_says_where_the_graph_walk_started_and_what_it_reached(
        client: httpx.AsyncClient) -> None:
    body = (await client.post("/chat", json={"message": NEEDLE_QUESTION,
                                             "mode": "graph_local"})).json()
    seeds = {e["name"] for e in body["graph_entities"]["seeds"]}
    assert "Zephyr Lighthouse" in seeds
    reached = body["graph_entities"]["reached"]
    assert reached and not {e["id"] for e in reached} & {
        e["id"] for e in body["graph_entities"]["seeds"]}
    for entity in body["graph_entities"]["seeds"] + reached[:2]:
        assert (await client.get(f"/graph/entities/{entity['id']}")).status_code == 200
    plain = (await client.post("/chat", json={"message": NEEDLE_QUESTION,
                                              "mode": "retrieval"})).json()
    assert plain["graph_entities"] == {"seeds": [], "reached": []}


@pytest.mark.parametrize(("path", "params", "status", "code", "words"), [
    ("/graph/entities/nope", {}, 404, "not_found", ("entity", "nope")),
    ("/graph/communities/nope", {}, 404, "not_found", ("community",)),
    ("/graph/subgraph", {"entity": "nope"}, 404, "not_found", ("entity",)),
    ("/graph/subgraph", {}, 422, "invalid_request", ("entity",)),
    ("/graph/subgraph", {"entity": "x", "hops": 3}, 422, "invalid_request", ("hops",)),
    ("/graph/subgraph", {"entity": "x", "limit": 501}, 422, "invalid_request", ("limit",)),
    ("/graph/entities", {"limit": 0}, 422, "invalid_request", ("limit",)),
    ("/graph/entities", {"cursor": "abc"}, 422, "invalid_request", ("cursor",)),
    ("/graph/communities", {"level": -1}, 422, "invalid_request", ("level",)),
    ("/graph/export", {"format": "gexf"}, 422, "invalid_request", ("format",)),
])
async def test_bad_requests_get_the_one_error_shape(
        client: httpx.AsyncClient, path: str, params: dict[str, Any], status: int, code: str,
        words: tuple[str, ...]) -> None:
    assert_error(await client.get(path, params=params), status, code, *words)


async def test_the_graph_api_is_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/graph/entities", "/graph/entities/{entity_id}", "/graph/subgraph",
            "/graph/communities", "/graph/communities/{community_id}", "/graph/export",
            "/passages/{chunk_id}"} <= set(paths)


async def test_the_app_page_and_its_files_come_from_the_server(
        client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "/static/js/app.js" in page.text
    policy = page.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]
    assert "<script>" not in page.text  # no inline script at all
    for path in ("/static/js/app.js", "/static/js/graph.js", "/static/app.css",
                 "/static/vendor/cytoscape/cytoscape.esm.min.js",
                 "/static/vendor/cytoscape/LICENSE"):
        response = await client.get(path)
        assert response.status_code == 200 and response.content, path
    script = await client.get("/static/js/app.js")
    assert "javascript" in script.headers["content-type"]
    names = sorted(p.name for p in (Path(server_package.__file__).parent / "static" / "js")
                   .glob("*.js"))  # every script of the web app, new ones included
    assert {"app.js", "graph.js", "curation.js", "overview.js"} <= set(names)
    scripts = "".join([(await client.get(f"/static/js/{name}")).text for name in names])
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in scripts, sink


async def test_no_graph_yet_answers_503_with_retry_after(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "empty", embedder="hashing")
    async for client in app_client(settings):
        for path in ("/graph/entities", "/graph/subgraph?entity=x", "/graph/communities",
                     "/graph/export", "/graph/entities/x", "/graph/communities/x"):
            response = await client.get(path)
            assert_error(response, 503, "not_ready", "graph")
            assert int(response.headers["retry-after"]) > 0


async def test_a_read_only_key_reads_the_graph_and_no_key_is_refused(built: Settings) -> None:
    full, read_only = "full-key-0123456789abcdef", "read-key-0123456789abcdef"
    settings = dataclasses.replace(built, api_key=full, read_only_api_key=read_only)
    async for client in app_client(settings):
        entity_id = (await client.get("/graph/entities", headers={
            "Authorization": f"Bearer {read_only}"})).json()["entities"][0]["id"]
        for path in (f"/graph/entities/{entity_id}", f"/graph/subgraph?entity={entity_id}",
                     "/graph/communities", "/graph/export?format=json"):
            ok = await client.get(path, headers={"Authorization": f"Bearer {read_only}"})
            assert ok.status_code == 200, (path, ok.text)
            assert_error(await client.get(path), 401, "unauthorized")
        page = await client.get("/")  # the page itself holds no data and asks for a key
        assert page.status_code == 200
        assert (await client.get("/static/js/api.js")).status_code == 200
