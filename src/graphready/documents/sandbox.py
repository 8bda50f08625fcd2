"""Read a file in a child process with a CPU and a memory budget per file, so that no file can
hold a server's interpreter lock, stall the documents stage, or take its memory.

    parent (server, documents worker)    child: python -m graphready.documents.sandbox_child
      Sandbox.load_bytes(name, data)  ---request-->  loaders.load_bytes under RLIMIT_CPU,
                                                     RLIMIT_AS
      Sandbox.load_source(root, src)  <---reply----  {"documents": [...], "skipped": [...]}

The child is started with ``subprocess`` (never ``fork``: the server has threads) when the first
file is read, not before, and serves one file after another until its standard input closes.
Messages are length-prefixed frames: a JSON header (and, for bytes, the file's bytes); the
reply is JSON of plain values and the texts as UTF-8, which the parent checks field by field
(nothing is unpickled).

Budgets, per file (``GRAPHREADY_PARSE_CPU_S``, ``GRAPHREADY_PARSE_MEMORY_MB``):

- CPU: before each file the child moves its soft ``RLIMIT_CPU`` to the CPU time it has used
  plus the budget (whole seconds, rounded up), so the kernel ends it with ``SIGXCPU`` when the
  file has had its budget, even inside a C loop or a regular expression that holds the lock.
- Memory: the child's address space is limited once, at start (``RLIMIT_AS``). A parser that
  runs out gets ``MemoryError`` or a failed allocation (the child answers with the reason and
  exits), or crashes.
- Wall clock: the parent waits :attr:`ParseBudget.wall_limit_s` at most (a starved child on a
  busy machine gets its CPU seconds late, never more), then kills the child.

When a budget runs out the file is skipped with a reason that names the setting, and the next
file gets a fresh child. Up to ``size`` files are read at once, each by its own child, on the
sandbox's own threads (:meth:`Sandbox.run`), so waiting callers hold no thread of anyone else.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from graphready.documents.loaders import LoadResult
from graphready.documents.types import Document, SkippedFile, SourceFile, page_starts
from graphready.settings_spec import ENV_PREFIX, env_name

T = TypeVar("T")
CHILD_MODULE = "graphready.documents.sandbox_child"
"""What the child runs (``python -m``)."""
FRAME_LENGTH = struct.Struct(">Q")
"""Each frame starts with its payload's length in bytes (8 bytes, big-endian)."""
_READ_CHUNK = 1 << 20
EXIT_MEMORY = 3
"""The child's exit status when its memory budget ran out where it could not answer."""
_CLOSE_WAIT_S = 2.0
SOURCES_AHEAD = 16
"""Files of the folder sent to the child ahead of the one being waited for (each request is
a few hundred bytes: they never fill a pipe)."""


@dataclass(frozen=True, slots=True)
class ParseBudget:
    """What reading one file may cost: CPU seconds, MiB of the child's address space, and the
    seconds the parent waits for it before it kills the child (None: four times the CPU budget
    and ten seconds more, for a child that shares busy cores)."""

    cpu_s: int
    memory_mb: int
    wall_s: float | None = None

    @property
    def wall_limit_s(self) -> float:
        """The wall-clock backstop of one file, in seconds."""
        return self.wall_s if self.wall_s is not None else 4.0 * self.cpu_s + 10.0

    def cpu_reason(self) -> str:
        """Why a file whose CPU budget ran out is skipped (naming the setting)."""
        return (f"reading it took over the parse budget of {self.cpu_s} CPU "
                f"second{'s' if self.cpu_s != 1 else ''} ({env_name('parse_cpu_s')})")

    def memory_reason(self) -> str:
        """Why a file whose memory budget ran out is skipped (naming the setting)."""
        return (f"reading it needed over the parse budget of {self.memory_mb} MiB of memory "
                f"({env_name('parse_memory_mb')})")


@dataclass(frozen=True, slots=True)
class _Request:
    """One file to read: its name (for a skip), the header to send, the bytes (None: the child
    reads the file named in the header)."""

    name: str
    header: dict[str, Any]
    data: bytes | None


class _Died(Exception):
    """The child stopped (or was stopped) before it answered; the message is the reason."""


class _Child:
    """One child process and the pipes to it (used by one thread at a time)."""

    def __init__(self, budget: ParseBudget, niceness: int) -> None:
        self.budget = budget
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE, "--memory-mb", str(budget.memory_mb),
             "--niceness", str(niceness)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin: IO[bytes] = self.proc.stdin
        self._stdout_fd = self.proc.stdout.fileno()
        self._poller = select.poll()
        self._poller.register(self._stdout_fd, select.POLLIN)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, header: dict[str, Any], data: bytes | None) -> None:
        """Send one request; when the child is gone, nothing (``receive`` says why)."""
        with contextlib.suppress(OSError, ValueError):  # a broken pipe, a closed one
            self._stdin.write(frame(json.dumps(header).encode()))
            if data is not None:
                self._stdin.write(frame(data))
            self._stdin.flush()

    def receive(self) -> tuple[LoadResult, bool]:
        """The reply to the oldest request not answered yet, and whether the child exits after
        it; ``_Died`` with the reason when the child stops first or the wall-clock backstop
        runs out (then it is killed)."""
        deadline = time.monotonic() + self.budget.wall_limit_s
        meta = self._read_frame(deadline)
        texts = self._read_frame(deadline)
        return _decode_reply(meta, texts)

    def _read_frame(self, deadline: float) -> bytes:
        size: int = FRAME_LENGTH.unpack(self._read(FRAME_LENGTH.size, deadline))[0]
        return self._read(size, deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        while size > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise _Died(f"still reading it after {self.budget.wall_limit_s:g} s of "
                            f"wall-clock time (the parse budget is {self.budget.cpu_s} CPU s, "
                            f"{env_name('parse_cpu_s')}; the machine may be too busy)")
            if not self._poller.poll(left * 1000):
                continue
            chunk = os.read(self._stdout_fd, min(size, _READ_CHUNK))
            if not chunk:
                raise _Died(self._death_reason())
            parts.append(chunk)
            size -= len(chunk)
        return b"".join(parts)

    def _death_reason(self) -> str:
        try:
            code = self.proc.wait(_CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return "the parser stopped answering"
        return _describe_exit(code, self.budget)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(_CLOSE_WAIT_S)
        self._close_pipes()

    def close(self) -> None:
        """End the child: its standard input closes (it exits), or it is killed."""
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self.proc.wait(_CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()


def _describe_exit(code: int, budget: ParseBudget) -> str:
    if code == -signal.SIGXCPU:
        return budget.cpu_reason()
    if code == EXIT_MEMORY:
        return budget.memory_reason()
    if code in (-signal.SIGSEGV, -signal.SIGBUS, -signal.SIGABRT):
        return (f"the parser crashed ({signal.Signals(-code).name}); the memory budget of "
                f"{budget.memory_mb} MiB ({env_name('parse_memory_mb')}) may have run out")
    if code < 0:
        return f"the parser was stopped ({signal.Signals(-code).name})"
    return f"the parser exited with status {code}"


def frame(payload: bytes) -> bytes:
    """``payload`` as one frame: its length, then itself."""
    return FRAME_LENGTH.pack(len(payload)) + payload


def _decode_reply(meta: bytes, texts: bytes) -> tuple[LoadResult, bool]:
    """A reply as a ``LoadResult``, every field checked, and whether the child exits after it.
    ``meta`` is JSON (ids, titles, sources, hashes, each text's length in bytes, the skipped
    files); ``texts`` the documents' texts, one after another in UTF-8: decoding them is one
    short step, where a JSON parser would hold the interpreter lock ~3 ms a megabyte."""
    try:
        body = json.loads(meta)
        documents: list[Document] = []
        at = 0
        for item in body["documents"]:
            doc_id, title, source, content_hash, size, pages = item
            end = at + size
            if not isinstance(size, int) or size < 0 or end > len(texts):
                raise ValueError("a text's length is out of range")
            text = texts[at:end].decode("utf-8", "surrogatepass")
            starts = page_starts(pages)
            if starts is None:
                raise ValueError("a document's pages are not pairs of integers")
            doc_id, title, text, source, content_hash = _strings(
                [doc_id, title, text, source, content_hash])
            documents.append(Document(doc_id, title, text, source, content_hash, starts))
            at = end
        skipped: list[SkippedFile] = []
        for item in body["skipped"]:
            path, reason = _strings(item)
            skipped.append(SkippedFile(path, reason))
        exits = body["exits"]
        if not isinstance(exits, bool) or at != len(texts):
            raise TypeError("exits is not a boolean, or texts are left over")
    except (ValueError, KeyError, TypeError) as exc:
        raise _Died(f"the parser answered something that is not a result ({exc})") from None
    return LoadResult(documents, skipped), exits


def _strings(item: Any) -> list[str]:
    if not isinstance(item, list) or not all(isinstance(v, str) for v in item):
        raise ValueError("expected strings")
    return item


class Sandbox:
    """Reads files as ``loaders.load_bytes`` and ``loaders.load_source`` do, each in a child
    process under ``budget``: never raises for a bad file, and a file whose budget runs out is
    skipped with the reason. Up to ``size`` children, started when first needed; ``niceness``
    is added to the children's (the parent's) CPU niceness. Safe to share between threads."""

    def __init__(self, budget: ParseBudget, size: int = 1, niceness: int = 0) -> None:
        self.budget = budget
        self._niceness = niceness
        self._slots: queue.LifoQueue[_Child | None] = queue.LifoQueue()
        for _ in range(size):
            self._slots.put(None)
        self._threads = ThreadPoolExecutor(size, thread_name_prefix="graphready-parse")
        self._lock = threading.Lock()
        self._live: set[_Child] = set()
        self._closed = False
        self.started = 0
        """How many children were started so far (a fresh one after each that died)."""

    def load_bytes(self, name: str, data: bytes) -> LoadResult:
        """The documents of the file ``name`` holding ``data`` (blocking)."""
        request = _Request(name, {"op": "bytes", "name": name}, data)
        with contextlib.closing(self._stream(iter([request]), 1)) as results:
            return next(results)

    def load_sources(self, root: Path, sources: Iterable[SourceFile],
                     ahead: int = SOURCES_AHEAD) -> Generator[LoadResult]:
        """The documents of each of ``sources`` under ``root``, in order, read by one child
        (blocking): up to ``ahead`` files are sent ahead, so the child reads the next files
        while the caller works on this one's."""
        requests = (_Request(s.path, {"op": "file", "root": str(root), "path": s.path,
                                      "hash": s.file_hash}, None) for s in sources)
        return self._stream(requests, ahead)

    def load_source(self, root: Path, source: SourceFile) -> LoadResult:
        """The documents of ``source`` under ``root``, read by a child (blocking)."""
        with contextlib.closing(self.load_sources(root, [source], 1)) as results:
            return next(results)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` on one of the sandbox's own threads (one per child), for a caller on
        an event loop: uploads that wait for a child hold none of the loop's default threads."""
        import asyncio  # here: the child never needs it, and it costs a start 40 ms

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(func, *args))

    def _stream(self, requests: Iterator[_Request], ahead: int) -> Generator[LoadResult]:
        """The result of each request, in order, from one child (a fresh one after a child that
        died or exits: the requests it had not answered go to the fresh one)."""
        child = self._slots.get()
        pending: deque[_Request] = deque()
        checked = False
        try:
            while True:
                while len(pending) < ahead and (request := next(requests, None)) is not None:
                    if not checked:  # a child only for a first request, and a live one
                        child, checked = self._live_child(child), True
                    pending.append(request)
                    self._send(child, request)
                if not pending:
                    return
                if child is None:
                    yield LoadResult(skipped=[SkippedFile(pending.popleft().name,
                                                          "the server is shutting down")])
                    continue
                try:
                    result, exits = child.receive()
                except _Died as exc:
                    skip = SkippedFile(pending[0].name, str(exc))
                    result, exits = LoadResult(skipped=[skip]), True
                pending.popleft()
                if exits:
                    self._forget(child)
                    child = self._start()
                    for request in pending:
                        self._send(child, request)
                yield result
        finally:
            if child is not None and pending:  # replies it still owes: never reuse it
                self._forget(child)
                child = None
            self._release(child)

    def _live_child(self, child: _Child | None) -> _Child | None:
        """``child`` if it is alive, else a fresh one (None once closed)."""
        if child is not None and child.alive:
            return child
        if child is not None:
            self._forget(child)
        return self._start()

    def _send(self, child: _Child | None, request: _Request) -> None:
        if child is not None:
            child.send({**request.header, "cpu_s": self.budget.cpu_s}, request.data)

    def _start(self) -> _Child | None:
        with self._lock:
            if self._closed:
                return None
            child = _Child(self.budget, self._niceness)
            self._live.add(child)
            self.started += 1
            return child

    def _release(self, child: _Child | None) -> None:
        with self._lock:
            closed = self._closed
        if closed and child is not None:
            self._forget(child)
            child = None
        self._slots.put(child)

    def _forget(self, child: _Child) -> None:
        child.kill()
        with self._lock:
            self._live.discard(child)

    def close(self) -> None:
        """End every child: an idle one by closing its input, one reading a file by SIGKILL
        (its caller gets the reason); later reads are refused."""
        with self._lock:
            self._closed = True
            busy = set(self._live)
        idle: list[_Child | None] = []
        with contextlib.suppress(queue.Empty):
            while True:
                idle.append(self._slots.get_nowait())
        for child in idle:
            if child is not None:
                busy.discard(child)
                child.close()
                with self._lock:
                    self._live.discard(child)
            self._slots.put(None)
        for child in busy:
            with contextlib.suppress(OSError):
                child.proc.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
