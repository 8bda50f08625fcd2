"""The documents the server holds, from the folder and uploaded, and where each one is in every
index: the listing behind ``/documents``, the deleted documents hidden from answers and from the
graph API until the build has removed them, and the catalog view the agent reads passages
through.

A document's state in an index is computed, never stored, so it cannot go stale: ``indexed``
when every chunk of its current version is in the chunks the index covers (recorded when the
index was loaded, from the catalog it is synced to), ``failed`` with the stage's error when the
stage that should have indexed it failed, ``pending`` while a build is still to take it.
Everything here that reads a store blocks: the server calls it in a worker thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal

from graphready.config import Settings, Stage
from graphready.documents.types import Chunk, SkippedFile, SourceFile
from graphready.documents.uploads import UploadInfo, is_upload, source_path
from graphready.stores.base import Catalog, CatalogDocument, SourceChange
from graphready.stores.redis.uploads import open_uploads
from graphready.stores.registry import Stores

State = Literal["pending", "indexed", "failed"]
INDEXES = ("keyword", "vectors", "graph")
_STAGE_OF: Mapping[str, Stage] = MappingProxyType(
    {"keyword": "documents", "vectors": "vectors", "graph": "graph"})
"""The build stage that brings each index in line with the documents."""


@dataclass(frozen=True, slots=True)
class StageView:
    """What the listing needs to know of a build stage: its state and error."""

    state: str
    error: str | None


@dataclass(frozen=True, slots=True)
class DocumentEntry:
    """One document as ``/documents`` shows it."""

    id: str
    title: str
    source: Literal["folder", "upload"]
    path: str | None
    size: int | None
    chunks: int
    content_hash: str
    added_at: str | None
    indexes: dict[str, State]
    error: str | None

    @property
    def state(self) -> State:
        """``failed`` if an index failed it, else ``pending`` if one has yet to take it."""
        values = set(self.indexes.values())
        return "failed" if "failed" in values else "pending" if "pending" in values \
            else "indexed"

    def as_json(self) -> dict[str, object]:
        """The DOC object of the API."""
        return {"id": self.id, "title": self.title, "source": self.source, "path": self.path,
                "size": self.size, "chunks": self.chunks, "content_hash": self.content_hash,
                "added_at": self.added_at, "state": self.state, "indexes": dict(self.indexes),
                "error": self.error}


def _iso(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def sort_key(entry: DocumentEntry) -> tuple[str, str, str]:
    """The order of the listing: by id, then source, then path."""
    return (entry.id, entry.source, entry.path or "")


class Library:
    """The server's view of its documents. ``hidden`` holds the ids of uploaded documents that
    were deleted but may still be in the catalog: the agent never sees their passages (a
    request already running keeps what it read). A document leaves ``hidden`` when the catalog
    no longer holds it, but the loaded graph may still hold what it contributed until the graph
    stage has run: :meth:`graph_hidden` keeps hiding it from the graph API until then.
    ``coverage`` holds, per index, the chunk ids of the catalog that the index was last synced
    to."""

    def __init__(self, settings: Settings, stores: Stores) -> None:
        self._settings = settings
        self._stores = stores
        self.uploads = open_uploads(settings, stores.catalog)
        self._lock = threading.Lock()
        self._hidden: frozenset[str] = frozenset()
        self._lingering: frozenset[str] = frozenset()
        self.coverage: dict[str, frozenset[str]] = {name: frozenset() for name in INDEXES}

    @property
    def hidden(self) -> frozenset[str]:
        """The deleted documents hidden from answers."""
        return self._hidden

    @hidden.setter
    def hidden(self, ids: frozenset[str]) -> None:
        """Hide ``ids`` instead (a process of a shared server, from what it finds on disk)."""
        with self._lock:
            self._hidden = frozenset(ids)

    def graph_hidden(self, documents: Set[str]) -> frozenset[str]:
        """The documents of ``documents`` (those a loaded graph holds) that the graph API must
        hide: those hidden, and those deleted since whose removal the graph may not hold yet.
        Ids that the graph no longer holds are forgotten (a graph loaded later cannot hold
        them: the catalog it is loaded with no longer does)."""
        lingering = self._lingering
        if not lingering:
            return self._hidden & documents if self._hidden else frozenset()
        with self._lock:
            kept = frozenset(i for i in self._lingering if i in documents)
            self._lingering = kept
            return (self._hidden & documents) | kept

    # -- what each index covers --------------------------------------------------------------

    def refresh_coverage(self, indexes: Sequence[str] = INDEXES) -> None:
        """Record the chunks of the catalog that each of ``indexes`` is synced to now (an
        index that is not synced to the catalog keeps what it covered before)."""
        catalog = self._stores.catalog
        fingerprint = catalog.fingerprint()
        stores = {"keyword": self._stores.keyword, "vectors": self._stores.vectors,
                  "graph": self._stores.graph}
        ids: frozenset[str] | None = None
        for name in indexes:
            if stores[name].synced_fingerprint() == fingerprint:
                ids = ids if ids is not None else frozenset(catalog.chunk_ids())
                self.coverage[name] = ids

    def stage_done(self, stage: Stage) -> None:
        """A build stage completed: record what its index covers now, and after the documents
        stage, stop hiding what it removed."""
        self.refresh_coverage([index for index in INDEXES if _STAGE_OF[index] == stage])
        if stage == "documents":
            self.settle_hidden()

    def settle_hidden(self) -> None:
        """Stop hiding deleted documents that the catalog no longer holds (the documents
        stage removed them, so no index can give their passages any more)."""
        if not self._hidden:
            return
        held = self._stores.catalog.sources()
        with self._lock:
            gone = frozenset(i for i in self._hidden if source_path(i) not in held)
            self._lingering |= gone
            self._hidden -= gone

    def hide(self, doc_id: str) -> None:
        """Hide a deleted uploaded document from answers and the graph API from now on."""
        with self._lock:
            self._hidden |= {doc_id}

    def unhide(self, doc_ids: Sequence[str]) -> None:
        """Show documents again (they were uploaded anew)."""
        with self._lock:
            self._hidden -= set(doc_ids)
            self._lingering -= set(doc_ids)

    # -- the listing ------------------------------------------------------------------------

    def entries(self, stages: Mapping[str, StageView], building: bool,
                ids: Collection[str] | None = None) -> list[DocumentEntry]:
        """Every document (folder and uploads, a deleted upload excluded), or those with one of
        ``ids`` (reading only them), in listing order."""
        if ids is None:
            uploads = {u.id: u for u in self.uploads.infos()}
        else:
            found = (self.uploads.info(i) for i in set(ids))
            uploads = {u.id: u for u in found if u is not None}
        out: list[DocumentEntry] = []
        files: dict[str, tuple[float, int] | None] = {}
        for doc in self._stores.catalog.documents(ids):
            if is_upload(doc.source):
                upload = uploads.pop(doc.id, None)
                if upload is None or doc.id in self.hidden:
                    continue
                out.append(self._upload_entry(upload, doc, stages, building))
            else:
                if doc.source not in files:
                    files[doc.source] = self._file_stat(doc.source)
                out.append(self._folder_entry(doc, files[doc.source], stages))
        out.extend(self._upload_entry(u, None, stages, building) for u in uploads.values())
        out.sort(key=sort_key)
        return out

    def _states(self, chunk_ids: Sequence[str],
                stages: Mapping[str, StageView]) -> tuple[dict[str, State], str | None]:
        states: dict[str, State] = {}
        error = None
        for name in INDEXES:
            stage = stages[_STAGE_OF[name]]
            if self.coverage[name].issuperset(chunk_ids):
                states[name] = "indexed"
            elif stage.state == "failed":
                states[name] = "failed"
                error = error or f"the {_STAGE_OF[name]} stage failed: {stage.error}"
            else:
                states[name] = "pending"
        return states, error

    def _upload_entry(self, upload: UploadInfo, doc: CatalogDocument | None,
                      stages: Mapping[str, StageView], building: bool) -> DocumentEntry:
        current = doc is not None and doc.content_hash == upload.content_hash
        if current and doc is not None:
            states, error = self._states(doc.chunk_ids, stages)
            chunks = len(doc.chunk_ids)
        else:
            failed = stages["documents"].state == "failed" and not building
            states = dict.fromkeys(INDEXES, "failed" if failed else "pending")
            error = (f"the documents stage failed: {stages['documents'].error}"
                     if failed else None)
            chunks = 0
        return DocumentEntry(upload.id, upload.title, "upload", upload.name, upload.size,
                             chunks, upload.content_hash, _iso(upload.added_at), states, error)

    def _file_stat(self, source: str) -> tuple[float, int] | None:
        """(modification time, size) of a file of the folder, or None."""
        docs_dir = self._settings.docs_dir
        if docs_dir is None:
            return None
        try:
            stat = os.stat(docs_dir / source)
        except OSError:
            return None
        return stat.st_mtime, stat.st_size

    def _folder_entry(self, doc: CatalogDocument, file: tuple[float, int] | None,
                      stages: Mapping[str, StageView]) -> DocumentEntry:
        states, error = self._states(doc.chunk_ids, stages)
        added = file[0] if file is not None else None
        size = file[1] if file is not None and doc.id == doc.source else None
        return DocumentEntry(doc.id, doc.title, "folder", doc.source, size,
                             len(doc.chunk_ids), doc.content_hash, _iso(added), states, error)


class VisibleCatalog:
    """The catalog as the agent reads it: the passages of hidden (deleted) documents are left
    out. Every other call goes to the catalog as it is."""

    def __init__(self, catalog: Catalog, library: Library) -> None:
        self._catalog = catalog
        self._library = library

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that exist and are not hidden, in the order asked."""
        chunks = self._catalog.get_chunks(ids)
        hidden = self._library.hidden
        return [c for c in chunks if c.doc_id not in hidden] if hidden else chunks

    def sources(self) -> dict[str, str]:
        """As the catalog."""
        return self._catalog.sources()

    def apply_source(self, source: SourceFile, documents: Sequence[object],
                     chunks: Sequence[Chunk]) -> SourceChange:
        """The agent never writes: refused."""
        raise TypeError("the agent's catalog view is read-only")

    def remove_source(self, path: str) -> SourceChange:
        """The agent never writes: refused."""
        raise TypeError("the agent's catalog view is read-only")

    def chunk_ids(self) -> set[str]:
        """As the catalog."""
        return self._catalog.chunk_ids()

    def iter_chunks(self) -> Iterator[Chunk]:
        """As the catalog."""
        return self._catalog.iter_chunks()

    def fingerprint(self) -> str:
        """As the catalog."""
        return self._catalog.fingerprint()

    def document_count(self) -> int:
        """As the catalog."""
        return self._catalog.document_count()

    def documents(self, ids: Collection[str] | None = None) -> list[CatalogDocument]:
        """As the catalog."""
        return self._catalog.documents(ids)

    def chunk_count(self) -> int:
        """As the catalog."""
        return self._catalog.chunk_count()

    def set_skipped(self, skipped: Sequence[SkippedFile]) -> None:
        """The agent never writes: refused."""
        raise TypeError("the agent's catalog view is read-only")

    def skipped(self) -> list[SkippedFile]:
        """As the catalog."""
        return self._catalog.skipped()

    def close(self) -> None:
        """The catalog is closed by its owner, not through this view."""
