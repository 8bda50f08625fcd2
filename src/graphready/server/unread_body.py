"""A pure ASGI middleware that keeps a kept-alive connection usable after a response that did not
read the request's body (a 401 or 403 of the API keys, a 404, a 413).

Hypercorn closes an HTTP/1.1 connection whose request body was not all received when the
response ends, without saying so: a client that sends the next request on that connection
(httpx, requests and browsers all keep connections alive) sees "Server disconnected without
sending a response" whenever the body arrived after the response. So, before a response starts,
the rest of a small unread body is read and dropped; a large one (over ``max_drain`` bytes), or
one the client does not finish within ``timeout`` seconds, is not waited for, and the response
says ``Connection: close`` so the client opens a new connection for its next request.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DRAIN_BYTES = 64 * 1024
DRAIN_TIMEOUT_S = 1.0


def declared_length(scope: Scope) -> int | None:
    """The body's length the client announced: its ``Content-Length``, -1 for a chunked (or
    unreadable) length, None for a request without a body."""
    length: int | None = None
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
        elif name == b"transfer-encoding":
            return -1
    return length if length else None


def ends_body(message: Message) -> bool:
    """Whether ``message`` is the last one of the request (its last body part, or the client
    went away)."""
    if message["type"] == "http.disconnect":
        return True
    return message["type"] == "http.request" and not message.get("more_body", False)


class DrainUnreadBody:
    """Wraps an ASGI app; see the module's docstring."""

    def __init__(self, app: ASGIApp, max_drain: int = MAX_DRAIN_BYTES,
                 timeout: float = DRAIN_TIMEOUT_S) -> None:
        self._app = app
        self._max = max_drain
        self._timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = declared_length(scope) if scope["type"] == "http" else None
        if length is None:
            await self._app(scope, receive, send)
            return
        finished = False

        async def tracking_receive() -> Message:
            nonlocal finished
            message = await receive()
            finished = finished or ends_body(message)
            return message

        async def draining_send(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.start" and not finished:
                finished = True
                if not await self._drain(receive, length):
                    message = dict(message)
                    headers = list(message.get("headers", []))
                    if not any(name.lower() == b"connection" for name, _ in headers):
                        headers.append((b"connection", b"close"))
                    message["headers"] = headers
            await send(message)

        await self._app(scope, tracking_receive, draining_send)

    async def _drain(self, receive: Receive, length: int) -> bool:
        """Read the rest of the body and drop it; whether it all came (the connection can stay
        open)."""
        if length > self._max:
            return False
        seen = 0
        try:
            async with asyncio.timeout(self._timeout):
                while True:
                    message = await receive()
                    seen += len(message.get("body", b""))
                    if message["type"] == "http.disconnect" or seen > self._max:
                        return False
                    if ends_body(message):
                        return True
        except TimeoutError:
            return False
