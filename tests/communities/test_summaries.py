"""Tests of extractive community reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from graphready.communities.hierarchy import CommunityNode, community_id
from graphready.communities.summaries import summarize_communities
from graphready.knowledge import Community, Entity, Relation

ENTITIES = {
    e.id: e
    for e in [
        Entity("e1", "Marie Curie", "PERSON", ("k1", "k2", "k3")),
        Entity("e2", "Pierre Curie", "PERSON", ("k1", "k2")),
        Entity("e3", "Paris", "GPE", ("k1", "k3")),
        Entity("e4", "radium", "CONCEPT", ("k2",)),
        Entity("e5", "Berlin", "GPE", ("k4",)),
        Entity("e6", "Barack Obama", "PERSON", ("k4",)),
    ]
}
RELATIONS = [
    Relation("e1", "e2", "married", 3.0, ("k1", "k2")),
    Relation("e1", "e3", "lived", 2.0, ("k1",)),
    Relation("e1", "e4", "discovered", 1.0, ("k2",)),
    Relation("e2", "e3", "related_to", 1.0, ("k1",)),
    Relation("e5", "e6", "visited", 1.0, ("k4",)),
]
TEXTS = {
    "k1": "The weather was fine. Marie Curie and Pierre Curie lived in Paris. They were happy.",
    "k2": "Pierre Curie married Marie Curie. Together they discovered radium. "
          "Marie Curie and Pierre Curie lived in Paris.",
    "k3": "Paris is a city. Marie Curie taught there.",
    "k4": "Barack Obama visited Berlin.",
}
CURIE = CommunityNode(community_id(0, ["e1", "e2", "e3", "e4"]), 0, None,
                      ("e1", "e2", "e3", "e4"))
OBAMA = CommunityNode(community_id(0, ["e5", "e6"]), 0, None, ("e5", "e6"))


def test_title_is_most_central_members() -> None:
    (report,) = summarize_communities([CURIE], ENTITIES, RELATIONS, TEXTS, {})
    assert report.title == "Marie Curie, Pierre Curie, Paris"
    assert (report.id, report.level, report.parent, report.entity_ids) == (
        CURIE.id, 0, None, CURIE.members)


def test_sentences_mention_members_without_duplicates() -> None:
    (report,) = summarize_communities([CURIE], ENTITIES, RELATIONS, TEXTS, {}, max_sentences=3)
    body, key_line = report.summary.rsplit("\n", 1)
    assert key_line.startswith("Key entities: Marie Curie, Pierre Curie, Paris")
    assert "Marie Curie and Pierre Curie lived in Paris." in body
    assert body.count("lived in Paris") == 1
    assert "weather" not in body and "happy" not in body
    assert "Barack" not in report.summary
    assert set(report.chunk_ids) <= {"k1", "k2", "k3"}
    assert list(report.chunk_ids) == sorted(report.chunk_ids)


def test_max_sentences_respected() -> None:
    (report,) = summarize_communities([CURIE], ENTITIES, RELATIONS, TEXTS, {}, max_sentences=1)
    body = report.summary.split("\n")[0]
    assert body == "Marie Curie and Pierre Curie lived in Paris."
    assert len(report.chunk_ids) == 1


def test_previous_report_is_reused_and_texts_not_fetched() -> None:
    old = Community(CURIE.id, 0, None, CURIE.members, "old title", "old summary", ("k9",))
    asked: list[list[str]] = []

    def lookup(ids: Sequence[str]) -> Mapping[str, str]:
        asked.append(list(ids))
        return {i: TEXTS[i] for i in ids}

    reports = summarize_communities([CURIE, OBAMA], ENTITIES, RELATIONS, lookup, {CURIE.id: old})
    assert (reports[0].title, reports[0].summary, reports[0].chunk_ids) == (
        "old title", "old summary", ("k9",))
    assert reports[1].summary.startswith("Barack Obama visited Berlin.")
    assert asked == [["k4"]]
    assert summarize_communities([CURIE], ENTITIES, RELATIONS, lookup, {CURIE.id: old}) == [
        reports[0]]
    assert len(asked) == 1


def test_parent_of_reused_report_follows_the_node() -> None:
    child = CommunityNode(community_id(1, ["e5", "e6"]), 1, "parent-x", ("e5", "e6"))
    old = Community(child.id, 1, "parent-y", child.members, "t", "s", ())
    (report,) = summarize_communities([child], ENTITIES, RELATIONS, TEXTS, {child.id: old})
    assert report.parent == "parent-x"


def test_missing_text_gives_key_entities_only() -> None:
    (report,) = summarize_communities([OBAMA], ENTITIES, RELATIONS, {}, {})
    assert report.summary == "Key entities: Barack Obama, Berlin"
    assert report.chunk_ids == ()
    assert summarize_communities([], ENTITIES, RELATIONS, TEXTS, {}) == []
