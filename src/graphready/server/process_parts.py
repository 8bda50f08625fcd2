"""What every workspace of one server process shares (``ProcessParts``): the language model and
its gate (one queue for every workspace's questions and build calls), the question embedder
(loaded once, on first use: :class:`SharedEmbedder`), request admission (chat slots, rate
limits and graph shares are per client, whatever the workspace), the children that read
uploads, and the build turns (:class:`BuildTurns`: one build at a time, smallest first).
Opened by the registry of workspaces (``workspaces.py``) with the default workspace, closed
after every workspace."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

from graphready.config import Settings
from graphready.documents.sandbox import ParseBudget, Sandbox
from graphready.embeddings.base import Embedder
from graphready.llm.gate import ModelGate
from graphready.llm.protocol import ChatModel
from graphready.llm.registry import model_gate, open_chat_model

from .admission import Admission

PARSERS = 2
"""Uploaded files one server process reads at once (each in its own child process); more
wait for one, holding no thread of the server's."""
PARSER_NICENESS = 5
"""How far below the server the children that read uploads run (as the documents stage's
worker): on a busy machine requests come first."""


class SharedEmbedder:
    """The question embedder of a process, created on first use and then shared by every
    workspace's vector search (a MiniLM session is tens of MiB: one per process, not one per
    workspace). Thread-safe: loads run in worker threads."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None

    def __call__(self) -> Embedder:
        """The embedder (created by the first call; blocking: call from a worker thread)."""
        with self._lock:
            if self._embedder is None:
                from graphready.embeddings.registry import create_embedder

                self._embedder = create_embedder(self._settings, questions_only=True)
            return self._embedder


class BuildTurns:
    """One build at a time in a process, across its workspaces (the machine's cores are few):
    a build waits for its turn, and of the builds waiting, the one of the workspace with the
    fewest chunks goes first, so a small workspace's change does not wait behind a large
    workspace's next build. Turns are taken whole builds at a time."""

    def __init__(self) -> None:
        self._held = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        """Builds waiting for their turn."""
        return len(self._waiting)

    @contextlib.asynccontextmanager
    async def turn(self, size: int) -> AsyncIterator[None]:
        """Hold the turn for one build of a workspace of ``size`` chunks."""
        if self._held or self._waiting:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (size, next(self._order), future)
            heapq.heappush(self._waiting, entry)
            try:
                await future
            except BaseException:
                if future.done() and not future.cancelled():
                    self._pass_on()  # it was handed the turn as it was cancelled
                else:
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        """Give the turn to the first waiting build, or free it."""
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self._held = False


@dataclass(eq=False)
class ProcessParts:
    """What the workspaces of one process share (see the module docstring)."""

    chat_model: ChatModel | None
    gate: ModelGate
    admission: Admission
    parsers: Sandbox
    embedder: SharedEmbedder
    turns: BuildTurns

    @classmethod
    async def open(cls, settings: Settings, chat_model: ChatModel | None = None) -> ProcessParts:
        """The parts for ``settings`` (the process's, not a workspace's); the configured
        language model unless ``chat_model`` is given (tests give a scripted one)."""
        gate = model_gate(settings)
        if chat_model is None:
            chat_model = await asyncio.to_thread(open_chat_model, settings, gate)
        parsers = Sandbox(ParseBudget(settings.parse_cpu_s, settings.parse_memory_mb),
                          size=PARSERS, niceness=PARSER_NICENESS)
        return cls(chat_model, gate, Admission(settings), parsers, SharedEmbedder(settings),
                   BuildTurns())

    async def close(self) -> None:
        """End the children that read uploads; close the language model."""
        await asyncio.to_thread(self.parsers.close)
        close_model = getattr(self.chat_model, "close", None)
        if close_model is not None:
            await asyncio.to_thread(close_model)
