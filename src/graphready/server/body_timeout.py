"""A pure ASGI middleware that bounds the time a request's body may take to arrive.

Hypercorn closes a connection that sends its request line and headers too slowly (its
keep-alive timeout, 5 s, runs until the headers are complete), but once the headers are in it
waits for the body for ever (its ``read_timeout`` is off, and turning it on would also close
connections whose clients wait quietly for a long answer). So a client that announces a body and
never finishes it would hold its connection, its memory and a handler for ever, and many such
clients would exhaust the server's file descriptors. Here the whole body must arrive within
``GRAPHREADY_BODY_TIMEOUT_S`` of the request's start; else the handler that reads it gets a
``RequestTimeout`` (408 ``request_timeout`` in the one error shape) and the connection is
closed. Reading after the body (a streamed answer listening for the client to go) is not timed.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphready.errors import RequestTimeout
from graphready.settings_spec import env_name


class BodyTimeout:
    """Wraps an ASGI app; ``timeout_s`` is ``GRAPHREADY_BODY_TIMEOUT_S``."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self._app = app
        self._timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                complete = True
                raise RequestTimeout(
                    f"the request body did not arrive within {self._timeout_s:g} s "
                    f"({env_name('body_timeout_s')})") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self._app(scope, timed_receive, send)
