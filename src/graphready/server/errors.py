"""Exceptions become responses here, and only here: one JSON shape,
``{"error": {"code": ..., "message": ...}}``, never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from graphready.errors import GraphReadyError
from graphready.redact import redact

log = logging.getLogger("graphready.server")


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    where = ".".join(loc) if loc else "body"
    kind = error.get("type", "")
    if kind == "missing" and not loc:
        return "the request body is required: a JSON object"
    if kind == "extra_forbidden":
        return f"unknown field {where!r}"
    if kind in ("model_attributes_type", "model_type", "dict_type") and not loc:
        return "the request body must be a JSON object"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {message}"


def describe_errors(errors: Sequence[Any]) -> str:
    """One message naming every problem pydantic found."""
    return "; ".join(_describe(e) for e in errors)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    for error in errors:
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            return error_response(400, "malformed_json",
                                  f"the request body is not valid JSON: {ctx.get('error', '')}")
    return error_response(422, "invalid_request", describe_errors(errors))


async def _graphready(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GraphReadyError)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    message = redact(str(exc))  # no URL's credentials or query in a response or a log
    if exc.status_code >= 500 and exc.retry_after is None:
        log.error("%s: %s", type(exc).__name__, message)
    return error_response(exc.status_code, exc.code, message, headers)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"),
                          str(exc.detail), dict(exc.headers) if exc.headers else None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error",
                          f"internal error ({type(exc).__name__}); see the server log")


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(GraphReadyError, _graphready)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
