"""Request and response bodies of the HTTP API (they make the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictStr,
)

from graphready.agent.agent import ChatResult
from graphready.errors import InvalidRequest, NotReady, Overloaded, RateLimited
from graphready.retrieval.modes import Mode

from .errors import error_responses
from .patterns import NOT_BLANK


def _whole(value: Any) -> Any:
    """A JSON number without a fraction (``5.0``) is the integer it equals, as JSON Schema's
    ``integer`` reads it; a string or a boolean stays what it is (and is refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Count = Annotated[int, Strict(), Field(ge=1), BeforeValidator(_whole)]
"""A positive integer as JSON Schema means it: ``5`` or ``5.0``."""


class Turn(BaseModel):
    """An earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: StrictStr


class ChatRequest(BaseModel):
    """A question for ``POST /chat``."""

    model_config = ConfigDict(extra="forbid")

    message: StrictStr = Field(pattern=NOT_BLANK, description="The question; not empty.")
    mode: Mode = Field(
        "auto", description="Which retrieval to use; auto picks by question and readiness."
    )
    top_k: Count | None = Field(
        None, description="How many passages to retrieve.")
    history: list[Turn] = Field(
        default_factory=list, max_length=50,
        description="Earlier turns, oldest first; the language model (when one is configured) "
                    "sees the last eight, so follow-up questions read in context. Retrieval "
                    "uses `message` alone.")
    stream: StrictBool = Field(False, description="Answer as Server-Sent Events: `token` "
                               "events, then one `done` event with the whole response.")


MAX_HISTORY_MESSAGES = 8
MAX_HISTORY_CHARS = 2_000


def recent_turns(turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The turns a language model gets: the last eight non-empty ones, each cut to 2,000
    characters, as OpenAI messages."""
    kept = [{"role": role, "content": content[:MAX_HISTORY_CHARS]}
            for role, content in turns if content.strip()]
    return kept[-MAX_HISTORY_MESSAGES:]


def chat_response(result: ChatResult) -> ChatResponse:
    """The response body for an agent's result."""
    return ChatResponse(
        answer=result.answer,
        citations=[CitationOut(number=c.number, id=c.id, chunk_id=c.chunk_id, title=c.title,
                               snippet=c.snippet, score=c.score, start=c.start, end=c.end,
                               page=c.page) for c in result.citations],
        claims=[ClaimOut(text=c.text, citations=list(c.citations), supported=c.supported)
                for c in result.claims],
        tools_used=list(result.tools_used),
        graph_used=result.graph_used,
        mode=result.mode,
        answer_type="extractive" if result.answer_type == "extractive" else "generated",
        note=result.note,
        degraded=result.degraded,
        found=result.found,
        short_answer=result.short_answer,
        searched_question=result.searched_question,
        plan="agent" if result.plan == "agent" else "fixed",
        agent_steps=result.agent_steps,
        graph_entities=GraphEntitiesOut(
            seeds=[EntityRefOut(id=e.id, name=e.name) for e in result.seeds],
            reached=[EntityRefOut(id=e.id, name=e.name) for e in result.reached]),
    )


class CitationOut(BaseModel):
    """A source of the answer; ``[n]`` in the answer refers to ``number``."""

    number: int
    id: str = Field(description="The document id (a passage id, or a path under the folder).")
    chunk_id: str
    title: str
    snippet: str
    score: float
    start: int | None = Field(None, description="Where the cited sentence starts in the "
                              "passage's text (`GET /passages/{chunk_id}`), in characters; "
                              "null when the whole passage is cited")
    end: int | None = Field(None, description="Where the cited sentence ends (exclusive)")
    page: int | None = Field(None, description="The PDF page of the cited sentence (from 1); "
                             "null for other formats")


class ClaimOut(BaseModel):
    """One sentence of the answer and the citations that support it."""

    text: str
    citations: list[int] = Field(description="The `number`s of its citations")
    supported: bool = Field(description="Whether its citations support it: true for a sentence "
                            "quoted from a passage; for a language model's sentence, whether it "
                            "cites a passage")


class EntityRefOut(BaseModel):
    """A graph entity (``GET /graph/entities/{id}`` tells more)."""

    id: str
    name: str


class GraphEntitiesOut(BaseModel):
    """The graph entities behind an answer."""

    seeds: list[EntityRefOut] = Field(
        default_factory=list, description="Where the graph walk started: the entities the "
                                          "question names")
    reached: list[EntityRefOut] = Field(
        default_factory=list, description="The entities the walk reached with the most weight "
                                          "(seeds left out)")


class ChatResponse(BaseModel):
    """An answer with its citations and how it was found."""

    answer: str
    citations: list[CitationOut]
    claims: list[ClaimOut] = Field(
        default_factory=list, description="The answer's sentences that say something about the "
                                          "documents (not its framing lines), in order, each "
                                          "with its citations")
    found: bool = Field(True, description="False when the passages found do not answer the "
                        "question: the answer says the documents don't, and its citations are "
                        "the closest passages, not support")
    short_answer: str | None = Field(None, description="The answer itself (a name, place, "
                                     "date, number, yes or no, or one of two things compared) "
                                     "when one was found; the answer text begins with it")
    searched_question: str = Field("", description="The question retrieval searched: the "
                                   "message itself, or a follow-up that refers to an earlier "
                                   "turn ('When did he die?') rewritten with what the "
                                   "conversation names ('When did Alan Turing die?')")
    tools_used: list[str]
    graph_used: bool
    mode: str
    answer_type: Literal["extractive", "generated"] = Field(
        description="`generated` by the language model, or `extractive` (sentences quoted from "
                    "the passages: no model is configured, or it failed)")
    note: str
    degraded: bool = Field(False, description="True when the configured language model failed "
                           "(down, timed out) and this is the extractive answer instead")
    plan: Literal["fixed", "agent"] = Field(
        "fixed", description="`agent`: the model chose the retrieval tools by function calling; "
                             "`fixed`: the mode's retrieval was used")
    agent_steps: int = Field(0, description="Tool-choosing calls the agent made")
    graph_entities: GraphEntitiesOut = Field(
        default_factory=GraphEntitiesOut,
        description="The graph entities the graph walk started from and reached (empty when "
                    "the graph was not walked)")


SSE_EVENT: dict[str, Any] = {
    "type": "object", "required": ["data"],
    "description": "With `\"stream\": true`, the answer comes as Server-Sent Events; "
                   "this is one event",
    "properties": {"event": {"type": "string", "description": "The event's name, if any"},
                   "data": {"type": "string", "description": "JSON (or `[DONE]`)"}},
}

CHAT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}},
    **error_responses(InvalidRequest, RateLimited, NotReady, Overloaded),
}
"""The responses of a chat endpoint: an answer (as JSON, or streamed), or an error: 429 over
the client's rate limit, 503 not ready or overloaded (both with ``Retry-After``)."""


class BuildResponse(BaseModel):
    """What ``POST /build`` did: started a build now, or queued one to follow the build that
    is running."""

    started: bool
    queued: bool
    message: str
