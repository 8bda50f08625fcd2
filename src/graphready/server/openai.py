"""An OpenAI-compatible surface, so that existing chat clients can use graphready as a model:
``GET /v1/models`` and ``POST /v1/chat/completions`` (streaming and not). The question is the
last user message (what is retrieved for); the turns before it go to the language model, when
one is configured, so follow-up questions read in context; the model name picks the retrieval
mode. Citations follow the answer as a
"Sources" list, and come structured in a ``citations`` field as well; ``searched_question`` says
what was searched (a follow-up rewritten with what the conversation names).

The model name also picks the workspace (:func:`target`): ``finance`` (mode ``auto``) or
``finance:graph_global``; the old names (``graphready``, ``graphready-graph-local``, ...) and a
bare mode (``graph_global``) mean the default workspace. ``GET /v1/models`` lists the
workspaces the key may use."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr

from graphready.errors import GraphReadyError, InvalidRequest, WorkspaceNotFound
from graphready.retrieval.modes import MODES
from graphready.retrieval.pipeline import Mode

from . import sse
from .auth import require
from .bodies import read_json
from .errors import error_responses, exception_body
from .keys import access_of
from .lifecycle import AppState
from .patterns import NOT_BLANK
from .schemas import CHAT_RESPONSES, ChatResponse, chat_response, recent_turns
from .state import registry_of
from .workspace_list import DEFAULT_WORKSPACE, NAME_PATTERN, NAME_RULE, is_name

router = APIRouter(prefix="/v1", tags=["openai"])

ModelName = Literal["graphready", "graphready-retrieval", "graphready-graph-local",
                    "graphready-graph-global"]
MODELS: dict[ModelName, Mode] = {
    "graphready": "auto",
    "graphready-retrieval": "retrieval",
    "graphready-graph-local": "graph_local",
    "graphready-graph-global": "graph_global",
}
TEXT_PART = {"type": "object", "required": ["type", "text"], "properties": {
    "type": {"const": "text"}, "text": {"type": "string", "pattern": NOT_BLANK}}}
USER = {"type": "object", "required": ["role"], "properties": {"role": {"const": "user"}}}


class ContentPart(BaseModel):
    """A part of a message's content; only text parts carry a question."""

    model_config = ConfigDict(extra="ignore")
    type: StrictStr
    text: StrictStr | None = None


def _has_text(parts: list[ContentPart]) -> list[ContentPart]:
    if not any(p.type == "text" and p.text and p.text.strip() for p in parts):
        raise ValueError("a user message needs text: a string, or a part of type 'text'")
    return parts


QuestionParts = Annotated[list[ContentPart], AfterValidator(_has_text),
                          Field(json_schema_extra={"contains": TEXT_PART})]
"""A user message's parts: at least one of them text that is not blank."""


def _text(content: str | list[ContentPart] | None) -> str:
    if isinstance(content, list):
        return " ".join(p.text for p in content if p.type == "text" and p.text)
    return content or ""


class Message(BaseModel):
    """A system, developer, assistant or tool message; fields graphready does not use (name,
    tool calls) are ignored."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "assistant", "tool"]
    content: StrictStr | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text."""
        return _text(self.content)


class UserMessage(BaseModel):
    """A user message: a question, so it has text."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["user"]
    content: Annotated[StrictStr, Field(pattern=NOT_BLANK)] | QuestionParts

    def text(self) -> str:
        """The message's text."""
        return _text(self.content)


def _asks(messages: list[UserMessage | Message]) -> list[UserMessage | Message]:
    if not any(isinstance(m, UserMessage) for m in messages):
        raise ValueError("no user message to answer")
    return messages


MODEL_PATTERN = NAME_PATTERN.removesuffix("$") + f"(:({'|'.join(MODES)}))?$"
"""What ``model`` may be, for the API's document (every old model name and bare mode follows
the naming rule); :func:`target` checks it and says what is wrong."""


class CompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. Sampling options (temperature, max_tokens, ...) are
    accepted and ignored: graphready's own settings decide how its model is called."""

    model_config = ConfigDict(extra="ignore")
    model: StrictStr = Field("graphready", max_length=200, description=(
        "the workspace, and optionally the mode after a colon: `finance`, "
        "`finance:graph_global`; `graphready`, `graphready-graph-local` (one per mode) or a bare "
        "mode mean the default workspace"), json_schema_extra={"pattern": MODEL_PATTERN})
    messages: Annotated[
        list[Annotated[UserMessage | Message, Field(discriminator="role")]],
        AfterValidator(_asks), Field(min_length=1, json_schema_extra={"contains": USER})]
    stream: StrictBool = False


def _question(body: CompletionRequest) -> tuple[str, Mode, list[dict[str, str]]]:
    """The question (the last user message), the mode, and the turns before it (user and
    assistant messages: at most the last eight, each cut to 2,000 characters) for the model."""
    last = max(i for i, m in enumerate(body.messages) if m.role == "user")
    history = recent_turns([(m.role, m.text()) for m in body.messages[:last]
                            if m.role in ("user", "assistant")])
    return body.messages[last].text(), target(body.model)[1], history


def target(model: str) -> tuple[str, Mode]:
    """The workspace and mode a model name picks (see the module docstring); a mode that is
    not one is :class:`InvalidRequest`."""
    for name, named_mode in MODELS.items():
        if model == name:
            return DEFAULT_WORKSPACE, named_mode
    for mode in MODES:
        if model == mode:
            return DEFAULT_WORKSPACE, mode
    workspace, colon, mode_name = model.partition(":")
    if not is_name(workspace):
        raise InvalidRequest(f"model: {model!r} is no workspace ({NAME_RULE}), no mode "
                             f"({', '.join(MODES)}) and none of {', '.join(MODELS)}")
    for mode in MODES:
        if mode_name == mode or (not colon and mode == "auto"):
            return workspace, mode
    raise InvalidRequest(f"model: {model!r} names mode {mode_name!r}; the modes are "
                         f"{', '.join(MODES)}")


def _sources(response: ChatResponse) -> str:
    """The "Sources" list that follows the answer ('' without citations)."""
    if not response.citations:
        return ""
    return "\n\nSources:\n" + "\n".join(f"[{c.number}] {c.title} ({c.id})"
                                         for c in response.citations)


def _content(response: ChatResponse) -> str:
    return response.answer + _sources(response)


@router.get("/models", summary="The models graphready answers as: the default workspace's "
            "(one per retrieval mode) and each workspace the key may use")
async def models(request: Request) -> dict[str, Any]:
    """OpenAI's model list."""
    registry = registry_of(request.scope)
    names = registry.names() if registry is not None else [DEFAULT_WORKSPACE]
    access = access_of(request.scope)
    seen = [n for n in names if access is None or access.sees(n)]
    ids = [*(MODELS if DEFAULT_WORKSPACE in seen else ()), *seen]
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 0, "owned_by": "graphready"}
        for name in ids]}


@router.post("/chat/completions", responses={**CHAT_RESPONSES,
                                            **error_responses(WorkspaceNotFound)},
             summary="OpenAI-compatible chat completion, answered from the documents",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": CompletionRequest.model_json_schema()}}}})
async def completions(request: Request) -> Response:
    """Answer the last user message; ``stream: true`` sends ``chat.completion.chunk`` events.
    Rate limit and chat slots as for ``POST /chat``."""
    registry = registry_of(request.scope)
    assert registry is not None, "the app's lifespan has not started"
    await registry.default.admission.check_rate(request)
    body = await read_json(request, CompletionRequest, "a JSON object with 'messages'")
    question, mode, history = _question(body)
    workspace = target(body.model)[0]
    require(request.scope, workspace)
    state = await registry.acquire(workspace)
    try:
        return await _complete(state, request, body, question, mode, history)
    finally:
        registry.release(workspace)


async def _complete(state: AppState, request: Request, body: CompletionRequest, question: str,
                    mode: Mode, history: list[dict[str, str]]) -> Response:
    """The completion of ``body`` in the workspace of ``state``."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    async with state.admission.slot(request) as slot:
        if body.stream:
            answer = await sse.AnswerStream.begin(
                state.ask_stream(question, mode, None, history))
            return sse.response(_chunks(answer, ident, created, body.model), slot)
        response = chat_response(await state.ask(question, mode, None, history))
    content = _content(response)
    return JSONResponse({
        "id": ident, "object": "chat.completion", "created": created, "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(question.split()),
                  "completion_tokens": len(content.split()),
                  "total_tokens": len(question.split()) + len(content.split())},
        "citations": [c.model_dump() for c in response.citations],
        "searched_question": response.searched_question,
    })


async def _chunks(answer: sse.AnswerStream, ident: str, created: int,
                  model: str) -> AsyncIterator[bytes]:
    """``chat.completion.chunk`` events: the answer as it is written, then its sources; the
    last chunk also carries the structured ``citations``. A stream that fails midway ends with
    an ``error`` object, as OpenAI's does."""
    def chunk(delta: dict[str, str], finish: str | None = None,
              **extra: Any) -> bytes:
        return sse.event({"id": ident, "object": "chat.completion.chunk", "created": created,
                          "model": model, "choices": [{"index": 0, "delta": delta,
                                                       "finish_reason": finish}], **extra})

    notice = answer.degraded_note  # the first chunk says the answer is extractive instead
    first: dict[str, Any] = {"degraded": True, "note": notice} if notice is not None else {}
    yield chunk({"role": "assistant", "content": ""}, **first)
    try:
        async for item in answer.items():
            if isinstance(item, str):
                yield chunk({"content": item})
                continue
            response = chat_response(item)
            sources = _sources(response)
            if sources:
                yield chunk({"content": sources})
            yield chunk({}, "stop", citations=[c.model_dump() for c in response.citations],
                        degraded=response.degraded,
                        searched_question=response.searched_question)
    except GraphReadyError as exc:
        yield sse.event(exception_body(exc))
    yield sse.event("[DONE]")
