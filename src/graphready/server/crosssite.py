"""Cross-site protection: a pure ASGI middleware that keeps web pages of other sites from using
the server through the visitor's browser.

- **Host check** (against DNS rebinding: a page of ``evil.example`` whose name is made to resolve
  to ``127.0.0.1`` is same-origin with the server, so the browser lets it read and delete):
  every request but ``/health`` must name, in ``Host``, a loopback name or address, an IP
  literal (rebinding needs a DNS name), the address the server is bound to, this machine's
  host name, or a name of ``GRAPHREADY_ALLOWED_HOSTS``; else 400 ``host_not_allowed``.
- **Writes** (``POST``, ``PUT``, ``PATCH``, ``DELETE``): a body must be ``application/json``
  (or ``multipart/form-data`` on ``POST /documents``), which a page of another site cannot send
  without a CORS preflight: else 415 ``unsupported_media_type``. (A body with no
  ``Content-Type`` at all is read as JSON, as it always was: a browser sends a body without a
  type only with an ``Origin``, which is checked.) A request that says where it
  comes from (``Origin``; ``Sec-Fetch-Site`` when it sends no ``Origin``) must come from the
  server's own origin or one of ``GRAPHREADY_CORS_ORIGINS``: else 403 ``cross_origin``, before
  any of its body is read. ``Origin: null`` (a sandboxed frame, a ``data:`` page) is refused.
  Clients that send no ``Origin`` (curl, SDKs, OpenAI clients) are not browsers and pass.
- **CORS** for the origins of ``GRAPHREADY_CORS_ORIGINS`` (a browser app served elsewhere):
  a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here, without
  a key, and the other responses to those origins carry ``Access-Control-Allow-Origin``. A
  preflight from any other origin gets 403 ``cross_origin`` and no CORS headers.

Starlette's ``CORSMiddleware`` is not used: it answers a refused preflight in plain text (not the
one error shape), and it enforces nothing on requests a browser sends without a preflight, which
are the cross-site writes this module is for.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphready.config import Settings
from graphready.errors import CrossOrigin, HostNotAllowed, RequestError, UnsupportedMediaType
from graphready.settings_checks import cors_origins, host_patterns
from graphready.settings_spec import env_name

from .auth import LOOPBACK_NAMES, WRITE_METHODS
from .errors import exception_response
from .limits import UPLOAD_PATH
from .unread_body import declared_length

UNCHECKED_PATHS = frozenset({"/health"})
"""Paths served whatever the Host: liveness holds no data, and probes may name the server in
ways nobody listed."""
JSON = "application/json"
MULTIPART = "multipart/form-data"
ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "Retry-After"
PREFLIGHT_MAX_AGE_S = 600
DEFAULT_PORTS = {"http": 80, "https": 443}
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", "[::]", ""})


def split_host(value: str) -> tuple[str, int | None]:
    """``Host`` as (name, port): lower case, brackets of an IPv6 literal and a final dot
    removed; the port None when absent, -1 when not a number."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port_text = rest.removeprefix(":") if rest.startswith(":") else None
    else:
        name, sep, port_text_found = value.rpartition(":")
        if not sep or ":" in name:  # no port, or a bare IPv6 literal
            name, port_text = value, None
        else:
            port_text = port_text_found
    port = None if not port_text else int(port_text) if port_text.isdigit() else -1
    return name.rstrip("."), port


def is_ip_literal(name: str) -> bool:
    """Whether ``name`` is an IPv4 or IPv6 address (no DNS involved)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def name_matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` is one of ``patterns``: exact names, ``*.domain`` (names under it) and
    ``*`` (anything)."""
    for pattern in patterns:
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class HostPolicy:
    """Which ``Host`` names the server answers to (see the module's docstring)."""

    def __init__(self, bound: str, allowed: Iterable[str], machine: str) -> None:
        names = {*LOOPBACK_NAMES, "*.localhost"}
        bound = bound.strip("[]").lower()
        if bound not in WILDCARD_BINDS:
            names.add(bound)
        if machine:
            names.update({machine.lower(), machine.lower().split(".")[0]})
        self.patterns = (*sorted(names), *allowed)

    def allows(self, name: str) -> bool:
        """Whether a request naming ``name`` in its ``Host`` is answered."""
        return is_ip_literal(name) or name_matches(name, self.patterns)


def header(scope: Scope, wanted: bytes) -> str | None:
    """The value of the first header named ``wanted`` (lower case), if any."""
    for name, value in scope.get("headers", []):
        if name == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


def same_origin(origin: str, host: str) -> bool:
    """Whether ``origin`` (``scheme://host[:port]``) is the origin of a server reached as
    ``host``, over http or https (a TLS proxy in front changes the scheme, not the name)."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return False
    name, port = split_host(host)
    default = DEFAULT_PORTS[parts.scheme]
    return parts.hostname.rstrip(".") == name and (origin_port or default) == (port or default)


class CrossSite:
    """The middleware; ``settings`` gives the bound host, ``GRAPHREADY_ALLOWED_HOSTS`` and
    ``GRAPHREADY_CORS_ORIGINS``."""

    def __init__(self, app: ASGIApp, settings: Settings, machine: str | None = None) -> None:
        self._app = app
        self.hosts = HostPolicy(settings.host, host_patterns(settings.allowed_hosts),
                                socket.gethostname() if machine is None else machine)
        self.cors = frozenset(cors_origins(settings.cors_origins))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNCHECKED_PATHS:
            await self._app(scope, receive, send)
            return
        origin = header(scope, b"origin")
        allowed = origin is not None and self.allows_origin(scope, origin)
        error: RequestError | None = self.host_error(scope)
        preflight = scope.get("method") == "OPTIONS" \
            and header(scope, b"access-control-request-method") is not None
        if error is None and preflight and origin is not None:
            await self._preflight(scope, receive, send, origin, allowed)
            return
        if error is None:
            error = self.write_error(scope, origin, allowed)
        if error is not None:
            await exception_response(error)(scope, receive, send)
            return
        if not self.cors:
            await self._app(scope, receive, send)
            return
        listed = origin if allowed else None

        async def cors_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *self._cors_headers(listed)]
            await send(message)

        await self._app(scope, receive, cors_send)

    def allows_origin(self, scope: Scope, origin: str) -> bool:
        """Whether ``origin`` is the server's own or one of ``GRAPHREADY_CORS_ORIGINS``."""
        if origin.lower().rstrip("/") in self.cors:
            return True
        host = header(scope, b"host")
        return host is not None and same_origin(origin, host)

    def host_error(self, scope: Scope) -> HostNotAllowed | None:
        """The error for a ``Host`` this server does not answer to (or None)."""
        host = header(scope, b"host")
        if host is None or not host.strip():
            return None
        name, port = split_host(host)
        if port != -1 and self.hosts.allows(name):
            return None
        return HostNotAllowed(
            f"this server does not answer to the host {name!r} (the Host header): a page of "
            "another site may have made its name resolve here (DNS rebinding). Reach it by a "
            f"loopback name or an IP address, or add the name to {env_name('allowed_hosts')}")

    def write_error(self, scope: Scope, origin: str | None,
                    allowed: bool) -> RequestError | None:
        """The error for a write from another site, or with a body of the wrong type."""
        method = scope.get("method", "GET")
        if method not in WRITE_METHODS:
            return None
        where = f"{method} {scope.get('path', '')}"
        if origin is not None and not allowed:
            what = "an opaque origin (Origin: null)" if origin.strip() == "null" \
                else f"the origin {origin!r}"
            return CrossOrigin(f"{where} from {what} is refused: only this server's own pages "
                               f"and the origins of {env_name('cors_origins')} may send requests "
                               "that change or ask anything from a browser")
        if origin is None and \
                (header(scope, b"sec-fetch-site") or "").strip().lower() == "cross-site":
            return CrossOrigin(f"{where} from a page of another site (Sec-Fetch-Site: "
                               "cross-site) is refused; list the page's origin in "
                               f"{env_name('cors_origins')}")
        return _media_type_error(scope, method)

    async def _preflight(self, scope: Scope, receive: Receive, send: Send,
                         origin: str, allowed: bool) -> None:
        if not allowed:
            error = CrossOrigin(f"the CORS preflight from {origin!r} is refused: that origin "
                                f"is not in {env_name('cors_origins')}")
            await exception_response(error)(scope, receive, send)
            return
        headers = [*self._cors_headers(origin),
                   (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                   (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                   (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
                   (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _cors_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        headers = [(b"vary", b"Origin")]
        if origin is not None:
            headers += [(b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-expose-headers", EXPOSE_HEADERS.encode())]
        return headers


def _media_type_error(scope: Scope, method: str) -> UnsupportedMediaType | None:
    """415 for a write whose body is not of a type it accepts (a request without a body, such
    as ``POST /build``, needs none)."""
    if declared_length(scope) is None:
        return None
    path = scope.get("path", "")
    accepted = (JSON, MULTIPART) if method == "POST" and path == UPLOAD_PATH else (JSON,)
    sent = (header(scope, b"content-type") or "").partition(";")[0].strip().lower()
    if not sent or sent in accepted:  # no type at all: read as JSON, as it always was
        return None
    return UnsupportedMediaType(
        f"{method} {path} with a body of type {sent!r} is refused: "
        f"send Content-Type: {' or '.join(accepted)} (curl: --json, or -H "
        "'Content-Type: application/json')")
