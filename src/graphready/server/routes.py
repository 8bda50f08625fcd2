"""The HTTP endpoints. Handlers do no blocking work on the event loop: ``/status`` renders
in-memory state, and ``/chat`` runs retrieval in a worker thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from graphready.errors import GraphReadyError

from . import sse
from .auth import keys_required
from .bodies import read_json
from .cluster import workers_status
from .schemas import (
    CHAT_RESPONSES,
    BuildResponse,
    ChatRequest,
    ChatResponse,
    chat_response,
    recent_turns,
)
from .state import app_state

router = APIRouter()


@router.get("/health", summary="200 while the process is up")
async def health() -> dict[str, str]:
    """Liveness: the process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/status", summary="What is ready now, build progress, counts and timings")
async def status(request: Request) -> dict[str, Any]:
    """Readiness of each index, the tools the agent can use, build progress and errors."""
    state = app_state(request)
    return {**state.readiness.snapshot(state.tools), "llm": state.llm_status(),
            "chat_admission": state.admission.snapshot(),
            "auth": {"required": keys_required(state.settings)},
            "reranker": None if state.reranker is None else state.reranker.status(),
            "workers": workers_status(state)}


@router.post("/chat", response_model=ChatResponse, responses=CHAT_RESPONSES,
             summary="Answer a question from the documents, with citations",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": ChatRequest.model_json_schema()}}}})
async def chat(request: Request) -> Response:
    """Answer ``message`` with the tools available now (503 with Retry-After when none is).
    With ``"stream": true`` the answer comes as Server-Sent Events. Over the client's rate
    limit: 429; every chat slot busy for the queue timeout: 503 ``overloaded``."""
    state = app_state(request)
    await state.admission.check_rate(request)
    body = await read_json(request, ChatRequest, "a JSON object with a 'message'")
    history = recent_turns([(t.role, t.content) for t in body.history])
    async with state.admission.slot(request) as slot:
        if not body.stream:
            result = await state.ask(body.message, body.mode, body.top_k, history)
            return JSONResponse(chat_response(result).model_dump())
        answer = await sse.AnswerStream.begin(
            state.ask_stream(body.message, body.mode, body.top_k, history))
        return sse.response(_chat_events(answer), slot)


async def _chat_events(answer: sse.AnswerStream) -> AsyncIterator[bytes]:
    notice = answer.degraded_note  # the first event says the answer is extractive instead
    found = answer.found  # and whether the documents answer, when that is known already
    try:
        async for item in answer.items():
            if isinstance(item, str):
                first: dict[str, object] = {"degraded": True, "note": notice} \
                    if notice is not None else {}
                if found is not None:
                    first["found"] = found
                notice = found = None
                yield sse.event({"text": item, **first}, "token")
            else:
                yield sse.event(chat_response(item).model_dump(), "done")
    except GraphReadyError as exc:
        yield sse.error_event(exc)


@router.post("/build", response_model=BuildResponse, summary="Rescan the documents and rebuild")
async def build(request: Request) -> BuildResponse:
    """Start a build that picks up added, changed and deleted files; while one runs, another
    follows it (the running one may have scanned the folder before the change)."""
    started = await app_state(request).rebuild()
    message = "build started" if started else \
        "a build is running; another will start when it ends, to pick up later changes"
    return BuildResponse(started=started, queued=not started, message=message)
