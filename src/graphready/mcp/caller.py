"""Who calls a tool, and where: the state of the workspace the call acts in, the access of the
caller's key, and the request the call came in (the graph and documents routes, and the chat
admission, read the state and the client from it).

Over HTTP the request is the ``POST /mcp`` (or ``/workspaces/{w}/mcp``) that carried the call,
after the key check and the workspace's loading (``server/auth.py``,
``server/workspace_paths.py``). Over standard input and output there is no key (the caller
started the process: it may do everything) and the request is the local caller's
(:func:`local_caller`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from graphready.server.auth import refusal
from graphready.server.keys import Access, Role, access_of
from graphready.server.lifecycle import AppState
from graphready.server.state import STATE_KEY, app_state, workspace_name
from graphready.server.workspace_list import DEFAULT_WORKSPACE

LOCAL_CLIENT = ("stdio", 0)
"""The client address of the local caller (its allowance and share of the chat admission)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """One tool call's caller: ``state`` of its workspace (``workspace``), its key's ``access``
    (None: no key is needed, everything is allowed) and its ``request``."""

    state: AppState
    workspace: str
    access: Access | None
    request: Request

    def may(self, need: Role) -> bool:
        """Whether the caller may call a tool that needs role ``need``."""
        return self.access is None or self.access.allows(self.workspace, need)

    def check(self, need: Role, tool: str) -> None:
        """Raise the HTTP API's refusal (``Forbidden``: too low a role) when the caller may
        not call ``tool``, which needs role ``need``."""
        if self.access is None:
            return
        error = refusal(self.access, self.workspace, need, f"the tool {tool}")
        if error is not None:
            raise error


def http_caller(request: Request) -> Caller:
    """The caller of a call carried by ``request`` (its workspace's state, its key's access);
    a workspace that was not loaded for it is ``WorkspaceNotFound``."""
    scope = request.scope
    return Caller(app_state(request), workspace_name(scope), access_of(scope), request)


def local_caller(state: AppState, workspace: str = DEFAULT_WORKSPACE) -> Caller:
    """The caller over standard input and output: the one who started the process, in
    ``workspace`` (whose state is ``state``), with no key."""
    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": [],
             "query_string": b"", "client": LOCAL_CLIENT, STATE_KEY: state}
    return Caller(state, workspace, None, Request(scope))
