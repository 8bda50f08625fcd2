"""A pure ASGI middleware that refuses request bodies over the documented limit (413), whether
the client announces the size or streams it. Uploads (``POST /documents``, and ``POST /mcp``,
whose ``add_document`` tool carries a document's text) have a limit of their own,
``GRAPHREADY_MAX_UPLOAD_BYTES``."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphready.errors import BodyTooLarge
from graphready.settings_spec import env_name

from .errors import exception_response

UPLOAD_PATH = "/documents"
MCP_PATH = "/mcp"
UPLOAD_PATHS = (UPLOAD_PATH, MCP_PATH)
"""The paths whose POST bodies may be as large as an upload."""


class BodyLimit:
    """Wraps an ASGI app; ``max_bytes`` is ``GRAPHREADY_MAX_BODY_BYTES``; ``uploads`` is the
    upload paths and their own limit (``GRAPHREADY_MAX_UPLOAD_BYTES``)."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 uploads: tuple[tuple[str, ...], int] | None = None) -> None:
        self._app = app
        self._max = max_bytes
        self._setting = env_name("max_body_bytes")
        self._uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self._uploads is not None and scope.get("path") in self._uploads[0] \
                and scope.get("method") == "POST":
            upload_limit = BodyLimit(self._app, self._uploads[1])
            upload_limit._setting = env_name("max_upload_bytes")
            await upload_limit(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self._max or declared < 0:
                    await self._refuse(scope, receive, send)
                    return
        await self._app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max:
                    raise BodyTooLarge(self._message())
            return message

        return wrapped

    def _message(self) -> str:
        return f"the request body is over the limit of {self._max} bytes ({self._setting})"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = exception_response(BodyTooLarge(self._message()), {"Connection": "close"})
        await response(scope, receive, send)
