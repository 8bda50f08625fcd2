"""No URL's credentials, query or fragment in a message: one URL, every URL in a text, and the
secret parts of the configured URLs wherever they are echoed; linear on hostile text."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import pytest

from graphready.config import load_settings
from graphready.redact import HIDDEN, RedactingFilter, configured_urls, redact, redact_url

LLM_URL = "http://user:s3cret-pw@127.0.0.1:8080/v1?key=abc123#frag-xyz"


@pytest.mark.parametrize(("url", "expected"), [
    ("falkordb://:secret@db.local:6379/docs", "falkordb://db.local:6379/docs"),
    ("neo4j://neo4j:pw@[::1]:7687/graph", "neo4j://[::1]:7687/graph"),
    (LLM_URL, "http://127.0.0.1:8080/v1"),
    ("https://api.example.test/v1", "https://api.example.test/v1"),
    ("http://tok3n@host/v1/", "http://host/v1/"),
    ("http://u:pa/ss@host:1/v1", "http://host:1/v1"),  # an unencoded / in the password
    ("http://host/v1?api_key=k#f", "http://host/v1"),
    ("not a url", "not a url"),
])
def test_one_url_keeps_scheme_host_port_and_path(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_every_url_in_a_text_is_redacted_and_the_rest_kept() -> None:
    text = (f"cannot reach the LLM at {LLM_URL}: Connection error. Upstream said "
            "'see https://proxy.test/login?token=zz-top-99 (or neo4j://a:b@db:7687).'")
    out = redact(text)
    for secret in ("s3cret-pw", "abc123", "frag-xyz", "zz-top-99", "a:b@"):
        assert secret not in out, out
    assert out == ("cannot reach the LLM at http://127.0.0.1:8080/v1: Connection error. "
                   "Upstream said 'see https://proxy.test/login (or neo4j://db:7687).'")


def test_secrets_of_known_urls_are_removed_wherever_they_are_echoed() -> None:
    # A server that echoes its request path and query, or a bare password: not a URL.
    text = "POST /v1/chat/completions?key=abc123 refused for password s3cret-pw (frag-xyz)"
    out = redact(text, [LLM_URL, None])
    assert "abc123" not in out and "s3cret-pw" not in out and "frag-xyz" not in out, out
    assert HIDDEN in out and out.startswith("POST /v1/chat/completions?")
    assert redact(text) == text  # without the known URL, nothing there looks like a URL


def test_a_user_name_alone_is_a_token_and_a_short_piece_is_not_searched() -> None:
    assert "tok3n-value" not in redact("auth tok3n-value failed",
                                       ["http://tok3n-value@host/v1"])
    assert redact("a b c", ["http://u:ab@host/v1?k=c"]) == "a b c"


def test_the_configured_urls_are_those_that_may_hold_credentials(tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_LLM_BASE_URL": LLM_URL,
                              "GRAPHREADY_LLM_MODEL": "m"}, data_dir=tmp_path)
    assert configured_urls(settings) == (LLM_URL,)


def test_log_lines_are_redacted_as_they_are_written() -> None:
    """The HTTP client logs every request with its whole URL, credentials included."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter([LLM_URL]))
    logger = logging.getLogger("graphready.tests.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning('HTTP Request: POST %s "%s"', LLM_URL + "chat/completions", "500")
        logger.warning("plain %d", 7)
    finally:
        logger.removeHandler(handler)
    assert out.getvalue() == 'HTTP Request: POST http://127.0.0.1:8080/v1 "500"\nplain 7\n'


def test_tracebacks_are_redacted_as_they_are_written() -> None:
    """An exception's message (and so its traceback) often holds the URL it failed on."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter([LLM_URL]))
    logger = logging.getLogger("graphready.tests.redact_traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ConnectionError(f"cannot reach {LLM_URL}chat/completions")
        except ConnectionError:
            logger.exception("the call failed")
        logger.warning("where", stack_info=True)
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert "Traceback (most recent call last)" in written
    assert "ConnectionError: cannot reach http://127.0.0.1:8080/v1" in written
    assert "Stack (most recent call last)" in written
    for secret in ("s3cret-pw", "abc123", "frag-xyz", "user:"):
        assert secret not in written, written


@pytest.mark.parametrize("unit", ["a", "a:", "a:/", "http://", "http://a@", "?", "@"])
def test_the_cost_is_linear_in_the_text(unit: str) -> None:
    """Doubling a hostile text at most about doubles the time (a quadratic pattern would take
    four times as long): CPU time, the least of several runs."""
    def cost(n: int) -> float:
        text = unit * n + " x"
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            redact(text, [LLM_URL])
            best = min(best, time.process_time() - started)
        return best

    small, large = cost(20_000), cost(160_000)
    assert large < 8 * 3 * max(small, 1e-4), (unit, small, large)
