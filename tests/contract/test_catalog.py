"""The ``Catalog`` contract, run against every implementation in ``conftest.CATALOGS``."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pytest

from graphready.documents.hashing import fingerprint
from graphready.documents.types import Chunk, SkippedFile, SourceFile
from graphready.errors import StoreError
from graphready.stores.base import Catalog, SourceChange
from support.catalog_data import apply, apply_in_child, make_source

CatalogFactory = Callable[[Path], Catalog]


def ids_of(chunks: Sequence[Chunk]) -> list[str]:
    return [c.id for c in chunks]


LONG = " ".join(f"Sentence {i} of the long document has some words." for i in range(12))


def test_empty_catalog(catalog: Catalog) -> None:
    assert catalog.sources() == {}
    assert catalog.chunk_ids() == set()
    assert list(catalog.iter_chunks()) == []
    assert catalog.get_chunks(["nope"]) == []
    assert (catalog.document_count(), catalog.chunk_count()) == (0, 0)
    assert catalog.fingerprint() == fingerprint([])
    assert catalog.skipped() == []


def test_apply_source_adds_documents_and_chunks(catalog: Catalog) -> None:
    source, docs, chunks = make_source("a.jsonl", {"d1": "Short one.", "d2": LONG})
    assert len(chunks) > 2
    change = catalog.apply_source(source, docs, chunks)
    assert change == SourceChange(tuple(ids_of(chunks)), ())
    assert catalog.sources() == {"a.jsonl": "h1"}
    assert catalog.chunk_ids() == set(ids_of(chunks))
    assert (catalog.document_count(), catalog.chunk_count()) == (2, len(chunks))
    assert catalog.fingerprint() == fingerprint(ids_of(chunks))
    assert sorted(catalog.iter_chunks(), key=lambda c: c.id) == sorted(chunks, key=lambda c: c.id)


def test_get_chunks_keeps_requested_order_and_omits_missing(catalog: Catalog) -> None:
    source, docs, chunks = make_source("a.jsonl", {"d1": LONG})
    catalog.apply_source(source, docs, chunks)
    wanted = [chunks[2].id, "missing", chunks[0].id, chunks[1].id]
    assert catalog.get_chunks(wanted) == [chunks[2], chunks[0], chunks[1]]
    assert catalog.get_chunks([]) == []


def test_reapplying_identical_source_changes_nothing(catalog: Catalog) -> None:
    apply(catalog, "a.jsonl", {"d1": LONG, "d2": "Two."})
    before = catalog.fingerprint()
    assert apply(catalog, "a.jsonl", {"d1": LONG, "d2": "Two."}, "h2") == SourceChange((), ())
    assert catalog.fingerprint() == before
    assert catalog.sources() == {"a.jsonl": "h2"}


def test_replacing_a_source_reports_exactly_the_difference(catalog: Catalog) -> None:
    _, _, old = make_source("a.jsonl", {"d1": "Kept.", "d2": "Changed before.", "d3": "Gone."})
    apply(catalog, "a.jsonl", {"d1": "Kept.", "d2": "Changed before.", "d3": "Gone."})
    _, _, new = make_source("a.jsonl", {"d1": "Kept.", "d2": "Changed after.", "d4": "New."})
    change = apply(catalog, "a.jsonl", {"d1": "Kept.", "d2": "Changed after.", "d4": "New."}, "h2")
    assert change.added_chunk_ids == (new[1].id, new[2].id)
    assert set(change.removed_chunk_ids) == {old[1].id, old[2].id}
    assert catalog.chunk_ids() == set(ids_of(new))
    assert catalog.document_count() == 3


def test_sources_are_independent(catalog: Catalog) -> None:
    apply(catalog, "a.jsonl", {"a1": "From A."})
    _, _, b_chunks = make_source("b.md", {"b.md": "From B."})
    apply(catalog, "b.md", {"b.md": "From B."})
    apply(catalog, "a.jsonl", {"a1": "From A, edited."})
    assert catalog.get_chunks(ids_of(b_chunks)) == b_chunks
    assert catalog.sources() == {"a.jsonl": "h1", "b.md": "h1"}


def test_applying_no_documents_empties_the_source(catalog: Catalog) -> None:
    apply(catalog, "a.txt", {"a.txt": LONG})
    old = catalog.chunk_ids()
    change = catalog.apply_source(SourceFile("a.txt", "empty"), [], [])
    assert change.added_chunk_ids == () and set(change.removed_chunk_ids) == old
    assert catalog.chunk_ids() == set() and catalog.sources() == {"a.txt": "empty"}


def test_remove_source(catalog: Catalog) -> None:
    apply(catalog, "a.jsonl", {"a1": LONG})
    apply(catalog, "b.jsonl", {"b1": "Other."})
    a_ids = catalog.chunk_ids() - set(ids_of(make_source("b.jsonl", {"b1": "Other."})[2]))
    change = catalog.remove_source("a.jsonl")
    assert change.added_chunk_ids == () and set(change.removed_chunk_ids) == a_ids
    assert catalog.sources() == {"b.jsonl": "h1"}
    assert (catalog.document_count(), catalog.chunk_count()) == (1, 1)
    assert catalog.remove_source("a.jsonl") == SourceChange((), ())
    assert catalog.remove_source("never.txt") == SourceChange((), ())


def test_same_document_id_in_two_sources_destroys_neither(catalog: Catalog) -> None:
    apply(catalog, "a.jsonl", {"p1": "Version in A."})
    apply(catalog, "b.jsonl", {"p1": "Version in B."})
    assert catalog.document_count() == 2
    texts = {c.text for c in catalog.iter_chunks()}
    assert texts == {"Version in A.", "Version in B."}
    apply(catalog, "b.jsonl", {"p1": "Version in B, edited."})
    assert {c.text for c in catalog.iter_chunks()} == {"Version in A.", "Version in B, edited."}
    catalog.remove_source("b.jsonl")
    assert {c.text for c in catalog.iter_chunks()} == {"Version in A."}


def test_documents_of_some_ids_are_those_of_the_whole_listing(catalog: Catalog) -> None:
    apply(catalog, "a.jsonl", {"p1": "Version in A.", "p2": LONG, "p3": "Third."})
    apply(catalog, "b.jsonl", {"p1": "Version in B.", "p4": "Fourth."})
    every = catalog.documents()
    for ids in (["p1"], ["p2", "p4", "missing"], ["p3", "p3"], [], [f"x{i}" for i in range(2000)]):
        assert catalog.documents(ids) == [d for d in every if d.id in ids]
    assert len(catalog.documents(["p1"])) == 2 and len(catalog.documents(["p2"])[0].chunk_ids) > 1


def test_identical_chunk_in_two_sources_is_one_chunk(catalog: Catalog) -> None:
    first = apply(catalog, "a.jsonl", {"p1": "Same text."})
    assert len(first.added_chunk_ids) == 1
    assert apply(catalog, "b.jsonl", {"p1": "Same text."}) == SourceChange((), ())
    assert catalog.chunk_count() == 1
    assert catalog.remove_source("a.jsonl") == SourceChange((), ())
    assert catalog.chunk_ids() == set(first.added_chunk_ids)
    assert catalog.remove_source("b.jsonl") == SourceChange((), first.added_chunk_ids)


def test_fingerprint_changes_exactly_when_chunk_set_changes(catalog: Catalog) -> None:
    empty = catalog.fingerprint()
    apply(catalog, "a.jsonl", {"d1": "One."})
    one = catalog.fingerprint()
    assert one != empty
    apply(catalog, "a.jsonl", {"d1": "One."}, "other-hash")
    catalog.set_skipped([SkippedFile("x", "y")])
    assert catalog.fingerprint() == one
    apply(catalog, "a.jsonl", {"d1": "One, edited."})
    assert catalog.fingerprint() not in (one, empty)
    apply(catalog, "a.jsonl", {"d1": "One."})
    assert catalog.fingerprint() == one
    catalog.remove_source("a.jsonl")
    assert catalog.fingerprint() == empty


def test_many_chunks_page_and_batch(catalog: Catalog) -> None:
    texts = {f"d{i}": f"Passage number {i}." for i in range(2600)}
    source, docs, chunks = make_source("big.jsonl", texts)
    catalog.apply_source(source, docs, chunks)
    listed = list(catalog.iter_chunks())
    assert len(listed) == 2600 and {c.id for c in listed} == set(ids_of(chunks))
    wanted = list(reversed(ids_of(chunks)))
    assert ids_of(catalog.get_chunks(wanted)) == wanted


def test_skipped_round_trip(catalog: Catalog) -> None:
    first = [SkippedFile("b.bin", "binary"), SkippedFile("a.jsonl:3", "invalid JSON")]
    catalog.set_skipped(first)
    assert catalog.skipped() == first
    catalog.set_skipped([SkippedFile("c.txt", "gone")])
    assert catalog.skipped() == [SkippedFile("c.txt", "gone")]
    catalog.set_skipped([])
    assert catalog.skipped() == []


def test_persists_across_close_and_reopen(open_catalog: Callable[[], Catalog]) -> None:
    first = open_catalog()
    apply(first, "a.jsonl", {"d1": LONG})
    first.set_skipped([SkippedFile("x.bin", "binary")])
    expected = (first.chunk_ids(), first.fingerprint(), first.sources())
    first.close()
    again = open_catalog()
    assert (again.chunk_ids(), again.fingerprint(), again.sources()) == expected
    assert again.skipped() == [SkippedFile("x.bin", "binary")]


def test_second_connection_sees_committed_writes(open_catalog: Callable[[], Catalog]) -> None:
    reader, writer = open_catalog(), open_catalog()
    assert reader.chunk_ids() == set()
    apply(writer, "a.jsonl", {"d1": "Written by the other one."})
    assert reader.chunk_ids() == writer.chunk_ids() != set()
    reader.remove_source("a.jsonl")
    assert writer.chunk_ids() == set()


def test_another_process_writes_are_seen(
    catalog_factory: CatalogFactory, catalog: Catalog, tmp_path: Path
) -> None:
    assert catalog.sources() == {}
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=apply_in_child, args=(catalog_factory, tmp_path / "catalog.db"))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert catalog.sources() == {"child.jsonl": "h1"}
    assert [c.text for c in catalog.iter_chunks()] == ["Written by a child process."]


def test_threads_share_one_connection(catalog: Catalog) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                apply(catalog, f"s{n}.jsonl", {f"d{n}": f"Thread {n} round {i}."})
                catalog.fingerprint()
                catalog.get_chunks(list(catalog.chunk_ids()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert catalog.chunk_count() == 6


def test_failed_apply_leaves_previous_state(catalog: Catalog) -> None:
    apply(catalog, "a.jsonl", {"d1": "Original."})
    before = (catalog.chunk_ids(), catalog.sources(), catalog.document_count())
    source, docs, chunks = make_source("a.jsonl", {"d1": "Replacement.", "d2": "More."}, "h2")
    bad = Chunk(chunks[1].id, "d2", 0, "t", cast(str, None))
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own error
        catalog.apply_source(source, docs, [chunks[0], bad])
    assert (catalog.chunk_ids(), catalog.sources(), catalog.document_count()) == before


def test_unopenable_location_raises_store_error(
    catalog_factory: CatalogFactory, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match="afile"):
        catalog_factory(tmp_path / "afile" / "catalog.db")

def test_a_damaged_file_is_moved_aside_and_an_empty_catalog_opened(
    catalog_factory: CatalogFactory, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    catalog = catalog_factory(garbage)
    try:
        assert catalog.sources() == {} and catalog.chunk_ids() == set()
    finally:
        catalog.close()
    moved = [p for p in tmp_path.iterdir() if p.name.startswith("garbage.db.corrupt-")]
    assert len(moved) == 1 and moved[0].read_bytes() == b"this is not a database" * 100


def test_documents_lists_each_document_with_its_chunks(catalog: Catalog) -> None:
    assert catalog.documents() == []
    _, _, chunks = make_source("b.jsonl", {"d2": LONG, "d1": "Short one."})
    apply(catalog, "b.jsonl", {"d2": LONG, "d1": "Short one."})
    apply(catalog, "a.jsonl", {"d1": "Short one."})
    listed = catalog.documents()
    assert [(d.id, d.source) for d in listed] == [("d1", "a.jsonl"), ("d1", "b.jsonl"),
                                                  ("d2", "b.jsonl")]
    assert listed[2].chunk_ids == tuple(c.id for c in chunks if c.doc_id == "d2")
    assert len(listed[2].chunk_ids) > 1 and listed[0].chunk_ids == listed[1].chunk_ids
    catalog.remove_source("b.jsonl")
    assert [(d.id, d.source) for d in catalog.documents()] == [("d1", "a.jsonl")]
