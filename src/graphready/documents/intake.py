"""Turning what a client sends to ``POST /documents`` into documents to store (pure functions):
uploaded files are read by the same loaders as the folder, JSON documents are checked, and every
problem is a request error that names the file (or the item) and what is wrong.

A file's name is only ever a document id, never a path: it is reduced to its last component
(``../../x.txt`` becomes ``x.txt``) and control characters are refused; the stored file's name
is a hash of the id (``documents/uploads.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from graphready.documents.loaders import (
    EXTENSIONS,
    MAX_ID_CHARS,
    LoadResult,
    clip_title,
    id_problem,
    load_bytes,
)
from graphready.documents.uploads import Upload
from graphready.errors import InvalidRequest, UnsupportedDocument

MAX_SKIPS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class JsonDocument:
    """One item of ``{"documents": [...]}``: the text, and optionally an id and a title."""

    text: str
    id: str | None = None
    title: str | None = None


def safe_name(filename: str | None) -> str:
    """The last component of an uploaded file's name (with ``\\`` read as a separator), or an
    ``InvalidRequest`` when nothing usable is left or it holds control characters."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    if not name or name in (".", ".."):
        raise InvalidRequest(f"an uploaded file needs a name, got {filename!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or len(name) > MAX_ID_CHARS:
        raise InvalidRequest(f"file name {filename!r}: control characters or over "
                             f"{MAX_ID_CHARS} characters")
    return name


def check_id(doc_id: str, where: str) -> str:
    """A document id as given, stripped; refused when empty, too long or with control
    characters."""
    cleaned = doc_id.strip()
    problem = id_problem(cleaned)
    if problem is not None:
        raise InvalidRequest(f"{where}: {problem}")
    return cleaned


def from_file(filename: str | None, data: bytes, now: float,
              load: Callable[[str, bytes], LoadResult] = load_bytes) -> list[Upload]:
    """The documents of one uploaded file (a ``.jsonl`` file may hold many; each other file is
    one document whose id is its name). All or nothing: a file with a bad line is refused, as
    is one whose parse budget ran out. ``load`` reads it: the server passes its
    ``Sandbox.load_bytes`` (a child process under the parse budgets, ``documents/sandbox.py``);
    the default reads in this process, without budgets."""
    name = safe_name(filename)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise UnsupportedDocument(f"file {name!r}: unsupported type {suffix or '(none)'!r}; "
                                  f"send one of {', '.join(sorted(EXTENSIONS))}")
    if not data.strip():
        raise InvalidRequest(f"file {name!r} is empty")
    loaded = load(name, data)
    if loaded.skipped:
        shown = "; ".join(f"{s.path}: {s.reason}" for s in loaded.skipped[:MAX_SKIPS_SHOWN])
        more = len(loaded.skipped) - MAX_SKIPS_SHOWN
        extra = f" (and {more} more)" if more > 0 else ""
        raise InvalidRequest(f"file {name!r} cannot be read: {shown}{extra}")
    if not loaded.documents:
        raise InvalidRequest(f"file {name!r} has no text to index")
    docs = [Upload(check_id(d.id, f"file {name!r}"), d.title, d.text, name, now, d.pages)
            for d in loaded.documents]
    return docs


def _title(text: str) -> str:
    """The first non-empty line, clipped (:func:`~graphready.documents.loaders.clip_title`)."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    return clip_title(line.lstrip("# "))


def content_id(text: str) -> str:
    """The id of a document sent without one: a hash of its text, so the same text sent twice
    is one document."""
    return "doc-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def from_json(items: Sequence[JsonDocument], now: float) -> list[Upload]:
    """Documents sent as JSON; an item without an id gets :func:`content_id`, one without a
    title its first line. Every title is clipped to ``MAX_TITLE_CHARS``."""
    out: list[Upload] = []
    for number, item in enumerate(items):
        where = f"documents.{number}"
        text = item.text.strip()
        if not text:
            raise InvalidRequest(f"{where}.text: empty")
        if "\x00" in text:
            raise InvalidRequest(f"{where}.text: holds NUL characters")
        doc_id = check_id(item.id, f"{where}.id") if item.id is not None else content_id(text)
        title = clip_title(item.title or "") or _title(text) or clip_title(doc_id)
        out.append(Upload(doc_id, title, text, None, now))
    return out


def unique(uploads: Sequence[Upload]) -> list[Upload]:
    """``uploads`` with one document per id (the last one sent wins, as a later version)."""
    by_id = {u.id: u for u in uploads}
    return list(by_id.values())
