"""Tests of graph assembly from per-chunk extractions."""

from __future__ import annotations

import random

from graphready.extraction.assemble import assemble_graph, entity_id
from graphready.knowledge import ChunkExtraction, ExtractedRelation, Mention


def _chunk(chunk_id: str, mentions: list[tuple[str, str, str]],
           relations: list[tuple[str, str, str]]) -> ChunkExtraction:
    return ChunkExtraction(
        chunk_id,
        tuple(Mention(name, key, kind) for name, key, kind in mentions),
        tuple(ExtractedRelation(s, t, label) for s, t, label in relations),
    )


EXTRACTIONS = [
    _chunk("c2", [("Marie Curie", "marie curie", "PERSON"), ("Paris", "paris", "GPE")],
           [("marie curie", "paris", "lived"), ("marie curie", "paris", "related_to")]),
    _chunk("c1", [("marie curie", "marie curie", "CONCEPT"), ("Paris", "paris", "GPE"),
                  ("Marie Curie", "marie curie", "TITLE")],
           [("paris", "marie curie", "related_to")]),
    _chunk("c3", [("Marie Curie", "marie curie", "PERSON"), ("radium", "radium", "CONCEPT")],
           [("marie curie", "radium", "discovered"), ("radium", "marie curie", "isolated"),
            ("radium", "marie curie", "isolated")]),
    _chunk("c4", [], []),
]


def test_entities_merge_on_key() -> None:
    entities, _ = assemble_graph(EXTRACTIONS)
    by_id = {e.id: e for e in entities}
    assert len(entities) == 3
    curie = by_id[entity_id("marie curie")]
    assert curie.name == "Marie Curie"
    assert curie.type == "PERSON"
    assert curie.chunk_ids == ("c1", "c2", "c3")
    assert by_id[entity_id("radium")].type == "CONCEPT"
    assert [e.id for e in entities] == sorted(by_id)


def test_relations_merge_on_unordered_pair() -> None:
    _, relations = assemble_graph(EXTRACTIONS)
    assert len(relations) == 2
    for rel in relations:
        assert rel.source < rel.target
    pairs = {frozenset((r.source, r.target)): r for r in relations}
    paris = pairs[frozenset((entity_id("marie curie"), entity_id("paris")))]
    assert paris.weight == 3.0
    assert paris.label == "lived"
    assert paris.chunk_ids == ("c1", "c2")
    radium = pairs[frozenset((entity_id("marie curie"), entity_id("radium")))]
    assert radium.label == "isolated"
    assert radium.weight == 3.0
    assert radium.chunk_ids == ("c3",)


def test_only_related_to_label() -> None:
    extraction = _chunk("c", [("A b", "a b", "ORG"), ("C d", "c d", "ORG")],
                        [("a b", "c d", "related_to")])
    _, relations = assemble_graph([extraction])
    assert [r.label for r in relations] == ["related_to"]


def test_self_and_unknown_relations_ignored() -> None:
    extraction = _chunk("c", [("Ab", "ab", "ORG")],
                        [("ab", "ab", "is"), ("ab", "missing", "is")])
    entities, relations = assemble_graph([extraction])
    assert len(entities) == 1 and relations == []


def test_type_named_preferred_over_concept_and_ties_deterministic() -> None:
    extractions = [_chunk(f"c{i}", [("Apple", "apple", "CONCEPT")], []) for i in range(5)]
    extractions.append(_chunk("x", [("Apple", "apple", "ORG")], []))
    extractions += [_chunk("y", [("APPLE", "apple", "PRODUCT")], [])]
    entities, _ = assemble_graph(extractions)
    assert entities[0].type == "ORG"
    assert entities[0].name == "Apple"


def test_order_independent() -> None:
    shuffled = list(EXTRACTIONS)
    random.Random(3).shuffle(shuffled)
    assert assemble_graph(shuffled) == assemble_graph(EXTRACTIONS)


def test_empty() -> None:
    assert assemble_graph([]) == ([], [])


def test_a_large_input_assembles_every_entity_and_relation() -> None:
    # its speed is measured by benchmarks/build_stages.py, not here (no timed assertions)
    rng = random.Random(0)
    keys = [f"entity {i}" for i in range(40_000)]
    extractions = []
    for c in range(6_000):
        chosen = rng.sample(keys, 12)
        mentions = [(k.title(), k, "CONCEPT") for k in chosen]
        pairs = [(chosen[i], chosen[j], "related_to")
                 for i in range(12) for j in range(i + 1, 12) if (i + j) % 3 == 0][:25]
        extractions.append(_chunk(f"c{c:05d}", mentions, pairs))
    entities, relations = assemble_graph(extractions)
    assert len(entities) == len({k for x in extractions for k in (m.key for m in x.mentions)})
    assert len(relations) > 100_000
    assert all(r.source < r.target for r in relations)
