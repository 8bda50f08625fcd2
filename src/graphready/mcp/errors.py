"""graphready's errors as MCP errors (JSON-RPC error objects), in this one place: the message
is the HTTP API's message, and ``data`` is the HTTP API's error body (``code``, ``message``)
with the HTTP ``status`` the same error gets there (and ``retry_after`` when it says when to
retry). The JSON-RPC ``code``:

- ``-32602`` (Invalid params, as the protocol asks for a bad argument or an unknown tool) for
  an ``invalid_request`` (HTTP 422) or ``bad_request`` (400);
- otherwise the HTTP status itself: ``403`` ``forbidden`` (a read-only key calling a write
  tool), ``404`` ``not_found`` / ``unknown_workspace``, ``409`` ``conflict``, ``429``
  ``rate_limited``, ``503`` ``not_ready`` / ``overloaded``, ``507`` ``storage_full``. Codes
  outside the range JSON-RPC reserves (-32768 to -32000) are the application's to define;
- ``-32603`` (Internal error) for an unexpected failure, whose message says only its type, as
  the HTTP API's 500 does; the server log has the rest."""

from __future__ import annotations

import logging
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS

from graphready.errors import GraphReadyError
from graphready.redact import redact
from graphready.server.errors import exception_body

log = logging.getLogger("graphready.mcp")

INVALID_STATUSES = frozenset({400, 422})
"""The HTTP statuses that are a bad argument in MCP."""


def error_data(exc: GraphReadyError) -> dict[str, Any]:
    """The ``data`` of the MCP error for ``exc``: the HTTP API's body and status."""
    data: dict[str, Any] = {**exception_body(exc)["error"], "status": exc.status_code}
    if exc.retry_after is not None:
        data["retry_after"] = exc.retry_after
    return data


def mcp_error(exc: GraphReadyError) -> MCPError:
    """The MCP error for ``exc`` (see the module's docstring)."""
    code = INVALID_PARAMS if exc.status_code in INVALID_STATUSES else exc.status_code
    if exc.status_code >= 500 and exc.retry_after is None:
        log.error("%s: %s", type(exc).__name__, redact(str(exc)))
    data = error_data(exc)
    return MCPError(code, data["message"], data)


def unexpected_error(exc: Exception, tool: str) -> MCPError:
    """The MCP error for a failure nobody raised on purpose (logged with its traceback)."""
    log.error("unexpected error in the tool %s", tool, exc_info=exc)
    message = f"internal error ({type(exc).__name__}); see the server log"
    return MCPError(INTERNAL_ERROR, message, {"code": "internal_error", "message": message,
                                              "status": 500})
