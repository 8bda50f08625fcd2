"""An OpenAI-compatible surface, so that existing chat clients can use graphready as a model:
``GET /v1/models`` and ``POST /v1/chat/completions`` (streaming and not). The question is the
last user message; the model name picks the retrieval mode. Citations follow the answer as a
"Sources" list, and come structured in a ``citations`` field as well."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from graphready.errors import InvalidRequest
from graphready.retrieval.pipeline import Mode

from . import sse
from .bodies import read_json
from .lifecycle import AppState
from .schemas import ChatResponse, ErrorResponse, chat_response

router = APIRouter(prefix="/v1", tags=["openai"])

MODELS: dict[str, Mode] = {
    "graphready": "auto",
    "graphready-retrieval": "retrieval",
    "graphready-graph-local": "graph_local",
    "graphready-graph-global": "graph_global",
}


class ContentPart(BaseModel):
    """A part of a message's content; only text parts carry a question."""

    model_config = ConfigDict(extra="ignore")
    type: StrictStr
    text: StrictStr | None = None


class Message(BaseModel):
    """One chat message; fields graphready does not use (name, tool calls) are ignored."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text."""
        if isinstance(self.content, list):
            return " ".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class CompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. Sampling options (temperature, max_tokens, ...) are
    accepted and ignored: offline answers are extractive."""

    model_config = ConfigDict(extra="ignore")
    model: StrictStr = "graphready"
    messages: list[Message] = Field(min_length=1)
    stream: StrictBool = False


def _question(body: CompletionRequest) -> tuple[str, Mode]:
    mode = MODELS.get(body.model)
    if mode is None:
        raise InvalidRequest(f"model: unknown model {body.model!r}; "
                             f"available: {', '.join(MODELS)}")
    users = [m for m in body.messages if m.role == "user"]
    question = users[-1].text() if users else ""
    if not question.strip():
        raise InvalidRequest("messages: no user message with text to answer")
    return question, mode


def _content(response: ChatResponse) -> str:
    if not response.citations:
        return response.answer
    sources = "\n".join(f"[{c.number}] {c.title} ({c.id})" for c in response.citations)
    return f"{response.answer}\n\nSources:\n{sources}"


@router.get("/models", summary="The models graphready answers as (one per retrieval mode)")
async def models() -> dict[str, Any]:
    """OpenAI's model list."""
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 0, "owned_by": "graphready"}
        for name in MODELS]}


@router.post("/chat/completions", responses={c: {"model": ErrorResponse} for c in (400, 422, 503)},
             summary="OpenAI-compatible chat completion, answered from the documents",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": CompletionRequest.model_json_schema()}}}})
async def completions(request: Request) -> Response:
    """Answer the last user message; ``stream: true`` sends ``chat.completion.chunk`` events."""
    body = await read_json(request, CompletionRequest, "a JSON object with 'messages'")
    question, mode = _question(body)
    state: AppState = request.app.state.graphready
    response = chat_response(await state.ask(question, mode, None))
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if body.stream:
        return StreamingResponse(_chunks(response, ident, created, body.model),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
    content = _content(response)
    return JSONResponse({
        "id": ident, "object": "chat.completion", "created": created, "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(question.split()),
                  "completion_tokens": len(content.split()),
                  "total_tokens": len(question.split()) + len(content.split())},
        "citations": [c.model_dump() for c in response.citations],
    })


async def _chunks(response: ChatResponse, ident: str, created: int,
                  model: str) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        return sse.event({"id": ident, "object": "chat.completion.chunk", "created": created,
                          "model": model, "choices": [{"index": 0, "delta": delta,
                                                       "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    for piece in sse.pieces(_content(response)):
        yield chunk({"content": piece})
    yield chunk({}, "stop")
    yield sse.event("[DONE]")
