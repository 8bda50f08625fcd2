"""The chat model of any server that speaks the OpenAI chat API (OpenAI, vLLM, Ollama,
llama.cpp, ...), through the official ``openai`` client: it retries 408/409/429/5xx and
connection errors with exponential backoff (``GRAPHREADY_LLM_RETRIES``) and applies the timeout
(``GRAPHREADY_LLM_TIMEOUT_S``); this module adds the concurrency limit
(``GRAPHREADY_LLM_CONCURRENCY``) and maps failures to :class:`~graphready.errors.LLMError`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import openai

from graphready.errors import LLMError, LLMRejected, LLMUnavailable

from .protocol import ChatReply, LLMStats, Prompt, ToolCall, Usage

NO_KEY = "not-needed"
"""Sent when no API key is configured (local servers ignore it; the client needs one)."""


def failure(exc: Exception, where: str) -> LLMError:
    """The :class:`LLMError` for an exception of the ``openai`` client."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable(f"the LLM at {where} timed out")
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable(f"cannot reach the LLM at {where}: {exc}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = str(exc.message)[:300]
        if status == 429 or status >= 500:
            return LLMUnavailable(f"the LLM at {where} answered {status} after the retries: "
                                  f"{detail}")
        return LLMRejected(f"the LLM at {where} refused the request ({status}): {detail}",
                           status)
    return LLMError(f"unexpected reply from the model server at {where}: {exc}")


class OpenAIChatModel:
    """A :class:`~graphready.llm.protocol.ChatModel` on an OpenAI-compatible server."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 timeout_s: float = 60.0, retries: int = 2, concurrency: int = 4,
                 stats: LLMStats | None = None) -> None:
        self._model = model
        self._where = base_url
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or NO_KEY,
                                     timeout=timeout_s, max_retries=retries)
        self._slots = threading.BoundedSemaphore(concurrency)
        self.stats = stats if stats is not None else LLMStats()

    @property
    def name(self) -> str:
        return self._model

    def _arguments(self, prompt: Prompt) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": self._model, "messages": list(prompt.messages),
            "max_tokens": prompt.max_tokens, "temperature": prompt.temperature,
        }
        if prompt.tools:
            args["tools"] = list(prompt.tools)
            args["tool_choice"] = "auto"
        if prompt.json_object:
            args["response_format"] = {"type": "json_object"}
        return args

    def complete(self, prompt: Prompt) -> ChatReply:
        with self._slots:
            try:
                response = self._client.chat.completions.create(**self._arguments(prompt))
            except openai.OpenAIError as exc:
                self.stats.record_failure()
                raise failure(exc, self._where) from None
        if not response.choices:
            self.stats.record_failure()
            raise LLMError(f"the LLM at {self._where} sent a reply without choices")
        message = response.choices[0].message
        calls = tuple(
            ToolCall(call.id or f"call_{i}", call.function.name, call.function.arguments or "")
            for i, call in enumerate(message.tool_calls or ())
            if getattr(call, "function", None) is not None
        )
        usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens) \
            if response.usage is not None else Usage()
        self.stats.record_call(prompt.purpose, usage)
        return ChatReply(message.content or "", calls, usage)

    def stream(self, prompt: Prompt) -> Iterator[str]:
        args = self._arguments(prompt)
        args.pop("tools", None)
        args.pop("tool_choice", None)
        with self._slots:
            try:
                chunks = self._client.chat.completions.create(**args, stream=True)
                with chunks:
                    for chunk in chunks:
                        if chunk.choices and chunk.choices[0].delta.content:
                            yield chunk.choices[0].delta.content
            except openai.OpenAIError as exc:
                self.stats.record_failure()
                raise failure(exc, self._where) from None
        self.stats.record_call(prompt.purpose, Usage())

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
