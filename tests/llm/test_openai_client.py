"""The OpenAI-compatible client against a real server (llama.cpp's, with SmolLM2-135M): whole
and streamed replies, tool calls, JSON mode, retries with backoff through a proxy that answers
429/503 first, refusals, outages and timeouts as typed errors, the response cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphready.errors import LLMRejected, LLMUnavailable
from graphready.llm.cache import CachedChatModel, LLMCache
from graphready.llm.openai_client import OpenAIChatModel
from graphready.llm.protocol import LLMStats, Prompt
from graphready.llm.structured import ask_structured
from support.fault_proxy import FaultProxy
from support.llm_server import MODEL_NAME, LlamaServer

pytestmark = pytest.mark.e2e
HELLO = Prompt(({"role": "user", "content": "Say hello."},), max_tokens=8)
SEARCH_TOOL = {"type": "function", "function": {
    "name": "search_documents", "description": "Search the documents.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                   "required": ["query"]}}}


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    with LlamaServer(tools=True, context=1024) as running:
        yield running


def model(base_url: str, **options: float) -> OpenAIChatModel:
    return OpenAIChatModel(base_url, MODEL_NAME, **options)  # type: ignore[arg-type]


def test_whole_and_streamed_replies(llama: LlamaServer) -> None:
    client = model(llama.base_url)
    reply = client.complete(HELLO)
    assert reply.content and reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    pieces = list(client.stream(HELLO))
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert client.stats.snapshot()["calls"] == 2


def test_tool_calls_come_back_parsed(llama: LlamaServer) -> None:
    prompt = Prompt(({"role": "user", "content": "Search the documents for lighthouses."},),
                    tools=(SEARCH_TOOL,), max_tokens=48, purpose="agent")
    reply = model(llama.base_url).complete(prompt)
    assert reply.tool_calls and reply.tool_calls[0].name == "search_documents"
    assert reply.tool_calls[0].id
    json.loads(reply.tool_calls[0].arguments)  # JSON text, whatever the model put in it


def test_json_mode_replies_are_checked_and_repaired_or_refused(llama: LlamaServer) -> None:
    from pydantic import BaseModel

    class Strict(BaseModel):
        colour: str
        count: int

    outcome = ask_structured(model(llama.base_url), [
        {"role": "user", "content": "Reply with JSON: a colour and a count."}], Strict,
        purpose="extract", max_tokens=16)
    assert outcome.attempts in (1, 2)
    assert (outcome.value is not None) == (outcome.problem is None)


def test_429_and_503_are_retried_with_backoff(llama: LlamaServer) -> None:
    with FaultProxy(llama.base_url.removesuffix("/v1"), [429, 503]) as proxy:
        reply = model(proxy.base_url, retries=2).complete(HELLO)
    assert reply.content and proxy.seen == 3


def test_without_retries_the_overload_is_an_llm_unavailable_error(llama: LlamaServer) -> None:
    with FaultProxy(llama.base_url.removesuffix("/v1"), [429]) as proxy, \
            pytest.raises(LLMUnavailable, match="429"):
        model(proxy.base_url, retries=0).complete(HELLO)


def test_a_refusal_is_not_retried(llama: LlamaServer) -> None:
    with FaultProxy(llama.base_url.removesuffix("/v1"), [400]) as proxy, \
            pytest.raises(LLMRejected) as refused:
        model(proxy.base_url, retries=2).complete(HELLO)
    assert refused.value.status == 400 and proxy.seen == 1


def test_an_unreachable_server_and_a_timeout_are_llm_unavailable(llama: LlamaServer) -> None:
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        model("http://127.0.0.1:9/v1", retries=0).complete(HELLO)
    slow = Prompt(({"role": "user", "content": "Write a long story."},), max_tokens=16)
    with pytest.raises(LLMUnavailable, match="timed out"):
        model(llama.base_url, retries=0, timeout_s=0.001).complete(slow)


def test_the_cache_answers_a_repeated_prompt_without_the_server(llama: LlamaServer,
                                                               tmp_path: Path) -> None:
    stats = LLMStats()
    cached = CachedChatModel(model(llama.base_url, stats=stats),  # type: ignore[arg-type]
                             LLMCache(tmp_path / "cache.db"), stats)
    first = cached.complete(HELLO)
    streamed = "".join(cached.stream(HELLO))
    llama.stop()
    try:
        again = cached.complete(HELLO)
    finally:
        llama.start()
    assert again.content == first.content and again.cached and streamed == first.content
    assert stats.snapshot()["calls"] == 1 and stats.snapshot()["cache_hits"] == 2
    cached.close()
