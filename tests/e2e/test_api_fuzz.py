"""Property-based fuzzing of the whole HTTP API with Schemathesis, against a real `graphready
serve` on a real socket: every operation of `/openapi.json` (new ones are covered as they are
added), with data that fits the schema and data that does not. For every response: no 5xx, the
status is declared, the body conforms to the declared schema (so every error is the one shape
the schema declares), and every 4xx is `{"error": {"code", "message"}}`.

Seeded (Hypothesis `derandomize`) and bounded (`FUZZ_EXAMPLES` per operation) to fit the test
run; `benchmarks/fuzz.py` runs the same checks longer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from graphready.config import load_settings
from graphready.server.app import create_app
from support.corpus import write_corpus
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
FUZZ_EXAMPLES = 25


def one_error_shape(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx is the one error shape, with a non-empty code and message."""
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, one_error_shape]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("fuzz")
    write_corpus(root / "docs", passages=40)
    server = ServerProcess(root / "docs", root / "data", {"GRAPHREADY_EMBEDDER": "hashing"})
    try:
        server.wait_listening()
        server.wait_until(lambda: server.status()["graphrag_ready"]
                          and not server.status()["graphrag_initializing"], 300,
                          "the first build")
        yield server
    finally:
        server.kill()


def api_document() -> dict[str, Any]:
    """The OpenAPI document the server serves (built in-process: it needs no running server,
    and pytest needs the operations when it collects the tests)."""
    return create_app(load_settings({}, data_dir=Path("unused")), build=False).openapi()


schema = schemathesis.openapi.from_dict(api_document())


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_survives_fuzzing(case: schemathesis.Case,
                                          fuzzed_server: ServerProcess) -> None:
    case.call_and_validate(base_url=fuzzed_server.url, checks=CHECKS, timeout=30)


def test_the_server_serves_the_fuzzed_document(fuzzed_server: ServerProcess) -> None:
    assert fuzzed_server.client.get("/openapi.json").json() == api_document()


def test_the_fuzzed_server_still_answers(fuzzed_server: ServerProcess) -> None:
    response = fuzzed_server.chat("Who designed the Zephyr Lighthouse?")
    assert response.status_code == 200, response.text
    assert "unexpected error on" not in fuzzed_server.log()  # what a 500 would have logged
