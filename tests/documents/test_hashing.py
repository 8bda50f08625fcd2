"""Content hashes: stable, sensitive to every input, and order-free for fingerprints."""

from __future__ import annotations

import hashlib

from graphready.documents.hashing import (
    ID_HEX_CHARS,
    chunk_id,
    document_hash,
    file_hash,
    fingerprint,
)


def test_file_hash_is_full_sha256() -> None:
    assert file_hash(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(file_hash(b"")) == 64


def test_document_hash_separates_title_from_text() -> None:
    assert document_hash("ab", "c") != document_hash("a", "bc")
    assert document_hash("t", "x") == document_hash("t", "x")
    assert len(document_hash("t", "x")) == 64


def test_chunk_id_depends_on_doc_ordinal_and_text() -> None:
    base = chunk_id("doc", 0, "text")
    assert len(base) == ID_HEX_CHARS
    assert all(c in "0123456789abcdef" for c in base)
    assert base == chunk_id("doc", 0, "text")
    assert len({base, chunk_id("doc2", 0, "text"), chunk_id("doc", 1, "text"),
                chunk_id("doc", 0, "text2"), chunk_id("doc0", 0, "text")}) == 5


def test_chunk_id_handles_unicode() -> None:
    assert chunk_id("café", 0, "naïve ☃") != chunk_id("cafe", 0, "naive ☃")


def test_fingerprint_is_of_the_set() -> None:
    assert fingerprint(["b", "a"]) == fingerprint(["a", "b", "a"])
    assert fingerprint(iter(["a", "b"])) == fingerprint({"b", "a"})
    assert fingerprint(["a"]) != fingerprint(["a", "b"])
    assert fingerprint(["ab"]) != fingerprint(["a", "b"])
    assert fingerprint([]) == hashlib.sha256(b"").hexdigest()
