"""Exceptions become responses here, and only here: one JSON shape,
``{"error": {"code": ..., "message": ...}}``, never a stack trace.

:func:`error_body` builds that shape for every error the server sends: the responses of the
exception handlers below, the refusals of the pure ASGI middlewares (keys, cross-site checks,
body limit, fair shares), and the ``error`` event that ends a stream which failed after it
began (``POST /chat`` and ``/v1/chat/completions`` alike). :class:`ErrorResponse` is the same
shape as the OpenAPI document declares it, and :func:`error_responses` declares a route's errors
by their exception classes (``graphready/errors.py`` holds each status and code once). The
router's 405 becomes a 405 ``method_not_allowed``, or for ``OPTIONS`` a 204, with an ``Allow``
naming every method of the path (``methods.py``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from graphready.errors import GraphReadyError, MethodNotAllowed, NotFound
from graphready.redact import redact

from .methods import allowed_methods
from .patterns import MEANINGS

log = logging.getLogger("graphready.server")


class ErrorBody(BaseModel):
    """The one error shape."""

    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every error response: ``{"error": {"code", "message"}}``."""

    error: ErrorBody


def describe_error(error: type[GraphReadyError]) -> str:
    """One line of an error response's description in the OpenAPI document: the error's code
    and the first paragraph of its docstring."""
    text = " ".join((error.__doc__ or error.__name__).split("\n\n")[0].split())
    return f"- `{error.code}`: {text.replace('``', '`')}"


def add_errors(responses: dict[str, Any], errors: Iterable[type[GraphReadyError]]) -> None:
    """Declare ``errors`` in an operation's ``responses`` (of the OpenAPI document): each
    error's status answered with :class:`ErrorResponse`, its description listing the errors
    of that status, one line each (:func:`describe_error`)."""
    for error in errors:
        response = responses.setdefault(str(error.status_code), {})
        described = str(response.get("description") or "")
        lines = described.split("\n") if described.startswith("- `") else []
        response["description"] = "\n".join(dict.fromkeys([*lines, describe_error(error)]))


def error_responses(*errors: type[GraphReadyError]) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses``: the status of each of ``errors`` (which its handler raises),
    answered with :class:`ErrorResponse`. The statuses every operation of a kind can answer
    (a body too large, no API key, ...) are added by ``openapi_doc.py``."""
    found: dict[str, Any] = {}
    add_errors(found, errors)
    return {int(status): {"model": ErrorResponse, **response}
            for status, response in found.items()}


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
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in MEANINGS:
        return f"{where}: {MEANINGS[ctx['pattern']]}"
    if kind == "literal_error" and isinstance(error.get("input"), str):
        return f"{where}: {error['input'][:100]!r} is not one of {ctx.get('expected', '')}"
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


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == MethodNotAllowed.status_code:
        return _methods(request)
    codes = {NotFound.status_code: NotFound.code}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"),
                          str(exc.detail), dict(exc.headers) if exc.headers else None)


def _methods(request: Request) -> Response:
    """A method the route does not take: ``OPTIONS`` answers 204, any other 405; either with
    ``Allow`` naming every method of the path (``methods.py``)."""
    allow = ", ".join(allowed_methods(request.app.router.routes, request.scope))
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": allow})
    error = MethodNotAllowed(f"{request.method} is not a method of {request.url.path}; "
                             f"it takes {allow}")
    return exception_response(error, {"Allow": allow})


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
