"""The Cypher of the Neo4j graph and vector stores, as text: the Neo4j-only statements (which no
server here can run) say what Neo4j 5's documentation asks for, and no statement carries data."""

from __future__ import annotations

import dataclasses
import re

import pytest

from graphready.stores.neo4j import cypher

NAMESPACES = ["", "ns_", "T0123abc_"]
PARAMETER = re.compile(r"\$(\w+)")
ALLOWED_PARAMETERS = {"rows", "after", "limit", "key", "version", "fingerprint", "v",
                      "entities", "relations", "communities", "dimensions", "index", "k",
                      "vector", "owner", "now", "expires", "stage", "done", "total",
                      "model_id", "dim", "seconds", "extractor_id"}


def _portable(namespace: str) -> list[str]:
    labels = cypher.Labels.of(namespace)
    portable = (*dataclasses.astuple(cypher.statements(labels)),
                *dataclasses.astuple(cypher.lease_statements(labels)),
                *dataclasses.astuple(cypher.vector_statements(labels)))
    flat = [s for item in portable for s in (item if isinstance(item, tuple) else (item,))]
    return [*flat, *cypher.portable_indexes(labels), *cypher.portable_vector_indexes(labels)]


def _every_statement(namespace: str) -> list[str]:
    chunk_index, chunk_statement = cypher.chunk_vector_index(namespace)
    return [*_portable(namespace), *cypher.neo4j_schema(namespace),
            *cypher.neo4j_vector_schema(namespace), chunk_statement,
            cypher.entity_vector_index(namespace)[1], cypher.drop_index(chunk_index),
            cypher.AWAIT_INDEX, cypher.VECTOR_QUERY]


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_uniqueness_constraints(namespace: str) -> None:
    constraints = [s for s in cypher.neo4j_schema(namespace) if s.startswith("CREATE CONSTRAINT")]
    expected = {
        f"{namespace}Extraction": "n.chunk_id",
        f"{namespace}Meta": "n.key",
        f"{namespace}Entity": "(n.id, n.v)",  # an entity id is unique within a version
        f"{namespace}Community": "(n.id, n.v)",
        f"{namespace}Version": "n.v",
    }
    found = {}
    for statement in constraints:
        match = re.fullmatch(
            r"CREATE CONSTRAINT (graphready_\w+) IF NOT EXISTS "
            r"FOR \(n:(\w+)\) REQUIRE (.+) IS UNIQUE", statement)
        assert match, statement
        assert match[1].startswith(f"graphready_{namespace}")
        found[match[2]] = match[3]
    assert found == expected


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_neo4j_indexes_are_named_and_idempotent(namespace: str) -> None:
    indexes = [s for s in cypher.neo4j_schema(namespace) if s.startswith("CREATE INDEX")]
    assert len(indexes) == 3
    for statement in indexes:
        assert re.fullmatch(r"CREATE INDEX graphready_\w+ IF NOT EXISTS FOR .+ ON \(n\.v\)",
                            statement), statement
    assert any(f"()-[n:{namespace}RELATED]-()" in s for s in indexes)
    names = [s.split()[2] for s in cypher.neo4j_schema(namespace)]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_vector_indexes(namespace: str) -> None:
    indexes = dict([cypher.chunk_vector_index(namespace), cypher.entity_vector_index(namespace)])
    assert set(indexes) == {f"graphready_{namespace}chunk_embedding",
                            f"graphready_{namespace}entity_embedding"}
    for name, statement in indexes.items():
        label = "Chunk" if "chunk" in name else "Entity"
        assert statement == (
            f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{namespace}{label}) "
            "ON n.embedding OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, "
            "`vector.similarity_function`: 'cosine'}}")


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_vector_store_schema(namespace: str) -> None:
    """Neo4j 5 syntax: chunk ids and meta keys unique (the meta constraint the same, name and
    definition, as the graph store's, so either store may create it first), and the vector
    index dropped by name when the model's dimension changes."""
    assert cypher.neo4j_vector_schema(namespace) == (
        f"CREATE CONSTRAINT graphready_{namespace}chunk_id IF NOT EXISTS "
        f"FOR (n:{namespace}Chunk) REQUIRE n.id IS UNIQUE",
        f"CREATE CONSTRAINT graphready_{namespace}meta_key IF NOT EXISTS "
        f"FOR (n:{namespace}Meta) REQUIRE n.key IS UNIQUE")
    assert cypher.neo4j_vector_schema(namespace)[1] in cypher.neo4j_schema(namespace)
    name, _ = cypher.chunk_vector_index(namespace)
    assert cypher.drop_index(name) == f"DROP INDEX graphready_{namespace}chunk_embedding IF EXISTS"
    assert cypher.AWAIT_INDEX == "CALL db.awaitIndex($index, $seconds)"
    with pytest.raises(ValueError, match="identifier"):
        cypher.drop_index("x IF EXISTS; DROP INDEX y")


def test_vector_statements_keep_model_and_vectors_apart() -> None:
    q = cypher.vector_statements(cypher.Labels.of("ns_"))
    assert q.add == ("UNWIND $rows AS row MERGE (c:ns_Chunk {id: row[0]}) "
                     "SET c.embedding = row[1]")
    assert "DELETE c" in q.delete_some and "LIMIT $limit" in q.delete_some
    assert "m.model_id = null" in q.forget_model and "m.dim = null" in q.forget_model
    # a refused dimension must leave the fingerprint alone
    assert "CASE WHEN stored = $dim THEN null ELSE m.synced_fingerprint END" in q.claim_dim
    assert q.exact_search.endswith("ORDER BY score DESC LIMIT $k")


def test_vector_query_is_parameterised() -> None:
    assert cypher.VECTOR_QUERY.startswith(
        "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score")
    assert "node.id" in cypher.VECTOR_QUERY
    assert not re.search(r"\d", cypher.VECTOR_QUERY)
    assert "'" not in cypher.VECTOR_QUERY and '"' not in cypher.VECTOR_QUERY


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_no_statement_carries_data(namespace: str) -> None:
    """Values only ever travel as known parameters; the only quoted text in any statement is
    the constant 'cosine'; every label is the namespace plus a constant."""
    for statement in _every_statement(namespace):
        assert set(PARAMETER.findall(statement)) <= ALLOWED_PARAMETERS, statement
        assert "'" not in statement.replace("'cosine'", ""), statement
        assert '"' not in statement, statement
        for label in re.findall(r"[(\[]\w*:(\w+)", statement):
            assert label.startswith(namespace), statement


def test_portable_statements_avoid_neo4j_only_syntax() -> None:
    text = " ".join(_portable("ns_"))
    for neo4j_only in ("CONSTRAINT", "IF NOT EXISTS", "VECTOR", "elementId", "datetime",
                       "apoc.", "SHOW ", "db.index"):
        assert neo4j_only not in text


@pytest.mark.parametrize("bad", ["1abc", "a b", "x) DETACH DELETE n //", "ä", "a-b", "`a`",
                                 "a" * 41, "a:b", "a$b"])
def test_bad_namespaces_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        cypher.Labels.of(bad)
    with pytest.raises(ValueError):
        cypher.neo4j_schema(bad)
    with pytest.raises(ValueError):
        cypher.chunk_vector_index(bad)
    with pytest.raises(ValueError):
        cypher.neo4j_vector_schema(bad)


@pytest.mark.parametrize("bad", ["", "1a", "a b", "a;b", "a" * 129])
def test_identifier_is_strict(bad: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        cypher.identifier(bad)
    assert cypher.identifier("graphready_ns_Entity") == "graphready_ns_Entity"


def test_longest_namespace_makes_valid_names() -> None:
    longest = "N" + "x" * 39
    assert len(cypher.neo4j_schema(longest)) == 8
    assert len(cypher.neo4j_vector_schema(longest)) == 2
    assert cypher.entity_vector_index(longest)[0] == f"graphready_{longest}entity_embedding"
