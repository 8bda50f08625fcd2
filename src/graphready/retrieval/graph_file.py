"""The read-side graph (:class:`GraphArrays`) in one file that every process of a machine maps
read-only, so that a graph is in memory once however many server processes answer from it. Any
set of named arrays is written and mapped the same way (:func:`write_arrays`,
:func:`open_arrays`): the graph API's view has its own file
(:mod:`graphready.explore.view_arrays`).

Layout: ``MAGIC``, the format version and the header's length (two little-endian u32), the
header (JSON: the graph's key, each array's dtype, length and offset, the payload's length and
CRC-32), then the arrays, each at a 64-byte boundary. A writer writes a temporary file beside
it, syncs it and renames it over the old one (``os.replace``), then syncs the folder: a reader
opens either the old file or the new one, never a half-written one, and one that keeps the old
file mapped keeps answering from it (its pages stay until it unmaps them). A reader checks the
magic, version, key, length and CRC before it trusts a file; one that fails is treated as
missing (and rebuilt by the caller)."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import os
import struct
import uuid
import zlib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .graph_arrays import GraphArrays

MAGIC = b"GRGRAPH\x00"
VERSION = 1
_ALIGN = 64
_PREFIX = struct.Struct("<8sII")
log = logging.getLogger("graphready.retrieval")


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def write_graph_file(path: Path, arrays: GraphArrays, key: str) -> None:
    """Write ``arrays`` to ``path`` under ``key`` (what the reader must ask for), atomically."""
    write_arrays(path, arrays.as_dict(), key)


def write_arrays(path: Path, parts: Mapping[str, npt.NDArray[np.generic]], key: str) -> None:
    """Write the named arrays ``parts`` to ``path`` under ``key``, atomically (each array is
    written from its own memory: no copy of the whole)."""
    table: list[tuple[str, str, int, int]] = []
    pieces: list[tuple[int, memoryview]] = []
    offset, crc, written = 0, 0, 0
    for name, data in parts.items():
        offset = _aligned(offset)
        table.append((name, data.dtype.str, int(data.size), offset))
        raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8).data
        crc = zlib.crc32(raw, zlib.crc32(bytes(offset - written), crc))
        pieces.append((offset - written, raw))
        written = offset = offset + len(raw)
    header = json.dumps({"key": key, "arrays": table, "payload": written,
                         "crc32": crc}).encode()
    prefix = _PREFIX.pack(MAGIC, VERSION, len(header)) + header
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as f:
            f.write(prefix + bytes(_aligned(len(prefix)) - len(prefix)))
            for padding, raw in pieces:
                f.write(bytes(padding))
                f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def read_key(path: Path) -> str | None:
    """The key of the graph in ``path`` (None: no readable graph there)."""
    header = _header(path)
    return None if header is None else str(header[0]["key"])


def _header(path: Path) -> tuple[dict[str, object], int] | None:
    """The header and where the payload starts; None when missing or not ours."""
    try:
        with path.open("rb") as f:
            magic, version, length = _PREFIX.unpack(f.read(_PREFIX.size))
            if magic != MAGIC or version != VERSION:
                return None
            header = json.loads(f.read(length))
    except (OSError, struct.error, ValueError):
        return None
    return (header, _aligned(_PREFIX.size + length)) if isinstance(header, dict) else None


def open_graph_file(path: Path, key: str) -> GraphArrays | None:
    """The arrays of the graph ``key`` mapped read-only from ``path``; None when the file is
    missing, of another graph (stale), or damaged."""
    views = open_arrays(path, key, GraphArrays.names())
    return None if views is None else GraphArrays(**views)


def open_arrays(path: Path, key: str, names: Collection[str]) -> dict[str, Any] | None:
    """The arrays ``names`` written under ``key``, mapped read-only from ``path``; None when
    the file is missing, of another key (stale), damaged, or holds other arrays."""
    found = _header(path)
    if found is None:
        return None
    header, start = found
    if header.get("key") != key:
        return None
    payload = header.get("payload")
    arrays = header.get("arrays")
    if not isinstance(payload, int) or not isinstance(arrays, list):
        return None
    try:
        with path.open("rb") as f:  # checked and mapped through one descriptor: one file
            if os.fstat(f.fileno()).st_size != start + payload:
                log.warning("graph file %s is damaged (its length); rebuilding it", path)
                return None
            if _crc32(f, start) != header.get("crc32"):
                log.warning("graph file %s is damaged (its checksum); rebuilding it", path)
                return None
            mapped = np.memmap(f, dtype=np.uint8, mode="r")
    except (OSError, ValueError):
        return None
    body = mapped[start:]
    views: dict[str, Any] = {}
    for name, dtype, size, at in arrays:
        kind = np.dtype(dtype)
        views[name] = body[at : at + size * kind.itemsize].view(kind)
    return views if set(views) == set(names) else None


def _crc32(f: io.BufferedReader, start: int) -> int:
    """The CRC-32 of the file from ``start``, read through a small buffer: the check does not
    bring the whole file into the process's memory, only what is read of it later."""
    f.seek(start)
    buffer = bytearray(1 << 20)
    crc = 0
    while read := f.readinto(buffer):
        crc = zlib.crc32(memoryview(buffer)[:read], crc)
    return crc


@contextlib.contextmanager
def building(path: Path) -> Iterator[None]:
    """Hold the lock beside ``path`` that lets one process of the machine at a time build and
    write the graph file (the others wait, then map what it wrote)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
