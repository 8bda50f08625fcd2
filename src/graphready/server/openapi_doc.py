"""The OpenAPI document at ``/openapi.json``, made valid OpenAPI 3.1 and complete about errors.

FastAPI generates the document; this module then fixes, for every operation, what FastAPI
cannot know:

- Request bodies that a handler reads itself (``openapi_extra`` holding a model's own JSON
  schema) bring their ``$defs`` along, and refer to them as ``#/$defs/Name``, which resolves
  nowhere in the document. Those definitions move to ``components/schemas`` and every such
  ``$ref`` is rewritten to point there.
- Every error response is the one shape, ``ErrorResponse``. FastAPI documents a validation
  error as its own ``HTTPValidationError``; graphready answers 422 ``invalid_request`` in the
  one shape instead, so every 4xx and 5xx response is declared with ``ErrorResponse``. A route
  declares the errors its handler raises (``error_responses(NotFound, ...)``, exception
  classes: a status is written only in ``graphready/errors.py``); the errors any operation of
  its kind can answer, from the middlewares and the body reader, are added here
  (:func:`kind_errors`). Each response's description lists its errors' codes. 429 and 503
  declare their ``Retry-After`` header.
- The API key: every operation but the open ones (``/health``) takes a bearer token, optional
  since a server may have no keys.

Client generators and fuzzers (the tests run Schemathesis over every operation) read it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from graphready.config import Settings
from graphready.errors import (
    BodyTooLarge,
    Forbidden,
    GraphReadyError,
    InvalidRequest,
    MalformedJSON,
    NotFound,
    NotReady,
    RateLimited,
    RequestTimeout,
    StorageFull,
    Unauthorized,
    UnsupportedMediaType,
)
from graphready.settings_spec import env_name

from .auth import WRITE_METHODS, is_open, is_write
from .errors import ErrorResponse, add_errors
from .workspace_paths import today_path

ERROR_REF = "#/components/schemas/ErrorResponse"
SECURITY = "apiKey"
DEFS_PREFIX = "#/$defs/"
COMPONENTS_PREFIX = "#/components/schemas/"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
RETRY_AFTER = {"Retry-After": {"description": "Seconds after which a retry may succeed",
                               "schema": {"type": "integer", "minimum": 1}}}
JSON = "application/json"
MULTIPART = "multipart/form-data"
SETTING_LIMITS = (
    ("/chat", JSON, "message", "maxLength", "max_message_chars"),
    ("/chat", JSON, "top_k", "maximum", "max_top_k"),
    ("/documents", MULTIPART, "files", "maxItems", "max_upload_files"),
)
"""(path, media type, property, JSON Schema keyword, setting): the request limits that
settings make, checked where a question is answered (``answering.py``) and where files are
read (``documents.py``)."""
RETRY_STATUSES = frozenset({RateLimited.status_code, NotReady.status_code})
"""The statuses whose errors say when to retry (``Retry-After``)."""
WITH_PARAMETERS: tuple[type[GraphReadyError], ...] = (InvalidRequest,)
WITH_BODY: tuple[type[GraphReadyError], ...] = (MalformedJSON, RequestTimeout, BodyTooLarge)
WITH_PATH_PARAMETER: tuple[type[GraphReadyError], ...] = (NotFound,)
WITH_KEY: tuple[type[GraphReadyError], ...] = (Unauthorized,)
KEYED_WRITE: tuple[type[GraphReadyError], ...] = (Forbidden, StorageFull)
WRITE: tuple[type[GraphReadyError], ...] = (UnsupportedMediaType,)
"""The errors every operation of a kind can answer, from the middlewares and the body reader:
with parameters or a body (``bodies.py``, FastAPI), with a body (``bodies.py``,
``body_timeout.py``, ``limits.py``), with a path parameter, behind a key (``auth.py``), a
write a read-only key may not make (``auth.py``, the stores), any write method with a body
(``crosssite.py``). (The refusals only a browser meets, a ``Host`` of another name and a
write from another origin, are left out.)"""


def install(app: FastAPI, settings: Settings) -> None:
    """Make ``app`` serve the fixed document (built once, on the first request for it), with
    the limits of ``settings``."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = fix(generate(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def fix(document: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """``document`` (FastAPI's) with its ``$defs`` in components, its errors declared, and the
    limits of ``settings`` (when given) stated. A copy is changed: FastAPI's document holds the
    routes' own ``openapi_extra`` objects, which every app shares."""
    document = copy.deepcopy(document)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    found: dict[str, Any] = {}
    _hoist_defs(document, found)
    _merge(schemas, found)
    _merge(schemas, _model_schemas(ErrorResponse))
    for path, item in document.get("paths", {}).items():
        route = today_path(path)  # a workspace's route is checked as today's path is
        for method in METHODS:
            if method in item:
                _declare_keys(document, route, method, item[method])
                _declare_errors(route, method, item[method])
    if settings is not None:
        _state_limits(document, settings)
    _drop_unused(document, schemas, ("HTTPValidationError", "ValidationError"))
    return document


def _state_limits(document: dict[str, Any], settings: Settings) -> None:
    """The bounds a setting puts on a request body's property (``SETTING_LIMITS``), written
    into its schema (on the non-null branch of an optional property)."""
    for path, media_type, name, keyword, setting in SETTING_LIMITS:
        body = document["paths"][path]["post"]["requestBody"]["content"][media_type]["schema"]
        schema = body["properties"][name]
        branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
        for branch in branches:
            branch[keyword] = getattr(settings, setting)


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
    mapping = node.get("discriminator", {}).get("mapping", {}) if \
        isinstance(node.get("discriminator"), dict) else {}
    for key, target in mapping.items():
        if isinstance(target, str) and target.startswith(DEFS_PREFIX):
            mapping[key] = COMPONENTS_PREFIX + target[len(DEFS_PREFIX):]
    defs = node.pop("$defs", None)
    if isinstance(defs, dict):
        _hoist_defs(defs, found)
        _merge(found, defs)
    for value in node.values():
        _hoist_defs(value, found)


def _declare_keys(document: dict[str, Any], path: str, method: str,
                  operation: dict[str, Any]) -> None:
    """The API key an operation takes when keys are configured (``server/auth.py``): a bearer
    token, optional (a server without keys needs none)."""
    if is_open(method.upper(), path):
        return
    document["components"].setdefault("securitySchemes", {})[SECURITY] = {
        "type": "http", "scheme": "bearer",
        "description": f"An API key ({env_name('api_key')}, {env_name('read_only_api_key')} "
                       f"or one of {env_name('keys_file')}), "
                       "when the server has keys configured"}
    operation.setdefault("security", [{SECURITY: []}, {}])


def kind_errors(path: str, method: str,
                operation: dict[str, Any]) -> list[type[GraphReadyError]]:
    """The errors ``operation`` can answer for its kind, whatever its handler does."""
    params = operation.get("parameters", [])
    verb = method.upper()
    kinds = [
        (bool(params or operation.get("requestBody")), WITH_PARAMETERS),
        ("requestBody" in operation, WITH_BODY),
        (any(p.get("in") == "path" for p in params), WITH_PATH_PARAMETER),
        (not is_open(verb, path), WITH_KEY),
        (is_write(verb, path), KEYED_WRITE),
        (verb in WRITE_METHODS, WRITE),
    ]
    return [error for applies, errors in kinds if applies for error in errors]


def _declare_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    """Every error response of ``operation`` in the one shape, and those it can always give."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    add_errors(responses, kind_errors(path, method, operation))
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        if int(status) in RETRY_STATUSES:
            response.setdefault("headers", {}).update(RETRY_AFTER)
    operation["responses"] = dict(sorted(responses.items()))


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
