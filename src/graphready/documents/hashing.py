"""Content hashes: file hashes, document hashes, chunk ids and set fingerprints (all SHA-256)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

ID_HEX_CHARS = 24
"""Length of a chunk id: 96 bits, ample against collisions for any realistic corpus."""

_SEP = b"\x1f"


def file_hash(data: bytes) -> str:
    """The full SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def document_hash(title: str, text: str) -> str:
    """The full SHA-256 hex digest of a document's title and text (unambiguously separated)."""
    h = hashlib.sha256()
    h.update(title.encode("utf-8"))
    h.update(_SEP)
    h.update(text.encode("utf-8"))
    return h.hexdigest()


def chunk_id(doc_id: str, ordinal: int, text: str) -> str:
    """A stable id for a chunk: the document id, its position and its text, hashed and
    truncated to ``ID_HEX_CHARS`` hex characters."""
    h = hashlib.sha256()
    h.update(doc_id.encode("utf-8"))
    h.update(_SEP)
    h.update(str(ordinal).encode("ascii"))
    h.update(_SEP)
    h.update(text.encode("utf-8"))
    return h.hexdigest()[:ID_HEX_CHARS]


def fingerprint(ids: Iterable[str]) -> str:
    """The SHA-256 hex digest of the sorted *set* of ``ids``: order and duplicates don't matter."""
    h = hashlib.sha256()
    for item in sorted(set(ids)):
        h.update(item.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
