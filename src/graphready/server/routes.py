"""The HTTP endpoints. Handlers do no blocking work on the event loop: ``/status`` renders
in-memory state, and ``/chat`` runs retrieval in a worker thread."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from graphready.errors import InvalidRequest, MalformedJSON, NotReady

from .errors import describe_errors
from .lifecycle import AppState
from .schemas import BuildResponse, ChatRequest, ChatResponse, CitationOut, ErrorResponse

router = APIRouter()

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 413, 422, 503)
}


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.graphready
    return state


@router.get("/health", summary="200 while the process is up")
async def health() -> dict[str, str]:
    """Liveness: the process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/status", summary="What is ready now, build progress, counts and timings")
async def status(request: Request) -> dict[str, Any]:
    """Readiness of each index, the tools the agent can use, build progress and errors."""
    state = _state(request)
    return state.readiness.snapshot(state.tools)


async def _chat_request(request: Request) -> ChatRequest:
    """The body as a ``ChatRequest``, whatever content type the client declared: JSON that
    does not parse is a 400, JSON of the wrong shape a 422 naming each problem."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("the request body is required: a JSON object with a 'message'")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedJSON("the request body is not valid JSON: it is not UTF-8 text") from None
    except ValueError as exc:
        raise MalformedJSON(f"the request body is not valid JSON: {exc}") from None
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_errors(exc.errors())) from None


@router.post("/chat", response_model=ChatResponse, responses=ERRORS,
             summary="Answer a question from the documents, with citations",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": ChatRequest.model_json_schema()}}}})
async def chat(request: Request) -> ChatResponse:
    """Answer ``message`` with the tools available now (503 with Retry-After when none is)."""
    body = await _chat_request(request)
    state = _state(request)
    settings = state.settings
    if len(body.message) > settings.max_message_chars:
        raise InvalidRequest(f"message: longer than {settings.max_message_chars} characters "
                             "(GRAPHREADY_MAX_MESSAGE_CHARS)")
    top_k = body.top_k if body.top_k is not None else settings.default_top_k
    if top_k > settings.max_top_k:
        raise InvalidRequest(f"top_k: at most {settings.max_top_k} (GRAPHREADY_MAX_TOP_K)")
    tools = state.tools
    if not tools.can_answer:
        raise NotReady("nothing can answer yet: the documents are still being indexed")
    result = await asyncio.to_thread(state.agent.chat, tools, body.message, body.mode, top_k)
    return ChatResponse(
        answer=result.answer,
        citations=[CitationOut(number=c.number, id=c.id, chunk_id=c.chunk_id, title=c.title,
                               snippet=c.snippet, score=c.score) for c in result.citations],
        tools_used=list(result.tools_used),
        graph_used=result.graph_used,
        mode=result.mode,
        answer_type="extractive" if result.answer_type == "extractive" else "generated",
        note=result.note,
    )


@router.post("/build", response_model=BuildResponse, summary="Rescan the documents and rebuild")
async def build(request: Request) -> BuildResponse:
    """Start a build that picks up added, changed and deleted files (no-op while one runs)."""
    started = await _state(request).rebuild()
    message = "build started" if started else "a build is already running"
    return BuildResponse(started=started, message=message)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    """The chat page."""
    page = resources.files("graphready.server").joinpath("static/index.html").read_text("utf-8")
    return HTMLResponse(page)
