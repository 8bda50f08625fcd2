"""Pure assembly of the graph from per-chunk extractions: mentions merge into entities on their
key, extracted relations merge into weighted, undirected relations on their entity pair."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from graphready.gcpause import gc_paused
from graphready.knowledge import ChunkExtraction, Entity, Relation

ENTITY_ID_CHARS = 16
RELATED_TO = "related_to"
_GENERIC_TYPES = {"TITLE": 1, "CONCEPT": 2}


def entity_id(key: str) -> str:
    """The id of the entity whose normalised key is ``key``: a short sha256 of the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:ENTITY_ID_CHARS]




@dataclass(slots=True)
class _EntityAcc:
    names: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    chunks: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _RelationAcc:
    labels: dict[str, int]
    chunks: set[str]
    weight: int = 1


def _bump(counts: dict[str, int], value: str) -> None:
    counts[value] = counts.get(value, 0) + 1


def _most_frequent(counts: dict[str, int]) -> str:
    """The most frequent value; ties go to the alphabetically first, for determinism."""
    if len(counts) == 1:
        return next(iter(counts))
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def _sorted_ids(ids: set[str]) -> tuple[str, ...]:
    return tuple(ids) if len(ids) == 1 else tuple(sorted(ids))


def _entity_type(types: dict[str, int]) -> str:
    """The most frequent type, a named (NER) type preferred over TITLE, TITLE over CONCEPT."""
    if len(types) == 1:
        return next(iter(types))
    return min(types.items(), key=lambda it: (_GENERIC_TYPES.get(it[0], 0), -it[1], it[0]))[0]


def _relation_label(labels: dict[str, int]) -> str:
    if len(labels) == 1:
        return next(iter(labels))
    specific = {k: v for k, v in labels.items() if k != RELATED_TO}
    return _most_frequent(specific) if specific else RELATED_TO


def _add_mentions(
    extraction: ChunkExtraction, entities: dict[str, _EntityAcc], ids: dict[str, str]
) -> None:
    chunk_id = extraction.chunk_id
    for mention in extraction.mentions:
        acc = entities.get(mention.key)
        if acc is None:
            acc = entities[mention.key] = _EntityAcc()
            ids[mention.key] = entity_id(mention.key)
        _bump(acc.names, mention.name)
        _bump(acc.types, mention.type)
        acc.chunks.add(chunk_id)


def _add_relations(
    extraction: ChunkExtraction,
    relations: dict[tuple[str, str], _RelationAcc],
    ids: dict[str, str],
) -> None:
    chunk_id = extraction.chunk_id
    for rel in extraction.relations:
        source, target = ids.get(rel.source), ids.get(rel.target)
        if source is None or target is None or source == target:
            continue
        pair = (source, target) if source < target else (target, source)
        acc = relations.get(pair)
        if acc is None:
            relations[pair] = _RelationAcc({rel.label: 1}, {chunk_id})
        else:
            acc.weight += 1
            _bump(acc.labels, rel.label)
            acc.chunks.add(chunk_id)


def assemble_graph(
    extractions: Iterable[ChunkExtraction],
) -> tuple[list[Entity], list[Relation]]:
    """Merge extractions into entities (sorted by id) and relations (sorted by source, target).

    An entity's name is its most frequent surface form and its type its most frequent type (a
    named type beats TITLE and CONCEPT). A relation's weight is the number of extracted relations
    (sentences, or title mentions) that support it; its label is the most frequent label other
    than ``related_to``, if any. Relations whose keys are not mentions of a chunk are ignored."""
    with gc_paused():
        return _assemble(extractions)


def _assemble(extractions: Iterable[ChunkExtraction]) -> tuple[list[Entity], list[Relation]]:
    entities: dict[str, _EntityAcc] = {}
    relations: dict[tuple[str, str], _RelationAcc] = {}
    ids: dict[str, str] = {}
    for extraction in extractions:
        _add_mentions(extraction, entities, ids)
        _add_relations(extraction, relations, ids)
    entity_list = [
        Entity(ids[key], _most_frequent(acc.names), _entity_type(acc.types),
               _sorted_ids(acc.chunks))
        for key, acc in entities.items()
    ]
    entity_list.sort(key=lambda e: e.id)
    relation_list = [
        Relation(source, target, _relation_label(acc.labels), float(acc.weight),
                 _sorted_ids(acc.chunks))
        for (source, target), acc in sorted(relations.items())
    ]
    return entity_list, relation_list
