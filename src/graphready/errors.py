"""The exception tree. Every error graphready raises on purpose is one of these; the server maps
them to HTTP responses in exactly one place (``server/errors.py``).

    GraphReadyError
     ├── ConfigError          a setting is missing, malformed or unknown (names the setting)
     ├── RequestError         a client sent something we cannot use            -> 4xx
     │    ├── MalformedJSON   the body is not JSON                             -> 400
     │    ├── InvalidRequest  JSON of the wrong shape, type or value           -> 422
     │    ├── BodyTooLarge    the body is over the documented limit            -> 413
     │    ├── RequestTimeout  the body did not arrive in time                 -> 408
     │    ├── MalformedUpload a multipart body that cannot be parsed           -> 400
     │    ├── UnsupportedDocument  an uploaded file of a type that is not read -> 415
     │    ├── Unauthorized    no valid API key                                 -> 401
     │    ├── Forbidden       a read-only API key on a write                   -> 403
     │    ├── CrossOrigin     a write from a web page of another origin        -> 403
     │    ├── HostNotAllowed  a Host header the server does not answer to      -> 400
     │    ├── UnsupportedMediaType  a write whose body is not JSON or multipart -> 415
     │    ├── NotFound        no such document                                 -> 404
     │    │    └── WorkspaceNotFound  no such workspace (or not the key's)    -> 404
     │    ├── InvalidWorkspace  a workspace name that breaks the naming rule   -> 400
     │    ├── MethodNotAllowed  a method the path does not take                  -> 405 + Allow
     │    ├── Conflict        the document is not the server's to change       -> 409
     │    │    ├── WorkspaceExists    a workspace of that name exists already  -> 409
     │    │    └── WorkspaceReserved  the default workspace cannot be deleted  -> 409
     │    └── RateLimited     over the client's chat rate limit                -> 429 + Retry-After
     ├── NotReady             nothing can answer yet                           -> 503 + Retry-After
     ├── Overloaded           too many chats in flight, none freed in time     -> 503 + Retry-After
     ├── DocumentError        one input file cannot be read (it is skipped, never fatal)
     ├── StoreError           a store could not be opened, read or written
     │    └── StorageFull  the disk of the data dir is full                    -> 507
     ├── BuildError           a build stage failed (reported in /status, retried)
     └── LLMError             the language model did not give a usable reply
          ├── LLMUnavailable  unreachable, timed out, or 429/5xx after the retries
          │    └── LLMDeadlineExceeded  it did not start answering a question before
          │                             GRAPHREADY_LLM_ANSWER_DEADLINE_S
          ├── LLMRejected     the server refused the request (4xx): a bad key, an
          │                   unknown model, an option it does not support
          └── LLMCancelled    a build call cancelled because the build was told to stop
"""

from __future__ import annotations

from typing import Any


class GraphReadyError(Exception):
    """Base of every error graphready raises on purpose. A subclass names its HTTP status and
    its error code in its class line (``class NotFound(RequestError, status=404,
    code="not_found")``), the one place they are written: the server's responses and the
    OpenAPI document read them from the class."""

    status_code = 500
    code = "internal_error"
    retry_after: int | None = None
    """Seconds after which a retry may succeed (sent as ``Retry-After``); None: not said."""

    def __init_subclass__(cls, status: int | None = None, code: str | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code


class ConfigError(GraphReadyError, code="config_error"):
    """A setting is missing, malformed or unknown; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"setting {setting}: {problem}")
        self.setting = setting


class RequestError(GraphReadyError, status=400, code="bad_request"):
    """A client sent something we cannot use."""


class MalformedJSON(RequestError, status=400, code="malformed_json"):
    """The request body is not valid JSON."""


class InvalidRequest(RequestError, status=422, code="invalid_request"):
    """The JSON is well formed but has the wrong shape, type or value."""


class BodyTooLarge(RequestError, status=413, code="body_too_large"):
    """The request body is over the documented limit."""


class RequestTimeout(RequestError, status=408, code="request_timeout"):
    """The request body did not arrive within ``GRAPHREADY_BODY_TIMEOUT_S``."""


class RateLimited(RequestError, status=429, code="rate_limited"):
    """The client sent more chat requests than its rate limit allows; retry after
    ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedUpload(RequestError, status=400, code="malformed_upload"):
    """A ``multipart/form-data`` body that cannot be parsed."""


class UnsupportedDocument(RequestError, status=415, code="unsupported_document"):
    """An uploaded file of a type that graphready does not read."""


class Unauthorized(RequestError, status=401, code="unauthorized"):
    """The request has no valid API key (``Authorization: Bearer KEY``)."""


class Forbidden(RequestError, status=403, code="forbidden"):
    """A read-only API key was used for a write (adding or deleting documents, a build)."""


class CrossOrigin(RequestError, status=403, code="cross_origin"):
    """A state-changing request sent by a web page of another origin (``Origin`` or
    ``Sec-Fetch-Site``) that ``GRAPHREADY_CORS_ORIGINS`` does not list."""


class HostNotAllowed(RequestError, status=400, code="host_not_allowed"):
    """A ``Host`` header that is not a name of this server (DNS rebinding):
    ``GRAPHREADY_ALLOWED_HOSTS`` adds names."""


class UnsupportedMediaType(RequestError, status=415, code="unsupported_media_type"):
    """A state-changing request with a body that is not ``application/json`` (or
    ``multipart/form-data`` where files are uploaded)."""


class NotFound(RequestError, status=404, code="not_found"):
    """No document (or other named thing) with the id asked for."""


class WorkspaceNotFound(NotFound, status=404, code="unknown_workspace"):
    """No workspace of that name, or none that the request's API key is a member of: both get
    exactly the same answer (``no workspace 'NAME'``), so a key cannot probe for names."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no workspace '{name}'")
        self.name = name


class InvalidWorkspace(RequestError, status=400, code="invalid_workspace"):
    """A workspace name that breaks the naming rule (the message states the rule)."""


class MethodNotAllowed(RequestError, status=405, code="method_not_allowed"):
    """A method the path does not take; ``Allow`` lists those it does."""


class Conflict(RequestError, status=409, code="conflict"):
    """The request conflicts with where the document lives (a file of the served folder)."""


class WorkspaceExists(Conflict, status=409, code="workspace_exists"):
    """``POST /workspaces`` with the name of a workspace that exists already."""


class WorkspaceReserved(Conflict, status=409, code="workspace_reserved"):
    """The default workspace always exists: it cannot be created or deleted."""


class NotReady(GraphReadyError, status=503, code="not_ready"):
    """Nothing can answer yet; the client should retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(GraphReadyError, status=503, code="overloaded"):
    """Every chat slot stayed busy for the whole queue timeout: the request is shed; retry
    after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DocumentError(GraphReadyError, code="document_error"):
    """One input file cannot be read; it is skipped with this reason."""


class StoreError(GraphReadyError, code="store_error"):
    """A store could not be opened, read or written."""


class StorageFull(StoreError, status=507, code="storage_full"):
    """A write failed because the disk of the data dir is full; nothing written before is
    lost, and the write can be retried once space is freed."""


class BuildError(GraphReadyError, code="build_error"):
    """A build stage failed."""


class LLMError(GraphReadyError, code="llm_error"):
    """The language model did not give a usable reply. Answers degrade to extractive ones; a
    build stage fails and is retried (what was answered stays in the LLM cache)."""


class LLMUnavailable(LLMError, code="llm_unavailable"):
    """The LLM server cannot be reached, timed out, or kept answering 429/5xx."""


class LLMDeadlineExceeded(LLMUnavailable, code="llm_deadline_exceeded"):
    """The model did not start answering a question before its answer deadline
    (``GRAPHREADY_LLM_ANSWER_DEADLINE_S``): it is busy or slow; the answer is extractive."""


class LLMCancelled(LLMError, code="llm_cancelled"):
    """A call was cancelled because its process was told to stop (a build worker's SIGTERM)."""


class LLMRejected(LLMError, code="llm_rejected"):
    """The LLM server refused the request (a 4xx other than 429)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
