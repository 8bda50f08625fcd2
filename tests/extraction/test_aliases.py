"""Tests of alias resolution and of how assembly merges aliases and descriptions."""

from __future__ import annotations

import random

from graphready.extraction.aliases import AliasTable, chunk_aliases, initials, is_acronym
from graphready.extraction.assemble import assemble_graph, entity_id, join_descriptions
from graphready.extraction.normalize import entity_key
from graphready.knowledge import ChunkExtraction, ExtractedRelation, Mention


def _m(name: str, kind: str = "PERSON", description: str = "") -> Mention:
    return Mention(name, entity_key(name), kind, description)


def _chunk(chunk_id: str, mentions: list[Mention],
           relations: list[ExtractedRelation] | None = None) -> ChunkExtraction:
    return ChunkExtraction(chunk_id, tuple(mentions), tuple(relations or ()))


def test_acronym_and_initials() -> None:
    assert is_acronym("NASA") and is_acronym("U.N.") and is_acronym("IBM")
    assert not is_acronym("Nasa") and not is_acronym("A") and not is_acronym("PARISIAN SPRING")
    assert initials("national aeronautics and space administration") == "nasa"
    assert initials("united nations") == "un"


def test_person_surname_is_alias_of_full_name_in_chunk() -> None:
    mentions = [_m("Marie Curie"), _m("Curie"), _m("Warsaw", "GPE")]
    assert chunk_aliases(mentions) == {"curie": "marie curie"}


def test_title_is_long_form_of_a_person_mention() -> None:
    mentions = [_m("Ada Lovelace", "TITLE"), _m("Lovelace"), _m("Ada")]
    assert chunk_aliases(mentions) == {"lovelace": "ada lovelace", "ada": "ada lovelace"}


def test_ambiguous_short_name_in_chunk_gets_no_alias() -> None:
    mentions = [_m("Marie Curie"), _m("Pierre Curie"), _m("Curie")]
    assert chunk_aliases(mentions) == {}


def test_non_person_short_name_is_not_an_alias() -> None:
    mentions = [_m("New York City", "GPE"), _m("New York", "GPE")]
    assert chunk_aliases(mentions) == {}


def test_acronym_is_alias_of_its_long_form() -> None:
    mentions = [_m("National Aeronautics and Space Administration", "ORG"), _m("NASA", "ORG"),
                _m("U.N.", "ORG"), _m("United Nations", "ORG")]
    assert chunk_aliases(mentions) == {
        "nasa": "national aeronautics and space administration", "u.n": "united nations"}


def test_alias_table_keeps_only_unambiguous_aliases() -> None:
    table = AliasTable()
    table.add({"curie": "marie curie", "ibm": "international business machines"})
    table.add({"curie": "pierre curie"})
    table.add({"ibm": "international business machines"})
    assert table.resolve() == {"ibm": "international business machines"}


def test_assembly_merges_chunk_local_alias_keeping_the_full_name() -> None:
    extractions = [
        _chunk("c1", [_m("Marie Curie", description="A physicist."), _m("Curie"),
                      _m("Radium", "CONCEPT")],
               [ExtractedRelation("curie", "radium", "discovered", "She found it.", 2.0)]),
        _chunk("c2", [_m("Pierre Curie"), _m("Curie")]),
        _chunk("c3", [_m("Marie Curie"), _m("Pierre Curie")]),
    ]
    entities, relations = assemble_graph(extractions)
    by_id = {e.id: e for e in entities}
    marie = by_id[entity_id("marie curie")]
    assert marie.name == "Marie Curie"
    assert marie.chunk_ids == ("c1", "c3")
    assert marie.description == "A physicist."
    assert by_id[entity_id("pierre curie")].chunk_ids == ("c2", "c3")
    # "Curie" means Marie in c1 and Pierre in c2: ambiguous corpus-wide, so no entity "curie"
    # is left with both chunks, and nothing was merged wrongly.
    assert entity_id("curie") not in by_id
    (rel,) = [r for r in relations if entity_id("radium") in (r.source, r.target)]
    assert {rel.source, rel.target} == {entity_id("marie curie"), entity_id("radium")}
    assert rel.weight == 2.0 and rel.description == "She found it."


def test_corpus_wide_alias_merges_a_chunk_naming_only_the_short_form() -> None:
    extractions = [
        _chunk("c1", [_m("International Business Machines", "ORG"), _m("IBM", "ORG")]),
        _chunk("c2", [_m("IBM", "ORG", "A computer maker."), _m("Armonk", "GPE")],
               [ExtractedRelation("ibm", "armonk", "based")]),
    ]
    entities, relations = assemble_graph(extractions)
    by_id = {e.id: e for e in entities}
    assert set(by_id) == {entity_id("international business machines"), entity_id("armonk")}
    ibm = by_id[entity_id("international business machines")]
    assert ibm.name == "International Business Machines"
    assert ibm.chunk_ids == ("c1", "c2")
    assert ibm.description == "A computer maker."
    assert [(r.label, r.chunk_ids) for r in relations] == [("based", ("c2",))]
    pair = {relations[0].source, relations[0].target}
    assert pair == {ibm.id, entity_id("armonk")}


def test_aliases_are_order_independent_and_incremental() -> None:
    extractions = [
        _chunk("c1", [_m("Ada Lovelace", "TITLE"), _m("Lovelace"), _m("Charles Babbage")],
               [ExtractedRelation("lovelace", "charles babbage", "met", "They met.")]),
        _chunk("c2", [_m("Lovelace"), _m("Analytical Engine", "PRODUCT")],
               [ExtractedRelation("lovelace", "analytical engine", "wrote")]),
        _chunk("c3", [_m("Babbage"), _m("Charles Babbage")]),
        _chunk("c4", [_m("NASA", "ORG")]),
    ]
    full = assemble_graph(extractions)
    for seed in range(5):
        shuffled = extractions[:]
        random.Random(seed).shuffle(shuffled)
        assert assemble_graph(shuffled) == full
    # A rebuild that lost c3 and gained it back (incremental) assembles the same graph.
    assert assemble_graph(extractions[:2] + extractions[3:] + extractions[2:3]) == full
    names = {e.name for e in full[0]}
    assert names == {"Ada Lovelace", "Charles Babbage", "Analytical Engine", "NASA"}


def test_descriptions_join_distinct_most_frequent_first_within_bound() -> None:
    assert join_descriptions({"b": 1, "a": 1, "Most common.": 3}) == "Most common. a. b."
    long = join_descriptions({"x" * 50: 2, "y" * 50: 1}, limit=60)
    assert long == "x" * 50 + "."
    assert len(join_descriptions({"z" * 1000: 1}, limit=100)) == 100
    extractions = [_chunk(f"c{i}", [_m("Marie Curie", description=f"Fact {i % 3}.")])
                   for i in range(7)]
    (marie,), _ = assemble_graph(extractions)
    assert marie.description == "Fact 0. Fact 1. Fact 2."


def test_offline_extractions_are_unchanged_by_the_new_fields() -> None:
    extractions = [_chunk("c1", [_m("Paris", "GPE"), _m("Lyon", "GPE")],
                          [ExtractedRelation("paris", "lyon", "related_to")])]
    entities, relations = assemble_graph(extractions)
    assert all(e.description == "" for e in entities)
    assert [(r.weight, r.description) for r in relations] == [(1.0, "")]
