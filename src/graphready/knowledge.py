"""Value types of the knowledge graph: what extraction finds in a chunk, and the graph that is
assembled from all chunks (entities, relations, hierarchical communities)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Mention:
    """A phrase found in a chunk. ``key`` is its normalised form (what entities merge on);
    ``type`` is an NER label (PERSON, ORG, ...), ``CONCEPT`` for a noun phrase, ``TITLE`` for a
    document title. ``description`` says what the chunk tells about it (LLM extraction only)."""

    name: str
    key: str
    type: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ExtractedRelation:
    """A relation between two mentions of one chunk, by their keys; ``label`` is the verb that
    links them, or ``related_to``. ``description`` says how they are related and ``weight`` how
    strongly (LLM extraction; the offline extractor leaves them at their defaults)."""

    source: str
    target: str
    label: str
    description: str = ""
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ChunkExtraction:
    """Everything extraction found in one chunk. Persisted per chunk, so that a rebuild only
    extracts chunks it has not seen."""

    chunk_id: str
    mentions: tuple[Mention, ...]
    relations: tuple[ExtractedRelation, ...]


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity of the graph: mentions merged on their key (or an alias of it). ``id`` is a
    hash of the key; ``description`` joins what the chunks say about it (may be empty)."""

    id: str
    name: str
    type: str
    chunk_ids: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Relation:
    """An undirected, weighted relation between two entities (``source`` < ``target``), with
    what the chunks say about it (may be empty)."""

    source: str
    target: str
    label: str
    weight: float
    chunk_ids: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Community:
    """A community of entities at one level of the hierarchy (0 is the top). ``id`` is a hash of
    its members, so an unchanged community keeps its id and its summary across rebuilds.
    ``chunk_ids`` are the passages its summary was drawn from. ``rating`` is how important an
    LLM report judged the community (0 to 10; 0 for an extractive report)."""

    id: str
    level: int
    parent: str | None
    entity_ids: tuple[str, ...]
    title: str
    summary: str
    chunk_ids: tuple[str, ...]
    rating: float = 0.0


@dataclass(frozen=True, slots=True)
class KnowledgeGraph:
    """A complete graph, as built and persisted in one piece."""

    entities: tuple[Entity, ...] = field(default_factory=tuple)
    relations: tuple[Relation, ...] = field(default_factory=tuple)
    communities: tuple[Community, ...] = field(default_factory=tuple)
