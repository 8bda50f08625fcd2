"""Documents added over HTTP, kept under the data dir (``DATA_DIR/uploads/``), one JSON file per
document, so they survive restarts and feed the build as a second source next to the folder.

Each file is named by a hash of the document's id (no client-chosen name ever becomes a path)
and written atomically: a temporary file in the same folder, fsync, ``os.replace``, fsync of the
folder. A kill at any moment leaves either the whole new file or the previous state; a leftover
temporary file is hidden (its name starts with ``.``) and removed when the store is opened.

In the catalog an upload is the source ``.uploads/<file>``: a folder scan never yields such a
path (hidden files and folders are skipped), so uploads and folder files cannot collide, and the
documents stage treats both alike (content-hashed, incremental, exact removal).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from graphready.documents.hashing import document_hash, file_hash
from graphready.documents.loaders import MAX_ID_CHARS, LoadResult
from graphready.documents.types import Document, SkippedFile, SourceFile, page_starts
from graphready.errors import StorageFull, StoreError
from graphready.stores.sqlite.recovery import is_disk_full

SOURCE_PREFIX = ".uploads/"
"""The catalog source path of every uploaded document starts with this."""
_SUFFIX = ".json"
_TEMP_PREFIX = ".tmp-"


def uploads_folder(data_dir: Path) -> Path:
    """Where the uploaded documents of a data dir are kept."""
    return data_dir / "uploads"


def is_upload(source_path: str) -> bool:
    """Whether a catalog source path is an uploaded document (else a file of the folder)."""
    return source_path.startswith(SOURCE_PREFIX)


def file_name(doc_id: str) -> str:
    """The file that holds the document ``doc_id``: a hash of the id, never the id itself."""
    return hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:40] + _SUFFIX


def source_path(doc_id: str) -> str:
    """The catalog source path of the uploaded document ``doc_id``."""
    return SOURCE_PREFIX + file_name(doc_id)


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded document as stored: its text as the loaders read it, where it came from
    (``name``: the uploaded file's name, None for JSON), and when it was added (Unix time)."""

    id: str
    title: str
    text: str
    name: str | None
    added_at: float
    pages: tuple[tuple[int, int], ...] = ()
    """A PDF's ``(offset, page)`` where each page begins in ``text`` (``Document.pages``)."""

    @property
    def content_hash(self) -> str:
        """The hash of title and text, as the catalog keeps it."""
        return document_hash(self.title, self.text)

    @property
    def size(self) -> int:
        """The text's size in UTF-8 bytes."""
        return len(self.text.encode("utf-8"))

    def document(self) -> Document:
        """The document the build indexes."""
        return Document(self.id, self.title, self.text, source_path(self.id), self.content_hash,
                        self.pages)


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """What the listing shows of an uploaded document: all but its text."""

    id: str
    title: str
    name: str | None
    size: int
    content_hash: str
    added_at: float

    @classmethod
    def of(cls, upload: Upload) -> UploadInfo:
        """The information of ``upload``."""
        return cls(upload.id, upload.title, upload.name, upload.size, upload.content_hash,
                   upload.added_at)


def _decode(data: bytes) -> Upload:
    """An ``Upload`` from a stored file's bytes; ValueError when they are not one."""
    obj: Any = json.loads(data.decode("utf-8"))
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    fields = {"id": str, "title": str, "text": str}
    for key, kind in fields.items():
        if not isinstance(obj.get(key), kind):
            raise ValueError(f"field {key!r} is missing or not a string")
    name = obj.get("name")
    added = obj.get("added_at")
    return Upload(obj["id"], obj["title"], obj["text"], name if isinstance(name, str) else None,
                  float(added) if isinstance(added, int | float) else 0.0,
                  page_starts(obj.get("pages")) or ())  # none in older files


class UploadStore:
    """The uploaded documents of one data dir. Safe to share between threads and processes:
    every change is one atomic rename."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._infos: dict[str, tuple[tuple[int, int, int], UploadInfo]] = {}
        """File name -> (its inode, size and modification time when read, its information):
        a stored file is decoded once per version, not at every listing (a listing of
        megabyte uploads would otherwise decode them all, holding the interpreter lock)."""
        self._infos_lock = threading.Lock()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the uploads folder {folder}: {exc}") from exc
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self, older_than_s: float = 3600.0) -> None:
        """Remove temporary files a killed writer left (after an hour: one may be in use)."""
        cutoff = time.time() - older_than_s
        for path in self.folder.glob(f"{_TEMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def path(self, doc_id: str) -> Path:
        """Where ``doc_id`` is (or would be) stored."""
        return self.folder / file_name(doc_id)

    def get(self, doc_id: str) -> Upload | None:
        """The stored document ``doc_id``, or None."""
        try:
            data = self.path(doc_id).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {self.path(doc_id)}: {exc}") from exc
        try:
            upload = _decode(data)
        except ValueError:
            return None
        return upload if upload.id == doc_id else None

    def info(self, doc_id: str) -> UploadInfo | None:
        """The information of the stored document ``doc_id``, or None."""
        info = self._info(self.path(doc_id))
        return info if info is not None and info.id == doc_id else None

    def infos(self) -> list[UploadInfo]:
        """The information of every stored document, by id; each file is decoded only when
        it changed since it was last read (by any process: the key is its inode, size and
        modification time)."""
        found = [i for i in map(self._info, self._files()) if i is not None]
        names = {p.name for p in self._files()}
        with self._infos_lock:
            for gone in set(self._infos) - names:
                del self._infos[gone]
        found.sort(key=lambda i: i.id)
        return found

    def _info(self, path: Path) -> UploadInfo | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._infos_lock:
            cached = self._infos.get(path.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            info = UploadInfo.of(_decode(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None
        if path.name != file_name(info.id):
            return None
        with self._infos_lock:
            self._infos[path.name] = (key, info)
        return info

    def put(self, upload: Upload) -> None:
        """Store ``upload`` atomically, replacing any earlier version of the same id."""
        if not upload.id or len(upload.id) > MAX_ID_CHARS:
            raise ValueError(f"a document id must have 1 to {MAX_ID_CHARS} characters")
        data = json.dumps(asdict(upload), ensure_ascii=False).encode("utf-8")
        target = self.path(upload.id)
        try:
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            self._sync_folder()
        except OSError as exc:
            if is_disk_full(exc):
                raise StorageFull(f"cannot write {target}: {exc.strerror or exc}: the disk of "
                                  "the data dir is full; free space and send it again") from exc
            raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc

    def remove(self, doc_id: str) -> bool:
        """Delete ``doc_id``; False when it was not stored."""
        try:
            self.path(doc_id).unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot delete {self.path(doc_id)}: {exc}") from exc
        self._sync_folder()
        return True

    def _sync_folder(self) -> None:
        """Make a rename or an unlink durable (fsync of the folder; a no-op where unsupported)."""
        with contextlib.suppress(OSError):
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def all(self) -> list[Upload]:
        """Every stored document, by id."""
        found: list[Upload] = []
        for path in self._files():
            with contextlib.suppress(OSError, ValueError):
                found.append(_decode(path.read_bytes()))
        found.sort(key=lambda u: u.id)
        return found

    def _files(self) -> list[Path]:
        return sorted(p for p in self.folder.glob(f"*{_SUFFIX}") if not p.name.startswith("."))

    def scan(self) -> list[SourceFile]:
        """Every stored document as a source for the build, its hash that of the file's bytes."""
        found: list[SourceFile] = []
        for path in self._files():
            try:
                digest = file_hash(path.read_bytes())
            except OSError:
                continue  # removed since the listing: the build treats it as gone
            found.append(SourceFile(SOURCE_PREFIX + path.name, digest))
        return found

    def load(self, source: SourceFile) -> LoadResult:
        """The document of a source that ``scan`` found (none, with the reason, if it cannot
        be read: it was deleted since, or the file is damaged)."""
        path = self.folder / source.path.removeprefix(SOURCE_PREFIX)
        try:
            upload = _decode(path.read_bytes())
        except FileNotFoundError:
            return LoadResult()
        except (OSError, ValueError) as exc:
            reason = f"cannot read the uploaded document: {exc}"
            return LoadResult(skipped=[SkippedFile(source.path, reason)])
        if path.name != file_name(upload.id):
            reason = "the stored id does not match the file name"
            return LoadResult(skipped=[SkippedFile(source.path, reason)])
        return LoadResult(documents=[upload.document()])
