"""The read-side graph of graph-local search as a few flat arrays and nothing else: no Python
object per passage, entity or edge, so that it can live in a memory-mapped file
(:mod:`graph_file`) that every server process of a machine shares.

- strings (chunk ids, entity ids, names and types, title keys): one UTF-8 blob and offsets
  (:class:`Strings`);
- lookups (a chunk id, an entity's link key, a title key): sorted 64-bit hashes of the keys
  searched by bisection, each hit checked against the key itself (:class:`KeyTable`);
- the passage-entity graph: a symmetric CSR adjacency (:class:`Adjacency`), which entities each
  passage mentions (CSR), each entity's document frequency, and which passages each title key
  names (CSR).

:func:`build_arrays` makes them from a stored knowledge graph as ``GraphIndex`` always has."""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, fields
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from graphready.knowledge import KnowledgeGraph

from .keys import link_key, title_keys
from .pagerank import Adjacency

CONCEPT = "CONCEPT"
Array = npt.NDArray[np.generic]


class Strings:
    """A sequence of strings held as one UTF-8 blob and their end offsets."""

    def __init__(self, blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]) -> None:
        self.blob = blob
        self.offsets = offsets

    @classmethod
    def of(cls, values: Iterable[str]) -> Strings:
        # One growing buffer: no bytes object per value, no second copy of the whole.
        blob = bytearray()
        ends = array("q", [0])
        for value in values:
            blob += value.encode()
            ends.append(len(blob))
        return cls(np.frombuffer(blob, dtype=np.uint8), np.frombuffer(ends, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> str:
        return self.blob[self.offsets[index] : self.offsets[index + 1]].tobytes().decode()


def key_hash(key: str) -> int:
    """A key's 64-bit hash, the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


class KeyTable:
    """Keys -> rows: the keys' hashes, sorted, with each one's row; ``key_of(row)`` gives the
    key back, so that a hit is checked (two keys of the same hash are both found)."""

    def __init__(self, hashes: npt.NDArray[np.uint64], rows: npt.NDArray[np.int32],
                 key_of: Callable[[int], str]) -> None:
        self.hashes = hashes
        self.rows = rows
        self._key_of = key_of

    @staticmethod
    def arrays(keys: Sequence[str], rows: Sequence[int]) -> (
            tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]):
        """The sorted hashes of ``keys`` and the rows beside them."""
        hashes = np.array([key_hash(k) for k in keys], dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        return hashes[order], np.asarray(rows, dtype=np.int32)[order]

    def find(self, keys: Sequence[str]) -> list[int]:
        """Each key's row, or -1 where the table does not hold it."""
        wanted = np.array([key_hash(k) for k in keys], dtype=np.uint64)
        starts = np.searchsorted(self.hashes, wanted)
        found = []
        for key, at, hashed in zip(keys, starts.tolist(), wanted.tolist(), strict=True):
            row = -1
            while at < len(self.hashes) and int(self.hashes[at]) == hashed:
                if self._key_of(int(self.rows[at])) == key:
                    row = int(self.rows[at])
                    break
                at += 1
            found.append(row)
        return found


class NamedArrays:
    """Base of a frozen dataclass whose fields are all arrays: written to a file and mapped
    back by their names (:mod:`graph_file`)."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Array]:
        """Each array by its field's name (what :mod:`graph_file` writes)."""
        return {f.name: getattr(self, f.name) for f in fields(cast(Any, self))}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cast(Any, cls)))


@dataclass(frozen=True, slots=True)
class GraphArrays(NamedArrays):
    """Everything graph-local search reads. Nodes are the passages (chunk ids in sorted order)
    then the entities (in the graph's order, concepts and entities without passages left out).
    Title ``t``'s passages are ``title_nodes[title_ptr[t]:title_ptr[t + 1]]``; a passage's
    entities likewise in ``mention_ptr``/``mention_idx``."""

    chunk_blob: npt.NDArray[np.uint8]
    chunk_offsets: npt.NDArray[np.int64]
    chunk_hashes: npt.NDArray[np.uint64]
    chunk_rows: npt.NDArray[np.int32]
    id_blob: npt.NDArray[np.uint8]
    id_offsets: npt.NDArray[np.int64]
    name_blob: npt.NDArray[np.uint8]
    name_offsets: npt.NDArray[np.int64]
    type_blob: npt.NDArray[np.uint8]
    type_offsets: npt.NDArray[np.int64]
    df: npt.NDArray[np.int32]
    link_hashes: npt.NDArray[np.uint64]
    link_rows: npt.NDArray[np.int32]
    title_blob: npt.NDArray[np.uint8]
    title_offsets: npt.NDArray[np.int64]
    title_hashes: npt.NDArray[np.uint64]
    title_rows: npt.NDArray[np.int32]
    title_ptr: npt.NDArray[np.int64]
    title_nodes: npt.NDArray[np.int32]
    title_full: npt.NDArray[np.uint8]
    mention_ptr: npt.NDArray[np.int64]
    mention_idx: npt.NDArray[np.int32]
    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int32]
    share: npt.NDArray[np.float64]
    strength: npt.NDArray[np.float64]

    @property
    def adjacency(self) -> Adjacency:
        return Adjacency(self.indptr, self.indices, self.share, self.strength)

    def nbytes(self) -> int:
        """Bytes of all arrays."""
        return sum(int(a.nbytes) for a in self.as_dict().values())


def _csr(rows: int, pairs: Iterable[tuple[int, int]]) -> (
        tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]):
    """Row pointers and columns of distinct ``(row, column)`` pairs, columns sorted."""
    flat = np.array(sorted(set(pairs)), dtype=np.int64).reshape(-1, 2)
    ptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat[:, 0], minlength=rows), out=ptr[1:])
    return ptr, flat[:, 1].astype(np.int32)


def build_arrays(graph: KnowledgeGraph, titles: Mapping[str, Sequence[str]],
                 own_page_weight: float) -> GraphArrays:
    """The arrays of ``graph``'s named entities and passages; ``titles`` maps each document
    title to its chunks (a title's entity is tied to them, ``own_page_weight`` times more)."""
    entities = [e for e in graph.entities if e.type != CONCEPT and e.chunk_ids]
    chunk_ids = sorted({c for e in entities for c in e.chunk_ids}
                       | {c for ids in titles.values() for c in ids})
    chunk_index = {c: i for i, c in enumerate(chunk_ids)}
    n_chunks = len(chunk_ids)
    title_of, full = _title_index(titles, chunk_index)
    by_key: dict[str, int] = {}
    for i, entity in enumerate(entities):
        by_key.setdefault(link_key(entity.name), i)
    members = [{chunk_index[c] for c in e.chunk_ids} for e in entities]
    mention_ptr, mention_idx = _csr(n_chunks, ((node, i) for i, nodes in enumerate(members)
                                               for node in nodes))
    own: dict[int, set[int]] = {}
    for key, title_nodes in title_of.items():
        index = by_key.get(key)
        if index is not None:
            own.setdefault(index, set()).update(title_nodes)
            members[index].update(title_nodes)
    sources, targets, weights = array("i"), array("i"), array("d")
    for i, nodes in enumerate(members):
        specificity = 1.0 / math.log(len(nodes) + math.e - 1)
        mine: Set[int] = own.get(i, frozenset())
        for node in sorted(nodes):
            sources.append(n_chunks + i)
            targets.append(node)
            weights.append(specificity * (own_page_weight if node in mine else 1.0))
    adjacency = Adjacency.from_edges(n_chunks + len(entities), np.frombuffer(sources, np.int32),
                                     np.frombuffer(targets, np.int32),
                                     np.frombuffer(weights, np.float64))
    chunks = Strings.of(chunk_ids)
    ids, names, types = (Strings.of(e.id for e in entities), Strings.of(e.name for e in entities),
                         Strings.of(e.type for e in entities))
    keys = list(title_of)
    title_strings = Strings.of(keys)
    title_ptr, title_members = _csr(len(keys), ((t, node) for t, key in enumerate(keys)
                                                for node in title_of[key]))
    chunk_hashes, chunk_rows = KeyTable.arrays(chunk_ids, range(n_chunks))
    link_hashes, link_rows = KeyTable.arrays(list(by_key), list(by_key.values()))
    title_hashes, title_rows = KeyTable.arrays(keys, range(len(keys)))
    return GraphArrays(
        chunks.blob, chunks.offsets, chunk_hashes, chunk_rows, ids.blob, ids.offsets,
        names.blob, names.offsets, types.blob, types.offsets,
        np.array([len(nodes) for nodes in members], dtype=np.int32), link_hashes, link_rows,
        title_strings.blob, title_strings.offsets, title_hashes, title_rows, title_ptr,
        title_members, np.array([key in full for key in keys], dtype=np.uint8),
        mention_ptr, mention_idx, adjacency.indptr, adjacency.indices, adjacency.share,
        adjacency.strength)


def _title_index(titles: Mapping[str, Sequence[str]], chunk_index: Mapping[str, int]) -> (
        tuple[dict[str, list[int]], frozenset[str]]):
    """Link key (of a title, or of a title without its disambiguation) -> the graph nodes of
    the passages of those documents; and the keys of the full titles."""
    nodes_of: dict[str, set[int]] = {}
    full: set[str] = set()
    for title, ids in titles.items():
        nodes = {chunk_index[c] for c in ids if c in chunk_index}
        if not nodes:
            continue
        key, alias = title_keys(title)
        for name in (key, alias):
            if name:
                nodes_of.setdefault(name, set()).update(nodes)
        if key:
            full.add(key)
    return {key: sorted(nodes) for key, nodes in nodes_of.items()}, frozenset(full)
