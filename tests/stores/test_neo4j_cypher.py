"""The Cypher of the Neo4j graph store, as text: the Neo4j-only statements (which no server here
can run) say what Neo4j 5's documentation asks for, and no statement carries data."""

from __future__ import annotations

import dataclasses
import re

import pytest

from graphready.stores import neo4j_cypher as cypher

NAMESPACES = ["", "ns_", "T0123abc_"]
PARAMETER = re.compile(r"\$(\w+)")
ALLOWED_PARAMETERS = {"rows", "after", "limit", "key", "version", "fingerprint", "v",
                      "entities", "relations", "communities", "dimensions", "index", "k",
                      "vector", "owner", "now", "expires", "stage", "done", "total"}


def _every_statement(namespace: str) -> list[str]:
    labels = cypher.Labels.of(namespace)
    portable = dataclasses.astuple(cypher.statements(labels))
    flat = [s for item in portable for s in (item if isinstance(item, tuple) else (item,))]
    return [*flat, *cypher.portable_indexes(labels), *cypher.neo4j_schema(namespace),
            *(statement for _, statement in cypher.vector_indexes(namespace)),
            cypher.VECTOR_QUERY]


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
    indexes = dict(cypher.vector_indexes(namespace))
    assert set(indexes) == {f"graphready_{namespace}chunk_embedding",
                            f"graphready_{namespace}entity_embedding"}
    for name, statement in indexes.items():
        label = "Chunk" if "chunk" in name else "Entity"
        assert statement == (
            f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{namespace}{label}) "
            "ON n.embedding OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, "
            "`vector.similarity_function`: 'cosine'}}")


def test_vector_query_is_parameterised() -> None:
    assert cypher.VECTOR_QUERY.startswith(
        "CALL db.index.vector.queryNodes($index, $k, $vector) YIELD node, score")
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
    labels = cypher.Labels.of("ns_")
    portable = [*dataclasses.astuple(cypher.statements(labels)),
                *cypher.portable_indexes(labels)]
    text = " ".join(s if isinstance(s, str) else " ".join(s) for s in portable)
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
        cypher.vector_indexes(bad)


@pytest.mark.parametrize("bad", ["", "1a", "a b", "a;b", "a" * 129])
def test_identifier_is_strict(bad: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        cypher.identifier(bad)
    assert cypher.identifier("graphready_ns_Entity") == "graphready_ns_Entity"


def test_longest_namespace_makes_valid_names() -> None:
    longest = "N" + "x" * 39
    assert len(cypher.neo4j_schema(longest)) == 8
    assert len(cypher.vector_indexes(longest)) == 2
