"""Value types for what the loaders read: source files, documents and chunks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Document:
    """One document. ``id`` is the passage id of a ``.jsonl`` line, or the file's path relative
    to the documents folder; ``content_hash`` is a hash of title and text. ``pages`` (a PDF's)
    holds ``(offset, page)`` where each page begins in ``text``; empty for other formats."""

    id: str
    title: str
    text: str
    source: str
    content_hash: str
    pages: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document that is indexed and cited. ``id`` is a content hash of the
    document id, the position and the text, so an unchanged chunk keeps its id across runs.
    ``page`` is the PDF page the chunk is on (a PDF is chunked page by page), else None."""

    id: str
    doc_id: str
    ordinal: int
    title: str
    text: str
    page: int | None = None


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under the documents folder: its relative path and a hash of its bytes."""

    path: str
    file_hash: str


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file (or a line of one) that was not ingested, and why."""

    path: str
    reason: str


def page_starts(value: object) -> tuple[tuple[int, int], ...] | None:
    """``Document.pages`` from JSON (a list of ``[offset, page]`` pairs of integers), or None
    when ``value`` is not that."""
    if not isinstance(value, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(type(n) is int for n in p)
            for p in value):
        return None
    return tuple((p[0], p[1]) for p in value)
