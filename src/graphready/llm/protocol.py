"""The chat-model protocol graphready talks to: OpenAI chat messages in, a reply (text and tool
calls) out, or a stream of text. The OpenAI-compatible client implements it for real servers;
tests implement it with a scripted model."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = Mapping[str, Any]
"""One OpenAI chat message: ``{"role": ..., "content": ...}`` (plus ``tool_calls`` or
``tool_call_id`` where the API has them)."""

ToolSpec = Mapping[str, Any]
"""One OpenAI ``tools`` entry: ``{"type": "function", "function": {name, description,
parameters}}``."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """What one call sends. ``json_object`` asks for a JSON object reply (OpenAI's
    ``response_format``); the reply is still checked by whoever asked."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    json_object: bool = False
    max_tokens: int = 600
    temperature: float = 0.0
    purpose: str = "answer"
    """What the call is for (``answer``, ``agent``, ``extract``, ``report``): counted apart."""
    deadline: float | None = None
    """A question's answer deadline (a ``time.monotonic()`` value): a model that has not begun
    its reply by then fails the call with :class:`~graphready.errors.LLMDeadlineExceeded`.
    None: no deadline (build calls). Not part of what is sent or cached."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for; ``arguments`` is the JSON text it sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one call used, as the server reported them (0 when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ChatReply:
    """The model's reply: text (may be empty when it calls tools) and tool calls."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    cached: bool = False


@dataclass(slots=True)
class LLMStats:
    """Counters of the calls made through one model (thread-safe): calls that reached the
    server, cache hits, failures, tokens, per purpose."""

    calls: dict[str, int] = field(default_factory=dict)
    cache_hits: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    deadline_misses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_call(self, purpose: str, usage: Usage) -> None:
        with self._lock:
            self.calls[purpose] = self.calls.get(purpose, 0) + 1
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens

    def record_hit(self, purpose: str) -> None:
        with self._lock:
            self.cache_hits[purpose] = self.cache_hits.get(purpose, 0) + 1

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1

    def record_deadline_miss(self) -> None:
        with self._lock:
            self.deadline_misses += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as plain JSON values."""
        with self._lock:
            calls, hits = sum(self.calls.values()), sum(self.cache_hits.values())
            return {
                "calls": calls, "cache_hits": hits, "failures": self.failures,
                "deadline_misses": self.deadline_misses,
                "cache_hit_rate": round(hits / (calls + hits), 4) if calls + hits else None,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "calls_by_purpose": dict(self.calls),
                "cache_hits_by_purpose": dict(self.cache_hits),
            }


class ChatModel(Protocol):
    """A chat model. Both methods raise :class:`~graphready.errors.LLMError` when no usable
    reply comes (unreachable, timed out, refused). ``stats`` counts its calls."""

    stats: LLMStats

    @property
    def name(self) -> str:
        """The model's name, as the server knows it."""
        ...

    def complete(self, prompt: Prompt) -> ChatReply:
        """The whole reply to ``prompt``."""
        ...

    def stream(self, prompt: Prompt) -> Iterator[str]:
        """The reply's text, piece by piece as the server sends it (tools are not offered)."""
        ...
