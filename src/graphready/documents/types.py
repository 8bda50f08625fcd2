"""Value types for what the loaders read: source files, documents and chunks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Document:
    """One document. ``id`` is the passage id of a ``.jsonl`` line, or the file's path relative
    to the documents folder; ``content_hash`` is a hash of title and text."""

    id: str
    title: str
    text: str
    source: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document that is indexed and cited. ``id`` is a content hash of the
    document id, the position and the text, so an unchanged chunk keeps its id across runs."""

    id: str
    doc_id: str
    ordinal: int
    title: str
    text: str


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
