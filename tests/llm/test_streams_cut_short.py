"""Streams a server ends early, without a ``finish_reason`` (as llama.cpp's Python server ends a
stream when another request arrives), against a real HTTP server (the scripted one): a build
reply is asked for again and never used cut short, and asked for whole after two early ends; an
answer stream cut short is an error (the answer becomes the extractive one), not a short
answer."""

from __future__ import annotations

import json

import pytest

from graphready.documents.types import Chunk
from graphready.errors import LLMUnavailable
from graphready.extraction.llm_extract import extraction_messages
from graphready.llm.openai_client import OpenAIChatModel
from graphready.llm.protocol import Prompt
from support.scripted_llm_server import MODEL, ScriptedLLMServer, extraction

CHUNK = Chunk("c1", "d1", 0, "Marie Curie",
              "Marie Curie was a physicist born in Warsaw. She worked in Paris.")


def extract_prompt() -> Prompt:
    return Prompt(tuple(extraction_messages(CHUNK)), json_object=True, max_tokens=200,
                  purpose="extract")


def test_a_build_reply_cut_short_is_asked_for_again_and_used_whole() -> None:
    with ScriptedLLMServer(end_early={"extract": 1}) as llm:
        model = OpenAIChatModel(llm.base_url, MODEL, retries=0)
        try:
            reply = model.complete(extract_prompt())
        finally:
            model.close()
    assert reply.content == extraction(CHUNK.text)
    json.loads(reply.content)
    assert [(s.streamed, s.outcome) for s in llm.of("extract")] == [(True, "gone"),
                                                                    (True, "done")]
    assert model.stats.snapshot()["calls_by_purpose"] == {"extract": 1}


def test_after_two_early_ends_the_build_reply_is_asked_for_whole() -> None:
    with ScriptedLLMServer(end_early={"extract": 5}) as llm:
        model = OpenAIChatModel(llm.base_url, MODEL, retries=0)
        try:
            reply = model.complete(extract_prompt())
        finally:
            model.close()
    assert reply.content == extraction(CHUNK.text)
    assert [s.streamed for s in llm.of("extract")] == [True, True, False]


def test_an_answer_stream_cut_short_is_an_error_not_a_short_answer() -> None:
    prompt = Prompt(({"role": "user", "content": "Passages: [1] x\n\nQuestion: Who?"},),
                    purpose="answer")
    with ScriptedLLMServer(end_early={"answer": 1}) as llm:
        model = OpenAIChatModel(llm.base_url, MODEL, retries=0)
        pieces: list[str] = []
        try:
            with pytest.raises(LLMUnavailable, match="before finishing"):
                for piece in model.stream(prompt):
                    pieces.append(piece)
            whole = "".join(model.stream(prompt))
        finally:
            model.close()
    assert len(pieces) == 1 and whole.startswith(pieces[0]) and len(whole) > len(pieces[0])
