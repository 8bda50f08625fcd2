"""How a request reaches its workspace: two pure ASGI middlewares.

:class:`WorkspacePaths`, the outermost, reads ``/workspaces/{name}`` + today's path
(``/workspaces/finance/chat``), puts the name in the scope (``state.workspace_name``) and
passes the request on with today's path (``/chat``; the path as sent stays in the scope for
the key check: ``state.request_path``), so that every middleware and route after
it (the cross-site checks, the API keys, the body limits, the graph shares, the routes) treats
it exactly as today's URL, in the workspace the scope names. A path that is not one of a
workspace's (``/workspaces/finance/v1/models``) keeps its path, and gets 404.
``/workspaces`` and ``/workspaces/{name}`` are the workspace resource (``workspace_api.py``):
they are not rewritten.

:class:`WorkspaceStates` runs after the key check: it finds the workspace the scope names,
started if it was not (``workspaces.Workspaces.acquire``), and puts its state in the scope for
``state.app_state`` and ``state.state_of``; a workspace that does not exist is 404
``unknown_workspace``, never created and never another workspace's answer. The request holds the
workspace (it is not unloaded) until its response is sent.

The routes are also declared under ``/workspaces/{workspace}`` (``app.py``) so that the OpenAPI
document lists them with their parameter; requests reach them rewritten, as above.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from graphready.errors import WorkspaceNotFound

from .auth import is_open
from .errors import exception_response
from .state import (
    PATH_KEY,
    STATE_KEY,
    WORKSPACE_KEY,
    registry_of,
    request_path,
)
from .workspace_list import DEFAULT_WORKSPACE

PREFIX = "/workspaces/"
DOCUMENTED_PREFIX = "/workspaces/{workspace}"
"""The prefix of the per-workspace paths as the OpenAPI document writes them."""
PATHS = frozenset({"/", "/chat", "/status", "/build", "/documents", "/mcp"})
"""Today's paths that each workspace has (exactly)."""
PREFIXES = ("/documents/", "/graph/", "/passages/")
"""Today's path prefixes that each workspace has."""


def split(path: str) -> tuple[str, str] | None:
    """``(name, rest)`` of ``/workspaces/{name}{rest}`` with a ``rest`` (``/`` at least);
    None for any other path (the workspace resource included)."""
    if not path.startswith(PREFIX):
        return None
    name, slash, rest = path[len(PREFIX):].partition("/")
    if not slash or not name:
        return None
    return name, "/" + rest


def is_workspace_path(rest: str) -> bool:
    """Whether ``rest`` is one of today's paths that each workspace has."""
    return rest in PATHS or rest.startswith(PREFIXES)


def today_path(path: str) -> str:
    """A documented path without the workspace prefix (``/workspaces/{workspace}/chat`` is
    ``/chat``): what the key and error rules read."""
    rest = path[len(DOCUMENTED_PREFIX):]
    if path.startswith(DOCUMENTED_PREFIX + "/") and is_workspace_path(rest):
        return rest
    return path


class WorkspacePaths:
    """The outermost middleware: the workspace of the path into the scope (see the module's
    docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = split(scope.get("path", "")) if scope["type"] == "http" else None
        if found is not None:
            name, rest = found
            scope = dict(scope)
            scope[WORKSPACE_KEY] = name
            if is_workspace_path(rest):
                scope[PATH_KEY] = scope["path"]
                scope["path"] = rest
        await self._app(scope, receive, send)


class WorkspaceStates:
    """After the key check: the state of the scope's workspace into the scope, started if
    needed, held until the response is sent (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope.get(WORKSPACE_KEY)
        registry = registry_of(scope)
        if scope["type"] != "http" or name is None or registry is None \
                or is_open(scope.get("method", "GET"), request_path(scope)):
            # The page's shell holds no data and needs no key: it must not tell a client
            # without one which workspaces exist (nor load one for it).
            await self._app(scope, receive, send)
            return
        try:
            state = await registry.acquire(name)
        except WorkspaceNotFound as exc:
            await exception_response(exc)(scope, receive, send)
            return
        scope[STATE_KEY] = state
        try:
            await self._app(scope, receive, send)
        finally:
            if name != DEFAULT_WORKSPACE:
                registry.release(name)
