"""``/documents``: add documents (files or JSON), list them with their state in every index, and
delete uploaded ones. A change is stored at once (atomically, under the data dir), hidden from
answers at once when it is a delete, and applied to every index by the next build; changes that
arrive while a build runs are queued for the build after it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from graphready.documents.intake import JsonDocument, from_file, from_json, unique
from graphready.documents.loaders import EXTENSIONS
from graphready.documents.uploads import Upload, is_upload
from graphready.errors import (
    Conflict,
    InvalidRequest,
    MalformedUpload,
    NotFound,
    UnsupportedDocument,
)
from graphready.settings_spec import env_name

from .bodies import read_json
from .cursors import KEY_CURSOR, decode_key, encode_key
from .delete_preview import DeletePreview, delete_preview
from .errors import error_responses
from .library import DocumentEntry, StageView, sort_key
from .lifecycle import AppState
from .patterns import DOCUMENT_ID, TEXT
from .state import app_state

router = APIRouter(tags=["documents"])
MAX_JSON_DOCUMENTS = 1000
MAX_PAGE = 500

IndexState = Literal["pending", "indexed", "failed"]
UPLOAD_MEDIA_TYPES = ("text/plain", "text/markdown", "text/html", "application/x-ndjson",
                      "application/pdf", "application/vnd.openxmlformats-officedocument."
                      "wordprocessingml.document")
"""The media types of the files graphready reads (``documents/loaders.py``'s extensions)."""
UPLOAD = {"type": "object", "required": ["files"], "additionalProperties": False,
          "properties": {"files": {
    "type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"},
    "description": "Files, each read by the extension of its name ("
                   + ", ".join(sorted(EXTENSIONS)) + ": else 415 `unsupported_document`); "
                   "a file with no text in it is refused with 422"}}}


class DocumentItem(BaseModel):
    """One document sent as JSON."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, pattern=DOCUMENT_ID,
                           description="kept as given (stripped); else a hash of the text")
    title: str | None = Field(default=None, description="else the text's first line")
    text: str = Field(pattern=TEXT, description="not blank, no NUL characters")


class DocumentsBody(BaseModel):
    """``POST /documents`` as JSON."""

    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentItem] = Field(min_length=1, max_length=MAX_JSON_DOCUMENTS)


class IndexStates(BaseModel):
    """A document's state in each index."""

    keyword: IndexState
    vectors: IndexState
    graph: IndexState


class DocumentOut(BaseModel):
    """A document: where it came from, its size and chunks, and its state in every index."""

    id: str
    title: str
    source: Literal["folder", "upload"]
    path: str | None = Field(description="its file under the served folder, or the uploaded "
                             "file's name (None for JSON)")
    size: int | None = Field(description="bytes: an upload's text, or the folder file "
                             "(None for one line of a .jsonl file)")
    chunks: int
    content_hash: str
    added_at: str | None
    state: IndexState
    indexes: IndexStates
    error: str | None


class DocumentList(BaseModel):
    """A page of documents; pass ``next_cursor`` as ``cursor`` for the next one."""

    documents: list[DocumentOut]
    next_cursor: str | None


class AddedDocuments(BaseModel):
    """The documents a ``POST /documents`` stored, as they are now."""

    documents: list[DocumentOut]


class DeletedDocument(BaseModel):
    """What a ``DELETE /documents/{id}`` did."""

    deleted: str
    message: str


def _stages(state: AppState) -> dict[str, StageView]:
    return {name: StageView(s.state, s.error) for name, s in state.readiness.stages.items()}


async def _entries(state: AppState, ids: Collection[str] | None = None) -> list[DocumentEntry]:
    """Every document (or those with one of ``ids``) as it is now, read in a worker thread."""
    library, stages, building = state.library, _stages(state), state.readiness.building
    return await asyncio.to_thread(library.entries, stages, building, ids)


def _store(state: AppState, uploads: list[Upload]) -> bool:
    """Store the uploads (blocking); True when one of them is new or changed. A document id
    that a file of the served folder holds is refused: the folder's file is the document."""
    asked = [u.id for u in uploads]
    folder_ids = {d.id for d in state.stores.catalog.documents(asked) if not is_upload(d.source)}
    taken = [u.id for u in uploads if u.id in folder_ids]
    if taken:
        raise Conflict(f"document id {taken[0]!r} belongs to a file of the served folder; "
                       "send the document under another id")
    changed = False
    for upload in uploads:
        old = state.library.uploads.info(upload.id)
        if old is not None and old.content_hash == upload.content_hash:
            continue
        state.library.uploads.put(upload)
        changed = True
    return changed


async def add_uploads(state: AppState, uploads: list[Upload]) -> list[DocumentEntry]:
    """Store the uploads, queue a build if anything changed, and the stored documents now."""
    changed = await asyncio.to_thread(_store, state, uploads)
    state.library.unhide([u.id for u in uploads])
    if changed:
        state.request_build()
    entries = await _entries(state, [u.id for u in uploads])
    return [e for e in entries if e.source == "upload"]


async def _delete(state: AppState, doc_id: str) -> bool:
    """Delete an uploaded document: hidden from answers now, removed by the next build. False
    when no uploaded document has this id."""
    library = state.library
    was_hidden = doc_id in library.hidden
    library.hide(doc_id)  # before the file goes: no moment where it is gone but citable
    if not await asyncio.to_thread(library.uploads.remove, doc_id):
        if not was_hidden:
            library.unhide([doc_id])
        return False
    state.request_build()
    return True


@router.post("/documents", status_code=202, response_model=AddedDocuments,
             responses=error_responses(InvalidRequest, MalformedUpload, UnsupportedDocument,
                                       Conflict),
             summary="Add documents: files (multipart, parts named 'files') or JSON",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": DocumentsBody.model_json_schema()},
                 "multipart/form-data": {"schema": UPLOAD, "encoding": {
                     "files": {"contentType": ", ".join(UPLOAD_MEDIA_TYPES)}}},
             }}})
async def add_documents(request: Request) -> JSONResponse:
    """Store the documents and queue them for indexing (202). The same id again replaces the
    document; the same text without an id is the same document."""
    state = app_state(request)
    now = time.time()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        uploads = await _read_files(request, state, now)
    else:
        body = await read_json(request, DocumentsBody,
                               'a JSON object {"documents": [{"text": ...}]} or files')
        uploads = from_json([JsonDocument(d.text, d.id, d.title) for d in body.documents], now)
    entries = await add_uploads(state, unique(uploads))
    return JSONResponse({"documents": [e.as_json() for e in entries]}, status_code=202)


async def _read_files(request: Request, state: AppState, now: float) -> list[Upload]:
    settings = state.settings
    try:
        form = await request.form(max_files=settings.max_upload_files, max_fields=100)
    except (MultiPartException, HTTPException) as exc:  # Starlette raises the latter
        detail = str(getattr(exc, "detail", None) or getattr(exc, "message", exc))
        if "Too many files" in detail:
            raise InvalidRequest(f"at most {settings.max_upload_files} files a request "
                                 f"({env_name('max_upload_files')})") from None
        raise MalformedUpload(f"the multipart body cannot be parsed: {detail}") from None
    except (ValueError, AssertionError, KeyError) as exc:
        raise MalformedUpload(f"the multipart body cannot be parsed: {exc}") from None
    try:
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
        if not list(form.keys()):
            raise MalformedUpload("the multipart body holds no complete part: send one or "
                                  "more files as parts named 'files'")
        others = [k for k in form if k != "files"]
        if others:
            raise InvalidRequest(f"unknown form field {others[0]!r}: send files as 'files'")
        if not files:
            raise InvalidRequest("no file: send one or more parts named 'files'")
        uploads: list[Upload] = []
        for upload in files:
            data = await upload.read()
            parsers = state.parsers  # a child process reads it, under the parse budgets
            uploads.extend(await parsers.run(from_file, upload.filename, data, now,
                                             parsers.load_bytes))
        return uploads
    finally:
        await form.close()


@router.get("/documents", response_model=DocumentList,
            summary="List the documents and their state in every index")
async def list_documents(
    request: Request,
    state: Annotated[IndexState | None, Query(description="only documents in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(pattern=KEY_CURSOR, description="next_cursor of the "
                                        "previous page (empty: the first page)")] = None,
) -> JSONResponse:
    """A page of documents in id order, optionally only those ``pending``, ``indexed`` or
    ``failed``."""
    entries = await _entries(app_state(request))
    if state is not None:
        entries = [e for e in entries if e.state == state]
    if cursor:
        after = decode_key(cursor)
        entries = [e for e in entries if sort_key(e) > after]
    page = entries[:limit]
    more = len(entries) > limit
    return JSONResponse({"documents": [e.as_json() for e in page],
                         "next_cursor": encode_key(sort_key(page[-1])) if more and page else None})


async def _one(request: Request, doc_id: str) -> DocumentEntry:
    found = await _entries(app_state(request), [doc_id])
    if not found:
        raise NotFound(f"no document with id {doc_id!r}")
    uploads = [e for e in found if e.source == "upload"]
    return uploads[0] if uploads else found[0]


@router.get("/documents/{doc_id:path}", response_model=DocumentOut,
            responses=error_responses(NotFound),
            summary="One document and its state in every index")
async def get_document(request: Request, doc_id: str) -> JSONResponse:
    """The document ``doc_id`` (404 when there is none)."""
    return JSONResponse((await _one(request, doc_id)).as_json())


@router.delete("/documents/{doc_id:path}", response_model=DeletedDocument | DeletePreview,
               responses=error_responses(NotFound, Conflict),
               summary="Delete an uploaded document and everything derived from it")
async def delete_document(
    request: Request, doc_id: str,
    dry_run: Annotated[bool, Query(description="Change nothing: say what the delete would "
                                   "remove or change (any document, a folder's too)")] = False,
) -> DeletedDocument | DeletePreview:
    """Remove an uploaded document: answers stop citing it at once, and the next build removes
    it from every index. A document of the served folder is refused (409): remove its file.
    With ``dry_run``: its passages, and the entities, relations and community reports of the
    graph that the delete would remove or change (``DeletePreview``), changing nothing."""
    state = app_state(request)
    if dry_run:
        return await delete_preview(state, await _one(request, doc_id))
    if await _delete(state, doc_id):
        return DeletedDocument(deleted=doc_id, message="deleted: no answer cites it from now "
                               "on; every index drops it in the build that follows")
    entry = await _one(request, doc_id)
    docs_dir = state.settings.docs_dir
    where = f"{docs_dir}/{entry.path}" if docs_dir is not None else entry.path
    line = " (a line of it)" if entry.path != entry.id else ""
    raise Conflict(f"document {doc_id!r} comes from the served folder: graphready does not "
                   f"delete your files; remove {where}{line}, then POST /build")
