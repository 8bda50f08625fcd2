"""A fault-injecting HTTP proxy for tests: it answers the first requests with the statuses it is
given (429, 503, 400, ...) and forwards the rest, unchanged, to a real server. It shows how our
client handles a server that is overloaded or refuses, without faking the server itself."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from .falkordb_server import HOST


class FaultProxy:
    """``faults`` are the statuses of the first requests, in order; then requests go to
    ``target`` (a base URL such as ``http://127.0.0.1:8080``). ``seen`` counts requests."""

    def __init__(self, target: str, faults: list[int]) -> None:
        self.target = target.rstrip("/")
        self.faults = list(faults)
        self.seen = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._handle(None)

            def do_POST(self) -> None:
                self._handle(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def _handle(self, body: bytes | None) -> None:
                with proxy._lock:
                    proxy.seen += 1
                    fault = proxy.faults.pop(0) if proxy.faults else None
                if fault is not None:
                    payload = b'{"error": {"message": "injected fault", "type": "test"}}'
                    self.send_response(fault)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                request = urllib.request.Request(
                    proxy.target + self.path, data=body, method=self.command,
                    headers={"Content-Type": self.headers.get("Content-Type",
                                                              "application/json")})
                try:
                    with urllib.request.urlopen(request, timeout=120) as response:
                        status, data = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
