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
     │    ├── Conflict        the document is not the server's to change       -> 409
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


class GraphReadyError(Exception):
    """Base of every error graphready raises on purpose."""

    status_code = 500
    code = "internal_error"
    retry_after: int | None = None
    """Seconds after which a retry may succeed (sent as ``Retry-After``); None: not said."""


class ConfigError(GraphReadyError):
    """A setting is missing, malformed or unknown; the message names the setting."""

    code = "config_error"

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"setting {setting}: {problem}")
        self.setting = setting


class RequestError(GraphReadyError):
    """A client sent something we cannot use."""

    status_code = 400
    code = "bad_request"


class MalformedJSON(RequestError):
    """The request body is not valid JSON."""

    status_code = 400
    code = "malformed_json"


class InvalidRequest(RequestError):
    """The JSON is well formed but has the wrong shape, type or value."""

    status_code = 422
    code = "invalid_request"


class BodyTooLarge(RequestError):
    """The request body is over the documented limit."""

    status_code = 413
    code = "body_too_large"


class RequestTimeout(RequestError):
    """The request body did not arrive within ``GRAPHREADY_BODY_TIMEOUT_S``."""

    status_code = 408
    code = "request_timeout"


class RateLimited(RequestError):
    """The client sent more chat requests than its rate limit allows; retry after
    ``retry_after`` seconds."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedUpload(RequestError):
    """A ``multipart/form-data`` body that cannot be parsed."""

    status_code = 400
    code = "malformed_upload"


class UnsupportedDocument(RequestError):
    """An uploaded file of a type that graphready does not read."""

    status_code = 415
    code = "unsupported_document"


class Unauthorized(RequestError):
    """The request has no valid API key (``Authorization: Bearer KEY``)."""

    status_code = 401
    code = "unauthorized"


class Forbidden(RequestError):
    """A read-only API key was used for a write (adding or deleting documents, a build)."""

    status_code = 403
    code = "forbidden"


class CrossOrigin(RequestError):
    """A state-changing request sent by a web page of another origin (``Origin`` or
    ``Sec-Fetch-Site``) that ``GRAPHREADY_CORS_ORIGINS`` does not list."""

    status_code = 403
    code = "cross_origin"


class HostNotAllowed(RequestError):
    """A ``Host`` header that is not a name of this server (DNS rebinding):
    ``GRAPHREADY_ALLOWED_HOSTS`` adds names."""

    status_code = 400
    code = "host_not_allowed"


class UnsupportedMediaType(RequestError):
    """A state-changing request with a body that is not ``application/json`` (or
    ``multipart/form-data`` where files are uploaded)."""

    status_code = 415
    code = "unsupported_media_type"


class NotFound(RequestError):
    """No document (or other named thing) with the id asked for."""

    status_code = 404
    code = "not_found"


class Conflict(RequestError):
    """The request conflicts with where the document lives (a file of the served folder)."""

    status_code = 409
    code = "conflict"


class NotReady(GraphReadyError):
    """Nothing can answer yet; the client should retry after ``retry_after`` seconds."""

    status_code = 503
    code = "not_ready"

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(GraphReadyError):
    """Every chat slot stayed busy for the whole queue timeout: the request is shed; retry
    after ``retry_after`` seconds."""

    status_code = 503
    code = "overloaded"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DocumentError(GraphReadyError):
    """One input file cannot be read; it is skipped with this reason."""

    code = "document_error"


class StoreError(GraphReadyError):
    """A store could not be opened, read or written."""

    code = "store_error"


class StorageFull(StoreError):
    """A write failed because the disk of the data dir is full; nothing written before is
    lost, and the write can be retried once space is freed."""

    status_code = 507
    code = "storage_full"


class BuildError(GraphReadyError):
    """A build stage failed."""

    code = "build_error"


class LLMError(GraphReadyError):
    """The language model did not give a usable reply. Answers degrade to extractive ones; a
    build stage fails and is retried (what was answered stays in the LLM cache)."""

    code = "llm_error"


class LLMUnavailable(LLMError):
    """The LLM server cannot be reached, timed out, or kept answering 429/5xx."""

    code = "llm_unavailable"


class LLMDeadlineExceeded(LLMUnavailable):
    """The model did not start answering a question before its answer deadline
    (``GRAPHREADY_LLM_ANSWER_DEADLINE_S``): it is busy or slow; the answer is extractive."""

    code = "llm_deadline_exceeded"


class LLMCancelled(LLMError):
    """A call was cancelled because its process was told to stop (a build worker's SIGTERM)."""

    code = "llm_cancelled"


class LLMRejected(LLMError):
    """The LLM server refused the request (a 4xx other than 429)."""

    code = "llm_rejected"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
