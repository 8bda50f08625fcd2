"""A server's keyword cache of the shared catalog, against FalkorDB's redis-server: uploads go
to the catalog with their chunks, the follower brings another server's changes into a local
keyword index and asks for a build, and a cache that is behind never gives a deleted passage
(passages are read from the catalog)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis

from graphready.documents.uploads import Upload, source_path
from graphready.server.follow_shared import CatalogFollower, apply_changes
from graphready.stores.redis.catalog import RedisCatalog
from graphready.stores.redis.uploads import FolderSources, SharedUploadStore, shared_catalog
from graphready.stores.sqlite.keyword import SqliteKeywordIndex
from support.catalog_data import apply

LIGHTHOUSE = Upload("lighthouse", "Zephyr Lighthouse", "The Zephyr Lighthouse was designed by "
                    "the engineer Marisol Quenby and first lit in 1893.", None, 1.0)
HARBOUR = Upload("harbour", "Quillon Harbour", "The Quillon Harbour was dredged by Tobias "
                 "Venkman in 1901.", "harbour.txt", 2.0)


def uploads(catalog: RedisCatalog, folder: Path) -> SharedUploadStore:
    return SharedUploadStore(folder, catalog, 1000, 1)


def found(keyword: SqliteKeywordIndex, query: str) -> set[str]:
    return {hit.chunk_id for hit in keyword.search(query, 5)}


def test_an_upload_and_its_chunks_are_in_the_catalog_and_not_on_disk(
        queue_url: str, tmp_path: Path) -> None:
    catalog = RedisCatalog(queue_url, "t")
    other = RedisCatalog(queue_url, "t")
    try:
        store = uploads(catalog, tmp_path / "a" / "uploads")
        store.put(LIGHTHOUSE)
        store.put(HARBOUR)
        seen = uploads(other, tmp_path / "b" / "uploads")
        assert [i.id for i in seen.infos()] == ["harbour", "lighthouse"]
        assert seen.get("harbour") == HARBOUR and seen.info("nothing") is None
        (doc,) = other.documents(["lighthouse"])
        assert (doc.source, doc.content_hash) == (source_path("lighthouse"),
                                                    LIGHTHOUSE.content_hash)
        assert "Marisol Quenby" in other.get_chunks(list(doc.chunk_ids))[0].text
        assert list((tmp_path / "a" / "uploads").iterdir()) == []
        assert seen.remove("lighthouse") and not seen.remove("lighthouse")
        assert other.documents(["lighthouse"]) == [] and store.info("lighthouse") is None
    finally:
        catalog.close()
        other.close()


def test_the_build_sees_only_the_folder_files_of_a_server_that_has_a_folder(
        queue_url: str, tmp_path: Path) -> None:
    catalog = RedisCatalog(queue_url, "t")
    try:
        uploads(catalog, tmp_path / "uploads").put(LIGHTHOUSE)
        apply(catalog, "a.jsonl", {"d1": "A file of the folder."})
        with_folder, without = FolderSources(catalog, True), FolderSources(catalog, False)
        assert with_folder.sources() == {"a.jsonl": "h1"} and without.sources() == {}
        assert without.chunk_ids() == catalog.chunk_ids() and len(catalog.chunk_ids()) == 2
        assert shared_catalog(without) is catalog
    finally:
        catalog.close()


def test_a_keyword_cache_behind_the_catalog_gives_no_passage_of_a_deleted_document(
        queue_url: str, tmp_path: Path) -> None:
    a, b = RedisCatalog(queue_url, "t"), RedisCatalog(queue_url, "t")
    keyword = SqliteKeywordIndex(tmp_path / "keyword.db")
    try:
        uploads(a, tmp_path / "a").put(LIGHTHOUSE)
        apply_changes(a, keyword, a.changes(0).changes)
        (hit,) = found(keyword, "Quenby")
        assert uploads(b, tmp_path / "b").remove("lighthouse")
        assert found(keyword, "Quenby") == {hit}  # the cache has not followed yet
        assert a.get_chunks([hit]) == []  # but every passage is read from the catalog
        apply_changes(a, keyword, a.changes(1).changes)
        assert found(keyword, "Quenby") == set()
    finally:
        keyword.close()
        a.close()
        b.close()


def test_the_follower_brings_another_servers_changes_and_asks_for_a_build(
        queue_url: str, tmp_path: Path) -> None:
    here, there = RedisCatalog(queue_url, "t"), RedisCatalog(queue_url, "t")
    keyword = SqliteKeywordIndex(tmp_path / "keyword.db")
    asked: list[int] = []

    async def follow() -> None:
        follower = CatalogFollower(here, keyword, lambda: asked.append(here.sequence()))
        await follower.open()
        follower.start()
        try:
            await asyncio.to_thread(uploads(there, tmp_path / "b").put, HARBOUR)
            deadline = time.monotonic() + 60
            while not found(keyword, "Venkman") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await follower.close()

    try:
        asyncio.run(follow())
        assert len(found(keyword, "Venkman")) == 1 and asked == [1]
    finally:
        keyword.close()
        here.close()
        there.close()


def test_a_follower_behind_the_streams_trim_asks_for_a_build_and_goes_on(
        queue_url: str, tmp_path: Path) -> None:
    catalog = RedisCatalog(queue_url, "t")
    keyword = SqliteKeywordIndex(tmp_path / "keyword.db")
    asked: list[int] = []

    async def follow() -> None:
        follower = CatalogFollower(catalog, keyword, lambda: asked.append(catalog.sequence()))
        await follower.open()
        store = uploads(catalog, tmp_path / "u")
        await asyncio.to_thread(store.put, LIGHTHOUSE)
        await asyncio.to_thread(store.put, HARBOUR)
        client = redis.Redis.from_url(queue_url)
        client.xtrim("graphready:catalog:t:changes", maxlen=1, approximate=False)
        client.close()
        follower.start()
        deadline = time.monotonic() + 60
        while not asked and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(store.remove, "harbour")
        while len(asked) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await follower.close()

    try:
        asyncio.run(follow())
        assert asked == [2, 3]  # behind: a build aligns it; then the next change is applied
        assert found(keyword, "Quenby") == set()  # what the trim lost is the build's to add
    finally:
        keyword.close()
        catalog.close()
