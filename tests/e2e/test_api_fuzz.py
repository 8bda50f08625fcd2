"""Property-based fuzzing of the whole HTTP API with Schemathesis, against a real `graphready
serve` on a real socket: every operation of `/openapi.json` (new ones are covered as they are
added), in Schemathesis' examples, coverage and fuzzing phases, with data that fits the schema
and data that does not, and every check Schemathesis has (its `--checks all`) plus our own: no
5xx; the status, content type, headers and body are the declared ones; data the schema allows
is accepted and data it does not is refused; a method the path does not take gets 405 and
`OPTIONS` an `Allow` that names exactly the path's methods; a missing required header or key is
refused; every 4xx is `{"error": {"code", "message"}}` (`support/fuzz_checks.py`, which also
says the one failure that is not the server's: an upload's bytes, which no schema describes).

Seeded (Hypothesis `derandomize`) and bounded (`FUZZ_EXAMPLES` per operation) to fit the test
run; `benchmarks/fuzz.py` runs the same checks longer, the stateful phase included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from graphready.config import load_settings
from graphready.server.app import create_app
from support import fuzz_checks
from support.corpus import write_corpus
from support.server import ServerProcess

pytestmark = pytest.mark.e2e
FUZZ_EXAMPLES = 25
fuzz_checks.register()


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


def test_every_check_is_enabled() -> None:
    """`call_and_validate` without `checks` runs every check the configuration enables: all
    of Schemathesis' (none is turned off here) and the registered one_error_shape."""
    config = schema.config.checks_config_for()
    names = {"not_a_server_error", "status_code_conformance", "content_type_conformance",
             "response_headers_conformance", "response_schema_conformance",
             "positive_data_acceptance", "negative_data_rejection", "missing_required_header",
             "unsupported_method", "allow_header_conformance", "ignored_auth",
             "use_after_free", "ensure_resource_availability", "one_error_shape"}
    assert all(config.get_by_name(name=name).enabled for name in names)


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_survives_fuzzing(case: schemathesis.Case,
                                          fuzzed_server: ServerProcess) -> None:
    case.call_and_validate(base_url=fuzzed_server.url, timeout=30)


def test_the_server_serves_the_fuzzed_document(fuzzed_server: ServerProcess) -> None:
    assert fuzzed_server.client.get("/openapi.json").json() == api_document()


def test_the_fuzzed_server_still_answers(fuzzed_server: ServerProcess) -> None:
    response = fuzzed_server.chat("Who designed the Zephyr Lighthouse?")
    assert response.status_code == 200, response.text
    assert "unexpected error on" not in fuzzed_server.log()  # what a 500 would have logged
