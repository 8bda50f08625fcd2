"""Pure assembly of the graph from per-chunk extractions: mentions merge into entities on their
key (or the key they are an alias of: :mod:`graphready.extraction.aliases`), extracted relations
merge into weighted, undirected relations on their entity pair, and the descriptions of what is
merged are joined."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from graphready.extraction.aliases import AliasTable, canonical, chunk_aliases
from graphready.gcpause import gc_paused
from graphready.knowledge import ChunkExtraction, Entity, Relation

ENTITY_ID_CHARS = 16
RELATED_TO = "related_to"
MAX_DESCRIPTION_CHARS = 600
"""The most characters of an entity's or relation's joined descriptions."""
_GENERIC_TYPES = {"TITLE": 1, "CONCEPT": 2}


def entity_id(key: str) -> str:
    """The id of the entity whose normalised key is ``key``: a short sha256 of the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:ENTITY_ID_CHARS]


@dataclass(slots=True)
class _EntityAcc:
    names: dict[str, int] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    chunks: set[str] = field(default_factory=set)
    descriptions: dict[str, int] = field(default_factory=dict)

    def merge(self, other: _EntityAcc) -> None:
        """Take in an alias's entity: its chunks, types and descriptions, not its names."""
        self.chunks |= other.chunks
        for kind, n in other.types.items():
            self.types[kind] = self.types.get(kind, 0) + n
        for text, n in other.descriptions.items():
            self.descriptions[text] = self.descriptions.get(text, 0) + n


@dataclass(slots=True)
class _RelationAcc:
    labels: dict[str, int]
    chunks: set[str]
    weight: float = 1.0
    descriptions: dict[str, int] = field(default_factory=dict)

    def merge(self, other: _RelationAcc) -> None:
        self.weight += other.weight
        self.chunks |= other.chunks
        for label, n in other.labels.items():
            self.labels[label] = self.labels.get(label, 0) + n
        for text, n in other.descriptions.items():
            self.descriptions[text] = self.descriptions.get(text, 0) + n


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


def join_descriptions(counts: dict[str, int], limit: int = MAX_DESCRIPTION_CHARS) -> str:
    """Distinct descriptions, the most frequent first (ties alphabetically), joined with spaces
    (each ending in a full stop) as long as they fit in ``limit`` characters; the first one is
    cut to ``limit`` when it alone is longer."""
    parts: list[str] = []
    size = 0
    for text, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        sentence = text if text[-1:] in ".!?" else text + "."
        if not parts and len(sentence) > limit:
            return sentence[:limit - 1].rstrip() + "…"
        if size + len(sentence) + (1 if parts else 0) > limit:
            break
        size += len(sentence) + (1 if parts else 0)
        parts.append(sentence)
    return " ".join(parts)


def _relation_label(labels: dict[str, int]) -> str:
    if len(labels) == 1:
        return next(iter(labels))
    specific = {k: v for k, v in labels.items() if k != RELATED_TO}
    return _most_frequent(specific) if specific else RELATED_TO


def _add_mentions(
    extraction: ChunkExtraction,
    entities: dict[str, _EntityAcc],
    ids: dict[str, str],
    aliases: dict[str, str],
) -> None:
    """Add the chunk's mentions, each under its key or the key it is an alias of in this chunk
    (an alias adds its chunk, type and description to that entity, but not its name)."""
    chunk_id = extraction.chunk_id
    for mention in extraction.mentions:
        key = canonical(mention.key, aliases) if aliases else mention.key
        acc = entities.get(key)
        if acc is None:
            acc = entities[key] = _EntityAcc()
            ids[key] = entity_id(key)
        if key == mention.key:
            _bump(acc.names, mention.name)
        _bump(acc.types, mention.type)
        acc.chunks.add(chunk_id)
        if mention.description:
            _bump(acc.descriptions, mention.description)


def _add_relations(
    extraction: ChunkExtraction,
    relations: dict[tuple[str, str], _RelationAcc],
    ids: dict[str, str],
    aliases: dict[str, str],
) -> None:
    chunk_id = extraction.chunk_id
    keys = {m.key for m in extraction.mentions}
    for rel in extraction.relations:
        if rel.source not in keys or rel.target not in keys:
            continue
        source = ids[canonical(rel.source, aliases) if aliases else rel.source]
        target = ids[canonical(rel.target, aliases) if aliases else rel.target]
        if source == target:
            continue
        pair = (source, target) if source < target else (target, source)
        acc = relations.get(pair)
        if acc is None:
            acc = relations[pair] = _RelationAcc({rel.label: 1}, {chunk_id}, rel.weight)
        else:
            acc.weight += rel.weight
            _bump(acc.labels, rel.label)
            acc.chunks.add(chunk_id)
        if rel.description:
            _bump(acc.descriptions, rel.description)


def _merge_aliases(
    aliases: dict[str, str],
    entities: dict[str, _EntityAcc],
    relations: dict[tuple[str, str], _RelationAcc],
    ids: dict[str, str],
) -> dict[tuple[str, str], _RelationAcc]:
    """Merge every entity whose key is a corpus-wide alias into its canonical entity (when that
    exists), and re-key the relations accordingly; the relations, merged."""
    moved = {ids[short]: ids[long] for short, long in aliases.items()
             if short in entities and long in entities and long not in aliases}
    if not moved:
        return relations
    for short, long in sorted(aliases.items()):
        if ids.get(short) in moved:
            entities[long].merge(entities.pop(short))
    merged: dict[tuple[str, str], _RelationAcc] = {}
    for (source, target), acc in sorted(relations.items()):
        source, target = moved.get(source, source), moved.get(target, target)
        if source == target:
            continue
        pair = (source, target) if source < target else (target, source)
        if pair in merged:
            merged[pair].merge(acc)
        else:
            merged[pair] = acc
    return merged


def assemble_graph(
    extractions: Iterable[ChunkExtraction],
) -> tuple[list[Entity], list[Relation]]:
    """Merge extractions into entities (sorted by id) and relations (sorted by source, target).

    A mention that is an alias (:mod:`graphready.extraction.aliases`) counts for the entity of
    its canonical key. An entity's name is its most frequent surface form (aliases' forms not
    counted) and its type its most frequent type (a named type beats TITLE and CONCEPT). A
    relation's weight is the sum of the weights of the extracted relations that support it (each
    1 offline: sentences, or title mentions); its label is the most frequent label other than
    ``related_to``, if any. Descriptions are joined (:func:`join_descriptions`). Relations whose
    keys are not mentions of their chunk are ignored."""
    with gc_paused():
        return _assemble(extractions)


def _assemble(extractions: Iterable[ChunkExtraction]) -> tuple[list[Entity], list[Relation]]:
    entities: dict[str, _EntityAcc] = {}
    relations: dict[tuple[str, str], _RelationAcc] = {}
    ids: dict[str, str] = {}
    table = AliasTable()
    for extraction in extractions:
        aliases = chunk_aliases(extraction.mentions)
        table.add(aliases)
        _add_mentions(extraction, entities, ids, aliases)
        _add_relations(extraction, relations, ids, aliases)
    relations = _merge_aliases(table.resolve(), entities, relations, ids)
    entity_list = [
        Entity(ids[key], _most_frequent(acc.names) if acc.names else key,
               _entity_type(acc.types), _sorted_ids(acc.chunks),
               join_descriptions(acc.descriptions) if acc.descriptions else "")
        for key, acc in entities.items()
    ]
    entity_list.sort(key=lambda e: e.id)
    relation_list = [
        Relation(source, target, _relation_label(acc.labels), float(acc.weight),
                 _sorted_ids(acc.chunks),
                 join_descriptions(acc.descriptions) if acc.descriptions else "")
        for (source, target), acc in sorted(relations.items())
    ]
    return entity_list, relation_list
