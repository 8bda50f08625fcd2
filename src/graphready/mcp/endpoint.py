"""Streamable HTTP at ``/mcp``: the MCP server mounted on the running server, an ASGI app that
the app factory routes ``/mcp`` to (outside the OpenAPI document: it is not a REST route).

A request reaches it through every middleware of the app, so it is the key's and the
workspace's as any other request is: ``/workspaces/{w}/mcp`` is rewritten to ``/mcp`` in
workspace ``w`` (``server/workspace_paths.py``), the key must be a member of the workspace
(401 and 404 otherwise, as HTTP responses, before any MCP), the body is bounded by
``GRAPHREADY_MAX_BODY_BYTES``, and the cross-site checks apply. Each request is one exchange:
the SDK's session manager runs stateless with JSON responses (no session to keep, so any server
process of ``--workers N`` can answer any request, and nothing outlives a workspace's unloading).

The session manager runs while the app's lifespan does (:meth:`McpEndpoint.running`); a request
outside it is 503 ``not_ready``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from graphready.config import Settings
from graphready.errors import NotReady
from graphready.server.errors import exception_response

from .caller import Caller, http_caller
from .server import mcp_server

PATH = "/mcp"
"""Where the endpoint is routed (and ``/workspaces/{w}/mcp`` for workspace ``w``)."""
QUIETED = "mcp.server.streamable_http"
"""The SDK's transport logs a line at INFO for every stateless request: only warnings are kept
(unless the log level is DEBUG)."""


def _request_caller(ctx: ServerRequestContext[Any, Any]) -> Caller:
    request = ctx.request
    if not isinstance(request, Request):  # the session manager always attaches it
        raise NotReady("an MCP request over HTTP arrived without its HTTP request")
    return http_caller(request)


class McpEndpoint:
    """The ASGI app of ``/mcp`` (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._server = mcp_server(settings, _request_caller)
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve while the block runs (the app's lifespan holds it). A session manager runs
        once, so each lifespan has its own. It runs in a task of its own: its task group is
        entered and left by that task, whichever task ends the lifespan (a lifespan left from
        another task, or by an async generator's close, would otherwise cancel the wrong
        scope)."""
        manager = StreamableHTTPSessionManager(self._server, json_response=True,
                                               stateless=True)
        quieted = logging.getLogger(QUIETED)
        if not quieted.isEnabledFor(logging.DEBUG):
            quieted.setLevel(logging.WARNING)
        started, stop = asyncio.Event(), asyncio.Event()

        async def run() -> None:
            async with manager.run():
                self._manager = manager
                started.set()
                try:
                    await stop.wait()
                finally:
                    self._manager = None

        task = asyncio.create_task(run(), name="mcp-session-manager")
        try:
            waiter = asyncio.create_task(started.wait())
            try:
                await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if task.done():
                task.result()  # it failed to start: say why
            yield
        finally:
            stop.set()
            await asyncio.shield(task)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:
            error = NotReady("the MCP endpoint is not running: the server is starting or "
                             "stopping", retry_after=1)
            await exception_response(error)(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)
