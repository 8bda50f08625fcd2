"""What the API fuzzing adds to Schemathesis' own checks, for ``tests/e2e/test_api_fuzz.py`` and
``benchmarks/fuzz.py`` alike: a check that every 4xx is the one error shape, and the one kind
of failure that is not the server's fault."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.failures import Failure, ServerError
from schemathesis.openapi.checks import RejectedPositiveData

MULTIPART = "multipart/form-data"


def one_error_shape(ctx: Any, response: schemathesis.Response,
                    case: schemathesis.Case) -> bool | None:
    """Every 4xx is ``{"error": {"code", "message"}}`` with a non-empty code and message."""
    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    return True


WORKSPACE_PATHS = "/workspaces/{workspace}/"


def workspace_not_ready(case: schemathesis.Case, response: schemathesis.Response) -> bool:
    """Whether ``response`` is a workspace's declared readiness answer: 503 ``not_ready`` with
    ``Retry-After``, from an operation under ``/workspaces/{workspace}/`` that declares 503.
    The fuzzer creates workspaces (``POST /workspaces``) and then calls their graph operations
    at once; a new workspace's first build (or a workspace loaded again after it was let go)
    has no graph for a moment, and saying so is the answer the API documents, not a crash."""
    if response.status_code != 503 or not case.path.startswith(WORKSPACE_PATHS):
        return False
    if "503" not in case.operation.definition.raw.get("responses", {}):
        return False
    body = response.json()
    error = body.get("error", {}) if isinstance(body, dict) else {}
    return error.get("code") == "not_ready" and bool(error.get("message")) \
        and response.headers.get("retry-after", [""])[0].isdigit()


def filter_failure(context: Any, failure: Failure, case: schemathesis.Case,
                   response: schemathesis.Response) -> bool:
    """Keep every failure but two. A workspace's documented "not ready yet" (see
    :func:`workspace_not_ready`). And a schema-valid upload refused for the file it holds. The
    document states the upload's media types and that a file is read by its extension, but no
    schema can say that a file's bytes are readable text, and Schemathesis sends arbitrary
    bytes (or a PNG) as a file: 415 ``unsupported_document`` or 422 ``invalid_request`` naming
    the file is then the right answer."""
    if isinstance(failure, ServerError):
        return not workspace_not_ready(case, response)
    if not isinstance(failure, RejectedPositiveData) or case.media_type != MULTIPART:
        return True
    error = (response.json() or {}).get("error", {}) if response.status_code in (415, 422) \
        else {}
    refused_file = error.get("code") in ("unsupported_document", "invalid_request") \
        and str(error.get("message", "")).startswith("file ")
    return not refused_file


def register() -> None:
    """Register the check and the hook with Schemathesis (for every schema it loads)."""
    schemathesis.check(one_error_shape)
    schemathesis.hook(filter_failure)
