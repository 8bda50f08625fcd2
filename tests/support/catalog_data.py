"""Catalog test data, in an importable module so a spawned child process can use it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from graphready.documents.chunking import chunk_document
from graphready.documents.hashing import document_hash
from graphready.documents.types import Chunk, Document, SourceFile
from graphready.stores.base import Catalog, SourceChange


def make_doc(doc_id: str, text: str, source: str = "a.jsonl") -> Document:
    return Document(doc_id, f"Title {doc_id}", text, source, document_hash(doc_id, text))


def make_source(
    path: str, texts: dict[str, str], file_hash: str = "h1"
) -> tuple[SourceFile, list[Document], list[Chunk]]:
    docs = [make_doc(i, t, path) for i, t in texts.items()]
    chunks = [c for d in docs for c in chunk_document(d, 120, 1)]
    return SourceFile(path, file_hash), docs, chunks


def apply(catalog: Catalog, path: str, texts: dict[str, str], h: str = "h1") -> SourceChange:
    return catalog.apply_source(*make_source(path, texts, h))



def apply_in_child(factory: Callable[[Path], Catalog], path: Path) -> None:
    store = factory(path)
    apply(store, "child.jsonl", {"c1": "Written by a child process."})
    store.close()


