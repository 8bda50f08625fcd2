"""Security headers on every response, set in this one place (a pure ASGI middleware):

- the web app (``GET /`` and everything under ``/static/``): the page's Content-Security-Policy
  (``webapp.py``: this server's scripts only, no framing), ``nosniff``, no referrer, and
  ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``;
- the interactive API documentation (``/docs``, ``/redoc``, FastAPI's pages, which load their
  scripts from a CDN): no framing and ``nosniff`` only;
- everything else (the API): ``default-src 'none'; frame-ancestors 'none'``, so a response
  opened as a page runs nothing and cannot be framed, with ``nosniff`` and no referrer.

A header the endpoint set itself is kept.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import PAGE_PATHS, PAGE_PREFIXES
from .webapp import CONTENT_SECURITY_POLICY

Headers = tuple[tuple[bytes, bytes], ...]

DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _encode(headers: dict[str, str]) -> Headers:
    return tuple((k.lower().encode(), v.encode()) for k, v in headers.items())


COMMON = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
PAGE_HEADERS = _encode({"Content-Security-Policy": CONTENT_SECURITY_POLICY, **COMMON,
                        "X-Frame-Options": "DENY", "Cache-Control": "no-cache"})
DOC_HEADERS = _encode({"Content-Security-Policy": "frame-ancestors 'none'", **COMMON,
                       "X-Frame-Options": "DENY"})
API_HEADERS = _encode({"Content-Security-Policy": API_POLICY, **COMMON})


def headers_for(path: str) -> Headers:
    """The security headers of a response to ``path``."""
    if path in PAGE_PATHS or path.startswith(PAGE_PREFIXES):
        return PAGE_HEADERS
    if path in DOC_PATHS:
        return DOC_HEADERS
    return API_HEADERS


class SecurityHeaders:
    """Wraps an ASGI app; see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self._app(scope, receive, with_headers)
