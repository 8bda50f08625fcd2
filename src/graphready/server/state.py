"""How a request reaches its workspace's :class:`AppState`. The lifespan attaches the default
workspace's state and the registry of workspaces to the app (:func:`attach`); the workspace
middlewares (``workspace_paths.py``) put the request's workspace name, then its state, in the
ASGI scope; a route takes the state from its request (:func:`app_state`, also usable as a
FastAPI dependency), a pure ASGI middleware from its scope (:func:`state_of`). A request
without a workspace in its path (today's URLs) is the default workspace's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from starlette.types import Scope

from graphready.errors import WorkspaceNotFound

from .workspace_list import DEFAULT_WORKSPACE

if TYPE_CHECKING:  # not at run time: lifecycle imports admission, which imports this
    from .lifecycle import AppState
    from .workspaces import Workspaces

ATTRIBUTE = "graphready"
"""The attribute of ``app.state`` that holds the default workspace's state (tests read
``app.state.graphready``)."""
REGISTRY = "graphready_workspaces"
"""The attribute of ``app.state`` that holds the registry of workspaces."""
WORKSPACE_KEY = "graphready.workspace"
"""The scope key of the request's workspace name (set by the outermost middleware)."""
STATE_KEY = "graphready.state"
"""The scope key of the request's workspace's state (set once the workspace is loaded)."""
PATH_KEY = "graphready.path"
"""The scope key of the path as the client sent it, when it was rewritten to today's path."""


def attach(app: FastAPI, state: AppState, workspaces: Workspaces | None = None) -> None:
    """Make ``state`` the default workspace's state of ``app``, and ``workspaces`` its registry
    (the lifespan does, once)."""
    setattr(app.state, ATTRIBUTE, state)
    setattr(app.state, REGISTRY, workspaces)


def workspace_name(scope: Scope) -> str:
    """The workspace the request names: ``/workspaces/{name}/...`` (as written: it may not be
    valid or exist), else the default."""
    name: str = scope.get(WORKSPACE_KEY, DEFAULT_WORKSPACE)
    return name


def request_path(scope: Scope) -> str:
    """The path as the client sent it (``/workspaces/w/chat``: ``scope["path"]`` is today's
    path, ``/chat``, once the outermost middleware has read the workspace)."""
    path: str = scope.get(PATH_KEY) or scope.get("path", "")
    return path


def registry_of(scope: Scope) -> Workspaces | None:
    """The registry of workspaces of the app serving ``scope``; None before the lifespan."""
    found: Workspaces | None = getattr(getattr(scope.get("app"), "state", None), REGISTRY, None)
    return found


def state_of(scope: Scope) -> AppState | None:
    """The state of the request's workspace (the default one for today's URLs); None before
    the lifespan attached it."""
    found: AppState | None = scope.get(STATE_KEY)
    if found is None and workspace_name(scope) == DEFAULT_WORKSPACE:
        found = getattr(getattr(scope.get("app"), "state", None), ATTRIBUTE, None)
    return found


def app_state(request: Request) -> AppState:
    """The state of the request's workspace (the default one for today's URLs); a request
    whose workspace was not resolved is :class:`WorkspaceNotFound`, never another's state."""
    found = state_of(request.scope)
    if found is None:
        raise WorkspaceNotFound(workspace_name(request.scope))
    return found
