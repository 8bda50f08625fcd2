"""The graph as shown while deleted documents are hidden: what only they support goes, what
others support too stays with its text withheld, a community report that may quote them is
withheld up the hierarchy, a chunk the catalog no longer held counts as hidden, and the view
is built once per hidden set, never when nothing it holds is hidden."""

from __future__ import annotations

from graphready.explore.view import GraphView
from graphready.explore.visible import without_documents
from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation

CHUNK_DOCS = {"a1": "doc-a", "a2": "doc-a", "b1": "doc-b"}


def graph() -> KnowledgeGraph:
    entities = (Entity("only-a", "Odile Farraway", "PERSON", ("a1",), "Wrote the A memo."),
                Entity("shared", "Brittany", "GPE", ("a2", "b1"), "From A. From B."),
                Entity("only-b", "Marisol Quenby", "PERSON", ("b1",), "Built the mill."),
                Entity("orphan", "Teodor Vashti", "PERSON", ("gone1",), "Left long ago."))
    relations = (Relation("only-a", "shared", "lived_in", 2.0, ("a2",), "A says so."),
                 Relation("only-b", "shared", "built_in", 4.0, ("a2", "b1"), "A and B say."),
                 Relation("only-b", "orphan", "met", 1.0, ("gone1",), "Old news."))
    communities = (
        Community("top", 0, None, ("only-a", "shared", "only-b"), "Farraway's coast",
                  "A report quoting A.", ("b1",), 7.0),
        Community("low-a", 1, "top", ("only-a",), "Farraway", "About A.", ("a1",), 5.0),
        Community("low-b", 1, "top", ("only-b",), "Quenby", "About B.", ("b1",), 5.0),
        Community("low-mix", 1, "top", ("shared",), "Brittany", "Both.", ("b1",), 4.0))
    return KnowledgeGraph(entities, relations, communities)


def test_what_only_a_hidden_document_supports_goes_and_shared_text_is_withheld() -> None:
    found = without_documents(graph(), CHUNK_DOCS, frozenset({"doc-a"}))
    entities = {e.id: e for e in found.graph.entities}
    assert set(entities) == {"shared", "only-b"}  # the orphan's chunk is unknown: hidden too
    assert entities["shared"].chunk_ids == ("b1",) and entities["shared"].description == ""
    assert entities["only-b"].description == "Built the mill."
    assert found.withheld_entities == {"shared"}
    [relation] = found.graph.relations
    assert (relation.label, relation.weight, relation.chunk_ids, relation.description) == (
        "related_to", 2.0, ("b1",), "")
    communities = {c.id: c for c in found.graph.communities}
    assert set(communities) == {"top", "low-b", "low-mix"}
    assert found.withheld_communities == {"top", "low-mix"}
    top = communities["top"]
    assert (top.summary, top.rating, top.entity_ids) == ("", 0.0, ("shared", "only-b"))
    assert "Farraway" not in top.title and top.title
    assert communities["low-b"].summary == "About B."
    assert set(found.chunk_docs) == {"b1"}


def test_a_report_that_fed_its_parent_withholds_the_parents() -> None:
    g = graph()
    low = Community("low", 1, "mid", ("only-b",), "Low", "Quoting A.", ("a1",), 1.0)
    mid = Community("mid", 0, None, ("only-b",), "Mid", "From low.", ("b1",), 1.0)
    found = without_documents(KnowledgeGraph(g.entities, g.relations, (low, mid)), CHUNK_DOCS,
                              frozenset({"doc-a"}))
    assert found.withheld_communities == {"low", "mid"}
    assert all(c.summary == "" for c in found.graph.communities)


def test_the_view_shows_itself_until_a_document_it_holds_is_hidden() -> None:
    g = graph()
    known = KnowledgeGraph(g.entities[:3], g.relations[:2], g.communities)
    view = GraphView(known, CHUNK_DOCS)
    assert not view.shows_all(frozenset())  # not known yet: visible() looks once
    assert view.visible(frozenset({"doc-z"})) is view and view.shows_all(frozenset({"doc-z"}))
    assert not view.shows_all(frozenset({"doc-a"}))
    hidden = view.visible(frozenset({"doc-a", "doc-z"}))
    assert hidden is not view and hidden is view.visible(frozenset({"doc-a"}))
    assert [e.name for e in hidden.entities] == ["Brittany", "Marisol Quenby"]
    assert hidden.documents == {"doc-b"} and hidden.withheld_entities == {"shared"}
    assert hidden.documents_of(hidden.entities[0]) == ["doc-b"]
    position = hidden.position("shared")
    assert position is not None and hidden.subgraph(position, 2, 10, 10).nodes == [
        position, hidden.position("only-b")]
    assert view.visible(frozenset()) is view
    orphaned = GraphView(g, CHUNK_DOCS)  # loaded after the catalog lost a chunk it holds
    assert not orphaned.shows_all(frozenset())
    assert "orphan" not in {e.id for e in orphaned.visible(frozenset()).entities}
