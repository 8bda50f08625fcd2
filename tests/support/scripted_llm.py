"""A scripted chat model: our own implementation of the chat-model protocol that replies from a
list given by the test, in order, and records every prompt it was sent. Deterministic cases
(a given tool-call sequence, a malformed JSON reply, an invented citation, an outage) use it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from graphready.errors import LLMError
from graphready.llm.protocol import ChatReply, LLMStats, Prompt, ToolCall, Usage


@dataclass(frozen=True)
class CutShort:
    """A streamed reply that fails after ``text``: the server went away mid-answer."""

    text: str
    error: LLMError


Step = ChatReply | LLMError | CutShort | Callable[[Prompt], ChatReply]
"""A scripted reply: a reply, an error to raise, a stream cut short, or a function of the
prompt."""


def reply(content: str = "", *calls: tuple[str, str]) -> ChatReply:
    """A reply with ``content`` and tool calls given as ``(name, arguments JSON)``."""
    return ChatReply(content, tuple(ToolCall(f"call_{i}", name, args)
                                    for i, (name, args) in enumerate(calls)), Usage(10, 5))


@dataclass
class ScriptedChatModel:
    """Replies with ``script`` in order; when it runs out, with ``default`` (or fails the test
    with an AssertionError when there is none)."""

    script: list[Step] = field(default_factory=list)
    default: Step | None = None
    name: str = "scripted"
    prompts: list[Prompt] = field(default_factory=list)
    stats: LLMStats = field(default_factory=LLMStats)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _step(self, prompt: Prompt) -> Step:
        with self._lock:
            self.prompts.append(prompt)
            step = self.script.pop(0) if self.script else self.default
        if step is None:
            raise AssertionError(f"the scripted model ran out of replies at: {prompt}")
        return step

    def _next(self, prompt: Prompt, step: Step | None = None) -> ChatReply:
        step = self._step(prompt) if step is None else step
        if isinstance(step, CutShort):
            step = step.error
        if isinstance(step, LLMError):
            self.stats.record_failure()
            raise step
        result = step(prompt) if callable(step) else step
        self.stats.record_call(prompt.purpose, result.usage)
        return result

    def complete(self, prompt: Prompt) -> ChatReply:
        return self._next(prompt)

    def stream(self, prompt: Prompt) -> Iterator[str]:
        step = self._step(prompt)
        if isinstance(step, CutShort):
            yield from _chunks(step.text)
            self.stats.record_failure()
            raise step.error
        yield from _chunks(self._next(prompt, step).content)


def _chunks(text: str) -> Iterator[str]:
    for start in range(0, len(text), 4):
        yield text[start:start + 4]
