"""The documents uploaded to a deployment whose catalog is shared (``stores/redis/catalog.py``):
kept in the shared catalog, never on the disk of the server that took them, so every server of
the deployment lists them, and a server with an empty data dir has them.

Storing an upload applies its source to the catalog in the same atomic step (its chunks enter
the catalog and its change stream at once), and deleting one removes both: once ``remove``
returns, no server reads the document's passages from the catalog any more. The build's
documents stage never touches these sources (see :class:`FolderSources`)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from graphready.documents.chunking import chunk_document
from graphready.documents.hashing import file_hash
from graphready.documents.loaders import MAX_ID_CHARS, LoadResult
from graphready.documents.types import Chunk, Document, SkippedFile, SourceFile
from graphready.documents.uploads import (
    Upload,
    UploadInfo,
    UploadStore,
    is_upload,
    source_path,
    uploads_folder,
)
from graphready.stores.base import Catalog, CatalogDocument, SourceChange

if TYPE_CHECKING:  # not at run time: the redis package is an optional extra
    from graphready.config import Settings

    from .catalog import RedisCatalog


def _upload(record: str) -> Upload:
    fields = json.loads(record)
    pages = tuple((int(a), int(b)) for a, b in fields.pop("pages", ()))
    return Upload(**fields, pages=pages)


class SharedUploadStore(UploadStore):
    """The uploads of a shared catalog, with the :class:`UploadStore` interface the server
    uses (its ``folder`` under the data dir stays empty: nothing is written there). Uploads
    are chunked as the documents stage chunks them (``chunk_chars``, ``overlap``)."""

    def __init__(self, folder: Path, catalog: RedisCatalog, chunk_chars: int,
                 overlap: int) -> None:
        super().__init__(folder)
        self._catalog = catalog
        self._chunk_chars = chunk_chars
        self._overlap = overlap

    def get(self, doc_id: str) -> Upload | None:
        """The stored document ``doc_id``, or None."""
        record = self._catalog.upload_record(doc_id)
        return None if record is None else _upload(record)

    def info(self, doc_id: str) -> UploadInfo | None:
        """The information of the stored document ``doc_id``, or None."""
        upload = self.get(doc_id)
        return None if upload is None else UploadInfo.of(upload)

    def infos(self) -> list[UploadInfo]:
        """The information of every stored document, by id."""
        return [UploadInfo.of(u) for u in self.all()]

    def all(self) -> list[Upload]:
        """Every stored document, by id."""
        return sorted((_upload(r) for r in self._catalog.upload_records().values()),
                      key=lambda u: u.id)

    def put(self, upload: Upload) -> None:
        """Store ``upload`` and its chunks in the shared catalog, atomically, replacing any
        earlier version of the same id."""
        if not upload.id or len(upload.id) > MAX_ID_CHARS:
            raise ValueError(f"a document id must have 1 to {MAX_ID_CHARS} characters")
        record = json.dumps(asdict(upload), ensure_ascii=False)
        document = upload.document()
        chunks = chunk_document(document, self._chunk_chars, self._overlap)
        source = SourceFile(source_path(upload.id), file_hash(record.encode("utf-8")))
        self._catalog.put_upload(upload.id, record, source, [document], chunks)

    def remove(self, doc_id: str) -> bool:
        """Delete ``doc_id`` and its chunks from the shared catalog; False when not stored."""
        return self._catalog.remove_upload(doc_id, source_path(doc_id))

    def scan(self) -> list[SourceFile]:
        """None: the documents stage never applies a shared upload (``put`` did)."""
        return []

    def load(self, source: SourceFile) -> LoadResult:
        """Nothing (``scan`` finds none)."""
        return LoadResult()


class FolderSources:
    """The shared catalog as a server's build sees it: ``sources`` are only the files of the
    documents folder, and only on a server that has one. So the documents stage applies and
    removes the folder's files (on the one server of the deployment that holds the folder)
    and never removes an upload (``SharedUploadStore`` applied it) or another server's files;
    it still aligns this server's keyword index with every chunk of the catalog. Every other
    call goes to the catalog as it is."""

    def __init__(self, catalog: RedisCatalog, has_folder: bool) -> None:
        self.shared = catalog
        self._has_folder = has_folder

    def sources(self) -> dict[str, str]:
        """The folder's files that the catalog holds ({} on a server without a folder)."""
        if not self._has_folder:
            return {}
        return {p: h for p, h in self.shared.sources().items() if not is_upload(p)}

    def apply_source(self, source: SourceFile, documents: Sequence[Document],
                     chunks: Sequence[Chunk]) -> SourceChange:
        """As the catalog."""
        return self.shared.apply_source(source, documents, chunks)

    def remove_source(self, path: str) -> SourceChange:
        """As the catalog."""
        return self.shared.remove_source(path)

    def chunk_ids(self) -> set[str]:
        """As the catalog."""
        return self.shared.chunk_ids()

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """As the catalog."""
        return self.shared.get_chunks(ids)

    def iter_chunks(self) -> Iterator[Chunk]:
        """As the catalog."""
        return self.shared.iter_chunks()

    def fingerprint(self) -> str:
        """As the catalog."""
        return self.shared.fingerprint()

    def document_count(self) -> int:
        """As the catalog."""
        return self.shared.document_count()

    def documents(self, ids: Collection[str] | None = None) -> list[CatalogDocument]:
        """As the catalog."""
        return self.shared.documents(ids)

    def chunk_count(self) -> int:
        """As the catalog."""
        return self.shared.chunk_count()

    def set_skipped(self, skipped: Sequence[SkippedFile]) -> None:
        """As the catalog, on a server with a folder (another's scan found none of it)."""
        if self._has_folder:
            self.shared.set_skipped(skipped)

    def skipped(self) -> list[SkippedFile]:
        """As the catalog."""
        return self.shared.skipped()

    def close(self) -> None:
        """Close the catalog."""
        self.shared.close()


def shared_catalog(catalog: Catalog) -> RedisCatalog | None:
    """The shared catalog behind ``catalog``, or None when it is this machine's own."""
    return catalog.shared if isinstance(catalog, FolderSources) else None


def open_uploads(settings: Settings, catalog: Catalog) -> UploadStore:
    """The uploaded documents: in the shared catalog when ``catalog`` is one, else in the
    data dir's uploads folder."""
    folder = uploads_folder(settings.data_dir)
    shared = shared_catalog(catalog)
    if shared is None:
        return UploadStore(folder)
    return SharedUploadStore(folder, shared, settings.chunk_chars,
                             settings.chunk_overlap_sentences)
