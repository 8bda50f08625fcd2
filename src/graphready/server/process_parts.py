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
import itertools
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from graphready.config import Settings
from graphready.documents.sandbox import ParseBudget, Sandbox
from graphready.embeddings.base import Embedder
from graphready.llm.gate import ModelGate
from graphready.llm.protocol import ChatModel
from graphready.llm.registry import model_gate, open_chat_model

from .admission import Admission

log = logging.getLogger("graphready.server")
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


class Pausable(Protocol):
    """A build that can be stopped where it is and go on later (``BuildSupervisor``)."""

    def pause(self) -> None:
        """Stop where it is."""

    def resume(self) -> None:
        """Go on."""


PREEMPT_CHUNKS = 2000
"""A build of a workspace of at most this many chunks may pause a running build ..."""
PREEMPT_RATIO = 4
"""... of a workspace at least this many times larger (which goes on after it), and larger
than ``PREEMPT_CHUNKS`` itself: a small build is never paused (it ends soon; and a cold build,
which counts 0 chunks until its documents are read, would else pause it to the end)."""
RECHECK_S = 0.5
"""How often a waiting build checks whether it may pause the running one (grown since)."""


@dataclass(eq=False)
class _Build:
    """A build that holds, or waits for, the turn: its workspace's size (chunks, read when
    needed: a cold build's grows once its documents are read) and how to pause it."""

    size: Callable[[], int]
    build: Pausable | None
    order: int
    handed: asyncio.Future[None] | None = None


class BuildTurns:
    """One build at a time in a process, across its workspaces (the machine's cores are few).
    A build waits for its turn; of the builds waiting, the one of the workspace with the fewest
    chunks goes first. A small workspace's build (``PREEMPT_CHUNKS``) does not wait for a much
    larger one's (``PREEMPT_RATIO``) to end: that build is paused where it is while the small
    one runs, then goes on."""

    def __init__(self) -> None:
        self._running: list[_Build] = []
        """The build that runs now, last; those it paused before it."""
        self._waiting: list[_Build] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        """Builds waiting for their turn."""
        return len(self._waiting)

    @property
    def paused(self) -> int:
        """Builds paused for a smaller one."""
        return max(0, len(self._running) - 1)

    @staticmethod
    def _preempts(asker: _Build, holder: _Build) -> bool:
        size, held = asker.size(), holder.size()
        return holder.build is not None and size <= PREEMPT_CHUNKS < held \
            and held >= PREEMPT_RATIO * max(size, 1)

    @contextlib.asynccontextmanager
    async def turn(self, size: Callable[[], int],
                   build: Pausable | None = None) -> AsyncIterator[None]:
        """Hold the turn for one build of a workspace of ``size()`` chunks; ``build`` is
        paused if a small workspace's build comes while it runs."""
        me = _Build(size, build, next(self._order))
        if not self._running:
            self._running.append(me)
        elif self._preempts(me, self._running[-1]):
            self._pause(self._running[-1])
            self._running.append(me)
        else:
            me.handed = asyncio.get_running_loop().create_future()
            self._waiting.append(me)
            try:
                await self._wait(me)
            except BaseException:
                if me in self._waiting:
                    self._waiting.remove(me)
                else:  # handed the turn as it was cancelled
                    self._release(me)
                raise
        try:
            yield
        finally:
            self._release(me)

    async def _wait(self, me: _Build) -> None:
        """Until ``me`` is handed the turn, or may pause the running build: checked every
        ``RECHECK_S``, since a cold build's size is known only once its documents are read."""
        assert me.handed is not None
        while not (await asyncio.wait({me.handed}, timeout=RECHECK_S))[0]:
            top = self._running[-1] if self._running else None
            if top is not None and self._preempts(me, top):
                self._waiting.remove(me)
                self._pause(top)
                self._running.append(me)
                return

    def _pause(self, holder: _Build) -> None:
        assert holder.build is not None
        log.info("a small workspace's build goes first: the build of a workspace of %d "
                 "chunks is paused", holder.size())
        holder.build.pause()

    def _release(self, me: _Build) -> None:
        """``me`` has ended: the turn goes to the first waiting build (fewest chunks first)
        if nothing is paused or it may pause what is; else the paused build goes on."""
        if self._running[-1] is not me:  # a paused build stopped: the one running goes on
            self._running.remove(me)
            return
        self._running.remove(me)
        top = self._running[-1] if self._running else None
        if self._waiting:
            first = min(self._waiting, key=lambda b: (b.size(), b.order))
            if top is None or self._preempts(first, top):
                self._waiting.remove(first)
                self._running.append(first)
                assert first.handed is not None
                first.handed.set_result(None)
                return
        if top is not None and top.build is not None:
            top.build.resume()


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
        """End the children that read uploads; close the language model and its gate."""
        await asyncio.to_thread(self.parsers.close)
        close_model = getattr(self.chat_model, "close", None)
        if close_model is not None:
            await asyncio.to_thread(close_model)
        await asyncio.to_thread(self.gate.close)
