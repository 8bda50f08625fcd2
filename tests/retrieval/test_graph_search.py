"""Graph-local search (personalised PageRank) and graph-global search (community reports)."""

from __future__ import annotations

import pytest

from graphready.knowledge import Community, Entity, KnowledgeGraph, Relation
from graphready.retrieval.graph_global import CommunityIndex, is_global_question
from graphready.retrieval.graph_local import GraphIndex
from graphready.stores.base import Hit


def graph() -> KnowledgeGraph:
    entities = (
        Entity("e1", "Ada Lovelace", "PERSON", ("c1", "c2")),
        Entity("e2", "Analytical Engine", "PRODUCT", ("c2", "c3")),
        Entity("e6", "notes", "CONCEPT", ("c1", "c2", "c3", "c4")),
        Entity("e3", "Charles Babbage", "PERSON", ("c3",)),
        Entity("e4", "London", "GPE", ("c1", "c4", "c5")),
        Entity("e5", "Thames", "LOC", ("c5",)),
    )
    relations = (Relation("e1", "e2", "wrote", 2.0, ("c2",)),
                 Relation("e2", "e3", "designed", 1.0, ("c3",)))
    communities = (
        Community("k1", 0, None, ("e1", "e2", "e3"), "Ada Lovelace, Analytical Engine",
                  "Ada Lovelace wrote notes on the Analytical Engine.", ("c2",)),
        Community("k2", 0, None, ("e4", "e5"), "London, Thames",
                  "The Thames flows through London.", ("c5",)),
    )
    return KnowledgeGraph(entities, relations, communities)


def test_seeds_are_entities_named_in_the_question() -> None:
    index = GraphIndex(graph())
    seeds = index.seeds("What did Ada Lovelace write about London?")
    names = {seed.name for seed in seeds.values()}
    assert names == {"Ada Lovelace", "London"}


def test_pagerank_reaches_passages_through_shared_entities() -> None:
    index = GraphIndex(graph())
    ranked = [h.chunk_id for h in index.search("Who designed the Analytical Engine?", k=5)]
    assert set(ranked[:2]) == {"c2", "c3"}
    multi_hop = [h.chunk_id for h in index.search("Charles Babbage", k=5)]
    assert multi_hop[0] == "c3" and "c2" in multi_hop


def test_no_seed_and_no_dense_hit_gives_nothing() -> None:
    index = GraphIndex(graph())
    assert index.search("completely unrelated words", k=5) == []
    assert index.search("unrelated", k=2, passage_seeds=[Hit("c4", 0.9)])[0].chunk_id == "c4"


def test_global_questions_are_recognised() -> None:
    assert is_global_question("What are the main themes?")
    assert is_global_question("Give me an overview of the collection")
    assert is_global_question("What is this corpus about?")
    assert not is_global_question("Who designed the Analytical Engine?")


def test_community_search() -> None:
    index = CommunityIndex(graph().communities)
    assert len(index) == 2
    assert index.search("Tell me about the Thames", k=1)[0].community.id == "k2"
    broad = index.search("What are the main themes?", k=5)
    assert [h.community.id for h in broad] == ["k1", "k2"]
    assert index.search("zebra crossing", k=3) == []


def test_concepts_do_not_seed_or_link_the_walk() -> None:
    index = GraphIndex(graph())
    assert index.search("notes", k=5) == []


def test_local_push_and_exact_pagerank_rank_alike() -> None:
    from graphready.retrieval.graph_local import GraphSearchParams

    exact = GraphIndex(graph(), params=GraphSearchParams(push_tolerance=None))
    push = GraphIndex(graph())
    for question in ("Who designed the Analytical Engine?", "Charles Babbage", "London"):
        walked, pushed = exact.walk(question, 5), push.walk(question, 5)
        assert [h.chunk_id for h in walked.hits] == [h.chunk_id for h in pushed.hits]
        assert [h.score for h in walked.hits] == pytest.approx([h.score for h in pushed.hits],
                                                               rel=1e-3)
        assert walked.seeds == pushed.seeds and walked.reached == pushed.reached


def test_titles_named_in_the_question_seed_their_passages() -> None:
    index = GraphIndex(graph(), titles={"Thames": ["c5"], "Unrelated": ["c1"]})
    assert index.title_seeds("Where does the Thames flow?") != {}
    assert index.search("Where does the Thames flow?", k=1)[0].chunk_id == "c5"


def test_the_words_of_a_global_question_do_not_steer_it() -> None:
    themed = Community("k3", 0, None, ("e5",), "Themes", "Main themes and topics.", ("c5",))
    index = CommunityIndex((*graph().communities, themed))
    broad = index.search("What are the main themes?", k=1)
    assert broad[0].community.id == "k1"


def test_link_keys_ignore_punctuation_inside_names_and_disambiguations() -> None:
    from graphready.retrieval.keys import link_key, title_keys

    assert link_key("J. M. Barrie") == link_key("J M Barrie") == "j m barrie"
    assert link_key("At Shelly’s Manne-Hole") == link_key("at Shelly's Manne Hole")
    assert title_keys("Alien (film)") == ("alien film", "alien")
    assert title_keys("Alien") == ("alien", None)


def test_an_entity_is_tied_to_its_own_page() -> None:
    entities = (
        Entity("e1", "Mark Bowden", "PERSON", ("c1",)),
        Entity("e2", "Killing Pablo", "WORK_OF_ART", ("c1",)),
        Entity("e3", "Philadelphia", "GPE", ("c1", "c3")),
    )
    titles = {"Killing Pablo": ["c1"], "Mark Bowden (writer)": ["c2"], "Philadelphia": ["c3"]}
    index = GraphIndex(KnowledgeGraph(entities, (), ()), titles)
    # c2 mentions nothing, yet the walk reaches it: it is the page of Mark Bowden, whom c1 names
    ranked = [h.chunk_id for h in index.search("Who wrote Killing Pablo?", k=3)]
    assert ranked[0] == "c1" and "c2" in ranked
    assert index.titles_named("Where was the author of Killing Pablo born?") == 1
    assert index.titles_named("Was Mark Bowden born in Philadelphia?") == 1


def test_names_never_capitalised_do_not_seed() -> None:
    entities = (Entity("e1", "award", "ORG", ("c1",)), Entity("e2", "Oscar", "PERSON", ("c2",)))
    index = GraphIndex(KnowledgeGraph(entities, (), ()))
    assert {s.name for s in index.seeds("Which award did Oscar win?").values()} == {"Oscar"}
