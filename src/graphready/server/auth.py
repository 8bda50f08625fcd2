"""API keys at the door: a pure ASGI middleware that lets a request through only with a key
allowed to do what it asks in the workspace it names, and the start-up check that a server
reachable beyond loopback never runs without keys by accident.

The keys and what each may do come from a :class:`~graphready.server.keys.KeyRing`: the keys
file (``GRAPHREADY_KEYS_FILE``: a label, a role and workspaces per key) and today's settings
(``GRAPHREADY_API_KEY``: admin on every workspace; ``GRAPHREADY_READ_ONLY_API_KEY``: read on
every workspace; each a comma-separated list, so a key can be rotated).

Clients send ``Authorization: Bearer KEY`` (what OpenAI clients send). A request is checked in
this order:

- no key, or one that is not a key: 401;
- a key that is not a member of the request's workspace (``/workspaces/{w}/...`` is ``w``'s,
  today's URLs are ``default``'s): 404 ``unknown_workspace``, exactly the answer a workspace
  that does not exist gets, so a key cannot probe for names;
- a member whose role is too low: 403. Reading, chat and ``/v1`` need ``read``; adding or
  deleting documents and a build ``write``; deleting a workspace ``admin``; creating one
  (``POST /workspaces``) ``admin`` on every workspace (``*``).

``GET /workspaces`` (the list) and ``/v1`` take any key here: the list shows the workspaces the
key sees, and ``/v1`` checks the workspace its ``model`` names (:func:`require`). The caller's
:class:`Access` is put in the scope (:func:`access_of`). ``/health`` and the web page's shell
(``GET /``, ``/workspaces/{w}/``, ``/static/``) stay open: they hold no data, and the page asks
for a key when the API answers 401.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from graphready.config import Settings
from graphready.errors import (
    ConfigError,
    Forbidden,
    RequestError,
    Unauthorized,
    WorkspaceNotFound,
)
from graphready.settings_checks import api_keys
from graphready.settings_spec import env_name

from .errors import exception_response
from .keys import (
    ACCESS,
    ALL,
    DEFAULT_WORKSPACE,
    Access,
    Exists,
    KeyRing,
    Role,
    access_of,
)
from .state import request_path

OPEN_PATHS = frozenset({"/health"})
PAGE_PATHS = frozenset({"/", "/favicon.ico"})
PAGE_PREFIXES = ("/static/",)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
WORKSPACES = "/workspaces"
"""The workspaces' collection; ``/workspaces/{w}`` + today's path is a route of workspace w."""
GLOBAL_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
"""Paths of no workspace that any key may read."""
OPENAI_PREFIX = "/v1"
KEY_RING = "graphready_keys"
"""The attribute of ``app.state`` that holds the app's :class:`KeyRing`."""


def split_workspace(path: str) -> tuple[str | None, str]:
    """The workspace a path names and the path within it: ``/workspaces/w/chat`` ->
    ``("w", "/chat")``, ``/workspaces/w`` -> ``("w", "")``; a path of no workspace (today's
    URLs, the collection) -> ``(None, path)``."""
    if not path.startswith(WORKSPACES + "/"):
        return None, path
    name, slash, rest = path[len(WORKSPACES) + 1:].partition("/")
    if not name:
        return None, path
    return name, slash + rest


def is_open(method: str, path: str) -> bool:
    """Whether a request needs no key: liveness, and the page's shell (no data in either), at
    ``/`` and at each workspace's ``/workspaces/{w}/``."""
    if path in OPEN_PATHS:
        return True
    if method not in ("GET", "HEAD"):
        return False
    inner = split_workspace(path)[1] if path.startswith(WORKSPACES + "/") else path
    return inner == "/" or path in PAGE_PATHS or path.startswith(PAGE_PREFIXES)


def is_write(method: str, path: str) -> bool:
    """Whether a request changes what a workspace holds: adding or deleting documents, a
    build, or a curator's edit of the graph (``path`` within the workspace). Everything else
    (chat included) is a read."""
    if method not in WRITE_METHODS:
        return False
    return path in ("/build", "/documents", "/graph/edits") \
        or path.startswith(("/documents/", "/graph/edits/"))


def needs(method: str, path: str) -> tuple[str | None, Role]:
    """The workspace a request acts in (None: none in particular; :data:`ALL`: every one) and
    the role it needs there, by the path the client sent."""
    if path in (WORKSPACES, WORKSPACES + "/"):
        return (ALL, "admin") if method in WRITE_METHODS else (None, "read")
    if path in GLOBAL_PATHS or path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/"):
        return None, "read"
    name, inner = split_workspace(path)
    if name is None:
        return DEFAULT_WORKSPACE, "write" if is_write(method, path) else "read"
    if not inner:  # the workspace itself: reading it, or deleting it
        return name, "admin" if method in WRITE_METHODS else "read"
    return name, "write" if is_write(method, inner) else "read"


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


def refusal(access: Access, workspace: str | None, need: Role,
            what: str) -> RequestError | None:
    """Why ``access`` may not do ``what`` (needing ``need`` in ``workspace``), or None when it
    may: :class:`WorkspaceNotFound` for a workspace the key is not a member of (the answer a
    workspace that does not exist gets), else :class:`Forbidden` for too low a role."""
    if workspace is None or access.allows(workspace, need):
        return None
    if workspace != ALL and not access.sees(workspace):
        return WorkspaceNotFound(workspace)
    if workspace == ALL:
        return Forbidden(f"{what} creates a workspace: that needs an admin key of every "
                         f"workspace (* in {env_name('keys_file')}, or {env_name('api_key')})")
    if need == "admin":
        return Forbidden(f"{what} changes a workspace: that needs an admin key; this key "
                         f"({access.label}) is {access.role}")
    return Forbidden(f"{what} changes documents or starts a build: a read-only key cannot; "
                     f"use a key of role write or admin ({env_name('keys_file')}) or of "
                     f"{env_name('api_key')}")


def require(scope: Scope, workspace: str, need: Role = "read") -> None:
    """Raise what the request's key may not do in ``workspace`` (for routes that name their
    workspace in the body, as ``/v1``'s ``model`` does): :class:`WorkspaceNotFound` for one it
    is not a member of, :class:`Forbidden` for too low a role. A server without keys allows
    everything."""
    access = access_of(scope)
    if access is None:
        return
    if workspace != ALL and not access.sees(workspace):
        raise WorkspaceNotFound(workspace)
    error = refusal(access, workspace, need, f"{scope.get('method', 'GET')} "
                    f"{scope.get('path', '')}")
    if error is not None:
        raise error


class ApiKeys:
    """The middleware; with no key configured it lets everything through."""

    def __init__(self, app: ASGIApp, keys: KeyRing) -> None:
        self._app = app
        self.keys = keys

    @property
    def required(self) -> bool:
        """Whether requests need a key."""
        return self.keys.required

    def check(self, method: str, path: str,
              token: str | None) -> tuple[Access | None, RequestError | None]:
        """The access of this request's key and the error to answer with (None: it may go
        through); ``path`` as the client sent it (``/workspaces/w/chat``)."""
        if not self.required or is_open(method, path):
            return None, None
        access = self.keys.find(token)
        if access is None:
            why = "no API key was sent" if token is None else "the API key is not valid"
            return None, Unauthorized(f"{why}: send Authorization: Bearer KEY (a key of "
                                      f"{env_name('keys_file')}, {env_name('api_key')} or "
                                      f"{env_name('read_only_api_key')})")
        workspace, need = needs(method, path)
        return access, refusal(access, workspace, need, f"{method} {path}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.keys.refresh()
            access, error = self.check(scope.get("method", "GET"), request_path(scope),
                                       bearer(scope))
            if error is not None:
                headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) \
                    else None
                await exception_response(error, headers)(scope, receive, send)
                return
            if access is not None:
                scope[ACCESS] = access
        await self._app(scope, receive, send)


def listed_workspaces(settings: Settings) -> Exists:
    """Whether a workspace exists, by the list of the data dir of ``settings`` (read at each
    call, so a keys file read again sees the workspaces created since, by any process)."""
    # Imported here: workspaces imports lifecycle, which imports admission, which imports this.
    from .workspace_list import WorkspaceList

    listed = WorkspaceList(settings.data_dir)
    return lambda name: name == DEFAULT_WORKSPACE or name in listed.read()


def install_keys(app: Any, settings: Settings, exists: Exists | None = None) -> KeyRing:
    """Add the key middleware to ``app`` (where it is called, in the middleware order) with the
    keys of ``settings``, kept on ``app.state`` for :func:`key_ring`; a ``ConfigError`` naming
    the line of a keys file that cannot be used. ``exists``: whether a workspace exists (by
    default, :func:`listed_workspaces`)."""
    keys = KeyRing.from_settings(settings, exists or listed_workspaces(settings))
    setattr(app.state, KEY_RING, keys)
    app.add_middleware(ApiKeys, keys=keys)
    return keys


def key_ring(app: Any) -> KeyRing | None:
    """The keys of an app made by ``create_app`` (None for another app)."""
    found: KeyRing | None = getattr(getattr(app, "state", None), KEY_RING, None)
    return found


def reload_on_hangup(app: Any, loop: asyncio.AbstractEventLoop) -> bool:
    """Read the keys file of ``app`` again on SIGHUP (only when it has one: else SIGHUP keeps
    its usual meaning); whether it will."""
    keys = key_ring(app)
    if keys is None or keys.path is None:
        return False
    loop.add_signal_handler(signal.SIGHUP, keys.reload)
    return True


def keys_of(settings: Settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The full and read-only keys of the key settings of ``settings``."""
    return api_keys(settings.api_key), api_keys(settings.read_only_api_key)


def keys_required(settings: Settings) -> bool:
    """Whether a server of ``settings`` needs keys: a key setting or a keys file is set."""
    return any(keys_of(settings)) or settings.keys_file is not None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or name), reachable from this machine only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings, exists: Exists | None = None) -> None:
    """Before serving: read the keys file (a ``ConfigError`` naming the line of one that cannot
    be used), and refuse to serve beyond loopback with no key, unless the user opted out
    (``GRAPHREADY_ALLOW_NO_API_KEY=on``, ``--allow-no-api-key``)."""
    keys = KeyRing.from_settings(settings, exists or listed_workspaces(settings))
    if keys.required or is_loopback(settings.host) or settings.allow_no_api_key == "on":
        return
    raise ConfigError(env_name("api_key"),
                      f"is required to serve on {settings.host}, which other machines can "
                      f"reach: set {env_name('api_key')} or {env_name('keys_file')} (and "
                      "clients send Authorization: Bearer KEY), or serve on 127.0.0.1, or opt "
                      f"out with --allow-no-api-key ({env_name('allow_no_api_key')}=on)")
