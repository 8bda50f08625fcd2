"""The agent protocol, and the offline agent: it picks the retrieval tools that exist for the
requested mode, and answers extractively with citations. (The LLM agent, ``llm_agent.py``, chooses
tools by function calling and implements the same protocol.)"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from graphready.llm.protocol import Message
from graphready.retrieval.graph_global import is_global_question
from graphready.retrieval.graph_local import EntityRef
from graphready.retrieval.pipeline import Mode, Retrieval, Toolset, retrieve
from graphready.stores.base import Catalog

from .abstain import closest_only, decide
from .answer import Citation, Claim, Passage, extractive_answer
from .followup import resolve
from .short_answer import Source, lead_with, short_answer
from .tagging import KnownNamesTagger, RegexTagger, Tagger
from .themes import Report, community_answer

MAX_REPORT_SOURCES = 8
GLOBAL_INTRO = "Main themes in the documents:"
MATCHING_INTRO = "Parts of the knowledge graph that match the question:"
EXTRACTIVE_NOTE = (
    "Extractive answer: sentences quoted from the documents, chosen by retrieval; "
    "no language model is configured."
)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """One answer and how it was found."""

    answer: str
    citations: list[Citation]
    tools_used: tuple[str, ...]
    graph_used: bool
    mode: str
    answer_type: str = "extractive"
    note: str = EXTRACTIVE_NOTE
    degraded: bool = False
    """True when a configured language model failed and this is the extractive answer."""
    plan: str = "fixed"
    """How the passages were chosen: ``fixed`` (the mode's retrieval) or ``agent`` (tool calls
    the model chose)."""
    agent_steps: int = 0
    seeds: tuple[EntityRef, ...] = ()
    """Graph entities the graph walk started from (none when the graph was not walked)."""
    reached: tuple[EntityRef, ...] = ()
    """Graph entities the walk reached with the most weight."""
    claims: tuple[Claim, ...] = ()
    """The answer's sentences that say something about the documents, with their citations."""
    found: bool = True
    """False when the passages found do not answer the question: the answer says the
    documents don't, and its citations are the closest passages, not support."""
    short_answer: str | None = None
    """The answer itself (a name, place, date, number, yes/no), when one was found."""
    searched_question: str = ""
    """The question retrieval searched: the question itself, or a follow-up rewritten with
    what the conversation names (:mod:`.followup`)."""


class Agent(Protocol):
    """Answers questions with the retrieval tools of the moment. ``history`` holds the
    conversation's earlier turns (OpenAI messages, user and assistant), oldest first: a question
    that refers to them is searched with what they name."""

    def chat(self, tools: Toolset, question: str, mode: Mode, k: int,
             history: Sequence[Message] = ()) -> ChatResult:
        """The whole answer."""
        ...

    def stream(self, tools: Toolset, question: str, mode: Mode, k: int,
               history: Sequence[Message] = ()) -> Iterator[str | ChatResult]:
        """Answer text as it is written, then the whole result (whose ``answer`` is the
        authoritative text); an answer not written piece by piece comes as the result alone."""
        ...


class OfflineAgent:
    """Answers from the documents without a language model."""

    def __init__(self, catalog: Catalog, max_sentences: int = 3,
                 tagger: Tagger | None = None) -> None:
        self._catalog = catalog
        self._max_sentences = max_sentences
        self._tagger = tagger
        """Typed spans for short answers; None: the names the loaded graph knows in the
        passages (``KnownNamesTagger``), or dates and numbers alone before the graph exists."""

    def chat(self, tools: Toolset, question: str, mode: Mode, k: int,
             history: Sequence[Message] = ()) -> ChatResult:
        """Retrieve with ``tools`` (a snapshot: it does not change during the call) and answer;
        a follow-up question is searched and answered with the names of the earlier turns."""
        searched = resolve(question, history, tools, self._catalog)
        return self.answer(searched, retrieve(tools, searched, mode, k), tools)

    def stream(self, tools: Toolset, question: str, mode: Mode, k: int,
               history: Sequence[Message] = ()) -> Iterator[str | ChatResult]:
        """The result alone: an extractive answer is not written piece by piece."""
        yield self.chat(tools, question, mode, k, history)

    def answer(self, question: str, found: Retrieval, tools: Toolset | None = None) -> ChatResult:
        """Compose the answer to ``question`` from what retrieval found (``tools``: those it
        was found with; their graph types the names of the short answer)."""
        wanted = [h.chunk_id for h in found.hits]
        for hit in found.communities:
            wanted.extend(hit.community.chunk_ids[:MAX_REPORT_SOURCES])
        scores = {h.chunk_id: h.score for h in found.hits}
        passages = {
            c.id: Passage(c.id, c.doc_id, c.title, c.text, scores.get(c.id, 0.0), c.page)
            for c in self._catalog.get_chunks(list(dict.fromkeys(wanted)))
        }
        found_it, short = True, None
        if found.communities:
            # a report drawn from a passage that is gone (a document deleted or changed since
            # the graph was built) may quote it: it is left out until the graph is rebuilt
            reports = [
                Report(h.community.title, h.community.summary,
                       [passages[c] for c in h.community.chunk_ids[:MAX_REPORT_SOURCES]])
                for h in found.communities
                if all(c in passages for c in h.community.chunk_ids[:MAX_REPORT_SOURCES])
            ]
            answer = community_answer(
                reports, GLOBAL_INTRO if is_global_question(question) else MATCHING_INTRO)
        else:
            ranked = [passages[h.chunk_id] for h in found.hits if h.chunk_id in passages]
            answer = extractive_answer(question, ranked, self._max_sentences)
            sources = [Source(p.title, p.text) for p in ranked]
            short = short_answer(question, sources, self._tagger_for(ranked, tools))
            found_it = decide(question, sources, short is not None).found
            short = short if found_it else None
            answer = lead_with(answer, short) if found_it else closest_only(answer)
        return ChatResult(answer=answer.text, citations=answer.citations,
                          claims=answer.claims, tools_used=found.tools_used,
                          graph_used=found.graph_used, mode=found.mode, seeds=found.seeds,
                          reached=found.reached, found=found_it, short_answer=short,
                          searched_question=question)

    def _tagger_for(self, passages: Sequence[Passage], tools: Toolset | None) -> Tagger:
        if self._tagger is not None:
            return self._tagger
        return passage_tagger(tools, [p.chunk_id for p in passages])


def passage_tagger(tools: Toolset | None, chunk_ids: Sequence[str]) -> Tagger:
    """What types the short answer's spans in these passages: the names the loaded graph
    knows in them (no model at answer time), or dates and numbers alone without a graph."""
    if tools is None or tools.graph is None:
        return RegexTagger()
    graph = tools.graph
    return KnownNamesTagger([named for c in chunk_ids for named in graph.typed_names_in(c)])
