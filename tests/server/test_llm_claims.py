"""Each sentence a language model writes is checked against the passages it cites, over the real
app with the scripted chat model (our own implementation of the chat-model protocol): a sentence
its passages do not hold is marked unsupported, a citation of a passage the model was not given
is dropped and named, and an answer the passages do not hold (the model answering from elsewhere,
or saying the documents do not say) is ``found: false``, in JSON, in a stream and in ``/v1``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graphready.config import Settings
from graphready.llm.protocol import ChatReply, Prompt
from support.api import app_client, frames
from support.corpus import NEEDLE, NEEDLE_ANSWER, NEEDLE_QUESTION
from support.scripted_llm import ScriptedChatModel, reply

pytestmark = pytest.mark.anyio

WEATHER = "What is the weather in Paris tomorrow?"
SUNNY = "It will be sunny in Paris tomorrow, with 25 degrees [1]."
TAIL = "(Not found in the documents: the cited passages do not support this.)"


def needle_number(prompt: Prompt) -> int:
    """The number the answer prompt gave the needle passage."""
    for line in prompt.messages[-1]["content"].splitlines():
        if line.startswith('<passage id="') and f'title="{NEEDLE["title"]}"' in line:
            return int(line.split('"')[1])
    raise AssertionError("the needle passage is not in the prompt")


def citing_needle(text: str) -> Any:
    """A reply whose ``{n}`` is the needle passage's number."""
    def write(prompt: Prompt) -> ChatReply:
        return ChatReply(text.format(n=needle_number(prompt)))
    return write


async def post(built: Settings, model: ScriptedChatModel, path: str, body: dict[str, Any]
               ) -> Any:
    async for client in app_client(built, chat_model=model):
        response = await client.post(path, json=body)
        assert response.status_code == 200, response.text
        return response
    raise AssertionError("no client")


async def test_a_sentence_its_passage_does_not_hold_is_marked_unsupported(
        built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), citing_needle(
        f"{NEEDLE_ANSWER} designed the Zephyr Lighthouse [{{n}}]. It was painted red by "
        "Gustave Eiffel in 1921 [{n}].")])
    body = (await post(built, model, "/chat", {"message": NEEDLE_QUESTION})).json()
    assert [(c["text"], c["supported"]) for c in body["claims"]] == [
        (f"{NEEDLE_ANSWER} designed the Zephyr Lighthouse.", True),
        ("It was painted red by Gustave Eiffel in 1921.", False)]
    assert body["found"] is True and "1 of its 2 sentences are not supported" in body["note"]
    assert [c["id"] for c in body["citations"]] == [NEEDLE["id"]]


async def test_an_invented_citation_is_dropped_named_and_leaves_its_sentence_unsupported(
        built: Settings) -> None:
    text = f"{NEEDLE_ANSWER} designed it [{{n}}]. It stands on the coast of Brittany [42]."
    model = ScriptedChatModel([reply("DONE"), citing_needle(text)])
    response = await post(built, model, "/chat", {"message": NEEDLE_QUESTION, "stream": True})
    got = frames(response.text)
    streamed = "".join(json.loads(d)["text"] for name, d in got if name == "token")
    done = json.loads(got[-1][1])
    assert "[42]" not in streamed and "[42]" not in done["answer"]
    assert "It stands on the coast of Brittany." in done["answer"]
    assert [(c["citations"], c["supported"]) for c in done["claims"]][1] == ([], False)
    assert done["claims"][0]["supported"] is True and done["found"] is True
    assert "not given were dropped: [42]" in done["note"]


async def test_an_answer_the_passages_do_not_hold_is_not_found(built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), reply(SUNNY)])
    body = (await post(built, model, "/chat", {"message": WEATHER})).json()
    assert body["found"] is False and body["answer_type"] == "generated"
    assert [c["supported"] for c in body["claims"]] == [False]
    assert body["answer"].endswith(TAIL) and "do not support" in body["note"]


async def test_a_stream_says_an_unsupported_answer_is_not_found(built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), reply(SUNNY)])
    response = await post(built, model, "/chat", {"message": WEATHER, "stream": True})
    got = frames(response.text)
    streamed = "".join(json.loads(d)["text"] for name, d in got if name == "token")
    done = json.loads(got[-1][1])
    assert streamed == done["answer"] and streamed.endswith(TAIL)
    assert done["found"] is False


async def test_openai_clients_read_that_the_documents_do_not_hold_it(built: Settings) -> None:
    for stream in (False, True):
        model = ScriptedChatModel([reply("DONE"), reply(SUNNY)])
        response = await post(built, model, "/v1/chat/completions", {
            "model": "graphready", "stream": stream,
            "messages": [{"role": "user", "content": WEATHER}]})
        if stream:
            chunks = [json.loads(d) for _, d in frames(response.text) if d != "[DONE]"]
            text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        else:
            text = response.json()["choices"][0]["message"]["content"]
        assert TAIL in text, text


async def test_a_model_saying_the_documents_do_not_say_is_not_found(built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), reply(
        "The documents do not say what the weather in Paris will be tomorrow.")])
    body = (await post(built, model, "/chat", {"message": WEATHER})).json()
    assert body["found"] is False and body["claims"] == []
    assert body["answer"] == ("The documents do not say what the weather in Paris will be "
                              "tomorrow.")
    assert "found no answer in the passages" in body["note"]
