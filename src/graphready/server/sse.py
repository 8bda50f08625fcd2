"""Server-Sent Events: how answers are cut into streamed pieces and framed, and how an agent's
blocking stream of answer text is carried to the event loop."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from graphready.agent.agent import ChatResult
from graphready.errors import GraphReadyError

from .admission import Slot
from .errors import exception_body

_PIECE = re.compile(r"(?<!\s)\s*\S+")
"""Spaces and the word after them; a match starts only after a word (or at the start), so
trailing spaces are scanned once, not once per space."""
_END = object()


def pieces(text: str) -> list[str]:
    """``text`` cut into word-sized pieces that join back to exactly ``text``."""
    found = _PIECE.findall(text)
    tail = text[len("".join(found)):]
    if tail:
        found.append(tail)
    return found


def event(data: dict[str, Any] | str, name: str | None = None) -> bytes:
    """One SSE frame: an optional ``event:`` line and one ``data:`` line of JSON (or text)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n".encode()


def response(events: AsyncIterator[bytes], slot: Slot) -> StreamingResponse:
    """The response that streams ``events``, holding the chat ``slot`` until the stream ends,
    fails or the client goes."""
    return StreamingResponse(slot.hold_while(events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"},
                             background=BackgroundTask(slot.release))


def error_event(exc: GraphReadyError) -> bytes:
    """The frame that ends a stream which failed after it began."""
    return event(exception_body(exc), "error")


class AnswerStream:
    """An agent's answer stream (text pieces, then a :class:`ChatResult`) read in a worker
    thread. :meth:`begin` takes the first item before any byte is sent, so an error there
    (not ready, bad mode) is still an ordinary HTTP error; :meth:`items` then yields text
    pieces and the result, cutting the result's answer into pieces when the agent wrote none."""

    def __init__(self, source: Iterator[str | ChatResult], first: object) -> None:
        self._source = source
        self._first = first

    @classmethod
    async def begin(cls, source: Iterator[str | ChatResult]) -> AnswerStream:
        return cls(source, await run_in_threadpool(next, source, _END))

    @property
    def degraded_note(self) -> str | None:
        """The note of an answer known from the start to be the extractive one instead of the
        model's (the model failed, or did not start answering before the answer deadline),
        for the stream's first event to say so; else None."""
        first = self._first
        return first.note if isinstance(first, ChatResult) and first.degraded else None

    @property
    def found(self) -> bool | None:
        """Whether the documents answer, when known from the start (an answer not written
        piece by piece), for the stream's first event to say; else None."""
        first = self._first
        return first.found if isinstance(first, ChatResult) else None

    async def items(self) -> AsyncIterator[str | ChatResult]:
        streamed = False

        async def rest() -> AsyncIterator[object]:
            if self._first is not _END:
                yield self._first
            async for item in iterate_in_threadpool(self._source):
                yield item

        try:
            async for item in rest():
                if isinstance(item, ChatResult):
                    if not streamed:
                        for piece in pieces(item.answer):
                            yield piece
                    yield item
                    return
                if isinstance(item, str):
                    streamed = True
                    yield item
        finally:  # read to the end, or the client went away: let the source know
            abandon = getattr(self._source, "abandon", None)
            if abandon is not None:
                abandon()
