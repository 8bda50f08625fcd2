"""The chat model of any server that speaks the OpenAI chat API (OpenAI, vLLM, Ollama,
llama.cpp, ...), through the official ``openai`` client: it retries 408/409/429/5xx and
connection errors with exponential backoff (``GRAPHREADY_LLM_RETRIES``) and applies the timeout
(``GRAPHREADY_LLM_TIMEOUT_S``). This module adds the model's queue (:mod:`.gate`: questions
first, ``GRAPHREADY_LLM_CONCURRENCY`` and ``GRAPHREADY_LLM_BUILD_CONCURRENCY``), answer
deadlines, cancellation, and maps failures to :class:`~graphready.errors.LLMError`.

Requests run on an event loop of their own (one thread), so that any of them can be cancelled
at once: a cancelled request closes its connection, and the servers stop generating a reply
whose client went away (llama.cpp's server and Ollama notice at the next token they send,
vLLM at once). Build calls (``extract``, ``report``) are streamed for that reason, and so that
a stream the server ends early is noticed: llama.cpp's Python server (``llama_cpp.server``)
serves one request at a time and ends a stream in progress, without a ``finish_reason``, when
another request arrives; such a reply is asked for again rather than used cut short.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import openai

from graphready.errors import (
    LLMCancelled,
    LLMDeadlineExceeded,
    LLMError,
    LLMRejected,
    LLMUnavailable,
)
from graphready.redact import redact, redact_url

from .gate import ModelGate, Preempted, Slot, is_build, remaining
from .protocol import ChatReply, LLMStats, Prompt, ToolCall, Usage

NO_KEY = "not-needed"
"""Sent when no API key is configured (local servers ignore it; the client needs one)."""
MAX_EARLY_ENDS = 2
"""How often a build reply whose stream ended without a ``finish_reason`` is asked for again as
a stream; then it is asked for whole (llama.cpp's Python server ends a stream when another
request arrives, so two build streams at once would end each other)."""
EARLY_END_PAUSE_S = 0.5
"""How long a build call waits after its stream ended early before it asks again: long enough
for the server's "questions" line to arrive when a question's request was what ended it."""
MAX_DETAIL_CHARS = 300
"""How much of an upstream server's error a message keeps."""
_STARTED = object()
_DONE = object()
T = TypeVar("T")


def failure(exc: Exception, url: str) -> LLMError:
    """The :class:`LLMError` for an exception of the ``openai`` client talking to ``url``. The
    message names the server by :func:`~graphready.redact.redact_url` and keeps up to
    :data:`MAX_DETAIL_CHARS` of the server's own error, redacted too (a server or proxy may echo
    the URL it was sent, query string and all)."""
    where = redact_url(url)
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable(f"the LLM at {where} timed out")
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable(f"cannot reach the LLM at {where}: {redact(str(exc), [url])}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = redact(str(exc.message), [url])[:MAX_DETAIL_CHARS]
        if status == 429 or status >= 500:
            return LLMUnavailable(f"the LLM at {where} answered {status} after the retries: "
                                  f"{detail}")
        return LLMRejected(f"the LLM at {where} refused the request ({status}): {detail}",
                           status)
    return LLMError(f"unexpected reply from the model server at {where}: "
                    f"{redact(str(exc), [url])}")


def _text_to(pieces: list[str]) -> Callable[[Any], None]:
    """A stream sink that keeps the text pieces in ``pieces``."""
    def keep(item: Any) -> None:
        if isinstance(item, str):
            pieces.append(item)
    return keep


class OpenAIChatModel:
    """A :class:`~graphready.llm.protocol.ChatModel` on an OpenAI-compatible server. ``gate``
    is the process's queue for this model (one is made from the concurrency limits if not
    given)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 timeout_s: float = 60.0, retries: int = 2, concurrency: int = 4,
                 build_concurrency: int = 1, stats: LLMStats | None = None,
                 gate: ModelGate | None = None) -> None:
        self._model = model
        self._url = base_url
        self._where = redact_url(base_url)
        """The server as messages name it: no credentials, query or fragment."""
        self.gate = gate if gate is not None else ModelGate(concurrency, build_concurrency)
        self.stats = stats if stats is not None else LLMStats()
        self._usage_option = True
        """Ask streams for their token counts (``stream_options``) until a server refuses."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="llm-requests",
                                        daemon=True)
        self._thread.start()
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or NO_KEY,
                                          timeout=timeout_s, max_retries=retries)

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

    # -- whole replies -----------------------------------------------------------------------

    def complete(self, prompt: Prompt) -> ChatReply:
        if is_build(prompt.purpose):
            return self._complete_build(prompt)
        with self.gate.slot(prompt.purpose, prompt.deadline) as slot:
            return self._whole(prompt, slot)

    def _whole(self, prompt: Prompt, slot: Slot) -> ChatReply:
        """One non-streamed request for ``prompt`` in ``slot``."""
        response = self._wait(self._client.chat.completions.create(
            **self._arguments(prompt)), slot, prompt.deadline)
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

    def _complete_build(self, prompt: Prompt) -> ChatReply:
        """A build call: streamed and collected, sent again after a preemption or a stream
        the server ended early (never used cut short); asked for whole after
        :data:`MAX_EARLY_ENDS` early ends."""
        args = self._arguments(prompt)
        early_ends = 0
        while True:
            pieces: list[str] = []
            with self.gate.slot(prompt.purpose) as slot:
                try:
                    if early_ends >= MAX_EARLY_ENDS:
                        return self._whole(prompt, slot)
                    usage, finish = self._wait(self._pump(args, _text_to(pieces)), slot, None)
                except Preempted:
                    continue
            if finish is None:
                early_ends += 1
                time.sleep(EARLY_END_PAUSE_S)
                continue
            self.stats.record_call(prompt.purpose, usage)
            return ChatReply("".join(pieces), (), usage)

    def _wait(self, work: Coroutine[Any, Any, T], slot: Slot, deadline: float | None) -> T:
        """Run ``work`` on the request loop and wait for it (until ``deadline`` at most)."""
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        slot.attach(future)
        left = remaining(deadline)
        try:
            return future.result(timeout=None if left is None else max(0.0, left))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise self._missed() from None
        except concurrent.futures.CancelledError:
            raise self._cancelled(slot) from None
        except openai.OpenAIError as exc:
            self.stats.record_failure()
            raise failure(exc, self._url) from None

    def _missed(self) -> LLMDeadlineExceeded:
        self.stats.record_deadline_miss()
        return LLMDeadlineExceeded(f"the LLM at {self._where} did not start answering before "
                                   "the answer deadline")

    def _cancelled(self, slot: Slot) -> Exception:
        reason = slot.reason()
        if isinstance(reason, Preempted | LLMError):
            return reason
        return LLMCancelled(f"the request to the LLM at {self._where} was cancelled")

    # -- streams -----------------------------------------------------------------------------

    async def _open(self, args: dict[str, Any]) -> Any:
        """A streamed completion, asking for its token counts where the server allows: after
        a 400 or 422 the request is sent without the option, which is given up only when that
        succeeds (a 400 that comes again is the server refusing the prompt itself)."""
        if not self._usage_option:
            return await self._client.chat.completions.create(**args, stream=True)
        try:
            return await self._client.chat.completions.create(
                **args, stream=True, stream_options={"include_usage": True})
        except openai.APIStatusError as exc:
            if exc.status_code not in (400, 422):
                raise
        stream = await self._client.chat.completions.create(**args, stream=True)
        self._usage_option = False
        return stream

    async def _pump(self, args: dict[str, Any],
                    sink: Callable[[Any], None]) -> tuple[Usage, str | None]:
        """Stream a reply: :data:`_STARTED` then each piece of text to ``sink``; the token
        counts (when the server sent them) and the ``finish_reason`` (None: ended early)."""
        usage, finish, started = Usage(), None, False
        stream = await self._open(args)
        async with stream:
            async for chunk in stream:
                if not started:
                    started = True
                    sink(_STARTED)
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta is not None and choice.delta.content:
                    sink(choice.delta.content)
                if choice.finish_reason:
                    finish = choice.finish_reason
        return usage, finish

    def stream(self, prompt: Prompt) -> Iterator[str]:
        args = self._arguments(prompt)
        args.pop("tools", None)
        args.pop("tool_choice", None)
        with self.gate.slot(prompt.purpose, prompt.deadline) as slot:
            pieces: queue.SimpleQueue[Any] = queue.SimpleQueue()
            future = asyncio.run_coroutine_threadsafe(
                self._pump(args, lambda item: pieces.put(item)), self._loop)
            slot.attach(future)
            future.add_done_callback(lambda _: pieces.put(_DONE))
            try:
                yield from self._pieces(pieces, prompt.deadline, future)
                usage = self._finished(future, slot)  # raises if the stream was cut short
            finally:
                future.cancel()
        self.stats.record_call(prompt.purpose, usage)

    def _pieces(self, pieces: queue.SimpleQueue[Any], deadline: float | None,
                future: concurrent.futures.Future[Any]) -> Iterator[str]:
        """The streamed text until the stream ends; the first piece before ``deadline``."""
        started = False
        while True:
            left = None if started else remaining(deadline)
            try:
                item = pieces.get(timeout=None if left is None else max(0.0, left))
            except queue.Empty:
                future.cancel()
                raise self._missed() from None
            if item is _DONE:
                return
            if item is _STARTED:
                started = True
                continue
            yield item

    def _finished(self, future: concurrent.futures.Future[tuple[Usage, str | None]],
                  slot: Slot) -> Usage:
        """The token counts of a finished stream, or its failure as an :class:`LLMError` (one
        that ended without a ``finish_reason`` was cut short by the server: llama.cpp's Python
        server does that to a stream when another request arrives)."""
        try:
            usage, finish = future.result()
        except concurrent.futures.CancelledError:
            raise self._cancelled(slot) from None
        except openai.OpenAIError as exc:
            self.stats.record_failure()
            raise failure(exc, self._url) from None
        if finish is None:
            self.stats.record_failure()
            raise LLMUnavailable(f"the LLM at {self._where} ended the reply before finishing it "
                                 "(another request interrupted it)")
        return usage

    def close(self) -> None:
        """Cancel what is in flight, close the HTTP connections and the request loop."""
        if self._loop.is_closed():
            return
        closing = asyncio.run_coroutine_threadsafe(self._client.close(), self._loop)
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError, OSError):
            closing.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
