"""The LLM agent: a language model chooses among the retrieval tools available now by function
calling (OpenAI ``tools``), at most ``GRAPHREADY_LLM_MAX_STEPS`` rounds, then writes an answer
grounded in the passages found, with numbered citations that point at real passages.

A model without tool calling (the server refuses ``tools``, or never calls one) gets a fixed
plan instead: the retrieval ``/chat`` uses for the mode, then the grounded answer. A mode other
than ``auto`` is the user's choice of retrieval, so it takes the fixed plan too. When the model
fails (down, timed out, refusing), the answer degrades to the extractive one, flagged.

A question has an answer deadline (``GRAPHREADY_LLM_ANSWER_DEADLINE_S``, from when the agent
starts on it): the model must begin writing the answer by then, or the answer is the extractive
one, flagged, with a note saying so. The agent stops choosing tools once half of it is gone.
The answer is always asked for as a stream (collected for a whole answer), so that its start
can be seen.

A follow-up question that refers to an earlier turn ("When did he die?") is first rewritten by
the model to stand alone (one short call, under the same deadline; the offline rewrite of
:mod:`.followup` when the call fails or its reply is unusable); the rewritten question is what
the tools search."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from graphready.errors import LLMDeadlineExceeded, LLMError, LLMRejected
from graphready.llm.protocol import ChatModel, Message, Prompt
from graphready.llm.quoting import QUOTED_RULE, block
from graphready.redact import redact
from graphready.retrieval.graph_local import EntityRef
from graphready.retrieval.pipeline import (
    GRAPH_GLOBAL,
    GRAPH_LOCAL,
    Mode,
    Retrieval,
    Toolset,
    retrieve,
)
from graphready.settings_spec import env_name
from graphready.stores.base import Catalog, Hit

from . import tools as agent_tools
from .agent import MAX_REPORT_SOURCES, ChatResult, OfflineAgent
from .answer import Passage
from .followup import REWRITE_MAX_TOKENS, needs_history, resolve, rewrite_messages, rewritten
from .grounded import (
    MarkerFilter,
    abstains,
    answer_messages,
    attributed,
    ground,
    invented,
)

log = logging.getLogger("graphready.agent")

AGENT_SYSTEM = (
    "You gather what is needed to answer a question about the user's documents. Call the "
    "search tools: several times when the question has several parts, or when one fact is "
    "needed to find another. When the passages found are enough, reply with the single word "
    'DONE and call no tool. The tools return passages in <passage id="n"> blocks. '
    f"{QUOTED_RULE} Search only for what the user's question needs."
)
AGENT_MAX_TOKENS = 200
MAX_CALLS_PER_STEP = 3
TOOL_RESULT_CHARS = 600
GENERATED_NOTE = "Answer written by the language model from the cited passages."
UNCITED_NOTE = ("Answer written by the language model, which cited no passage; the passages it "
                "was given are listed, and each sentence is tied to those that support it.")
ABSTAINED_NOTE = ("The language model found no answer in the passages it was given; they are "
                  "listed as the closest, not as support.")
UNSUPPORTED_NOTE = ("The passages the language model cited do not support what it wrote: the "
                    "documents may not say this.")
UNCITED_UNSUPPORTED_NOTE = ("Answer written by the language model, which cited no passage; none "
                            "of the passages it was given supports what it wrote: the documents "
                            "may not say this.")
UNSUPPORTED_TAIL = "\n\n(Not found in the documents: the cited passages do not support this.)"
"""What follows an answer none of whose sentences its passages support (also streamed)."""
Streamed = str | ChatResult
"""What :meth:`LLMAgent.stream` yields: answer text as it comes, then the whole result."""


@dataclass(slots=True)
class _Gathered:
    """Passages in the order first found (their numbers are positions + 1), reports, tools."""

    passages: dict[str, Passage] = field(default_factory=dict)
    reports: dict[str, tuple[str, str]] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)
    plan: str = "fixed"
    steps: int = 0
    seeds: dict[str, EntityRef] = field(default_factory=dict)
    reached: dict[str, EntityRef] = field(default_factory=dict)

    def walked(self, found: Retrieval) -> None:
        """Keep the graph entities a retrieval walked from and reached."""
        self.seeds.update((e.id, e) for e in found.seeds)
        self.reached.update((e.id, e) for e in found.reached if e.id not in self.seeds)

    def numbered(self) -> list[Passage]:
        return list(self.passages.values())

    def retrieval(self, mode: Mode) -> Retrieval:
        hits = [Hit(p.chunk_id, p.score) for p in self.passages.values()]
        return Retrieval(mode=mode, hits=hits, tools_used=tuple(self.used),
                         seeds=tuple(self.seeds.values()), reached=tuple(self.reached.values()))


class LLMAgent:
    """Answers with a language model; falls back to :class:`OfflineAgent` when it fails."""

    def __init__(self, catalog: Catalog, model: ChatModel, *, max_steps: int = 4,
                 tool_calling: bool = True, max_tokens: int = 600,
                 answer_deadline_s: float | None = None) -> None:
        self._catalog = catalog
        self._deadline_s = answer_deadline_s
        self._model = model
        self._offline = OfflineAgent(catalog)
        self._max_steps = max_steps
        self._tool_calling = tool_calling
        self._max_tokens = max_tokens

    @property
    def model(self) -> ChatModel:
        return self._model

    def chat(self, tools: Toolset, question: str, mode: Mode, k: int,
             history: Sequence[Message] = ()) -> ChatResult:
        """The whole answer (streamed from the model and collected)."""
        result: ChatResult | None = None
        for item in self._respond(tools, question, mode, k, history):
            if isinstance(item, ChatResult):
                result = item
        assert result is not None
        return result

    def stream(self, tools: Toolset, question: str, mode: Mode, k: int,
               history: Sequence[Message] = ()) -> Iterator[Streamed]:
        """The answer's text as the model writes it (invented citation markers held back and
        dropped), then the whole :class:`ChatResult`, whose ``answer`` is authoritative (after a
        failure mid-stream it is the extractive answer). An answer that was not written by the
        model (nothing found, or the model failed first) comes as the result alone."""
        return self._respond(tools, question, mode, k, history)

    # -- the steps ---------------------------------------------------------------------------

    def _respond(self, tools: Toolset, question: str, mode: Mode, k: int,
                 history: Sequence[Message]) -> Iterator[Streamed]:
        gathered: _Gathered | None = None
        deadline = None if self._deadline_s is None else time.monotonic() + self._deadline_s
        searched = self._searched(tools, question, history, deadline)
        try:
            gathered = self._gather(tools, searched, mode, k, history, deadline)
            passages = gathered.numbered()
            if not passages:
                yield from self._offline_stream(searched, gathered.retrieval(mode))
                return
            messages = answer_messages(question, passages, list(gathered.reports.values()),
                                       history)
            prompt = Prompt(messages, max_tokens=self._max_tokens, purpose="answer",
                            deadline=deadline)
            pieces: list[str] = []
            marker_filter = MarkerFilter(len(passages))
            for piece in self._model.stream(prompt):
                pieces.append(piece)
                out = marker_filter.feed(piece)
                if out:
                    yield out
            tail = marker_filter.finish()
            if tail:
                yield tail
            result = replace(self._result("".join(pieces), passages, gathered, mode),
                             searched_question=searched)
            if not result.found and not abstains(result.answer):
                yield UNSUPPORTED_TAIL
                result = replace(result, answer=result.answer + UNSUPPORTED_TAIL)
            yield result
        except LLMError as exc:
            log.warning("the language model failed; answering extractively: %s", exc)
            found = gathered.retrieval(mode) if gathered and gathered.passages else \
                retrieve(tools, searched, mode, k)
            yield replace(self._offline.answer(searched, found), degraded=True,
                          note=self._degraded_note(exc))

    def _searched(self, tools: Toolset, question: str, history: Sequence[Message],
                  deadline: float | None) -> str:
        """The question to search: ``question``, or a follow-up rewritten by the model to
        stand alone (offline when the model fails or its reply is unusable)."""
        if not needs_history(question, history, tools):
            return question
        try:
            reply = self._model.complete(Prompt(
                rewrite_messages(question, history), max_tokens=REWRITE_MAX_TOKENS,
                purpose="agent", deadline=deadline))
        except LLMError as exc:
            log.warning("the language model could not rewrite a follow-up question; "
                        "rewriting it offline: %s", exc)
            return resolve(question, history, tools, self._catalog)
        return rewritten(reply.content, question) or resolve(question, history, tools,
                                                             self._catalog)

    def _degraded_note(self, exc: LLMError) -> str:
        """The note of an extractive answer given instead (read by any key: no URL's
        credentials or query, :func:`~graphready.redact.redact`)."""
        if isinstance(exc, LLMDeadlineExceeded):
            return (f"Extractive answer: the language model had not started answering after "
                    f"{self._deadline_s:g} s ({env_name('llm_answer_deadline_s')}); it is busy "
                    f"or slow ({redact(str(exc))}).")
        return f"Extractive answer: the language model failed ({redact(str(exc))})."

    def _offline_stream(self, question: str, found: Retrieval) -> Iterator[Streamed]:
        yield self._offline.answer(question, found)

    def _result(self, text: str, passages: list[Passage], gathered: _Gathered,
                mode: Mode) -> ChatResult:
        answer = ground(text, passages)
        citations, claims, note = answer.citations, answer.claims, GENERATED_NOTE
        if not citations:
            citations = ground(" ".join(f"[{n}]" for n in range(1, len(passages) + 1)),
                               passages).citations
            claims = attributed(claims, passages)
            note = UNCITED_NOTE
        abstained = abstains(answer.text)
        found = not abstained and any(c.supported for c in claims)
        unsupported = sum(not c.supported for c in claims)
        if abstained:
            note = ABSTAINED_NOTE
        elif not found:
            note = UNCITED_UNSUPPORTED_NOTE if note == UNCITED_NOTE else UNSUPPORTED_NOTE
        elif unsupported:
            note += (f" {unsupported} of its {len(claims)} sentences are not supported "
                     "by the passages they cite (marked unsupported).")
        dropped = invented(text, len(passages))
        if dropped:
            note += (f" Citations of passages it was not given were dropped: "
                     f"{', '.join(f'[{n}]' for n in dropped)}.")
        used = tuple(dict.fromkeys(gathered.used))
        return ChatResult(answer=answer.text or "(the language model gave an empty answer)",
                          citations=citations, claims=claims, tools_used=used,
                          graph_used=GRAPH_LOCAL in used or GRAPH_GLOBAL in used, mode=mode,
                          answer_type="generated", note=note, plan=gathered.plan, found=found,
                          agent_steps=gathered.steps, seeds=tuple(gathered.seeds.values()),
                          reached=tuple(gathered.reached.values()))

    def _gather(self, tools: Toolset, question: str, mode: Mode, k: int,
                history: Sequence[Message], deadline: float | None = None) -> _Gathered:
        gathered = _Gathered()
        if mode == "auto" and self._tool_calling:
            try:
                self._agent_loop(tools, question, k, history, gathered, deadline)
            except LLMRejected as exc:
                if exc.status not in (400, 404, 422, 501):
                    raise
                log.warning("the LLM refused tool calling (%s); using the fixed retrieval plan "
                            "from now on", exc)
                self._tool_calling = False
        if not gathered.passages:
            gathered.plan = "fixed"
            found = retrieve(tools, question, mode, k)
            self._add(gathered, found.hits, None, found)
        return gathered

    def _agent_loop(self, tools: Toolset, question: str, k: int, history: Sequence[Message],
                    gathered: _Gathered, deadline: float | None = None) -> None:
        names = agent_tools.available(tools)
        specs = agent_tools.specs(names)
        messages: list[Message] = [{"role": "system", "content": AGENT_SYSTEM}, *history,
                                   {"role": "user", "content": question}]
        cap = max(k, min(2 * k, 12))
        for _ in range(self._max_steps):
            if gathered.steps and self._half_gone(deadline):
                break
            reply = self._model.complete(Prompt(
                tuple(messages), tools=specs, purpose="agent",
                max_tokens=min(AGENT_MAX_TOKENS, self._max_tokens), deadline=deadline))
            gathered.steps += 1
            calls = reply.tool_calls[:MAX_CALLS_PER_STEP]
            if not calls:
                break
            gathered.plan = "agent"
            # content "" rather than null: llama.cpp's server refuses null, and its template
            # reads the field
            messages.append({"role": "assistant", "content": reply.content, "tool_calls": [
                _call_message(c.id, c.name, c.arguments) for c in calls]})
            for call in calls:
                try:
                    run = agent_tools.run_tool(tools, call.name, call.arguments, k)
                except agent_tools.ToolArgumentError as exc:
                    content = f"error: {exc}"
                else:
                    shown = self._add(gathered, run.hits, cap, run.retrieval)
                    gathered.used.extend(run.used)
                    content = _tool_text(gathered, shown)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})

    def _half_gone(self, deadline: float | None) -> bool:
        """Whether half of the answer deadline is gone (then the agent answers)."""
        if deadline is None or self._deadline_s is None:
            return False
        return deadline - time.monotonic() < self._deadline_s / 2

    def _add(self, gathered: _Gathered, hits: list[Hit], cap: int | None,
             found: Retrieval | None) -> list[str]:
        """Add the passages of ``hits`` (and the reports of ``found``) to ``gathered``, up to
        ``cap`` passages in all; the chunk ids to show for this call."""
        if found is not None:
            gathered.walked(found)
        if found is not None and cap is None:
            gathered.used.extend(found.tools_used)
        wanted = [h.chunk_id for h in hits]
        if found is not None:
            for hit in found.communities:
                sources = list(dict.fromkeys(hit.community.chunk_ids[:MAX_REPORT_SOURCES]))
                if len(self._catalog.get_chunks(sources)) < len(sources):
                    continue  # drawn from a passage that is gone (deleted): it may quote it
                gathered.reports.setdefault(hit.community.id, (hit.community.title,
                                                               hit.community.summary))
                wanted.extend(sources)
        scores = {h.chunk_id: h.score for h in hits}
        fresh = [c for c in dict.fromkeys(wanted) if c not in gathered.passages]
        room = len(fresh) if cap is None else max(0, cap - len(gathered.passages))
        for chunk in self._catalog.get_chunks(fresh[:room]):
            gathered.passages[chunk.id] = Passage(chunk.id, chunk.doc_id, chunk.title,
                                                  chunk.text, scores.get(chunk.id, 0.0),
                                                  chunk.page)
        return [c for c in dict.fromkeys(wanted) if c in gathered.passages]


def _call_message(ident: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": ident, "type": "function", "function": {"name": name, "arguments": arguments}}


def _tool_text(gathered: _Gathered, shown: list[str]) -> str:
    """The passages a call found, with their numbers, as the model reads them (quoted:
    :mod:`graphready.llm.quoting`)."""
    if not shown:
        return "No passages found."
    numbers = {c: n for n, c in enumerate(gathered.passages, start=1)}
    lines = []
    for chunk_id in shown:
        passage = gathered.passages[chunk_id]
        text = " ".join(passage.text.split())[:TOOL_RESULT_CHARS]
        lines.append(block("passage", text, id=str(numbers[chunk_id]), title=passage.title))
    return "\n".join(lines)
