"""Which community reports survive a change of the documents: only those whose members,
passages, descriptions and relations are all unchanged."""

from __future__ import annotations

from graphready.communities.reuse import changed_entities, reusable_reports
from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation

E1 = Entity("e1", "Marie Curie", "PERSON", ("a", "b"))
E2 = Entity("e2", "Paris", "GPE", ("a",))
E3 = Entity("e3", "Lyon", "GPE", ("c",))
R12 = Relation("e1", "e2", "related_to", 1.0, ("a",))
C12 = Community("k12", 0, None, ("e1", "e2"), "Curie, Paris", "Marie Curie in Paris.", ("a",))
C3 = Community("k3", 0, None, ("e3",), "Lyon", "Lyon.", ("c",))
PREVIOUS = KnowledgeGraph((E1, E2, E3), (R12,), (C12, C3))


def test_unchanged_graph_reuses_every_report() -> None:
    assert set(reusable_reports(PREVIOUS, PREVIOUS.entities, PREVIOUS.relations)) == {"k12", "k3"}
    assert reusable_reports(None, PREVIOUS.entities, PREVIOUS.relations) == {}


def test_a_member_that_lost_a_passage_invalidates_its_community_only() -> None:
    fewer = Entity("e1", "Marie Curie", "PERSON", ("a",))  # chunk b was deleted
    reusable = reusable_reports(PREVIOUS, (fewer, E2, E3), (R12,))
    assert set(reusable) == {"k3"}


def test_a_changed_relation_marks_both_ends() -> None:
    stronger = Relation("e1", "e2", "related_to", 2.0, ("a",))
    assert changed_entities(PREVIOUS, PREVIOUS.entities, (stronger,)) == {"e1", "e2"}
    assert changed_entities(PREVIOUS, PREVIOUS.entities, ()) == {"e1", "e2"}
    described = Entity("e3", "Lyon", "GPE", ("c",), "a city")
    assert changed_entities(PREVIOUS, (E1, E2, described), (R12,)) == {"e3"}
