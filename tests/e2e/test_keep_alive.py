"""A kept-alive connection stays usable after a response that did not read the request's body
(401, 403, 404), over a real socket to a real server: the body may arrive after the response
(CI once failed on exactly this race); a body too large or never finished gets
``Connection: close`` instead of a silent close or a hang."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from support.corpus import write_corpus
from support.server import ServerProcess

KEY = "keep-alive-key-0123456789"
READ_KEY = "keep-alive-read-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("keepalive")
    write_corpus(root / "docs", passages=10)
    process = ServerProcess(root / "docs", root / "data", env={
        "GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_API_KEY": KEY,
        "GRAPHREADY_READ_ONLY_API_KEY": READ_KEY})
    try:
        process.wait_listening()
        yield process
    finally:
        process.stop()


def head(method: str, path: str, length: int, key: str | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Content-Type: application/json",
             f"Content-Length: {length}"]
    if key is not None:
        lines.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_responses(sock: socket.socket, count: int, timeout: float = 10.0) -> list[bytes]:
    """The status lines and headers of up to ``count`` responses, until the server closes."""
    sock.settimeout(timeout)
    data = b""
    while data.count(b"HTTP/1.1 ") < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return [b"HTTP/1.1 " + part for part in data.split(b"HTTP/1.1 ")[1:]]


@pytest.mark.parametrize(("method", "path", "key", "status"), [
    ("POST", "/chat", None, b"401"),
    ("POST", "/build", READ_KEY, b"403"),
    ("POST", "/no/such/path", KEY, b"404"),
])
def test_body_after_the_response_keeps_the_connection(server: ServerProcess, method: str,
                                                      path: str, key: str | None,
                                                      status: bytes) -> None:
    body = b'{"message": "who met whom?"}'
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head(method, path, len(body), key))
        time.sleep(0.3)  # the server answers before the body arrives
        sock.sendall(body)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        responses = read_responses(sock, 2)
    assert len(responses) == 2, responses
    assert responses[0].startswith(b"HTTP/1.1 " + status), responses[0]
    assert b"connection: close" not in responses[0].lower()
    assert responses[1].startswith(b"HTTP/1.1 200"), responses[1]


def test_a_large_unread_body_closes_the_connection_and_says_so(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head("POST", "/chat", 10_000_000))
        sock.sendall(b"x" * 1000)
        responses = read_responses(sock, 2)
    assert len(responses) == 1, responses
    assert responses[0].startswith(b"HTTP/1.1 401")
    assert b"connection: close" in responses[0].lower()


def test_a_body_that_never_finishes_gets_its_answer_and_a_close(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head("POST", "/chat", 100) + b'{"message"')
        responses = read_responses(sock, 2)  # a hang fails here: recv times out
    assert len(responses) == 1, responses
    assert responses[0].startswith(b"HTTP/1.1 401")
    assert b"connection: close" in responses[0].lower()
    assert server.client.get("/health").status_code == 200
