"""``DELETE /documents/{id}?dry_run=true`` says exactly what the delete would do to the graph:
the preview of deleting a document equals the difference between the stored graph before and
after the real delete and rebuild, for an uploaded document and for a file of the served
folder (on the example documents with uploads that share their entities); it changes nothing;
an unknown id is 404; before the graph is built it says so. A store that does not keep its
contribution index gives the same preview, by a whole assembly; with curators' edits live (a
merge, an added relation) the preview is still the change the rebuild makes."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

from graphready.commands import run_index
from graphready.config import Settings, load_settings
from graphready.explore.delete_preview import preview_delete
from graphready.knowledge import ChunkExtraction, KnowledgeGraph
from graphready.stores.base import GraphStore
from graphready.stores.registry import open_stores
from graphready.stores.sqlite.graph import SqliteGraphStore
from support.api import app_client, assert_error
from support.browser import EXAMPLES
from support.shared_entity_docs import GONE, KEPT

pytestmark = pytest.mark.anyio
TURING_NOTE = {"id": "turing-note", "title": "A note on Turing",
               "text": ("Alan Turing visited Brittany in 1937 with Odile Farraway. Turing "
                        "admired the Zephyr Lighthouse. Konrad Zuse never met Odile Farraway. "
                        "Marisol Quenby built the Greyfield Mill in Brittany.")}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def stored_graph(settings: Settings) -> KnowledgeGraph:
    stores = open_stores(settings)
    try:
        graph = stores.graph.load_graph()
    finally:
        stores.close()
    assert graph is not None
    return graph


def expected(before: KnowledgeGraph, after: KnowledgeGraph) -> dict[str, Any]:
    """The difference of two graphs, in the preview's terms (ids, counts and weights)."""
    old, new = {e.id: e for e in before.entities}, {e.id: e for e in after.entities}
    old_r = {(r.source, r.target): r for r in before.relations}
    new_r = {(r.source, r.target): r for r in after.relations}
    return {
        "entities_removed": {(i, len(old[i].chunk_ids), 0) for i in old.keys() - new.keys()},
        "entities_changed": {(i, len(old[i].chunk_ids), len(new[i].chunk_ids))
                             for i in old.keys() & new.keys() if old[i] != new[i]},
        "entities_added": {(i, 0, len(new[i].chunk_ids)) for i in new.keys() - old.keys()},
        "relations_removed": {(*p, old_r[p].weight, 0.0) for p in old_r.keys() - new_r.keys()},
        "relations_changed": {(*p, old_r[p].weight, new_r[p].weight)
                              for p in old_r.keys() & new_r.keys() if old_r[p] != new_r[p]},
        "relations_added": {(*p, 0.0, new_r[p].weight) for p in new_r.keys() - old_r.keys()},
    }


def previewed(body: dict[str, Any]) -> dict[str, Any]:
    entities = {k: {(e["id"], e["passages_before"], e["passages_after"]) for e in body[k]}
                for k in ("entities_removed", "entities_changed", "entities_added")}
    relations = {k: {(r["source"], r["target"], r["weight_before"], r["weight_after"])
                     for r in body[k]}
                 for k in ("relations_removed", "relations_changed", "relations_added")}
    return {**entities, **relations}


def check_communities(body: dict[str, Any], before: KnowledgeGraph,
                      after: KnowledgeGraph) -> None:
    """The communities listed are exactly those of ``before`` holding an entity that goes or
    changes (or is at an end of a relation that does); every other community that is still
    there, under the same parent, keeps its report."""
    diff = expected(before, after)
    touched = {e[0] for k in ("entities_removed", "entities_changed") for e in diff[k]}
    touched |= {x for k in ("relations_removed", "relations_changed", "relations_added")
                for r in diff[k] for x in r[:2]}
    listed = {c["id"] for c in body["communities"]}
    assert listed == {c.id for c in before.communities if not touched.isdisjoint(c.entity_ids)}
    assert listed, "the delete must reach some community for this test to mean anything"
    later = {c.id: c for c in after.communities}
    for community in before.communities:
        kept = later.get(community.id)
        if community.id not in listed and kept is not None and kept.parent == community.parent:
            assert (kept.title, kept.summary) == (community.title, community.summary)


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Settings]:
    shutil.copytree(EXAMPLES, tmp_path / "docs")
    settings = load_settings({}, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                             embedder="hashing")
    yield settings


async def add_uploads(settings: Settings, docs: list[dict[str, str]]) -> None:
    async for client in app_client(settings):  # builds nothing: stores the uploads
        added = await client.post("/documents", json={"documents": docs})
        assert added.status_code == 202, added.text


async def preview(settings: Settings, doc_id: str) -> dict[str, Any]:
    async for client in app_client(settings):
        response = await client.delete(f"/documents/{doc_id}", params={"dry_run": "true"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        listed = await client.get(f"/documents/{doc_id}")
        assert listed.status_code == 200, "a preview deletes nothing"
        found = await client.get("/graph/entities", params={"q": "Farraway"})
        assert found.json()["total"] >= 1, "a preview hides nothing"
    return body


async def test_the_preview_of_deleting_an_upload_is_the_change_the_rebuild_makes(
        corpus: Settings) -> None:
    await add_uploads(corpus, [GONE, KEPT, TURING_NOTE])
    assert await asyncio.to_thread(run_index, corpus) == 0
    before = await asyncio.to_thread(stored_graph, corpus)

    body = await preview(corpus, TURING_NOTE["id"])
    assert body["dry_run"] is True and body["graph_ready"] is True
    assert body["source"] == "upload" and body["passages"] == len(body["chunk_ids"]) >= 1
    assert body["chunks_in_graph"] == body["passages"]
    assert "without dry_run" in body["how"]
    names = {e["name"] for e in body["entities_changed"]}
    assert {"Brittany", "Zephyr Lighthouse"} <= names, names  # others mention them too
    assert body["relations_removed"] and body["relations_changed"]

    async for client in app_client(corpus):
        deleted = await client.delete(f"/documents/{TURING_NOTE['id']}")
        assert deleted.status_code == 200, deleted.text
    assert await asyncio.to_thread(run_index, corpus) == 0
    after = await asyncio.to_thread(stored_graph, corpus)
    assert previewed(body) == expected(before, after)
    check_communities(body, before, after)


async def test_the_preview_of_a_folder_file_is_exact_and_says_to_remove_the_file(
        corpus: Settings) -> None:
    await add_uploads(corpus, [GONE, KEPT])
    assert await asyncio.to_thread(run_index, corpus) == 0
    before = await asyncio.to_thread(stored_graph, corpus)
    async for client in app_client(corpus):
        listed = (await client.get("/documents", params={"limit": 100})).json()["documents"]
    folder = next(d for d in listed if d["path"] == "alan-turing.txt")

    body = await preview(corpus, folder["id"])
    assert body["source"] == "folder" and "alan-turing.txt" in body["how"]
    assert body["passages"] == folder["chunks"] == len(body["chunk_ids"])
    assert any(e["name"] == "Automatic Computing Engine" for e in body["entities_removed"]), \
        body["entities_removed"]

    assert corpus.docs_dir is not None
    (corpus.docs_dir / "alan-turing.txt").unlink()
    assert await asyncio.to_thread(run_index, corpus) == 0
    after = await asyncio.to_thread(stored_graph, corpus)
    assert previewed(body) == expected(before, after)
    check_communities(body, before, after)


async def entity_id(client: Any, name: str) -> str:
    found = (await client.get("/graph/entities", params={"q": name})).json()["entities"]
    assert found and found[0]["name"] == name, (name, found)
    return str(found[0]["id"])


async def test_with_curators_edits_live_the_preview_is_still_the_change_made(
        corpus: Settings) -> None:
    await add_uploads(corpus, [GONE, KEPT, TURING_NOTE])
    assert await asyncio.to_thread(run_index, corpus) == 0
    async for client in app_client(corpus):
        zephyr, brittany = (await entity_id(client, "Zephyr Lighthouse"),
                            await entity_id(client, "Brittany"))
        zuse, quenby = (await entity_id(client, "Konrad Zuse"),
                        await entity_id(client, "Marisol Quenby"))
        for edit in ({"op": "merge", "sources": [zephyr], "target": brittany},
                     {"op": "add_relation", "source": zuse, "target": quenby,
                      "label": "wrote_to", "description": "letters"}):
            made = await client.post("/graph/edits", json=edit)
            assert made.status_code == 202, made.text
    assert await asyncio.to_thread(run_index, corpus) == 0
    before = await asyncio.to_thread(stored_graph, corpus)
    assert zephyr not in {e.id for e in before.entities}, "the merge is in the stored graph"

    body = await preview(corpus, TURING_NOTE["id"])
    assert body["graph_ready"] is True and body["entities_changed"]
    async for client in app_client(corpus):
        deleted = await client.delete(f"/documents/{TURING_NOTE['id']}")
        assert deleted.status_code == 200, deleted.text
    assert await asyncio.to_thread(run_index, corpus) == 0
    after = await asyncio.to_thread(stored_graph, corpus)
    assert zephyr not in {e.id for e in after.entities}
    assert previewed(body) == expected(before, after)
    check_communities(body, before, after)


class WholeGraphStore:
    """A graph store without a contribution index (as Neo4j's is): the SQLite store's
    :class:`GraphStore` methods, and no others."""

    def __init__(self, store: SqliteGraphStore) -> None:
        self._store = store

    def load_graph(self) -> KnowledgeGraph | None:
        return self._store.load_graph()

    def iter_extractions(self) -> Iterator[ChunkExtraction]:
        return self._store.iter_extractions()

    def __getattr__(self, name: str) -> Any:
        if name in ("graph_part", "contributions", "apply_graph_change", "incremental_ready"):
            raise AttributeError(name)
        return getattr(self._store, name)


def chunks_of(settings: Settings, doc_id: str) -> Collection[str]:
    stores = open_stores(settings)
    try:
        return [c for d in stores.catalog.documents([doc_id]) for c in d.chunk_ids]
    finally:
        stores.close()


async def test_a_store_without_contribution_index_gives_the_same_preview(
        corpus: Settings) -> None:
    await add_uploads(corpus, [GONE, KEPT, TURING_NOTE])
    assert await asyncio.to_thread(run_index, corpus) == 0
    chunks = chunks_of(corpus, TURING_NOTE["id"])
    store = SqliteGraphStore(corpus.db_dir / "graph.db")
    try:
        whole: GraphStore = WholeGraphStore(store)  # type: ignore[assignment]
        fast, slow = preview_delete(store, chunks), preview_delete(whole, chunks)
        curated = preview_delete(store, chunks, lambda e, r: (e, r))  # no edit is live
    finally:
        store.close()
    assert fast is not None and fast.entities_removed and fast.entities_changed
    assert slow == fast
    assert curated == fast


async def test_unknown_ids_are_404_and_an_unbuilt_graph_is_said(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", embedder="hashing")
    await add_uploads(settings, [GONE])
    async for client in app_client(settings):  # builds nothing: no graph
        assert_error(await client.delete("/documents/no-such-doc", params={"dry_run": "true"}),
                     404, "not_found", "no-such-doc")
        response = await client.delete(f"/documents/{GONE['id']}", params={"dry_run": "true"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["graph_ready"] is False and "not built" in body["message"]
        assert body["entities_removed"] == [] and body["communities"] == []
        assert_error(await client.delete(f"/documents/{GONE['id']}",
                                         params={"dry_run": "maybe"}), 422, "invalid_request")
        schema = (await client.get("/openapi.json")).json()
        operation = schema["paths"]["/documents/{doc_id}"]["delete"]
        assert any(p["name"] == "dry_run" and p["schema"]["type"] == "boolean"
                   for p in operation["parameters"])
        assert "DeletePreview" in schema["components"]["schemas"]


class CountingStore(SqliteGraphStore):
    """The SQLite graph store, counting the entities each ``graph_part`` asks for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.asked: list[int] = []

    def graph_part(self, entity_ids: Collection[str], inner: bool = False) -> Any:
        self.asked.append(len(entity_ids))
        return super().graph_part(entity_ids, inner)


async def test_the_preview_reads_what_the_document_touches(corpus: Settings) -> None:
    """A preview that read the whole graph would ask the store for every entity: this one
    asks only for the parts the document reaches."""
    await add_uploads(corpus, [GONE, KEPT])
    assert await asyncio.to_thread(run_index, corpus) == 0
    chunks = chunks_of(corpus, GONE["id"])
    store = CountingStore(corpus.db_dir / "graph.db")
    try:
        found = preview_delete(store, chunks)
        total = store.counts()["entities"]
    finally:
        store.close()
    assert found is not None and found.entities_removed and store.asked
    assert max(store.asked) < total / 4, (store.asked, total)
