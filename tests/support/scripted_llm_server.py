"""A scripted OpenAI-compatible LLM server for tests where timing must be controlled: a real
HTTP server (a thread on a free loopback port) that speaks the chat completions API, whole and
streamed, and answers every prompt deterministically from its text, taking as long as the test
says for each purpose. Like llama.cpp's server and Ollama with one slot, it generates one reply
at a time, and stops generating a streamed reply whose client went away (it looks every 50 ms,
while it "processes the prompt" too, as vLLM does). It records what it served, so tests can see
who waited for whom.

Purposes are told apart the way graphready's prompts are written: the extraction prompt ("You
build a knowledge graph"), the community report prompt ("You write a report"), a prompt with
tools (the agent), anything else an answer. Replies: extraction JSON naming the passage's
capitalised words, a report naming the community's first entity, a ``search_documents`` call
then ``DONE`` for the agent, and an answer citing passage [1] (or what ``answer`` writes).
A :class:`Refusal` makes it answer an error status instead, with an OpenAI-style error body, to
the prompts holding a marker (a 400 for a prompt too long for its context, a 500 that echoes
what it was sent).
"""

from __future__ import annotations

import itertools
import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .falkordb_server import HOST

MODEL = "scripted-http"
_NAME = re.compile(r"\b[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*")


@dataclass(frozen=True)
class Pace:
    """How long a reply takes: ``first_s`` before its first token (the prompt's processing),
    then ``token_s`` per token."""

    first_s: float = 0.0
    token_s: float = 0.0


@dataclass(frozen=True)
class Refusal:
    """Answer ``status`` with ``message`` to every prompt (of ``purpose``, when given) whose
    messages hold ``marker``."""

    marker: str
    status: int = 400
    message: str = "the request exceeds the available context size"
    purpose: str | None = None

    def refuses(self, purpose: str, body: dict[str, Any]) -> bool:
        if self.purpose is not None and purpose != self.purpose:
            return False
        return any(self.marker in str(m.get("content") or "") for m in body.get("messages", []))


@dataclass
class Served:
    """One request: its purpose, when it began and ended (monotonic), and how it ended:
    ``done``, or ``gone`` (the client went away and generation stopped)."""

    purpose: str
    began: float
    ended: float = 0.0
    outcome: str = "running"
    streamed: bool = False


def purpose_of(body: dict[str, Any]) -> str:
    """Which of graphready's prompts ``body`` is."""
    system = next((m.get("content") or "" for m in body.get("messages", [])
                   if m.get("role") == "system"), "")
    if system.startswith("You build a knowledge graph"):
        return "extract"
    if system.startswith("You write a report"):
        return "report"
    return "agent" if body.get("tools") else "answer"


def _last_user(body: dict[str, Any]) -> str:
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


def quoted(text: str) -> str:
    """The content of the first quoted block of a prompt (``<passage ...>`` to its end tag)."""
    start = text.find(">\n", text.find("<passage"))
    end = text.rfind("\n</passage>")
    return text[start + 2:end] if 0 <= start < end else text


def extraction(passage: str) -> str:
    """Entities: the passage's capitalised names (first 6); relations between neighbours."""
    names = list(dict.fromkeys(_NAME.findall(passage)))[:6]
    entities = [{"name": n, "type": "CONCEPT", "description": f"{n} is in the passage."}
                for n in names]
    relations = [{"source": a, "target": b, "description": f"{a} and {b} appear together.",
                  "strength": 5} for a, b in itertools.pairwise(names)]
    return json.dumps({"entities": entities, "relations": relations})


def report(material: str) -> str:
    """A report on the first entity listed in the community's material."""
    found = re.search(r"^- (.+?) \(", material, re.MULTILINE)
    name = found.group(1) if found else "the community"
    return json.dumps({"title": f"About {name}", "summary": f"A community around {name}.",
                       "key_entities": [name], "rating": 5,
                       "findings": [{"summary": f"{name} matters.", "explanation": ""}]})


def reply_for(purpose: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The reply text and tool calls for a request."""
    text = _last_user(body)
    if purpose == "extract":
        return extraction(quoted(text)), []
    if purpose == "report":
        return report(text), []
    if purpose == "agent":
        if any(m.get("role") == "tool" for m in body.get("messages", [])):
            return "DONE", []
        call = {"id": "call_0", "type": "function", "function": {
            "name": "search_documents", "arguments": json.dumps({"query": text})}}
        return "", [call]
    question = text.rsplit("Question:", 1)[-1].strip()
    return f"The passages answer this: {question} [1].", []


def _wait(seconds: float, gone: Callable[[], bool]) -> bool:
    """Sleep ``seconds``, looking every 50 ms whether the client went away (then False)."""
    end = time.monotonic() + seconds
    while True:
        if gone():
            return False
        left = end - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(0.05, left))


def tokens(text: str) -> list[str]:
    """``text`` in word-sized tokens that join back to it."""
    return re.findall(r"\s*\S+", text) or [text]


@dataclass
class ScriptedLLMServer:
    """Start with ``with``; ``paces`` maps purposes to :class:`Pace`; ``served`` lists the
    requests in the order they began. ``end_early`` maps purposes to how many of their streamed
    replies to end after the first token without a ``finish_reason``, as llama.cpp's Python
    server ends a stream when another request arrives. ``refusals`` are checked before anything
    else; a refused request is served (``outcome`` ``refused``) without taking the slot."""

    paces: dict[str, Pace] = field(default_factory=dict)
    served: list[Served] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], str] | None = None
    """Writes the answers instead (from the request's body), when given."""
    end_early: dict[str, int] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._slot = threading.Lock()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def env(self) -> dict[str, str]:
        """The settings that point graphready at this server."""
        return {"GRAPHREADY_LLM_BASE_URL": self.base_url, "GRAPHREADY_LLM_MODEL": MODEL}

    def _ends_early(self, purpose: str) -> bool:
        with self._lock:
            left = self.end_early.get(purpose, 0)
            if left > 0:
                self.end_early[purpose] = left - 1
            return left > 0

    def of(self, purpose: str) -> list[Served]:
        with self._lock:
            return [s for s in self.served if s.purpose == purpose]

    def _begin(self, purpose: str, streamed: bool) -> Served:
        record = Served(purpose, time.monotonic(), streamed=streamed)
        with self._lock:
            self.served.append(record)
        return record

    def generate(self, purpose: str, body: dict[str, Any], streamed: bool,
                 gone: Callable[[], bool] = lambda: False,
                 ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Hold the one slot and yield the reply a token at a time (the tool calls come with
        the first); stop when ``gone()`` says the client went away, or the caller stops."""
        text, calls = (self.answer(body), []) if purpose == "answer" and self.answer \
            else reply_for(purpose, body)
        pace = self.paces.get(purpose, Pace())
        with self._slot:
            record = self._begin(purpose, streamed)
            try:
                for i, token in enumerate(tokens(text)):
                    if not _wait(pace.first_s if i == 0 else pace.token_s, gone):
                        record.outcome = "gone"
                        return
                    yield token, calls if i == 0 else []
                record.outcome = "done"
            except GeneratorExit:
                record.outcome = "gone"
                raise
            finally:
                record.ended = time.monotonic()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                purpose = purpose_of(body)
                refusal = next((r for r in server.refusals if r.refuses(purpose, body)), None)
                if refusal is not None:
                    now = time.monotonic()
                    with server._lock:
                        server.served.append(Served(purpose, now, now, "refused"))
                    self._json(refusal.status, {"error": {
                        "message": refusal.message, "type": "invalid_request_error",
                        "code": refusal.status}})
                elif body.get("stream"):
                    self._stream(purpose, body)
                else:
                    self._whole(purpose, body)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _whole(self, purpose: str, body: dict[str, Any]) -> None:
                text, calls = "", []
                for token, token_calls in server.generate(purpose, body, streamed=False):
                    text += token
                    calls += token_calls
                message: dict[str, Any] = {"role": "assistant", "content": text}
                if calls:
                    message["tool_calls"] = calls
                self._json(200, {
                    "id": "scripted", "object": "chat.completion", "created": 0, "model": MODEL,
                    "choices": [{"index": 0, "message": message,
                                 "finish_reason": "tool_calls" if calls else "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": len(tokens(text)),
                              "total_tokens": 10 + len(tokens(text))}})

            def _stream(self, purpose: str, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                count = 0
                early = server._ends_early(purpose)
                replies = server.generate(purpose, body, streamed=True, gone=self._gone)
                try:
                    for token, _ in replies:
                        delta = {"role": "assistant", "content": token} if not count \
                            else {"content": token}
                        self._event({"choices": [{"index": 0, "delta": delta,
                                                  "finish_reason": None}]})
                        count += 1
                        if early:
                            replies.close()
                            self.wfile.write(b"data: [DONE]\n\n")
                            self.wfile.flush()
                            return
                    self._event({"choices": [{"index": 0, "delta": {},
                                              "finish_reason": "stop"}]})
                    if (body.get("stream_options") or {}).get("include_usage"):
                        self._event({"choices": [], "usage": {
                            "prompt_tokens": 10, "completion_tokens": count,
                            "total_tokens": 10 + count}})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except OSError:  # the client went away: stop generating
                    replies.close()

            def _gone(self) -> bool:
                """Whether the client closed the connection (it sends nothing more)."""
                readable, _, _ = select.select([self.connection], [], [], 0)
                if not readable:
                    return False
                try:
                    return self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def _event(self, payload: dict[str, Any]) -> None:
                chunk = {"id": "scripted", "object": "chat.completion.chunk", "created": 0,
                         "model": MODEL, **payload}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        return Handler

    def __enter__(self) -> ScriptedLLMServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
