"""The question path: a question's limits checked, the agent run on the indexes that answer now
(a snapshot: a swap during the answer does not change it), and, when a language model answers,
the question counted in the model's queue so the graph build's model calls give way
(``llm_queue.py``); ``/status``'s ``llm`` part."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from graphready.agent.agent import Agent, ChatResult, OfflineAgent
from graphready.agent.llm_agent import LLMAgent
from graphready.config import Settings
from graphready.errors import InvalidRequest, NotReady
from graphready.llm.gate import ModelGate
from graphready.llm.protocol import ChatModel, Message
from graphready.redact import redact_url
from graphready.retrieval.pipeline import Mode, Toolset
from graphready.settings_spec import env_name
from graphready.stores.base import Catalog

from .llm_queue import QuestionQueue, queue_status
from .readiness import Readiness


class Answering:
    """Answers questions with the agent over ``tools()`` (the toolset of the moment). With a
    ``chat_model``, each question is counted in ``gate``'s queue and every change of the count
    goes to ``questions_changed`` (the build loop's); without one, the offline agent answers.
    ``catalog`` is the one answers may cite (deleted documents hidden)."""

    def __init__(self, settings: Settings, catalog: Catalog, chat_model: ChatModel | None,
                 gate: ModelGate, readiness: Readiness, tools: Callable[[], Toolset],
                 questions_changed: Callable[[int], None]) -> None:
        self._settings = settings
        self._readiness = readiness
        self._tools = tools
        self.chat_model = chat_model
        self.agent: Agent = OfflineAgent(catalog) if chat_model is None else LLMAgent(
            catalog, chat_model, max_steps=settings.llm_max_steps,
            tool_calling=settings.llm_tool_calling != "off", max_tokens=settings.llm_max_tokens,
            answer_deadline_s=settings.llm_answer_deadline_s)
        self.questions = QuestionQueue(gate, questions_changed, asyncio.get_running_loop())
        """Questions answered with the model: counted, and sent to the build loop."""

    def _checked(self, message: str, top_k: int | None) -> tuple[Toolset, int]:
        """The toolset to answer with (a snapshot) and ``k``; request limits are checked here
        so every endpoint applies the same ones."""
        settings = self._settings
        if len(message) > settings.max_message_chars:
            raise InvalidRequest(f"message: longer than {settings.max_message_chars} "
                                 f"characters ({env_name('max_message_chars')})")
        k = top_k if top_k is not None else settings.default_top_k
        if k > settings.max_top_k:
            raise InvalidRequest(f"top_k: at most {settings.max_top_k} ({env_name('max_top_k')})")
        tools = self._tools()
        if not tools.can_answer:
            raise NotReady("nothing can answer yet: the documents are still being indexed")
        return tools, k

    async def ask(self, message: str, mode: Mode, top_k: int | None,
                  history: Sequence[Message] = ()) -> ChatResult:
        """Answer with the tools available now, in a worker thread; ``history`` holds the
        conversation's earlier turns (the language model sees them; retrieval does not)."""
        tools, k = self._checked(message, top_k)
        if self.chat_model is None:
            return await asyncio.to_thread(self.agent.chat, tools, message, mode, k, history)
        return await asyncio.to_thread(self.questions.answer, self.agent.chat, tools, message,
                                       mode, k, history)

    def ask_stream(self, message: str, mode: Mode, top_k: int | None,
                   history: Sequence[Message] = ()) -> Iterator[str | ChatResult]:
        """The answer as the agent writes it (a blocking iterator: iterate it in a thread).
        Limits and readiness are checked now, before anything is streamed."""
        tools, k = self._checked(message, top_k)
        answer = self.agent.stream(tools, message, mode, k, history)
        return answer if self.chat_model is None else self.questions.stream(answer)

    def llm_status(self) -> dict[str, Any] | None:
        """The language model's name and counters for ``/status`` (None when offline)."""
        if self.chat_model is None:
            return None
        settings = self._settings
        base_url = settings.llm_base_url
        return {"model": self.chat_model.name,
                "base_url": redact_url(base_url) if base_url else None,
                "tool_calling": settings.llm_tool_calling,
                "answer_deadline_s": settings.llm_answer_deadline_s,
                **self.chat_model.stats.snapshot(),
                **queue_status(self.questions.gate, self._readiness.llm_build)}

    def close(self) -> None:
        """Stop sending the question count (the model is its opener's to close)."""
        self.questions.close()
