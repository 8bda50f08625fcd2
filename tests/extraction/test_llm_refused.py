"""A prompt the model refuses (a 400: too long for its context, filtered) costs that chunk its
LLM extraction, counted with the reason; it does not fail the build. A model that refuses every
prompt is refusing the request itself, and that still fails."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from graphready.documents.types import Chunk
from graphready.errors import LLMRejected
from graphready.extraction.llm_extract import LLMExtractor
from graphready.extraction.spacy_nlp import SpacyExtractor
from graphready.llm.protocol import ChatReply, Prompt
from graphready.llm.refusals import MAX_REASONS, Refusals, refuses_prompt
from support.scripted_llm import ScriptedChatModel, reply

MARKER = "Zanzibar"
REFUSAL = LLMRejected("the LLM at http://127.0.0.1:1/v1 refused the request (400): the "
                      "request exceeds the available context size", 400)
CHUNKS = [Chunk(f"k{i}", f"d{i}", 0, "", f"Warsaw is a city, passage {i}.") for i in range(6)]
REFUSED = Chunk("k-bad", "d-bad", 0, "", f"{MARKER} lies off the coast of Tanzania.")


@pytest.fixture(scope="module")
def spacy_extractor() -> Iterator[SpacyExtractor]:
    yield SpacyExtractor()


def refusing(marker: str, error: LLMRejected = REFUSAL) -> ScriptedChatModel:
    """A model that refuses every prompt holding ``marker`` and extracts Warsaw otherwise."""
    def respond(prompt: Prompt) -> ChatReply:
        if marker in str(prompt.messages[-1]["content"]):
            raise error
        return reply(json.dumps({"entities": [{"name": "Warsaw", "type": "GPE"}]}))
    return ScriptedChatModel(default=respond)


def extract(model: ScriptedChatModel, spacy: SpacyExtractor,
            chunks: list[Chunk]) -> tuple[LLMExtractor, dict[str, list[str]]]:
    llm = LLMExtractor(model, spacy, concurrency=3, max_tokens=300)
    results = llm.extract(chunks)
    return llm, {r.chunk_id: [m.name for m in r.mentions] for r in results}


def test_a_refused_chunk_is_extracted_offline_and_counted_with_its_reason(
        spacy_extractor: SpacyExtractor) -> None:
    llm, found = extract(refusing(MARKER), spacy_extractor, [*CHUNKS[:3], REFUSED, *CHUNKS[3:]])
    assert list(found) == [c.id for c in [*CHUNKS[:3], REFUSED, *CHUNKS[3:]]]
    assert all(found[c.id] == ["Warsaw"] for c in CHUNKS)
    assert "Zanzibar" in found[REFUSED.id] or "Tanzania" in found[REFUSED.id]  # offline
    assert (llm.refusals.count, llm.refusals.accepted, llm.fallbacks) == (1, 6, 0)
    [reason] = llm.refusals.reasons
    assert reason.startswith("chunk k-bad of document 'd-bad': ") and "(400)" in reason
    assert "context size" in reason and reason.endswith("extracted offline instead")


def test_other_refusals_and_a_model_that_refuses_everything_still_fail(
        spacy_extractor: SpacyExtractor) -> None:
    unknown_model = LLMRejected("refused the request (404): model not found", 404)
    with pytest.raises(LLMRejected, match="404"):
        extract(refusing(MARKER, unknown_model), spacy_extractor, [REFUSED, *CHUNKS])
    with pytest.raises(LLMRejected, match="400"):  # every prompt refused: the request is wrong
        extract(refusing(""), spacy_extractor, [REFUSED, *CHUNKS])
    llm, found = extract(refusing(MARKER), spacy_extractor, [REFUSED])  # one alone: a prompt
    assert llm.refusals.count == 1 and list(found) == [REFUSED.id]


def test_refusals_keep_the_first_reasons_and_count_them_all() -> None:
    refusals = Refusals()
    refusals.accept()
    for i in range(MAX_REASONS + 3):
        refusals.refuse(f"chunk {i}", REFUSAL, "done offline")
    refusals.check()  # one was accepted: these are about their prompts
    assert refusals.count == MAX_REASONS + 3 and len(refusals.reasons) == MAX_REASONS
    assert refuses_prompt(LLMRejected("too large", 413))
    assert not refuses_prompt(LLMRejected("bad key", 401)) and not refuses_prompt(None)
