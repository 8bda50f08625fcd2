"""Every Cypher statement the Neo4j stores (:mod:`graphready.stores.neo4j.graph`,
:mod:`graphready.stores.neo4j.vector`) send, and nothing else (no I/O).

Values always travel as parameters (``$name``); the only text ever put into a statement is a
label, relationship type or schema name built from constants and a namespace that
:func:`identifier` has checked against a strict pattern.

Two groups:

Portable statements (:class:`Statements`, :class:`VectorStatements`, :func:`portable_indexes`,
:func:`portable_vector_indexes`)
    Work on Neo4j 5 and on FalkorDB's Bolt mode (verified there by the contract suites).
Neo4j-only statements (:func:`neo4j_schema`, :func:`neo4j_vector_schema`,
:func:`chunk_vector_index`, :func:`entity_vector_index`, :func:`drop_index`,
:data:`AWAIT_INDEX`, :data:`VECTOR_QUERY`)
    Written from Neo4j 5's documentation: uniqueness constraints, named ``IF NOT EXISTS``
    indexes, vector indexes, waiting for an index, and the vector query procedure. FalkorDB's
    Bolt mode rejects them.

The graph model, in a namespace ``NS`` (labels ``NSEntity`` ...; ``NS`` may be empty):

``(:NSExtraction {chunk_id, payload})``
    One per chunk: the extraction JSON of :mod:`graphready.stores.graph_codec`.
``(:NSEntity {id, v, name, type, chunk_ids, description, data})``, ``[:NSRELATED {v, label,
weight, chunk_ids, description, data}]``, ``(:NSCommunity {id, v, level, parent, entity_ids,
title, summary, chunk_ids, rating, data})``
    The graph of version ``v``; ``data`` is the item as compact JSON (all a load reads).
``(:NSVersion {v, entities, relations, communities})``
    Written after a version's items: how many it has, so a load can tell a whole version
    from one being deleted under it.
``(:NSMeta {key: 'graph', next_version, current_version, synced_fingerprint, extractor_id})``
    The one node a publish updates; ``extractor_id`` names who wrote the extractions.
``(:NSMeta {key: 'lease', owner, expires, stage, done, total})``
    The build lease (no ``owner`` while free); ``expires`` is the holder's ``time.time()``
    plus its ttl, compared with the caller's ``$now`` (server clocks are never used).

The vector model of :mod:`graphready.stores.neo4j.vector`, in the same namespace:

``(:NSChunk {id, embedding})``
    One per chunk: its L2-normalised vector, a list of floats, in the cosine vector index
    ``graphready_<NS>chunk_embedding``.
``(:NSMeta {key: 'vectors', model_id, dim, synced_fingerprint})``
    The vector store's state.
``(:NSMeta {key: 'vectors_lease', owner, expires, stage, done, total})``
    The vector build lease, like the graph's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
"""What a namespace and every label, type or schema name built from it must match."""
NAMESPACE = re.compile(r"(?:[A-Za-z][A-Za-z0-9_]{0,39})?")
"""A namespace: empty, or a short identifier (it prefixes labels and schema names)."""

META_KEY = "graph"
"""The ``key`` of the one meta node of a namespace."""
LEASE_KEY = "lease"
"""The ``key`` of the meta node that holds the build lease."""
VECTOR_META_KEY = "vectors"
"""The ``key`` of the meta node of the vector store."""
VECTOR_LEASE_KEY = "vectors_lease"
"""The ``key`` of the meta node that holds the vector build lease."""
_LEASE_PROPS = ("owner", "expires", "stage", "done", "total")

ENTITY_INDEX = "entity_embedding"
CHUNK_INDEX = "chunk_embedding"
"""Suffixes of the vector index names (the full name is ``graphready_<ns><suffix>``)."""


def identifier(name: str) -> str:
    """``name`` when it is safe to write into a statement as a label or schema name."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"invalid Cypher identifier {name!r}")
    return name


def check_namespace(namespace: str) -> str:
    """``namespace`` when it is empty or a short identifier; ValueError otherwise."""
    if not NAMESPACE.fullmatch(namespace):
        raise ValueError(f"invalid namespace {namespace!r}: use a letter, then letters, digits "
                         "and '_' (at most 40)")
    return namespace


@dataclass(frozen=True, slots=True)
class Labels:
    """The labels and relationship type of one namespace."""

    extraction: str
    entity: str
    related: str
    community: str
    version: str
    meta: str
    chunk: str

    @classmethod
    def of(cls, namespace: str) -> Labels:
        ns = check_namespace(namespace)
        return cls(*(identifier(ns + name) for name in (
            "Extraction", "Entity", "RELATED", "Community", "Version", "Meta", "Chunk")))


# -- portable --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statements:
    """The portable statements of one namespace (see the module docstring for the model)."""

    add_extractions: str
    remove_extractions: str
    page_extractions: str
    extraction_ids: str
    allocate_version: str
    publish: str
    read_state: str
    mark_synced: str
    create_entities: str
    create_relations: str
    create_communities: str
    create_version: str
    read_graph: str
    delete_nodes_before: tuple[str, ...]
    delete_nodes_of: tuple[str, ...]
    read_extractor: str
    forget_extractor: str
    set_extractor: str
    delete_some_extractions: str


def _set_when(flag: str, values: dict[str, str]) -> str:
    """``SET`` of every lease property to its value in ``values`` when ``flag`` is true, to
    itself otherwise (so a statement that locked the node writes it either way)."""
    return "SET " + ", ".join(
        f"l.{p} = CASE WHEN {flag} THEN {values[p]} ELSE l.{p} END" for p in _LEASE_PROPS)


@dataclass(frozen=True, slots=True)
class LeaseStatements:
    """Take (or renew), release and read a build lease held in the meta node ``$key``."""

    acquire: str
    release: str
    read: str


def lease_statements(labels: Labels) -> LeaseStatements:
    """The lease statements of one namespace. Both writes lock the node first (as ``publish``
    does), so the test of the owner reads the latest committed lease and two takers cannot
    both find it free."""
    m = labels.meta
    return LeaseStatements(
        acquire=(
            f"MERGE (l:{m} {{key: $key}}) SET l._lock = true "
            "WITH l, (l.owner IS NULL OR l.owner = $owner OR l.expires < $now) AS free "
            + _set_when("free", {p: f"${p}" for p in _LEASE_PROPS})
            + " REMOVE l._lock RETURN free"),
        release=(
            f"MATCH (l:{m} {{key: $key}}) SET l._lock = true "
            "WITH l, (l.owner IS NOT NULL AND l.owner = $owner) AS mine "
            + _set_when("mine", dict.fromkeys(_LEASE_PROPS, "null"))
            + " REMOVE l._lock"),
        read=(
            f"MATCH (l:{m} {{key: $key}}) WHERE l.owner IS NOT NULL "
            "RETURN l.owner, l.expires, l.stage, l.done, l.total"),
    )


def statements(labels: Labels) -> Statements:
    """Every portable statement for the labels of one namespace."""
    x, e, r, c, ver, m = (labels.extraction, labels.entity, labels.related, labels.community,
                          labels.version, labels.meta)
    versioned = (e, c, ver)  # deleting an entity detaches its relationships
    return Statements(
        add_extractions=(
            f"UNWIND $rows AS row MERGE (x:{x} {{chunk_id: row[0]}}) SET x.payload = row[1]"),
        remove_extractions=(
            f"UNWIND $rows AS id MATCH (x:{x} {{chunk_id: id}}) DELETE x"),
        page_extractions=(
            f"MATCH (x:{x}) WHERE x.chunk_id > $after "
            "RETURN x.chunk_id, x.payload ORDER BY x.chunk_id LIMIT $limit"),
        extraction_ids=f"MATCH (x:{x}) RETURN x.chunk_id",
        allocate_version=(
            f"MERGE (m:{m} {{key: $key}}) ON CREATE SET m.next_version = 1 "
            "ON MATCH SET m.next_version = coalesce(m.next_version, 0) + 1 "
            "RETURN m.next_version"),
        # The lock property makes Neo4j take the node's write lock before the comparison, so
        # two publishers cannot both see themselves as the newer (read-committed isolation).
        publish=(
            f"MERGE (m:{m} {{key: $key}}) SET m._lock = true "
            "WITH m, (m.current_version IS NULL OR m.current_version < $version) AS newer "
            "SET m.current_version = CASE WHEN newer THEN $version ELSE m.current_version END, "
            "m.synced_fingerprint = "
            "CASE WHEN newer THEN $fingerprint ELSE m.synced_fingerprint END "
            "REMOVE m._lock RETURN newer"),
        # (FalkorDB fails an indexed ``{v: m.current_version}`` lookup while m is null.)
        read_state=(
            f"OPTIONAL MATCH (m:{m} {{key: $key}}) "
            f"WITH m OPTIONAL MATCH (s:{ver}) WHERE s.v = m.current_version "
            "RETURN m.current_version, m.synced_fingerprint, "
            "s.entities, s.relations, s.communities"),
        mark_synced=f"MERGE (m:{m} {{key: $key}}) SET m.synced_fingerprint = $fingerprint",
        create_entities=(
            f"UNWIND $rows AS row CREATE (:{e} {{id: row[0], v: $v, name: row[1], "
            "type: row[2], chunk_ids: row[3], data: row[4], description: row[5]})"),
        create_relations=(
            f"UNWIND $rows AS row MATCH (a:{e} {{id: row[0], v: $v}}), "
            f"(b:{e} {{id: row[1], v: $v}}) "
            f"CREATE (a)-[:{r} {{v: $v, label: row[2], weight: row[3], chunk_ids: row[4], "
            "data: row[5], description: row[6]}]->(b) RETURN count(*)"),
        create_communities=(
            f"UNWIND $rows AS row CREATE (:{c} {{id: row[0], v: $v, level: row[1], "
            "parent: row[2], entity_ids: row[3], title: row[4], summary: row[5], "
            "chunk_ids: row[6], data: row[7], rating: row[8]})"),
        create_version=(
            f"CREATE (:{ver} {{v: $v, entities: $entities, relations: $relations, "
            "communities: $communities})"),
        read_graph=(
            f"MATCH (e:{e} {{v: $v}}) RETURN e.data AS data "
            f"UNION ALL MATCH ()-[r:{r} {{v: $v}}]->() RETURN r.data AS data "
            f"UNION ALL MATCH (c:{c} {{v: $v}}) RETURN c.data AS data"),
        delete_nodes_before=tuple(
            f"MATCH (n:{label}) WHERE n.v < $version WITH n LIMIT $limit "
            "DETACH DELETE n RETURN count(*)" for label in versioned),
        delete_nodes_of=tuple(
            f"MATCH (n:{label}) WHERE n.v = $version WITH n LIMIT $limit "
            "DETACH DELETE n RETURN count(*)" for label in versioned),
        read_extractor=f"MATCH (m:{m} {{key: $key}}) RETURN m.extractor_id",
        forget_extractor=(
            f"MATCH (m:{m} {{key: $key}}) SET m.extractor_id = null, m.synced_fingerprint = null"),
        set_extractor=f"MERGE (m:{m} {{key: $key}}) SET m.extractor_id = $extractor_id",
        delete_some_extractions=(
            f"MATCH (x:{x}) WITH x LIMIT $limit DELETE x RETURN count(*)"),
    )


def portable_indexes(labels: Labels) -> tuple[str, ...]:
    """Unnamed single-property indexes in the syntax both servers accept (FalkorDB's Bolt
    mode has no ``IF NOT EXISTS``: creating one twice is an error there, to be ignored)."""
    return tuple(
        f"CREATE INDEX FOR (n:{label}) ON (n.{prop})"
        for label, prop in ((labels.extraction, "chunk_id"), (labels.meta, "key"),
                            (labels.entity, "id"), (labels.entity, "v"),
                            (labels.community, "v"), (labels.version, "v")))


@dataclass(frozen=True, slots=True)
class VectorStatements:
    """The portable statements of the vector store of one namespace (see the module
    docstring); the state is the meta node ``$key``."""

    add: str
    remove: str
    page_ids: str
    delete_some: str
    read_state: str
    forget_model: str
    set_model: str
    claim_dim: str
    clear_fingerprint: str
    mark_synced: str
    exact_search: str
    """Exact cosine search of normalised vectors, computed by the server (no index): for a
    server without Neo4j's vector index, i.e. FalkorDB's Bolt mode."""


def vector_statements(labels: Labels) -> VectorStatements:
    """Every portable statement of the vector store for the labels of one namespace."""
    ch, m = labels.chunk, labels.meta
    return VectorStatements(
        add=f"UNWIND $rows AS row MERGE (c:{ch} {{id: row[0]}}) SET c.embedding = row[1]",
        remove=f"UNWIND $rows AS id MATCH (c:{ch} {{id: id}}) DELETE c",
        page_ids=(
            f"MATCH (c:{ch}) WHERE c.id > $after RETURN c.id ORDER BY c.id LIMIT $limit"),
        delete_some=f"MATCH (c:{ch}) WITH c LIMIT $limit DELETE c RETURN count(*)",
        read_state=(
            f"MATCH (m:{m} {{key: $key}}) RETURN m.model_id, m.dim, m.synced_fingerprint"),
        forget_model=(
            f"MERGE (m:{m} {{key: $key}}) "
            "SET m.model_id = null, m.dim = null, m.synced_fingerprint = null"),
        set_model=f"MERGE (m:{m} {{key: $key}}) SET m.model_id = $model_id",
        # Records the dimension unless one is stored (locking the node first, as ``publish``
        # does), and forgets the synced fingerprint only when they agree (a refused add
        # changes nothing); returns the stored dimension and whether it was just recorded.
        claim_dim=(
            f"MERGE (m:{m} {{key: $key}}) SET m._lock = true "
            "WITH m, m.dim IS NULL AS fresh, coalesce(m.dim, $dim) AS stored "
            "SET m.dim = stored, m.synced_fingerprint = "
            "CASE WHEN stored = $dim THEN null ELSE m.synced_fingerprint END "
            "REMOVE m._lock RETURN stored, fresh"),
        clear_fingerprint=f"MATCH (m:{m} {{key: $key}}) SET m.synced_fingerprint = null",
        mark_synced=f"MERGE (m:{m} {{key: $key}}) SET m.synced_fingerprint = $fingerprint",
        exact_search=(
            f"MATCH (c:{ch}) WHERE size(c.embedding) = size($vector) "
            "WITH c, reduce(s = 0.0, i IN range(0, size($vector) - 1) | "
            "s + c.embedding[i] * $vector[i]) AS score "
            "RETURN c.id, score ORDER BY score DESC LIMIT $k"),
    )


def portable_vector_indexes(labels: Labels) -> tuple[str, ...]:
    """The vector store's unnamed lookup indexes, as :func:`portable_indexes`."""
    return (f"CREATE INDEX FOR (n:{labels.chunk}) ON (n.id)",
            f"CREATE INDEX FOR (n:{labels.meta}) ON (n.key)")


# -- Neo4j only (from Neo4j 5's documentation) -----------------------------------------------


def schema_name(namespace: str, suffix: str) -> str:
    """The name of one constraint or index of a namespace: ``graphready_<ns><suffix>``."""
    return identifier(f"graphready_{check_namespace(namespace)}{suffix}")


def neo4j_schema(namespace: str) -> tuple[str, ...]:
    """Uniqueness constraints (each backed by an index) and the other indexes, all named and
    idempotent. An entity or community id is unique per version, so those two constraints are
    composite on ``(id, v)``."""
    labels = Labels.of(namespace)

    def index(pattern: str, prop: str, suffix: str) -> str:
        return (f"CREATE INDEX {schema_name(namespace, suffix)} IF NOT EXISTS "
                f"FOR {pattern} ON (n.{prop})")

    return (
        _unique(namespace, labels.extraction, ("chunk_id",), "extraction_chunk_id"),
        _unique(namespace, labels.meta, ("key",), "meta_key"),
        _unique(namespace, labels.entity, ("id", "v"), "entity_id_v"),
        _unique(namespace, labels.community, ("id", "v"), "community_id_v"),
        _unique(namespace, labels.version, ("v",), "version_v"),
        index(f"(n:{labels.entity})", "v", "entity_v"),
        index(f"(n:{labels.community})", "v", "community_v"),
        index(f"()-[n:{labels.related}]-()", "v", "related_v"),
    )


def _unique(namespace: str, label: str, props: tuple[str, ...], suffix: str) -> str:
    keys = ", ".join(f"n.{p}" for p in props)
    keys = keys if len(props) == 1 else f"({keys})"
    return (f"CREATE CONSTRAINT {schema_name(namespace, suffix)} IF NOT EXISTS "
            f"FOR (n:{label}) REQUIRE {keys} IS UNIQUE")


def neo4j_vector_schema(namespace: str) -> tuple[str, ...]:
    """The vector store's uniqueness constraints: chunk ``id`` and meta ``key`` (the latter
    is the graph store's too: the same name and definition, so creating it twice is a
    no-op)."""
    labels = Labels.of(namespace)
    return (_unique(namespace, labels.chunk, ("id",), "chunk_id"),
            _unique(namespace, labels.meta, ("key",), "meta_key"))


def _vector_index(namespace: str, label: str, suffix: str) -> tuple[str, str]:
    name = schema_name(namespace, suffix)
    return name, (f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON n.embedding "
                  "OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, "
                  "`vector.similarity_function`: 'cosine'}}")


def chunk_vector_index(namespace: str) -> tuple[str, str]:
    """``(index name, statement)`` of the cosine vector index on ``embedding`` of chunks (label
    ``<ns>Chunk``); the dimension is the parameter ``$dimensions``."""
    return _vector_index(namespace, Labels.of(namespace).chunk, CHUNK_INDEX)


def entity_vector_index(namespace: str) -> tuple[str, str]:
    """``(index name, statement)`` of the cosine vector index on ``embedding`` of entities;
    the dimension is the parameter ``$dimensions``."""
    return _vector_index(namespace, Labels.of(namespace).entity, ENTITY_INDEX)


def drop_index(name: str) -> str:
    """Drop the index ``name`` if it exists (a vector index whose dimension must change)."""
    return f"DROP INDEX {identifier(name)} IF EXISTS"


AWAIT_INDEX = "CALL db.awaitIndex($index, $seconds)"
"""Wait until index ``$index`` is online (a new index is populated in the background), for at
most ``$seconds``."""

VECTOR_QUERY = (
    "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score "
    "RETURN node.id AS id, score ORDER BY score DESC"
)
"""The ``$k`` nodes of vector index ``$index`` nearest to ``$vector`` (a list of floats). The
score of a cosine index is ``(1 + cosine) / 2``, in [0, 1]."""
