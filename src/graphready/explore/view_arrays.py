"""The graph API's view of a loaded graph (:class:`graphready.explore.view.GraphView`) as flat
arrays and nothing else, so that it can live in a memory-mapped file that every server process
of a machine shares (written and mapped as the graph-local arrays are:
:mod:`graphready.retrieval.graph_file`), and no process holds a Python object per entity,
relation or community:

- every entity, relation and community is one record (JSON) in a blob with offsets
  (:class:`Records`), read back as an object when a request asks for it;
- lookups by id (entities, communities) are sorted 64-bit hashes checked against the ids
  (:class:`~graphready.retrieval.graph_arrays.KeyTable`); the folded names and the sorted
  name words are :class:`~graphready.retrieval.graph_arrays.Strings`;
- the adjacency (both directions of each relation, strongest first), each entity's
  communities (top level first) and each community's children are CSR.

:func:`view_arrays` builds them from a knowledge graph exactly as the view always indexed it."""

from __future__ import annotations

import json
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt

from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation
from graphready.retrieval.graph_arrays import KeyTable, NamedArrays, Strings

T = TypeVar("T")
Array = npt.NDArray[np.generic]
WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """``text`` without case or accents: NFKD, combining marks dropped, casefolded."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


class Records(Sequence[T], Generic[T]):
    """A sequence of records held as one blob of JSON texts and their end offsets; an item
    is decoded into its object when it is read (a slice gives a list)."""

    def __init__(self, blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64],
                 decode: Callable[[Any], T]) -> None:
        self._blob = blob
        self._offsets = offsets
        self._decode = decode

    @staticmethod
    def encode(rows: Iterable[list[Any]]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """The blob and offsets of ``rows`` (lists of JSON values; floats come back exact)."""
        texts = Strings.of(json.dumps(row, separators=(",", ":")) for row in rows)
        return texts.blob, texts.offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _one(self, index: int) -> T:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        return self._decode(json.loads(self._blob[start:end].tobytes()))

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._one(i) for i in range(*index.indices(len(self)))]
        return self._one(int(index))

    def __iter__(self) -> Iterator[T]:
        return (self._one(i) for i in range(len(self)))


def _entity(row: list[Any]) -> Entity:
    return Entity(row[0], row[1], row[2], tuple(row[3]), row[4])


def _relation(row: list[Any]) -> Relation:
    return Relation(row[0], row[1], row[2], row[3], tuple(row[4]), row[5])


def _community(row: list[Any]) -> Community:
    return Community(row[0], row[1], row[2], tuple(row[3]), row[4], row[5], tuple(row[6]),
                     row[7])


@dataclass(frozen=True, slots=True)
class ViewArrays(NamedArrays):
    """Everything the view reads. Entities are in the graph's order (their position), as are
    relations and communities (their index). ``rel`` and ``other`` are the adjacency (CSR by
    ``indptr``): each entity's relations and the entity at their other end, strongest first;
    ``by_level`` the communities by (level, id); ``of_entity`` each entity's communities (CSR by
    ``of_entity_at``), top level first; ``children`` each community's (CSR by
    ``children_at``), in ``by_level`` order."""

    entity_blob: npt.NDArray[np.uint8]
    entity_offsets: npt.NDArray[np.int64]
    relation_blob: npt.NDArray[np.uint8]
    relation_offsets: npt.NDArray[np.int64]
    community_blob: npt.NDArray[np.uint8]
    community_offsets: npt.NDArray[np.int64]
    id_blob: npt.NDArray[np.uint8]
    id_offsets: npt.NDArray[np.int64]
    id_hashes: npt.NDArray[np.uint64]
    id_rows: npt.NDArray[np.int32]
    folded_blob: npt.NDArray[np.uint8]
    folded_offsets: npt.NDArray[np.int64]
    type_blob: npt.NDArray[np.uint8]
    type_offsets: npt.NDArray[np.int64]
    type_code: npt.NDArray[np.int32]
    word_blob: npt.NDArray[np.uint8]
    word_offsets: npt.NDArray[np.int64]
    word_owner: npt.NDArray[np.int32]
    indptr: npt.NDArray[np.int64]
    other: npt.NDArray[np.int32]
    rel: npt.NDArray[np.int32]
    rel_weight: npt.NDArray[np.float64]
    degree: npt.NDArray[np.int64]
    by_degree: npt.NDArray[np.int32]
    community_id_blob: npt.NDArray[np.uint8]
    community_id_offsets: npt.NDArray[np.int64]
    community_hashes: npt.NDArray[np.uint64]
    community_rows: npt.NDArray[np.int32]
    community_level: npt.NDArray[np.int32]
    community_size: npt.NDArray[np.int32]
    by_level: npt.NDArray[np.int32]
    of_entity: npt.NDArray[np.int32]
    of_entity_at: npt.NDArray[np.int64]
    children: npt.NDArray[np.int32]
    children_at: npt.NDArray[np.int64]

    def entities(self) -> Records[Entity]:
        return Records(self.entity_blob, self.entity_offsets, _entity)

    def relations(self) -> Records[Relation]:
        return Records(self.relation_blob, self.relation_offsets, _relation)

    def communities(self) -> Records[Community]:
        return Records(self.community_blob, self.community_offsets, _community)

    def ids(self) -> KeyTable:
        """Entity id -> position."""
        return KeyTable(self.id_hashes, self.id_rows, Strings(self.id_blob, self.id_offsets)
                        .__getitem__)

    def community_ids(self) -> KeyTable:
        """Community id -> index."""
        ids = Strings(self.community_id_blob, self.community_id_offsets)
        return KeyTable(self.community_hashes, self.community_rows, ids.__getitem__)


def _csr(owners: Sequence[int], values: Sequence[int], rows: int) -> (
        tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]):
    """``values`` grouped by owner (kept in their order within an owner), and the row ends."""
    owner = np.asarray(owners, dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    at = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=rows), out=at[1:])
    return np.asarray(values, dtype=np.int32).reshape(-1)[order], at


def view_arrays(graph: KnowledgeGraph, aliases: Mapping[str, Sequence[str]]) -> ViewArrays:
    """The view's arrays of ``graph``; ``aliases`` (entity id -> other names a curator's
    edit left it) are found by name search too."""
    entities, relations, communities = graph.entities, graph.relations, graph.communities
    position: dict[str, int] = {}
    for i, entity in enumerate(entities):
        position[entity.id] = i  # the last of a repeated id, as a dict of them would
    folded = [fold(e.name) for e in entities]
    words, owners = _name_words(entities, folded, aliases)
    adjacency = _adjacency(len(entities), relations, position, folded)
    community_ids = [c.id for c in communities]
    level = np.array([c.level for c in communities], dtype=np.int32)
    by_level = np.array(sorted(range(len(communities)),
                               key=lambda i: (communities[i].level, community_ids[i])),
                        dtype=np.int32)
    index = {c: i for i, c in enumerate(community_ids)}
    members, member_of, parents, kids = array("i"), array("i"), array("i"), array("i")
    for i in by_level.tolist():
        community = communities[i]
        parent = index.get(community.parent) if community.parent is not None else None
        if parent is not None:
            parents.append(parent)
            kids.append(i)
        for entity_id in community.entity_ids:
            at = position.get(entity_id)
            if at is not None:
                members.append(at)
                member_of.append(i)
    of_entity, of_entity_at = _csr(members, member_of, len(entities))
    children, children_at = _csr(parents, kids, len(communities))
    types = sorted({e.type for e in entities})
    code = {t: i for i, t in enumerate(types)}
    entity_blob, entity_offsets = Records.encode(
        [e.id, e.name, e.type, list(e.chunk_ids), e.description] for e in entities)
    relation_blob, relation_offsets = Records.encode(
        [r.source, r.target, r.label, r.weight, list(r.chunk_ids), r.description]
        for r in relations)
    community_blob, community_offsets = Records.encode(
        [c.id, c.level, c.parent, list(c.entity_ids), c.title, c.summary, list(c.chunk_ids),
         c.rating] for c in communities)
    ids, cids = Strings.of(e.id for e in entities), Strings.of(community_ids)
    id_hashes, id_rows = KeyTable.arrays(list(position), list(position.values()))
    community_hashes, community_rows = KeyTable.arrays(list(index), list(index.values()))
    folded_strings, type_strings, word_strings = (Strings.of(folded), Strings.of(types),
                                                  Strings.of(words))
    return ViewArrays(
        entity_blob, entity_offsets, relation_blob, relation_offsets, community_blob,
        community_offsets, ids.blob, ids.offsets, id_hashes, id_rows, folded_strings.blob,
        folded_strings.offsets, type_strings.blob, type_strings.offsets,
        np.array([code[e.type] for e in entities], dtype=np.int32), word_strings.blob,
        word_strings.offsets, owners, *adjacency, cids.blob, cids.offsets, community_hashes,
        community_rows, level,
        np.array([len(c.entity_ids) for c in communities], dtype=np.int32), by_level,
        of_entity, of_entity_at, children, children_at)


def _name_words(entities: Sequence[Entity], folded: Sequence[str],
                aliases: Mapping[str, Sequence[str]]) -> (
        tuple[list[str], npt.NDArray[np.int32]]):
    """Every word of every name (and of a curated alias), sorted, with the entity it names
    (by word, then by entity)."""
    words: list[str] = []
    owners = array("i")
    for i, name in enumerate(folded):
        found = WORD.findall(name)
        for alias in aliases.get(entities[i].id, ()) if aliases else ():
            found.extend(WORD.findall(fold(alias)))  # a merged or old name finds it
        for word in dict.fromkeys(found):
            words.append(word)
            owners.append(i)
    order = np.argsort(np.asarray(words, dtype=object), kind="stable")
    return ([words[j] for j in order.tolist()],
            np.frombuffer(owners, dtype=np.int32)[order].copy())


Adjacency = tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32],
                  npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int32]]


def _adjacency(n: int, relations: Sequence[Relation], position: Mapping[str, int],
               folded: Sequence[str]) -> Adjacency:
    """indptr, other, rel, rel_weight, degree and by_degree (all entities, highest degree
    first, then by folded name)."""
    count = len(relations)
    # Read straight into arrays (no list or tuple per relation on the way).
    src = np.fromiter((position.get(r.source, -1) for r in relations), dtype=np.int64,
                      count=count)
    dst = np.fromiter((position.get(r.target, -1) for r in relations), dtype=np.int64,
                      count=count)
    weight = np.fromiter((r.weight for r in relations), dtype=np.float64, count=count)
    keep = np.flatnonzero((src >= 0) & (dst >= 0))
    src, dst, weight = src[keep], dst[keep], weight[keep]
    rel = keep.astype(np.int32)
    node = np.concatenate([src, dst])
    both_weight = np.concatenate([weight, weight])
    order = np.lexsort((-both_weight, node))
    counts = np.bincount(node, minlength=n)
    indptr = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts)])
    other = np.concatenate([dst, src])[order].astype(np.int32)
    rel_weight = np.zeros(count, dtype=np.float64)
    rel_weight[keep] = weight
    by_name = np.argsort(np.asarray(folded, dtype=object), kind="stable")
    by_degree = by_name[np.argsort(-counts[by_name], kind="stable")].astype(np.int32)
    return (indptr.astype(np.int64), other, np.concatenate([rel, rel])[order], rel_weight,
            counts.astype(np.int64), by_degree)
