"""Exceptions become responses here, and only here: one JSON shape,
``{"error": {"code": ..., "message": ...}}``, never a stack trace.

:func:`error_body` builds that shape for every error the server sends: the responses of the
exception handlers below, the refusals of the pure ASGI middlewares (keys, cross-site checks,
body limit, fair shares), and the ``error`` event that ends a stream which failed after it
began (``POST /chat`` and ``/v1/chat/completions`` alike). :class:`ErrorResponse` is the same
shape as the OpenAPI document declares it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from graphready.errors import GraphReadyError
from graphready.redact import redact

log = logging.getLogger("graphready.server")


class ErrorBody(BaseModel):
    """The one error shape."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error response: ``{"error": {"code", "message"}}``."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses``: each of ``statuses`` answered with :class:`ErrorResponse`."""
    return {status: {"model": ErrorResponse} for status in statuses}


def error_body(code: str, message: str) -> dict[str, Any]:
    """The one error shape, as JSON."""
    return ErrorResponse(error=ErrorBody(code=code, message=message)).model_dump()


def exception_body(exc: GraphReadyError) -> dict[str, Any]:
    """The error body of ``exc``; no URL's credentials or query in its message."""
    return error_body(exc.code, redact(str(exc)))


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape, as a response."""
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def exception_response(exc: GraphReadyError,
                       headers: dict[str, str] | None = None) -> JSONResponse:
    """The response to ``exc``: its status, its body, ``Retry-After`` when it says when to
    retry, and ``headers``."""
    retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    return JSONResponse(exception_body(exc), status_code=exc.status_code,
                        headers={**retry, **(headers or {})})


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
    if exc.status_code >= 500 and exc.retry_after is None:
        log.error("%s: %s", type(exc).__name__, redact(str(exc)))  # as in the response
    return exception_response(exc)


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
