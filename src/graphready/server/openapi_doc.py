"""The OpenAPI document at ``/openapi.json``, made valid OpenAPI 3.1 and complete about errors.

FastAPI generates the document; this module then fixes, for every operation, what FastAPI
cannot know:

- Request bodies that a handler reads itself (``openapi_extra`` holding a model's own JSON
  schema) bring their ``$defs`` along, and refer to them as ``#/$defs/Name``, which resolves
  nowhere in the document. Those definitions move to ``components/schemas`` and every such
  ``$ref`` is rewritten to point there.
- Every error response is the one shape, ``ErrorResponse``. FastAPI documents a validation
  error as its own ``HTTPValidationError``; graphready answers 422 ``invalid_request`` in the
  one shape instead, so every 4xx and 5xx response is declared with ``ErrorResponse``, and
  the statuses any operation of its kind can answer are added: 422 for an operation with
  parameters or a body, 400 (malformed JSON), 408 (the body came too slowly) and 413 (body
  too large) for one with a body, 404 for one with a path parameter, 507 (the data dir's disk
  is full) for a write. 429 and 503 declare their ``Retry-After`` header.
- The API key: every operation but the open ones (``/health``) takes a bearer token, optional
  since a server may have no keys, and may answer 401; a write (documents, a build) also 403.

Client generators and fuzzers (the tests run Schemathesis over every operation) read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from graphready.settings_spec import env_name

from .auth import is_open, is_write
from .errors import ErrorResponse

ERROR_REF = "#/components/schemas/ErrorResponse"
SECURITY = "apiKey"
DEFS_PREFIX = "#/$defs/"
COMPONENTS_PREFIX = "#/components/schemas/"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
DESCRIPTIONS = {
    400: "Malformed request (the body is not valid JSON)",
    401: "A valid API key is required (when the server has keys configured)",
    403: "A read-only API key cannot change documents or start a build",
    404: "Not found",
    408: f"The request body did not arrive within {env_name('body_timeout_s')}",
    409: "Conflict",
    413: "The body is over the size limit",
    422: "Invalid request: the message names each problem",
    429: "Over the client's rate limit; retry after Retry-After seconds",
    503: "Not ready or overloaded; retry after Retry-After seconds",
    507: "The disk of the data dir is full",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds after which a retry may succeed",
                               "schema": {"type": "integer", "minimum": 1}}}


def install(app: FastAPI) -> None:
    """Make ``app`` serve the fixed document (built once, on the first request for it)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = fix(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def fix(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's), changed in place: its ``$defs`` in components, its errors
    declared."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    found: dict[str, Any] = {}
    _hoist_defs(document, found)
    _merge(schemas, found)
    _merge(schemas, _model_schemas(ErrorResponse))
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                _declare_keys(document, path, method, item[method])
                _declare_errors(item[method])
    _drop_unused(document, schemas, ("HTTPValidationError", "ValidationError"))
    return document


def _model_schemas(model: type[ErrorResponse]) -> dict[str, Any]:
    """``model``'s schema and those it refers to, keyed by name, refs into components."""
    schema = model.model_json_schema(ref_template=COMPONENTS_PREFIX + "{model}")
    found: dict[str, Any] = dict(schema.pop("$defs", {}))
    found[model.__name__] = schema
    return found


def _merge(schemas: dict[str, Any], found: dict[str, Any]) -> None:
    """Add ``found`` to the components; a name already there must mean the same schema."""
    for name, schema in found.items():
        if name in schemas and _comparable(schemas[name]) != _comparable(schema):
            raise ValueError(f"two different schemas are both named {name!r} in the OpenAPI "
                             "document: rename one of the models")
        schemas.setdefault(name, schema)


def _comparable(schema: Any) -> Any:
    """``schema`` without its descriptions, which FastAPI and pydantic word differently."""
    if isinstance(schema, dict):
        return {k: _comparable(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [_comparable(v) for v in schema]
    return schema


def _hoist_defs(node: Any, found: dict[str, Any]) -> None:
    """Collect every ``$defs`` under ``node`` into ``found`` (removing it) and point the refs
    to them at the components."""
    if isinstance(node, list):
        for value in node:
            _hoist_defs(value, found)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(DEFS_PREFIX):
        node["$ref"] = COMPONENTS_PREFIX + ref[len(DEFS_PREFIX):]
    defs = node.pop("$defs", None)
    if isinstance(defs, dict):
        _hoist_defs(defs, found)
        _merge(found, defs)
    for value in node.values():
        _hoist_defs(value, found)


def _declare_keys(document: dict[str, Any], path: str, method: str,
                  operation: dict[str, Any]) -> None:
    """The API key an operation takes when keys are configured (``server/auth.py``): a bearer
    token, optional (a server without keys needs none); 401 without a valid one, 403 for a
    read-only key on a write."""
    if is_open(method.upper(), path):
        return
    document["components"].setdefault("securitySchemes", {})[SECURITY] = {
        "type": "http", "scheme": "bearer",
        "description": f"An API key ({env_name('api_key')} or {env_name('read_only_api_key')}), "
                       "when the server has keys configured"}
    operation.setdefault("security", [{SECURITY: []}, {}])
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.setdefault("401", {})
    if is_write(method.upper(), path):
        responses.setdefault("403", {})
        responses.setdefault("507", {})


def _declare_errors(operation: dict[str, Any]) -> None:
    """Every error response of ``operation`` in the one shape, and those it can always give."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    params = operation.get("parameters", [])
    body = operation.get("requestBody")
    wanted: set[int] = set()
    if params or body:
        wanted.add(422)
    if body:
        wanted.update((400, 408, 413))
    if any(p.get("in") == "path" for p in params):
        wanted.add(404)
    for code in wanted:
        responses.setdefault(str(code), {})
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        code = int(status)
        if response.get("description") in (None, "", "Validation Error"):
            response["description"] = DESCRIPTIONS.get(code, "Error")
        response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        if code in (429, 503):
            response.setdefault("headers", {}).update(RETRY_AFTER)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _drop_unused(document: dict[str, Any], schemas: dict[str, Any],
                 names: tuple[str, ...]) -> None:
    """Remove the components ``names`` when nothing refers to them any more."""
    for name in names:
        if name in schemas:
            rest = {k: v for k, v in document.items() if k != "components"}
            others = {k: v for k, v in schemas.items() if k != name}
            if COMPONENTS_PREFIX + name not in _refs(rest) | _refs(others):
                del schemas[name]
