"""The upload store: one file per document, named by a hash of its id, written atomically;
the build reads it as a source of its own."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from graphready.documents.intake import JsonDocument, content_id, from_file, from_json, safe_name
from graphready.documents.types import SourceFile
from graphready.documents.uploads import (
    SOURCE_PREFIX,
    Upload,
    UploadInfo,
    UploadStore,
    file_name,
    is_upload,
    source_path,
)
from graphready.errors import InvalidRequest, UnsupportedDocument


def test_infos_follow_every_version_written_by_any_store(tmp_path: Path) -> None:
    """The listing's information is cached per file version: a change written through another
    store (another server process) is seen, a removed file leaves the listing, a damaged file
    is left out."""
    mine, theirs = UploadStore(tmp_path / "u"), UploadStore(tmp_path / "u")
    one = Upload("one", "One", "first text", "one.md", 1.0)
    two = Upload("two", "Two", "x", None, 2.0)
    mine.put(one)
    mine.put(two)
    assert mine.infos() == [UploadInfo.of(one), UploadInfo.of(two)]
    assert mine.info("one") == UploadInfo.of(one) and mine.info("nothing") is None
    newer = Upload("one", "One", "a second text of another length", "one.md", 3.0)
    theirs.put(newer)
    assert mine.info("one") == UploadInfo.of(newer)
    assert mine.infos()[0].content_hash == newer.content_hash
    theirs.remove("two")
    assert [i.id for i in mine.infos()] == ["one"] and mine.info("two") is None
    mine.path("one").write_bytes(b"{damaged")
    assert mine.infos() == [] and mine.info("one") is None


def test_put_get_replace_remove_and_scan(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads")
    first = Upload("../../etc/passwd", "T", "first text", "passwd", 1.0)
    store.put(first)
    assert store.get(first.id) == first
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [file_name(first.id)]
    assert not (tmp_path / "etc").exists()
    store.put(Upload(first.id, "T", "second text", None, 2.0))
    got = store.get(first.id)
    assert got is not None and got.text == "second text"
    [source] = store.scan()
    assert source.path == source_path(first.id) and is_upload(source.path)
    loaded = store.load(source)
    assert [d.text for d in loaded.documents] == ["second text"] and not loaded.skipped
    assert loaded.documents[0].content_hash == got.content_hash
    assert store.remove(first.id) and not store.remove(first.id)
    assert store.get(first.id) is None and store.scan() == []
    assert store.load(source).documents == []


def test_folder_paths_never_look_like_uploads() -> None:
    assert SOURCE_PREFIX.startswith(".")  # a folder scan skips hidden files and folders
    assert not is_upload("uploads/a.txt") and not is_upload("a.txt")


def test_a_killed_write_leaves_the_previous_version_and_no_visible_file(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "u")
    store.put(Upload("a", "A", "kept", None, 1.0))
    (tmp_path / "u" / ".tmp-half").write_bytes(b'{"id": "a", "te')  # a writer killed mid-way
    old = time.time() - 7200
    os.utime(tmp_path / "u" / ".tmp-half", (old, old))
    assert [s.path for s in store.scan()] == [source_path("a")]
    assert store.get("a") is not None and store.get("a").text == "kept"  # type: ignore[union-attr]
    UploadStore(tmp_path / "u")  # opening again removes the stale temporary file
    assert not (tmp_path / "u" / ".tmp-half").exists()


def test_a_damaged_file_is_skipped_with_a_reason(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "u")
    (tmp_path / "u" / file_name("x")).write_bytes(b"not json")
    loaded = store.load(SourceFile(source_path("x"), "h"))
    assert loaded.documents == [] and "cannot read" in loaded.skipped[0].reason
    assert store.get("x") is None and store.all() == []


def test_files_become_documents_by_the_folder_loaders() -> None:
    [doc] = from_file("..\\..\\notes.md", b"# Heron\n\nThe heron nests here.", 5.0)
    assert (doc.id, doc.title, doc.name, doc.added_at) == ("notes.md", "Heron", "notes.md", 5.0)
    lines = from_file("x.jsonl", b'{"id": 1, "text": "one"}\n{"id": "b", "text": "two"}\n', 0)
    assert [d.id for d in lines] == ["1", "b"]
    with pytest.raises(UnsupportedDocument, match=r"unsupported type '\.doc'.*\.docx.*\.pdf"):
        from_file("x.doc", b"\xd0\xcf\x11\xe0", 0)
    with pytest.raises(InvalidRequest, match="empty"):
        from_file("x.txt", b"  \n", 0)
    with pytest.raises(InvalidRequest, match=r"x\.jsonl:2"):
        from_file("x.jsonl", b'{"id": 1, "text": "one"}\n[]\n', 0)
    for bad in ("", "..", "a/..", "a\x01b.txt"):
        with pytest.raises(InvalidRequest):
            safe_name(bad)


def test_json_documents_ids_and_titles() -> None:
    [a, b] = from_json([JsonDocument("Same text.\nMore."), JsonDocument("x", "given", "Title")], 0)
    assert a.id == content_id("Same text.\nMore.") and a.title == "Same text."
    assert (b.id, b.title) == ("given", "Title")
    assert from_json([JsonDocument("Same text.\nMore.")], 1)[0].id == a.id
    with pytest.raises(InvalidRequest, match="control"):
        from_json([JsonDocument("x", "a\tb")], 0)
    with pytest.raises(InvalidRequest, match="empty"):
        from_json([JsonDocument(" ")], 0)
