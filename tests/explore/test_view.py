"""The graph view: name search (case, accents, prefixes, words), paging, the capped
neighbourhood of a hub, relations, communities."""

from __future__ import annotations

from graphready.explore.view import GraphView, fold, page_of
from support.graph_data import CHUNK_DOCS, HUB, SPOKES, sample_graph


def view() -> GraphView:
    return GraphView(sample_graph(), CHUNK_DOCS)


def names(v: GraphView, positions: list[int]) -> list[str]:
    return [v.entities[p].name for p in positions]


def test_fold_ignores_case_and_accents() -> None:
    assert fold("Amélie ÉCOLE Straße") == "amelie ecole strasse"


def test_search_by_prefix_of_any_word_ignoring_case_and_accents() -> None:
    v = view()
    assert names(v, v.search("amel", None, 0, 10).items) == ["Amélie Poulain"]
    assert names(v, v.search("POUL", None, 0, 10).items) == ["Amélie Poulain"]
    assert names(v, v.search("jean jeu", None, 0, 10).items) == ["Jean-Pierre Jeunet"]
    assert names(v, v.search("pierre", None, 0, 10).items) == ["Jean-Pierre Jeunet"]
    assert v.search("poulain amelie", None, 0, 10).total == 1
    assert v.search("zzz", None, 0, 10).items == []


def test_search_ranks_exact_then_prefix_then_degree_and_filters_by_type() -> None:
    v = view()
    found = names(v, v.search("far", None, 0, 10).items)
    assert found == ["Far Alpha", "Far Beta"]
    assert names(v, v.search("far beta", None, 0, 10).items) == ["Far Beta"]
    assert names(v, v.search("", None, 0, 1).items) == ["Hub City"]  # highest degree
    assert {v.entities[p].type for p in v.search("", "PERSON", 0, 50).items} == {"PERSON"}
    assert v.search("", "PERSON", 0, 50).total == 4


def test_search_pages_cover_every_match_once() -> None:
    v = view()
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = v.search("spoke", None, offset, 25)
        seen += page.items
        offset = page.next_offset
    assert len(seen) == len(set(seen)) == SPOKES
    assert page_of([1, 2, 3], 3, 5).items == [] and page_of([1, 2, 3], 0, 3).next_offset is None


def test_subgraph_of_a_hub_keeps_the_strongest_within_the_limit() -> None:
    v = view()
    hub = v.position(HUB)
    assert hub is not None and int(v.degree[hub]) == SPOKES
    sub = v.subgraph(hub, hops=1, limit=10, max_edges=100)
    assert len(sub.nodes) == 10 and sub.truncated and sub.hops[0] == 0
    assert names(v, sub.nodes[1:]) == [f"Spoke {i:03d}" for i in range(SPOKES - 1, SPOKES - 10, -1)]
    assert len(sub.edges) == 9 and all(HUB in (e.source, e.target) for e in sub.edges)
    small = v.subgraph(hub, hops=1, limit=5, max_edges=2)
    assert len(small.edges) == 2 and small.edges[0].weight == SPOKES


def test_two_hops_reach_the_neighbours_of_neighbours() -> None:
    v = view()
    spoke = v.position("e-spoke-000")
    assert spoke is not None
    one = v.subgraph(spoke, hops=1, limit=50, max_edges=200)
    assert set(names(v, one.nodes)) == {"Spoke 000", "Hub City", "Far Alpha", "Far Beta"}
    two = v.subgraph(spoke, hops=2, limit=50, max_edges=200)
    assert len(two.nodes) == 50 and two.truncated
    assert {h for h in two.hops} == {0, 1, 2}
    far = v.position("e-far-a")
    assert far is not None
    alone = v.subgraph(far, hops=2, limit=500, max_edges=2000)
    assert names(v, alone.nodes) == ["Far Alpha", "Spoke 000", "Far Beta", "Hub City"]
    assert alone.hops == [0, 1, 2, 2] and not alone.truncated


def test_relations_and_communities_of_an_entity() -> None:
    v = view()
    amelie = v.position("e-amelie")
    assert amelie is not None
    relations = v.neighbours(amelie, 10)
    assert [v.entities[n.other].name for n in relations] == ["Jean-Pierre Jeunet", "Montmartre"]
    assert [c.id for c in v.communities_of(amelie)] == ["k-top", "k-low"]
    assert v.top_community(amelie) == "k-top"
    assert v.documents_of(v.entities[amelie]) == ["doc-2"]
    assert [c.id for c in v.children("k-top")] == ["k-low"]
    assert [c.id for c in v.list_communities(0)] == ["k-hub", "k-top"]
    assert v.levels == [0, 1]
    assert names(v, v.members(v.community("k-top") or v.communities[0]))[0] == "Amélie Poulain"
