"""API keys: a pure ASGI middleware that lets a request through only with a valid key, and the
start-up check that a server reachable beyond loopback never runs without one by accident.

    GRAPHREADY_API_KEY            full keys: everything
    GRAPHREADY_READ_ONLY_API_KEY  read-only keys: chat, status, reading documents and the graph;
                                  no adding or deleting documents, no build

Each setting takes a comma-separated list, so a key can be rotated: add the new one, move the
clients, remove the old one. Clients send ``Authorization: Bearer KEY`` (what OpenAI clients
send, so any OpenAI client reaches ``/v1/chat/completions`` with its API key set to a key).
Keys are compared in constant time (``hmac.compare_digest``, against every key), never logged
and never shown. ``/health`` and the web page's shell (``GET /`` and ``/static/``) stay open:
they hold no data, and the page asks for a key when the API answers 401.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from graphready.config import Settings, api_keys
from graphready.errors import ConfigError, Forbidden, RequestError, Unauthorized
from graphready.settings_spec import env_name

from .errors import exception_response

Role = Literal["full", "read"]

OPEN_PATHS = frozenset({"/health"})
PAGE_PATHS = frozenset({"/", "/favicon.ico"})
PAGE_PREFIXES = ("/static/",)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_open(method: str, path: str) -> bool:
    """Whether a request needs no key: liveness, and the page's shell (no data in either)."""
    if path in OPEN_PATHS:
        return True
    return method in ("GET", "HEAD") and (path in PAGE_PATHS or path.startswith(PAGE_PREFIXES))


def is_write(method: str, path: str) -> bool:
    """Whether a request changes what the server holds: adding or deleting documents, or a
    build. Everything else (chat included) is a read."""
    if method not in WRITE_METHODS:
        return False
    return path == "/build" or path == "/documents" or path.startswith("/documents/")


def bearer(scope: Scope) -> str | None:
    """The token of the ``Authorization: Bearer ...`` header, if there is one."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def _matches(token: bytes, keys: Sequence[bytes]) -> bool:
    """Whether ``token`` is one of ``keys``, comparing with every key in constant time."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(token, key)
    return found


class ApiKeys:
    """The middleware; with no key configured it lets everything through."""

    def __init__(self, app: ASGIApp, full: Sequence[str], read_only: Sequence[str]) -> None:
        self._app = app
        self._full = [k.encode("utf-8") for k in full]
        self._read = [k.encode("utf-8") for k in read_only]

    @property
    def required(self) -> bool:
        """Whether requests need a key."""
        return bool(self._full or self._read)

    def role(self, token: str | None) -> Role | None:
        """What ``token`` may do: ``full``, ``read``, or nothing (None)."""
        raw = (token or "").encode("utf-8")
        full, read = _matches(raw, self._full), _matches(raw, self._read)
        if token is None:
            return None
        return "full" if full else "read" if read else None

    def check(self, method: str, path: str, token: str | None) -> RequestError | None:
        """The error for this request, or None when it may go through."""
        if not self.required or is_open(method, path):
            return None
        role = self.role(token)
        if role is None:
            why = "no API key was sent" if token is None else "the API key is not valid"
            return Unauthorized(f"{why}: send Authorization: Bearer KEY ({env_name('api_key')} "
                                f"or {env_name('read_only_api_key')})")
        if role == "read" and is_write(method, path):
            return Forbidden(f"{method} {path} changes documents or starts a build: a "
                             f"read-only key cannot; use a key of {env_name('api_key')}")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = self.check(scope.get("method", "GET"), scope.get("path", ""), bearer(scope))
            if error is not None:
                headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) \
                    else None
                await exception_response(error, headers)(scope, receive, send)
                return
        await self._app(scope, receive, send)


def keys_of(settings: Settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The full and read-only keys of ``settings``."""
    return api_keys(settings.api_key), api_keys(settings.read_only_api_key)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or name), reachable from this machine only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to serve beyond loopback with no API key, unless the user opted out
    (``GRAPHREADY_ALLOW_NO_API_KEY=on``, ``--allow-no-api-key``)."""
    full, read_only = keys_of(settings)
    if full or read_only or is_loopback(settings.host) or settings.allow_no_api_key == "on":
        return
    raise ConfigError(env_name("api_key"),
                      f"is required to serve on {settings.host}, which other machines can "
                      f"reach: set {env_name('api_key')} (and clients send Authorization: Bearer "
                      "KEY), or serve on 127.0.0.1, or opt out with --allow-no-api-key "
                      f"({env_name('allow_no_api_key')}=on)")
