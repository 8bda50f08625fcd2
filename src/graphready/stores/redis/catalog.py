"""The catalog on a Redis-protocol server, shared by every server of a deployment, with a
change stream that a server follows to keep its local caches (the keyword index) in step.

Every key is under ``graphready:catalog:<namespace>:`` (below, ``P``):

- ``P sources``: a hash, source path -> the hash of its bytes;
- ``P source:<path>``: the source's distinct chunk ids and document ids, as JSON;
- ``P chunks``: a hash, chunk id -> the chunk as JSON; ``P refs``: chunk id -> how many
  sources hold it (the catalog's chunk-id set is its keys, as in the SQLite catalog);
- ``P doc:<id>``: a hash, source -> the document as JSON (title, content hash, chunk ids in
  order); ``P doc-ids``: doc id -> how many sources hold it;
- ``P skipped``: the files the last scan skipped, as JSON; ``P uploads``: a hash, uploaded
  document id -> the document as uploaded (``stores/redis/uploads.py``), written in the same
  atomic step as its source;
- ``P seq`` and ``P changes``: the change counter, and the stream of changes, one entry per
  applied or removed source, whose entry id is ``<seq>-1``: a follower reads it from the last
  sequence it applied (``XREAD``). The stream keeps about ``CHANGES_KEPT`` entries; a follower
  that fell behind the oldest one kept starts again from the whole catalog.

Applying or removing a source is one Lua script, so it is atomic: a reader never sees half a
source, and two servers writing at once are serialised by the server. The script builds key
names from its arguments, so the catalog needs a single (not clustered) server, as the queue's
scripts do.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from graphready.documents.hashing import fingerprint
from graphready.documents.types import Chunk, Document, SkippedFile, SourceFile
from graphready.errors import StoreError
from graphready.stores.base import CatalogDocument, SourceChange
from graphready.stores.client import client_errors

PREFIX = "graphready:catalog:"
CHANGES_KEPT = 100_000
"""About how many changes the stream keeps (``XADD MAXLEN ~``)."""
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 30.0
_BATCH = 1000

# ARGV: prefix, path, file hash ('' removes the source), the source's record (JSON), the
# documents (JSON list of [id, record]), the changes kept, an uploaded document's id ('' for
# none) and its record ('' removes it), then chunk id, chunk record pairs.
_APPLY = """
local p, path, removing = ARGV[1], ARGV[2], ARGV[3] == ''
local srckey = p .. 'source:' .. path
local old = redis.call('GET', srckey)
local old_ids, old_docs = {}, {}
if old then
  local o = cjson.decode(old)
  old_ids, old_docs = o['chunks'], o['docs']
end
local new_set, new_ids, records = {}, {}, {}
for i = 9, #ARGV, 2 do
  local id = ARGV[i]
  if not new_set[id] then
    new_set[id] = true
    table.insert(new_ids, id)
    records[id] = ARGV[i + 1]
  end
end
local old_set = {}
for _, id in ipairs(old_ids) do old_set[id] = true end
local added, removed = {}, {}
for _, id in ipairs(old_ids) do
  if not new_set[id] and redis.call('HINCRBY', p .. 'refs', id, -1) <= 0 then
    redis.call('HDEL', p .. 'refs', id)
    redis.call('HDEL', p .. 'chunks', id)
    table.insert(removed, id)
  end
end
for _, id in ipairs(new_ids) do
  if not old_set[id] and redis.call('HINCRBY', p .. 'refs', id, 1) == 1 then
    redis.call('HSET', p .. 'chunks', id, records[id])
    table.insert(added, id)
  end
end
local touched = {}
for _, d in ipairs(old_docs) do
  touched[d] = true
  if redis.call('HDEL', p .. 'doc:' .. d, path) == 1
     and redis.call('HINCRBY', p .. 'doc-ids', d, -1) <= 0 then
    redis.call('HDEL', p .. 'doc-ids', d)
  end
end
for _, d in ipairs(cjson.decode(ARGV[5])) do
  touched[d[1]] = true
  if redis.call('HSET', p .. 'doc:' .. d[1], path, d[2]) == 1 then
    redis.call('HINCRBY', p .. 'doc-ids', d[1], 1)
  end
end
if removing then
  redis.call('DEL', srckey)
  redis.call('HDEL', p .. 'sources', path)
else
  redis.call('SET', srckey, ARGV[4])
  redis.call('HSET', p .. 'sources', path, ARGV[3])
end
if ARGV[7] ~= '' then
  if ARGV[8] == '' then redis.call('HDEL', p .. 'uploads', ARGV[7])
  else redis.call('HSET', p .. 'uploads', ARGV[7], ARGV[8]) end
end
local docs = {}
for d, _ in pairs(touched) do table.insert(docs, d) end
local function list(t) if #t == 0 then return '[]' end return cjson.encode(t) end
local seq = redis.call('INCR', p .. 'seq')
redis.call('XADD', p .. 'changes', 'MAXLEN', '~', ARGV[6],
           seq .. '-1', 'source', path, 'removed_source', removing and '1' or '0',
           'added', list(added), 'removed', list(removed), 'docs', list(docs))
return {seq, added, removed}
"""


@dataclass(frozen=True, slots=True)
class CatalogChange:
    """One entry of the change stream: a source applied or removed, the chunk ids that entered
    and left the catalog, and the documents it touched (held before or after)."""

    seq: int
    source: str
    removed_source: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]
    doc_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChangePage:
    """What :meth:`RedisCatalog.changes` read: the changes after the sequence asked, in order,
    and whether the stream still held every change after it (False: the follower fell behind
    the stream's trim and must start again from the whole catalog)."""

    changes: tuple[CatalogChange, ...]
    complete: bool


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _chunk_record(chunk: Chunk) -> str:
    if not isinstance(chunk.text, str) or not isinstance(chunk.title, str):
        raise StoreError(f"chunk {chunk.id!r} has no text")
    return json.dumps([chunk.doc_id, chunk.ordinal, chunk.title, chunk.text, chunk.page])


def _chunk(chunk_id: str, record: Any) -> Chunk:
    doc_id, ordinal, title, text, page = json.loads(record)
    return Chunk(id=chunk_id, doc_id=doc_id, ordinal=ordinal, title=title, text=text,
                 page=page)


def _change(entry_id: Any, fields: Any) -> CatalogChange:
    values = {_text(k): _text(v) for k, v in fields.items()}
    return CatalogChange(
        seq=int(_text(entry_id).split("-", 1)[0]), source=values["source"],
        removed_source=values["removed_source"] == "1",
        added=tuple(json.loads(values["added"])), removed=tuple(json.loads(values["removed"])),
        doc_ids=tuple(json.loads(values["docs"])))


class RedisCatalog:
    """The ``Catalog`` on the Redis server at ``url`` (``redis://[:password@]host:port[/db]``)
    under ``namespace`` (one deployment, or one workspace of it), safe to share between threads,
    processes and machines. Its semantics are the SQLite catalog's (the contract suite runs
    against both); it adds the change stream (:meth:`changes`, :meth:`sequence`)."""

    def __init__(self, url: str, namespace: str = "") -> None:
        self._client: Redis = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                             socket_timeout=SOCKET_TIMEOUT_S)
        kwargs = self._client.connection_pool.connection_kwargs
        self.address = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        self._prefix = f"{PREFIX}{namespace}:"
        self._closed = False
        with self._errors("cannot reach the catalog"):
            self._client.ping()
            self._apply = self._client.register_script(_APPLY)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        with client_errors(f"the catalog at {self.address}", action, closed=self._closed,
                           errors=(RedisError, OSError)):
            yield

    def _key(self, name: str) -> str:
        return self._prefix + name

    def _run(self, path: str, file_hash: str, documents: Sequence[Document],
             chunks: Sequence[Chunk], upload: tuple[str, str] = ("", "")) -> SourceChange:
        owned: dict[str, list[str]] = {}
        for c in sorted(chunks, key=lambda c: (c.doc_id, c.ordinal)):
            ids = owned.setdefault(c.doc_id, [])
            if c.id not in ids:
                ids.append(c.id)
        records = {d.id: json.dumps([d.title, d.content_hash, owned.get(d.id, [])])
                   for d in documents}
        pairs: list[str] = []
        for c in chunks:
            pairs += (c.id, _chunk_record(c))
        chunk_ids = list(dict.fromkeys(c.id for c in chunks))
        source = json.dumps({"chunks": chunk_ids, "docs": list(records)})
        args = [self._prefix, path, file_hash, source, json.dumps(list(records.items())),
                str(CHANGES_KEPT), *upload, *pairs]
        with self._errors(f"cannot write the source {path!r}"):
            _seq, added, removed = self._apply(args=args)
        return SourceChange(tuple(_text(i) for i in added), tuple(_text(i) for i in removed))

    def sources(self) -> dict[str, str]:
        """Every known source file's path mapped to the hash of its bytes."""
        with self._errors("cannot read the sources"):
            raw = self._client.hgetall(self._key("sources"))
        return {_text(k): _text(v) for k, v in raw.items()}

    def apply_source(
        self, source: SourceFile, documents: Sequence[Document], chunks: Sequence[Chunk]
    ) -> SourceChange:
        """Make the catalog hold exactly these documents and chunks for ``source``, atomically;
        report the chunk ids that entered and left the catalog (and append the change)."""
        if not source.file_hash:
            raise StoreError(f"the source {source.path!r} has no file hash")
        return self._run(source.path, source.file_hash, documents, chunks)

    def remove_source(self, path: str) -> SourceChange:
        """Forget a source file and everything that came from it, atomically."""
        return self._run(path, "", (), ())

    def put_upload(self, doc_id: str, record: str, source: SourceFile,
                   documents: Sequence[Document], chunks: Sequence[Chunk]) -> SourceChange:
        """Store an uploaded document's ``record`` under ``doc_id`` and apply its ``source``
        (its documents and chunks), in one atomic step."""
        return self._run(source.path, source.file_hash, documents, chunks, (doc_id, record))

    def remove_upload(self, doc_id: str, path: str) -> bool:
        """Forget an uploaded document's record and its source ``path``, in one atomic step;
        False when no record was held."""
        if self.upload_record(doc_id) is None:
            return False
        self._run(path, "", (), (), (doc_id, ""))
        return True

    def upload_record(self, doc_id: str) -> str | None:
        """The record stored by :meth:`put_upload` for ``doc_id``, or None."""
        with self._errors("cannot read an uploaded document"):
            raw = self._client.hget(self._key("uploads"), doc_id)
        return None if raw is None else _text(raw)

    def upload_records(self) -> dict[str, str]:
        """Every uploaded document's id mapped to its record."""
        with self._errors("cannot read the uploaded documents"):
            raw = self._client.hgetall(self._key("uploads"))
        return {_text(k): _text(v) for k, v in raw.items()}

    def chunk_ids(self) -> set[str]:
        """Every chunk id in the catalog."""
        with self._errors("cannot read the chunk ids"):
            return {_text(k) for k in self._client.hkeys(self._key("refs"))}

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that exist, in the order asked (missing ids omitted)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Chunk] = {}
        with self._errors("cannot read chunks"):
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start:start + _BATCH]
                records = self._client.hmget(self._key("chunks"), batch)
                found.update((i, _chunk(i, r)) for i, r in zip(batch, records, strict=True)
                             if r is not None)
        return [found[i] for i in ids if i in found]

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk, in id order, read in pages (a chunk removed meanwhile is left out)."""
        ids = sorted(self.chunk_ids())
        for start in range(0, len(ids), _BATCH):
            yield from self.get_chunks(ids[start:start + _BATCH])

    def fingerprint(self) -> str:
        """``hashing.fingerprint`` of the set of chunk ids."""
        return fingerprint(self.chunk_ids())

    def document_count(self) -> int:
        """How many documents, counting each ``(source, id)`` once."""
        with self._errors("cannot count documents"):
            return sum(int(v) for v in self._client.hvals(self._key("doc-ids")))

    def documents(self, ids: Collection[str] | None = None) -> list[CatalogDocument]:
        """Every document (or those with one of ``ids``), ordered by id then source, with its
        chunk ids in order."""
        with self._errors("cannot read documents"):
            if ids is None:
                wanted = sorted(_text(k) for k in self._client.hkeys(self._key("doc-ids")))
            else:
                wanted = sorted(set(ids))
            out: list[CatalogDocument] = []
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start:start + _BATCH]
                pipe = self._client.pipeline(transaction=False)
                for doc_id in batch:
                    pipe.hgetall(self._key(f"doc:{doc_id}"))
                for doc_id, held in zip(batch, pipe.execute(), strict=True):
                    for source in sorted(held, key=_text):
                        title, content_hash, chunk_ids = json.loads(held[source])
                        out.append(CatalogDocument(_text(source), doc_id, title, content_hash,
                                                   tuple(chunk_ids)))
        return out

    def chunk_count(self) -> int:
        """How many distinct chunk ids."""
        with self._errors("cannot count chunks"):
            return int(self._client.hlen(self._key("refs")))

    def set_skipped(self, skipped: Sequence[SkippedFile]) -> None:
        """Replace the list of files skipped by the last scan."""
        with self._errors("cannot write the skipped files"):
            self._client.set(self._key("skipped"),
                             json.dumps([[s.path, s.reason] for s in skipped]))

    def skipped(self) -> list[SkippedFile]:
        """The files skipped by the last scan, in the order they were recorded."""
        with self._errors("cannot read the skipped files"):
            raw = self._client.get(self._key("skipped"))
        return [SkippedFile(path, reason) for path, reason in json.loads(raw or "[]")]

    # -- the change stream ------------------------------------------------------------------

    def sequence(self) -> int:
        """The sequence of the last change (0 before the first)."""
        with self._errors("cannot read the change sequence"):
            return int(self._client.get(self._key("seq")) or 0)

    def changes(self, after: int, block_s: float | None = None,
                limit: int = _BATCH) -> ChangePage:
        """The changes after sequence ``after`` (at most ``limit``), waiting up to ``block_s``
        for one when there is none yet (None: not waiting)."""
        key = self._key("changes")
        block = None if block_s is None else max(1, int(block_s * 1000))
        with self._errors("cannot read the change stream"):
            read: Any = self._client.xread({key: f"{after}-1"}, count=limit, block=block)
            entries: list[Any] = read[0][1] if read else []
            changes = tuple(_change(i, f) for i, f in entries)
            if changes:  # the stream was trimmed past ``after`` when the first is later
                complete = changes[0].seq == after + 1
            else:  # a change is written with its entry, atomically: none read, none written
                complete = int(self._client.get(self._key("seq")) or 0) <= after
        return ChangePage(changes, complete)

    def close(self) -> None:
        """Close the connection (further calls raise ``StoreError``)."""
        if not self._closed:
            self._closed = True
            self._client.close()
