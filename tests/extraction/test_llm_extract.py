"""Tests of LLM extraction against a scripted chat model: replies checked against the chunk, the
repair attempt, the offline fallback, and outages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from graphready.documents.types import Chunk
from graphready.errors import LLMUnavailable
from graphready.extraction.llm_extract import (
    MENTIONS,
    LLMExtractor,
    llm_extractor_id,
)
from graphready.extraction.spacy_nlp import SpacyExtractor
from graphready.knowledge import ExtractedRelation, Mention
from graphready.llm.protocol import ChatReply, Prompt
from support.scripted_llm import ScriptedChatModel, reply

CURIE = Chunk("k1", "d1", 0, "Marie Curie",
              "Marie Curie was born in Warsaw. She worked in Paris with Pierre Curie.")
LISBON = Chunk("k2", "d2", 0, "notes-2024.txt",
               "The Lisbon earthquake of 1755 destroyed much of Lisbon.")

GOOD = {
    "entities": [
        {"name": "Marie Curie", "type": "PERSON", "description": "A physicist born in Warsaw."},
        {"name": "Warsaw", "type": "city", "description": "Where Marie Curie was born."},
        {"name": "Pierre Curie", "type": "person", "description": ""},
    ],
    "relations": [
        {"source": "Marie Curie", "target": "Warsaw", "description": "born there",
         "strength": 9},
        {"source": "marie curie", "target": "Pierre Curie", "description": "worked together",
         "strength": 25},
    ],
}


@pytest.fixture(scope="module")
def spacy_extractor() -> Iterator[SpacyExtractor]:
    yield SpacyExtractor()


def by_passage(replies: dict[str, list[Any]]) -> Callable[[Prompt], ChatReply]:
    """A scripted step answering by which passage the prompt holds: the first reply, or the
    second one for the repair prompt (which carries the first reply)."""
    def respond(prompt: Prompt) -> ChatReply:
        user = str(prompt.messages[1]["content"])
        for marker, answers in replies.items():
            if marker in user:
                answer = answers[0 if len(prompt.messages) == 2 else 1]
                return reply(answer if isinstance(answer, str) else json.dumps(answer))
        raise AssertionError(f"unexpected prompt {user!r}")
    return respond


def extractor(model: ScriptedChatModel, fallback: SpacyExtractor) -> LLMExtractor:
    return LLMExtractor(model, fallback, concurrency=3, max_tokens=500)


def test_valid_reply_becomes_the_extraction(spacy_extractor: SpacyExtractor) -> None:
    model = ScriptedChatModel(default=by_passage({"Warsaw": [GOOD]}))
    llm = extractor(model, spacy_extractor)
    (result,) = llm.extract([CURIE])
    assert result.chunk_id == "k1"
    assert result.mentions == (
        Mention("Marie Curie", "marie curie", "PERSON", "A physicist born in Warsaw."),
        Mention("Warsaw", "warsaw", "GPE", "Where Marie Curie was born."),
        Mention("Pierre Curie", "pierre curie", "PERSON", ""),
    )
    assert result.relations == (
        ExtractedRelation("marie curie", "warsaw", "related_to", "born there", 1.8),
        ExtractedRelation("marie curie", "pierre curie", "related_to", "worked together", 2.0),
        ExtractedRelation("marie curie", "warsaw", MENTIONS),
        ExtractedRelation("marie curie", "pierre curie", MENTIONS),
    )
    assert llm.fallbacks == 0
    (prompt,) = model.prompts
    assert prompt.purpose == "extract" and prompt.json_object and prompt.max_tokens == 500
    assert "Marie Curie was born in Warsaw" in str(prompt.messages[1]["content"])
    assert llm.extractor_id == llm_extractor_id("scripted")


def test_title_is_a_mention_related_to_named_entities(spacy_extractor: SpacyExtractor) -> None:
    answer = {"entities": [{"name": "Lisbon", "type": "GPE"},
                           {"name": "earthquake", "type": "EVENT"}], "relations": []}
    titled = Chunk("k3", "d3", 0, "Lisbon earthquake", LISBON.text)
    model = ScriptedChatModel(default=by_passage({"1755": [answer]}))
    (result,) = extractor(model, spacy_extractor).extract([titled])
    assert result.mentions[0] == Mention("Lisbon earthquake", "lisbon earthquake", "TITLE")
    assert {(r.source, r.target, r.label) for r in result.relations} == {
        ("lisbon earthquake", "lisbon", MENTIONS), ("lisbon earthquake", "earthquake", MENTIONS)}
    (untitled,) = extractor(model, spacy_extractor).extract([LISBON])
    assert all(m.type != "TITLE" for m in untitled.mentions)  # a file name is no title


def test_malformed_reply_then_good_repair(spacy_extractor: SpacyExtractor) -> None:
    model = ScriptedChatModel(default=by_passage(
        {"Warsaw": ['{"entities": [{"name": "Marie Curie"', f"Here: {json.dumps(GOOD)}"]}))
    llm = extractor(model, spacy_extractor)
    (result,) = llm.extract([CURIE])
    assert [m.name for m in result.mentions] == ["Marie Curie", "Warsaw", "Pierre Curie"]
    assert llm.fallbacks == 0
    first, repair = model.prompts
    assert repair.messages[:2] == first.messages
    assert repair.messages[2] == {"role": "assistant",
                                  "content": '{"entities": [{"name": "Marie Curie"'}
    assert "not valid" in str(repair.messages[3]["content"])
    assert repair.purpose == "extract"


def test_bad_twice_falls_back_offline_for_that_chunk_only(
        spacy_extractor: SpacyExtractor) -> None:
    model = ScriptedChatModel(default=by_passage({
        "Warsaw": [GOOD],
        "1755": ["no JSON here", '{"relations": []}'],
    }))
    llm = extractor(model, spacy_extractor)
    curie, lisbon = llm.extract([CURIE, LISBON])
    assert llm.fallbacks == 1
    assert curie.mentions[0].description == "A physicist born in Warsaw."
    assert lisbon == spacy_extractor.extract([LISBON])[0]
    assert len(model.prompts) == 3


def test_reply_about_nothing_in_the_chunk_falls_back(spacy_extractor: SpacyExtractor) -> None:
    invented = {"entities": [{"name": "Napoleon Bonaparte", "type": "PERSON"}]}
    model = ScriptedChatModel(default=by_passage({"1755": [invented]}))
    llm = extractor(model, spacy_extractor)
    assert llm.extract([LISBON]) == spacy_extractor.extract([LISBON])
    assert llm.fallbacks == 1


def test_bad_parts_of_a_reply_are_dropped(spacy_extractor: SpacyExtractor) -> None:
    answer = {
        "entities": [
            {"name": "  Marie   Curie ", "type": "PERSON", "description": "x" * 1000},
            {"name": "Marie Curie", "type": "ORG", "description": "a duplicate"},
            {"name": "", "type": "PERSON"},
            {"name": "she", "type": "PERSON"},
            {"name": "Warsaw " * 30, "type": "GPE"},
            {"name": "Atlantis", "type": "GPE"},
            {"name": "Paris", "type": "SPACESHIP"},
        ],
        "relations": [
            {"source": "Marie Curie", "target": "Atlantis"},
            {"source": "Marie Curie", "target": "Marie Curie"},
            {"source": "Paris", "target": "Marie Curie", "strength": -4},
            {"source": "Marie Curie", "target": "Paris", "description": "a duplicate pair"},
            {"source": "Nobody", "target": "Paris"},
        ],
    }
    model = ScriptedChatModel(default=by_passage({"Warsaw": [answer]}))
    (result,) = extractor(model, spacy_extractor).extract([CURIE])
    assert [(m.name, m.type) for m in result.mentions] == [
        ("Marie Curie", "PERSON"), ("Paris", "CONCEPT")]
    assert len(result.mentions[0].description) == 300
    assert [(r.source, r.target, r.weight) for r in result.relations] == [
        ("paris", "marie curie", 0.2)]


def test_outage_propagates_and_is_not_a_fallback(spacy_extractor: SpacyExtractor) -> None:
    chunks = [Chunk(f"k{i}", "d", i, "", f"Passage {i} about Warsaw.") for i in range(6)]
    model = ScriptedChatModel(default=LLMUnavailable("cannot reach the LLM at http://x"))
    llm = extractor(model, spacy_extractor)
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        llm.extract(chunks)
    assert llm.fallbacks == 0
    assert len(model.prompts) <= len(chunks)


def test_progress_counts_replies_in_the_calling_thread(spacy_extractor: SpacyExtractor) -> None:
    chunks = [Chunk(f"k{i}", "d", i, "", f"Warsaw is a city, number {i}.") for i in range(5)]
    model = ScriptedChatModel(default=reply(json.dumps(
        {"entities": [{"name": "Warsaw", "type": "GPE"}]})))
    seen: list[int] = []
    results = extractor(model, spacy_extractor).extract(chunks, progress=seen.append)
    assert [r.chunk_id for r in results] == [c.id for c in chunks]
    assert seen and seen[-1] == 5 and seen == sorted(seen)
