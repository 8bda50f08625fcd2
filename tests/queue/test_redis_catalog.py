"""The shared catalog (``GRAPHREADY_CATALOG_URL``) on FalkorDB's redis-server: the whole
``Catalog`` contract (the suite the SQLite catalog passes, less its tests of files and of a
spawned process), and the change stream a server follows."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
import redis

from contract.test_catalog import (  # noqa: F401 - collected here against RedisCatalog
    test_apply_source_adds_documents_and_chunks,
    test_applying_no_documents_empties_the_source,
    test_documents_lists_each_document_with_its_chunks,
    test_documents_of_some_ids_are_those_of_the_whole_listing,
    test_empty_catalog,
    test_failed_apply_leaves_previous_state,
    test_fingerprint_changes_exactly_when_chunk_set_changes,
    test_get_chunks_keeps_requested_order_and_omits_missing,
    test_identical_chunk_in_two_sources_is_one_chunk,
    test_many_chunks_page_and_batch,
    test_persists_across_close_and_reopen,
    test_reapplying_identical_source_changes_nothing,
    test_remove_source,
    test_replacing_a_source_reports_exactly_the_difference,
    test_same_document_id_in_two_sources_destroys_neither,
    test_second_connection_sees_committed_writes,
    test_skipped_round_trip,
    test_sources_are_independent,
    test_threads_share_one_connection,
)
from graphready.errors import StoreError
from graphready.stores.base import Catalog
from graphready.stores.redis.catalog import RedisCatalog
from support.catalog_data import apply, make_source


@pytest.fixture
def open_catalog(queue_url: str) -> Iterator[Callable[[], RedisCatalog]]:
    """Opens a connection to the one catalog of this test (the server emptied before it);
    every one is closed afterwards."""
    with contextlib.ExitStack() as opened:
        yield lambda: opened.enter_context(contextlib.closing(RedisCatalog(queue_url, "test")))


@pytest.fixture
def catalog(open_catalog: Callable[[], RedisCatalog]) -> Catalog:
    return open_catalog()


def test_each_change_is_in_the_stream_in_order(
        open_catalog: Callable[[], RedisCatalog]) -> None:
    writer, reader = open_catalog(), open_catalog()
    assert reader.sequence() == 0
    assert reader.changes(0).changes == ()
    first = apply(writer, "a.jsonl", {"d1": "First text.", "d2": "Second text."})
    second = apply(writer, "a.jsonl", {"d1": "First text."}, "h2")
    writer.remove_source("a.jsonl")
    page = reader.changes(0)
    assert page.complete
    assert [c.seq for c in page.changes] == [1, 2, 3] and reader.sequence() == 3
    one, two, three = page.changes
    assert (one.source, one.removed_source, set(one.added), one.removed) == \
        ("a.jsonl", False, set(first.added_chunk_ids), ())
    assert set(one.doc_ids) == {"d1", "d2"}
    assert two.removed == second.removed_chunk_ids != () and two.added == ()
    assert three.removed_source and set(three.doc_ids) == {"d1"}
    assert [c.seq for c in reader.changes(2).changes] == [3]
    assert reader.changes(3).changes == () and reader.changes(3).complete


def test_a_reader_waiting_on_the_stream_gets_a_change_another_connection_makes(
        open_catalog: Callable[[], RedisCatalog]) -> None:
    writer, reader = open_catalog(), open_catalog()
    apply(writer, "a.jsonl", {"d1": "Before."})
    after = reader.sequence()
    assert reader.changes(after, block_s=0.05).changes == ()
    change = apply(writer, "b.jsonl", {"d2": "After."})
    page = reader.changes(after, block_s=5)
    assert [c.added for c in page.changes] == [change.added_chunk_ids]


def test_a_failed_apply_writes_no_change(open_catalog: Callable[[], RedisCatalog]) -> None:
    catalog = open_catalog()
    source, docs, chunks = make_source("a.jsonl", {"d1": "Text."})
    bad = chunks[0].__class__(chunks[0].id, "d1", 0, "t", None)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="no text"):
        catalog.apply_source(source, docs, [bad])
    assert catalog.sequence() == 0 and catalog.sources() == {}


def test_a_follower_behind_the_trimmed_stream_is_told_to_start_again(
        open_catalog: Callable[[], RedisCatalog], queue_url: str) -> None:
    catalog = open_catalog()
    for i in range(5):
        apply(catalog, f"s{i}.jsonl", {f"d{i}": f"Text {i}."})
    client = redis.Redis.from_url(queue_url)
    try:
        client.xtrim("graphready:catalog:test:changes", maxlen=2, approximate=False)
    finally:
        client.close()
    assert not catalog.changes(1).complete
    assert catalog.changes(3).complete
    assert [c.seq for c in catalog.changes(3).changes] == [4, 5]


def test_namespaces_are_separate_catalogs(queue_url: str) -> None:
    one, two = RedisCatalog(queue_url, "one"), RedisCatalog(queue_url, "two")
    try:
        apply(one, "a.jsonl", {"d1": "Only in one."})
        assert two.sources() == {} and two.sequence() == 0 and two.chunk_count() == 0
    finally:
        one.close()
        two.close()


def test_an_unreachable_server_is_a_store_error_naming_it() -> None:
    with pytest.raises(StoreError, match=r"the catalog at 127\.0\.0\.1:1"):
        RedisCatalog("redis://127.0.0.1:1/0")


def test_a_closed_catalog_says_so(open_catalog: Callable[[], RedisCatalog]) -> None:
    catalog = open_catalog()
    catalog.close()
    with pytest.raises(StoreError, match="closed"):
        catalog.sources()
