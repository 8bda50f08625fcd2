"""Answers with a language model, in-process, with the scripted chat model (our own
implementation of the chat-model protocol): the agent's tool calls, the step cap, the fixed plan
for a model without tool calling, grounded citations, streaming, and the degraded answer when
the model fails."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from graphready.config import Settings
from graphready.errors import LLMRejected, LLMUnavailable
from graphready.llm.protocol import ChatReply, Prompt
from support.api import app_client, frames
from support.corpus import NEEDLE, NEEDLE_ANSWER, NEEDLE_QUESTION
from support.scripted_llm import CutShort, ScriptedChatModel, reply

pytestmark = pytest.mark.anyio

SEARCH = json.dumps({"query": "Zephyr Lighthouse designer"})


def needle_number(prompt: Prompt) -> int:
    """The number the answer prompt gave the needle passage (its block's id)."""
    text = prompt.messages[-1]["content"]
    for line in text.splitlines():
        if line.startswith('<passage id="') and f'title="{NEEDLE["title"]}"' in line:
            return int(line.split('"')[1])
    raise AssertionError(f"the needle passage is not in the prompt: {text[:500]}")


def answer_citing_needle(extra: str = "") -> ChatReply:
    """A final answer that cites the needle passage by the number the prompt gave it."""
    def write(prompt: Prompt) -> ChatReply:
        return ChatReply(f"{NEEDLE_ANSWER} designed it [{needle_number(prompt)}].{extra}")
    return write  # type: ignore[return-value]


async def client_with(built: Settings, model: ScriptedChatModel
                      ) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(built, chat_model=model):
        yield client


async def ask(built: Settings, model: ScriptedChatModel, **body: object) -> httpx.Response:
    """``POST /chat`` about the needle on an app whose language model is ``model``."""
    response = None
    async for client in client_with(built, model):
        response = await client.post("/chat", json={"message": NEEDLE_QUESTION, **body})
    assert response is not None
    return response


async def test_agent_calls_tools_then_answers_citing_what_it_found(built: Settings) -> None:
    model = ScriptedChatModel([reply("", ("search_documents", SEARCH)), reply("DONE"),
                               answer_citing_needle(" It is granite [42].")])
    response = await ask(built, model)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer_type"] == "generated" and body["plan"] == "agent"
    assert body["agent_steps"] == 2 and body["degraded"] is False
    assert NEEDLE_ANSWER in body["answer"] and "[42]" not in body["answer"]
    assert [c["id"] for c in body["citations"]] == [NEEDLE["id"]]
    assert "keyword_search" in body["tools_used"]
    agent_prompts = [p for p in model.prompts if p.purpose == "agent"]
    assert len(agent_prompts) == 2 and agent_prompts[0].tools
    offered = {t["function"]["name"] for t in agent_prompts[0].tools}
    assert {"search_documents", "keyword_search", "vector_search"} <= offered
    tool_message = agent_prompts[1].messages[-1]
    assert tool_message["role"] == "tool" and NEEDLE["title"] in tool_message["content"]
    assert model.prompts[-1].purpose == "answer" and not model.prompts[-1].tools


async def test_bad_tool_calls_are_answered_with_an_error_and_the_agent_goes_on(
        built: Settings) -> None:
    model = ScriptedChatModel([
        reply("", ("search_documents", "not json"), ("no_such_tool", SEARCH)),
        reply("", ("keyword_search", SEARCH)), reply("DONE"), answer_citing_needle()])
    body = (await ask(built, model)).json()
    errors = [m["content"] for m in model.prompts[1].messages if m["role"] == "tool"]
    assert errors[0].startswith("error: arguments are not JSON")
    assert errors[1].startswith("error: no tool 'no_such_tool'")
    assert body["plan"] == "agent" and [c["id"] for c in body["citations"]] == [NEEDLE["id"]]


async def test_the_agent_stops_at_the_step_cap(built: Settings) -> None:
    calls_forever = reply("", ("vector_search", SEARCH))
    model = ScriptedChatModel(default=lambda p: calls_forever if p.purpose == "agent"
                              else answer_citing_needle()(p))
    body = (await ask(built, model)).json()
    assert body["agent_steps"] == built.llm_max_steps
    assert sum(p.purpose == "agent" for p in model.prompts) == built.llm_max_steps
    assert body["tools_used"] == ["vector_search"]


async def test_a_model_that_calls_no_tool_gets_the_fixed_plan(built: Settings) -> None:
    model = ScriptedChatModel([reply("I know this already."), answer_citing_needle()])
    body = (await ask(built, model)).json()
    assert body["plan"] == "fixed" and body["answer_type"] == "generated"
    assert [c["id"] for c in body["citations"]] == [NEEDLE["id"]]


async def test_a_server_refusing_tools_switches_to_the_fixed_plan_for_good(
        built: Settings) -> None:
    model = ScriptedChatModel([LLMRejected("tools are not supported", 400),
                               answer_citing_needle(), answer_citing_needle()])
    async for client in client_with(built, model):
        first = (await client.post("/chat", json={"message": NEEDLE_QUESTION})).json()
        second = (await client.post("/chat", json={"message": NEEDLE_QUESTION})).json()
    assert first["plan"] == second["plan"] == "fixed"
    assert [p.purpose for p in model.prompts] == ["agent", "answer", "answer"]


async def test_a_chosen_mode_uses_its_retrieval_without_the_agent(built: Settings) -> None:
    model = ScriptedChatModel([answer_citing_needle()])
    body = (await ask(built, model, mode="retrieval")).json()
    assert body["plan"] == "fixed" and body["mode"] == "retrieval"
    assert [p.purpose for p in model.prompts] == ["answer"]


async def test_an_answer_citing_nothing_lists_the_passages_it_was_given(
        built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), reply("It was Marisol Quenby.")])
    body = (await ask(built, model)).json()
    assert body["answer"] == "It was Marisol Quenby."
    assert len(body["citations"]) == built.default_top_k and "cited no passage" in body["note"]


async def test_an_llm_outage_degrades_to_the_extractive_answer(built: Settings) -> None:
    down = LLMUnavailable("cannot reach the LLM at http://127.0.0.1:9/v1")
    model = ScriptedChatModel([down], default=down)
    response = await ask(built, model)
    assert response.status_code == 200
    body = response.json()
    assert body["degraded"] is True and body["answer_type"] == "extractive"
    assert "cannot reach the LLM" in body["note"] and NEEDLE_ANSWER in body["answer"]
    assert NEEDLE["id"] in [c["id"] for c in body["citations"]]


async def test_an_outage_while_answering_keeps_the_found_passages(built: Settings) -> None:
    model = ScriptedChatModel([reply("", ("keyword_search", SEARCH)), reply("DONE"),
                               LLMUnavailable("the LLM at x timed out")])
    body = (await ask(built, model)).json()
    assert body["degraded"] is True and "timed out" in body["note"]
    assert NEEDLE["id"] in [c["id"] for c in body["citations"]]


async def test_streamed_answers_come_as_the_model_writes_them(built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), answer_citing_needle(" Old [77].")])
    response = await ask(built, model, stream=True)
    got = frames(response.text)
    tokens = [json.loads(d)["text"] for name, d in got if name == "token"]
    assert len(tokens) > 3 and "[77]" not in "".join(tokens)
    assert NEEDLE_ANSWER in "".join(tokens)
    name, data = got[-1]
    done = json.loads(data)
    assert name == "done" and done["answer_type"] == "generated"
    assert "[77]" not in done["answer"] and [c["id"] for c in done["citations"]] == [NEEDLE["id"]]


async def test_a_stream_whose_model_is_down_sends_the_extractive_answer(built: Settings) -> None:
    down = LLMUnavailable("cannot reach the LLM")
    model = ScriptedChatModel(default=down)
    response = await ask(built, model, stream=True)
    got = frames(response.text)
    tokens = "".join(json.loads(d)["text"] for name, d in got if name == "token")
    done = json.loads(got[-1][1])
    assert done["degraded"] is True and tokens == done["answer"] and NEEDLE_ANSWER in tokens


async def test_a_stream_cut_short_ends_with_the_extractive_answer(built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), CutShort("The Zephyr Lighthouse was",
                                                       LLMUnavailable("connection lost"))])
    response = await ask(built, model, stream=True)
    got = frames(response.text)
    tokens = "".join(json.loads(d)["text"] for name, d in got if name == "token")
    done = json.loads(got[-1][1])
    assert tokens == "The Zephyr Lighthouse was"
    assert got[-1][0] == "done" and done["degraded"] is True and "connection lost" in done["note"]
    assert NEEDLE_ANSWER in done["answer"] and done["answer_type"] == "extractive"


async def test_openai_surface_streams_the_models_answer(built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), answer_citing_needle()])
    async for client in client_with(built, model):
        response = await client.post("/v1/chat/completions", json={
            "model": "graphready", "stream": True,
            "messages": [{"role": "user", "content": NEEDLE_QUESTION}]})
        status = (await client.get("/status")).json()
    chunks = [json.loads(d) for _, d in frames(response.text) if d != "[DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert NEEDLE_ANSWER in text and "Sources:" in text and NEEDLE["id"] in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert [c["id"] for c in chunks[-1]["citations"]] == [NEEDLE["id"]]
    assert status["llm"]["model"] == "scripted" and status["llm"]["calls"] == 2


async def test_openai_clients_earlier_turns_reach_the_model(built: Settings) -> None:
    model = ScriptedChatModel([reply("DONE"), answer_citing_needle()])
    async for client in client_with(built, model):
        response = await client.post("/v1/chat/completions", json={
            "model": "graphready", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Tell me about lighthouses in Brittany."},
                {"role": "assistant", "content": "There is the Zephyr Lighthouse [1]."},
                {"role": "user", "content": NEEDLE_QUESTION}]})
    assert response.status_code == 200, response.text
    agent, answer = model.prompts
    for prompt in (agent, answer):
        roles = [m["role"] for m in prompt.messages]
        assert roles == ["system", "user", "assistant", "user"], roles
        assert prompt.messages[1]["content"] == "Tell me about lighthouses in Brittany."
        assert "Be brief." not in json.dumps(list(prompt.messages))
    assert answer.messages[-1]["content"].endswith(f"Question: {NEEDLE_QUESTION}")


async def test_chat_history_reaches_the_model_and_is_checked(built: Settings) -> None:
    model = ScriptedChatModel([answer_citing_needle()])
    turns = [{"role": "user", "content": "Tell me about Brittany."},
             {"role": "assistant", "content": "It has lighthouses."}]
    body = (await ask(built, model, mode="retrieval", history=turns)).json()
    assert body["answer_type"] == "generated"
    assert [m["role"] for m in model.prompts[0].messages] == ["system", "user", "assistant", "user"]
    bad = await ask(built, ScriptedChatModel(), history=[{"role": "system", "content": "x"}])
    assert bad.status_code == 422 and "history" in bad.json()["error"]["message"]
