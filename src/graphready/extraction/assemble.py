"""Pure assembly of the graph from per-chunk extractions: mentions merge into entities on their
key (or the key they are an alias of: :mod:`graphready.extraction.aliases`), extracted relations
merge into weighted, undirected relations on their entity pair, and the descriptions of what is
merged are joined."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Container, Iterable, Mapping
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


def moved_keys(aliases: Mapping[str, str], raw: Container[str]) -> dict[str, str]:
    """Short key -> canonical key for the corpus-wide ``aliases`` (:meth:`AliasTable.resolve`)
    whose entities merge: both keys hold mentions of their own (``raw``: the keys some chunk's
    mentions count for after its chunk-local aliases) and the canonical key is no alias."""
    return {short: long for short, long in aliases.items()
            if long not in aliases and short in raw and long in raw}


def _merge_aliases(
    moved: Mapping[str, str],
    entities: dict[str, _EntityAcc],
    relations: dict[tuple[str, str], _RelationAcc],
    ids: dict[str, str],
) -> dict[tuple[str, str], _RelationAcc]:
    """Merge the entity of every ``moved`` short key into its canonical key's entity (both
    when present), and re-key the relations accordingly; the relations, merged (in the order of
    their pairs, so that weights add up in one order)."""
    if not moved:
        return relations
    for short, long in sorted(moved.items()):
        if short in entities and long in entities:
            entities[long].merge(entities.pop(short))
    by_id = {entity_id(short): entity_id(long) for short, long in moved.items()}
    merged: dict[tuple[str, str], _RelationAcc] = {}
    for (source, target), acc in sorted(relations.items()):
        source, target = by_id.get(source, source), by_id.get(target, target)
        if source == target:
            continue
        pair = (source, target) if source < target else (target, source)
        if pair in merged:
            merged[pair].merge(acc)
        else:
            merged[pair] = acc
    return merged


@dataclass(slots=True)
class _Parts:
    """What the extractions of some chunks add up to, before corpus-wide aliases merge."""

    entities: dict[str, _EntityAcc] = field(default_factory=dict)
    relations: dict[tuple[str, str], _RelationAcc] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    table: AliasTable = field(default_factory=AliasTable)


def _accumulate(extractions: Iterable[ChunkExtraction]) -> _Parts:
    parts = _Parts()
    for extraction in extractions:
        aliases = chunk_aliases(extraction.mentions)
        parts.table.add(aliases)
        _add_mentions(extraction, parts.entities, parts.ids, aliases)
        _add_relations(extraction, parts.relations, parts.ids, aliases)
    return parts


def assemble_graph(
    extractions: Iterable[ChunkExtraction],
) -> tuple[list[Entity], list[Relation]]:
    """Merge extractions into entities (sorted by id) and relations (sorted by source, target).

    A mention that is an alias (:mod:`graphready.extraction.aliases`) counts for the entity of
    its canonical key. An entity's name is its most frequent surface form (aliases' forms not
    counted) and its type its most frequent type (a named type beats TITLE and CONCEPT). A
    relation's weight is the sum of the weights of the extracted relations that support it (each
    1 offline: sentences, or title mentions), added up in chunk order; its label is the most
    frequent label other than ``related_to``, if any. Descriptions are joined
    (:func:`join_descriptions`). Relations whose keys are not mentions of their chunk are
    ignored. ``extractions`` come in chunk id order (as a graph store gives them)."""
    with gc_paused():
        parts = _accumulate(extractions)
        moved = moved_keys(parts.table.resolve(), parts.entities)
        return _finish(parts, moved, None)


def assemble_part(
    extractions: Iterable[ChunkExtraction], moved: Mapping[str, str], keep: Collection[str],
) -> tuple[list[Entity], list[Relation]]:
    """The entities of the keys ``keep`` and every relation with an end among them, as
    :func:`assemble_graph` makes them from a whole corpus, given the corpus-wide ``moved`` keys
    (:func:`moved_keys`) and, in chunk id order, the extractions of every chunk whose mentions
    count for a key of ``keep`` or for a short key moved into one (other chunks may come too:
    what they alone make is left out)."""
    with gc_paused():
        return _finish(_accumulate(extractions), moved, keep)


def _finish(parts: _Parts, moved: Mapping[str, str],
            keep: Collection[str] | None) -> tuple[list[Entity], list[Relation]]:
    entities, ids = parts.entities, parts.ids
    relations = _merge_aliases(moved, entities, parts.relations, ids)
    if keep is not None:
        entities = {key: acc for key, acc in entities.items()
                    if key in keep and key not in moved}
        kept = {entity_id(key) for key in keep}
        relations = {pair: acc for pair, acc in relations.items()
                     if pair[0] in kept or pair[1] in kept}
    entity_list = [
        Entity(entity_id(key), _most_frequent(acc.names) if acc.names else key,
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
