"""A scripted rerank server for tests: a real HTTP server (a thread on a free loopback port)
that speaks the Cohere/Jina rerank API (``POST {model, query, documents, top_n}`` answering
``{"results": [{"index", "relevance_score", "document"}]}``, best first, at most ``top_n``), or
TEI's native one (``{query, texts}`` answering ``[{"index", "score"}]``; a body without
``texts`` gets TEI's 422). It scores a document by the share of the query's words it holds;
a document containing ``favour`` scores 2 more (above any other); every score is multiplied
by ``scale``.

Its ``mode`` can be changed while it runs: ``ok``, ``tei``, ``fail`` (500), ``hang`` (holds
the request until :meth:`RerankServer.release` or the server stops), ``garbage`` (200 with a
body that is not JSON), ``bad_index`` (a result for a document that was not sent). It records
every request (body and ``Authorization`` header) and counts those in flight.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from .falkordb_server import HOST

Mode = Literal["ok", "tei", "fail", "hang", "garbage", "bad_index"]
STOPWORDS = frozenset("a an and at by did do does for from in is it of on or the to was "
                      "what when where which who whom whose why how".split())


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (runs of letters and digits; no regular expression)."""
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()


def overlap(query: str, document: str) -> float:
    """The share of the query's words (not stop words) that ``document`` holds."""
    asked = [w for w in dict.fromkeys(words(query)) if w not in STOPWORDS]
    held = set(words(document))
    return sum(1 for w in asked if w in held) / len(asked) if asked else 0.0


@dataclass
class Received:
    """One request: its path, JSON body and ``Authorization`` header."""

    path: str
    body: dict[str, Any]
    authorization: str | None


@dataclass
class RerankServer:
    """The server; use it as a context manager. ``url`` is its ``/v1/rerank`` endpoint."""

    mode: Mode = "ok"
    favour: str | None = None
    scale: float = 1.0
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _http: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._http is not None
        return f"http://{HOST}:{self._http.server_address[1]}/v1/rerank"

    def score(self, query: str, document: str) -> float:
        """What this server gives ``document`` for ``query``."""
        bonus = 2.0 if self.favour is not None and self.favour in document else 0.0
        return round((overlap(query, document) + bonus) * self.scale, 6)

    def reset(self) -> None:
        """Back to scoring by word overlap, nothing recorded, requests held again in ``hang``."""
        self.mode, self.favour, self.scale = "ok", None, 1.0
        self.received.clear()
        self._released.clear()

    def release(self) -> None:
        """Let held (``hang``) requests go on."""
        self._released.set()

    def reply(self, path: str, body: dict[str, Any],
              authorization: str | None) -> tuple[int, bytes]:
        """The status and body answered to one request."""
        with self._lock:
            self.received.append(Received(path, body, authorization))
            self.in_flight += 1
        try:
            return self._reply(body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _reply(self, body: dict[str, Any]) -> tuple[int, bytes]:
        mode, query = self.mode, str(body.get("query", ""))
        if mode == "hang":
            self._released.wait(30)
        if mode == "fail":
            return 500, b'{"message": "scripted failure"}'
        if mode == "garbage":
            return 200, b"<html>busy</html>"
        if mode == "tei":
            if "texts" not in body:
                return 422, b"Failed to deserialize the JSON body: missing field `texts`"
            scores = [{"index": i, "score": self.score(query, t)}
                      for i, t in enumerate(body["texts"])]
            return 200, json.dumps(sorted(scores, key=lambda r: -r["score"])).encode()
        documents = [str(d) for d in body.get("documents", [])]
        scored = sorted(((self.score(query, d), i, d) for i, d in enumerate(documents)),
                        key=lambda item: -item[0])[:int(body.get("top_n", len(documents)))]
        results: list[dict[str, Any]] = [
            {"index": i, "relevance_score": s, "document": {"text": d}} for s, i, d in scored]
        if mode == "bad_index":
            results.append({"index": len(documents) + 3, "relevance_score": 0.5})
        return 200, json.dumps({"id": "scripted", "model": body.get("model"),
                                "results": results, "usage": {"total_tokens": 1}}).encode()

    def __enter__(self) -> RerankServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                status, out = server.reply(self.path, body if isinstance(body, dict) else {},
                                           self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                with contextlib.suppress(OSError):  # a client that gave up (a timeout)
                    self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer((HOST, 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
        assert self._http is not None
        self._http.shutdown()
        self._http.server_close()
