"""A community whose report prompt the model refuses (a 400) keeps its extractive report,
counted with the reason, and the other communities get the model's reports."""

from __future__ import annotations

import json

import pytest

from graphready.communities.hierarchy import CommunityNode, community_id
from graphready.communities.llm_reports import report_communities
from graphready.errors import LLMRejected
from graphready.knowledge import Entity, Relation
from graphready.llm.protocol import ChatReply, Prompt
from support.scripted_llm import ScriptedChatModel, reply

ENTITIES = {e.id: e for e in [
    Entity("e1", "Marie Curie", "PERSON", ("k1",), "A physicist."),
    Entity("e2", "Warsaw", "GPE", ("k1",)),
    Entity("e3", "Pierre Curie", "PERSON", ("k2",), "Her husband."),
    Entity("e4", "Radium", "CONCEPT", ("k2",), "An element."),
]}
RELATIONS = [Relation("e1", "e2", "related_to", 1.0, ("k1",), "Born there."),
             Relation("e3", "e4", "related_to", 1.0, ("k2",), "Discovered it."),
             Relation("e1", "e3", "related_to", 0.5, ("k2",), "Married.")]
TEXTS = {"k1": "Marie Curie was born in Warsaw.", "k2": "Pierre Curie discovered Radium."}
TOP = CommunityNode(community_id(0, ["e1", "e2", "e3", "e4"]), 0, None, ("e1", "e2", "e3", "e4"))
LEFT = CommunityNode(community_id(1, ["e1", "e2"]), 1, TOP.id, ("e1", "e2"))
RIGHT = CommunityNode(community_id(1, ["e3", "e4"]), 1, TOP.id, ("e3", "e4"))
REFUSAL = LLMRejected("the LLM at http://127.0.0.1:1/v1 refused the request (400): filtered",
                      400)


def refusing_left(prompt: Prompt) -> ChatReply:
    text = str(prompt.messages[-1]["content"])
    if "Warsaw" in text and "level 1" in text:
        raise REFUSAL
    return reply(json.dumps({"title": "Written", "summary": "By the model."}))


def test_a_refused_report_keeps_the_extractive_one() -> None:
    outcome = report_communities([TOP, LEFT, RIGHT], ENTITIES, RELATIONS, TEXTS, {},
                                 ScriptedChatModel(default=refusing_left),
                                 concurrency=2, max_tokens=300)
    by_id = {c.id: c for c in outcome.communities}
    assert by_id[LEFT.id].title != "Written" and by_id[LEFT.id].summary  # the extractive one
    assert by_id[RIGHT.id].title == "Written" and by_id[TOP.id].title == "Written"
    assert (outcome.refusals.count, outcome.fallbacks) == (1, 0)
    [reason] = outcome.refusals.reasons
    assert reason.startswith(f"community {LEFT.id}: ") and "(400): filtered" in reason
    assert reason.endswith("its extractive report instead")


def test_a_model_refusing_every_report_fails_the_stage() -> None:
    def refuse(prompt: Prompt) -> ChatReply:
        raise REFUSAL
    with pytest.raises(LLMRejected, match="400"):
        report_communities([TOP, LEFT, RIGHT], ENTITIES, RELATIONS, TEXTS, {},
                           ScriptedChatModel(default=refuse), concurrency=2, max_tokens=300)
