"""Tests of LLM community reports against a scripted chat model: bottom-up order, the parent's
prompt, fallbacks, reuse and outages."""

from __future__ import annotations

import json
import threading

import pytest

from graphready.communities.hierarchy import CommunityNode, community_id
from graphready.communities.llm_reports import report_communities
from graphready.communities.summaries import summarize_communities
from graphready.errors import LLMUnavailable
from graphready.knowledge import Community, Entity, Relation
from graphready.llm.protocol import ChatReply, Prompt
from support.scripted_llm import ScriptedChatModel, reply

ENTITIES = {e.id: e for e in [
    Entity("e1", "Marie Curie", "PERSON", ("k1", "k2"), "A physicist."),
    Entity("e2", "Pierre Curie", "PERSON", ("k1",), "Her husband."),
    Entity("e3", "Warsaw", "GPE", ("k2",)),
    Entity("e4", "Radium", "CONCEPT", ("k3",), "An element."),
]}
RELATIONS = [
    Relation("e1", "e2", "related_to", 2.0, ("k1",), "They married."),
    Relation("e1", "e3", "related_to", 1.0, ("k2",), "Born there."),
    Relation("e2", "e4", "related_to", 1.0, ("k3",), "Discovered together."),
]
TEXTS = {"k1": "Marie Curie married Pierre Curie.", "k2": "Marie Curie was born in Warsaw.",
         "k3": "Pierre Curie and Marie Curie discovered Radium."}
TOP = CommunityNode(community_id(0, ["e1", "e2", "e3", "e4"]), 0, None, ("e1", "e2", "e3", "e4"))
LEFT = CommunityNode(community_id(1, ["e1", "e3"]), 1, TOP.id, ("e1", "e3"))
RIGHT = CommunityNode(community_id(1, ["e2", "e4"]), 1, TOP.id, ("e2", "e4"))
NODES = [TOP, LEFT, RIGHT]


def report_json(title: str, rating: float = 7.0) -> str:
    return json.dumps({"title": title, "summary": f"About {title}.",
                       "key_entities": ["Marie Curie", "Somebody Else"], "rating": rating,
                       "findings": [{"summary": "A finding", "explanation": "why"}, "Plain"]})


def titled_by_members(prompt: Prompt) -> ChatReply:
    """A report titled after the first entity line of the prompt."""
    text = str(prompt.messages[1]["content"])
    first = text.split("Entities:\n- ", 1)[1].split(" (", 1)[0]
    return reply(report_json(f"Report on {first} of {text.count(chr(10))} lines"))


def test_children_are_reported_before_their_parent_whose_prompt_holds_them() -> None:
    model = ScriptedChatModel(default=titled_by_members)
    outcome = report_communities(NODES, ENTITIES, RELATIONS, TEXTS, {}, model,
                                 concurrency=2, max_tokens=300)
    assert [c.id for c in outcome.communities] == [n.id for n in NODES]
    assert (outcome.fallbacks, outcome.reused) == (0, 0)
    top, left, right = outcome.communities
    parent_prompt = str(model.prompts[-1].messages[1]["content"])
    assert "level 0" in parent_prompt
    assert all("level 1" in str(p.messages[1]["content"]) for p in model.prompts[:2])
    assert left.title in parent_prompt and right.title in parent_prompt
    assert "- Marie Curie (PERSON): A physicist." in parent_prompt
    assert "Marie Curie -- Pierre Curie: They married." in parent_prompt
    assert all(p.purpose == "report" and p.json_object for p in model.prompts)
    assert top.rating == 7.0 and top.parent is None and left.parent == top.id
    assert top.summary.splitlines() == [
        f"About {top.title}.", "- A finding: why", "- Plain", "Key entities: Marie Curie"]
    assert top.chunk_ids == ("k1", "k2", "k3")
    assert left.chunk_ids == ("k1", "k2")


def test_bad_report_falls_back_to_the_extractive_one() -> None:
    def respond(prompt: Prompt) -> ChatReply:
        if "level 0" in str(prompt.messages[1]["content"]):
            return reply('{"title": ""')
        return reply(report_json("Child", rating=42))
    model = ScriptedChatModel(default=respond)
    outcome = report_communities(NODES, ENTITIES, RELATIONS, TEXTS, {}, model,
                                 concurrency=1, max_tokens=300)
    extractive = summarize_communities(NODES, ENTITIES, RELATIONS, TEXTS, {})
    assert outcome.fallbacks == 1
    assert outcome.communities[0] == extractive[0]
    assert outcome.communities[1].title == "Child" and outcome.communities[1].rating == 10.0
    assert len(model.prompts) == 4  # two children, the parent and its repair


def test_unchanged_communities_are_reused_and_feed_a_changed_parent() -> None:
    old_left = Community(LEFT.id, 1, "old-parent", LEFT.members, "Stored left", "Stored.",
                         ("k2",), 4.0)
    model = ScriptedChatModel(default=titled_by_members)
    outcome = report_communities(NODES, ENTITIES, RELATIONS, TEXTS, {LEFT.id: old_left}, model,
                                 concurrency=2, max_tokens=300)
    assert outcome.reused == 1 and len(model.prompts) == 2
    left = outcome.communities[1]
    assert (left.title, left.summary, left.rating, left.parent) == (
        "Stored left", "Stored.", 4.0, TOP.id)
    assert "- Stored left: Stored." in str(model.prompts[-1].messages[1]["content"])


def test_outage_propagates_before_any_parent_is_asked() -> None:
    lock = threading.Lock()
    asked: list[str] = []

    def respond(prompt: Prompt) -> ChatReply:
        with lock:
            asked.append(str(prompt.messages[1]["content"]))
        raise LLMUnavailable("the LLM at http://x timed out")
    model = ScriptedChatModel(default=respond)
    with pytest.raises(LLMUnavailable, match="timed out"):
        report_communities(NODES, ENTITIES, RELATIONS, TEXTS, {}, model,
                           concurrency=2, max_tokens=300)
    assert asked and all("level 1" in text for text in asked)


def test_prompt_stays_within_its_budget() -> None:
    many = {f"m{i:03d}": Entity(f"m{i:03d}", f"Member {i}", "PERSON", (f"c{i}",), "d " * 200)
            for i in range(200)}
    ids = tuple(sorted(many))
    node = CommunityNode(community_id(0, ids), 0, None, ids)
    relations = [Relation(ids[i], ids[i + 1], "related_to", 1.0, (), "r " * 200)
                 for i in range(199)]
    model = ScriptedChatModel(default=reply(report_json("Big")))
    outcome = report_communities([node], many, relations, {}, {}, model, concurrency=1,
                                 max_tokens=300)
    assert outcome.communities[0].title == "Big"
    assert len(str(model.prompts[0].messages[1]["content"])) <= 6000
    assert len(outcome.communities[0].chunk_ids) == 8
