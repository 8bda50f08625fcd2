"""Runs the build stages as worker processes from asyncio and forwards their events.

The documents stage runs first; vectors and graph then run side by side (they are independent,
and each takes a core). Their workers start with the documents worker, held: they load their
models meanwhile and start their stages when released (``indexing/prepare.py``). Nothing here
blocks the event loop: the workers' output is read with asyncio streams. ``stop()``
terminates the workers and waits for them. A worker's standard input is the server's channel
to it: ``signal_questions()`` tells it how many questions the
server is answering (the graph build's LLM calls wait for them; ``indexing/control.py``).
``pause()`` stops the workers where they are (SIGSTOP) and ``resume()`` lets them go on
(SIGCONT): a server with several workspaces lets a small build run before a large one goes on
(``server/process_parts.BuildTurns``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable

from graphready.config import Settings, Stage, settings_to_env
from graphready.settings_spec import ENV_PREFIX

from .control import questions_line
from .events import Event, StageDone, StageFailed, decode
from .prepare import GO

log = logging.getLogger("graphready.indexing")

EventHandler = Callable[[Event], Awaitable[None]]


class BuildSupervisor:
    """Starts and watches the worker processes of one build at a time."""

    def __init__(self, settings: Settings, on_event: EventHandler, stop_timeout: float = 10.0):
        self._settings = settings
        self._on_event = on_event
        self._stop_timeout = stop_timeout
        self._procs: dict[Stage, asyncio.subprocess.Process] = {}
        self._held: dict[Stage, asyncio.subprocess.Process] = {}
        self._stopping = False
        self._paused = False
        self._questions = 0

    @property
    def running(self) -> bool:
        """Whether a worker is alive."""
        return any(p.returncode is None for p in self._procs.values())

    async def run(self) -> bool:
        """Run every stage; True when all completed."""
        self._stopping = False
        after_documents: tuple[Stage, ...] = ("vectors", "graph")
        # Each held worker is known as soon as it exists, so a stop() meanwhile ends it too.
        self._held = {}
        try:
            for stage in after_documents:
                self._held[stage] = await self._spawn(stage, held=True)
            held = dict(self._held)
            documents = not self._stopping and await self._run_stage("documents")
        except BaseException:  # cancelled: the held workers end (none has begun its stage)
            self._end_held()
            raise
        finally:
            self._held = {}
        if not documents or self._stopping:
            await self._dismiss(held.values())
            return False
        for stage, proc in held.items():
            self._release(stage, proc)
        results = await asyncio.gather(*(self._follow(stage, proc)
                                         for stage, proc in held.items()))
        return all(results)

    async def run_stages(self, stages: list[Stage]) -> bool:
        """Run these (independent) stages side by side; True when all completed."""
        if self._stopping:
            return False
        results = await asyncio.gather(*(self._run_stage(stage) for stage in stages))
        return all(results)

    def _end_held(self) -> None:
        """Terminate the held workers now (a paused one is let go on, to take the signal)."""
        for proc in self._held.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                    if self._paused:
                        proc.send_signal(signal.SIGCONT)

    def _alive(self) -> list[asyncio.subprocess.Process]:
        return [p for p in [*self._procs.values(), *self._held.values()] if p.returncode is None]

    def pause(self) -> None:
        """Stop the workers where they are (SIGSTOP) until :meth:`resume`; workers started
        meanwhile are not paused."""
        self._paused = True
        for proc in self._alive():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let paused workers go on (SIGCONT)."""
        self._paused = False
        for proc in self._alive():
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)

    async def stop(self) -> None:
        """Terminate running workers (SIGTERM, then SIGKILL after the timeout) and wait."""
        self._stopping = True
        procs = self._alive()
        for proc in procs:
            proc.terminate()
        if self._paused:  # a stopped process takes SIGTERM once it goes on
            self.resume()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), self._stop_timeout)
            except TimeoutError:
                log.warning("worker %s did not stop in %ss; killing it", proc.pid,
                            self._stop_timeout)
                proc.kill()
                await proc.wait()

    def signal_questions(self, count: int) -> None:
        """Tell the graph worker (the only one that calls the LLM) how many questions the
        server is answering now."""
        self._questions = count
        proc = self._procs.get("graph")
        if proc is not None:
            self._send_questions(proc)

    def _send_questions(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None or proc.stdin is None or proc.stdin.is_closing():
            return
        try:
            proc.stdin.write(questions_line(self._questions))
        except (OSError, RuntimeError) as exc:  # the worker is exiting
            log.debug("cannot signal worker %s: %s", proc.pid, exc)

    def _worker_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        env.update(settings_to_env(self._settings))
        return env

    async def _spawn(self, stage: Stage, held: bool = False) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "graphready.indexing.worker", stage,
            *(["--held"] if held else []),
            env=self._worker_env(), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=None,
        )
        if self._paused:
            proc.send_signal(signal.SIGSTOP)
        return proc

    def _release(self, stage: Stage, proc: asyncio.subprocess.Process) -> None:
        """Let a held worker start its stage (if it already died, following it says so)."""
        self._procs[stage] = proc
        if proc.returncode is None and proc.stdin is not None and not proc.stdin.is_closing():
            try:
                proc.stdin.write(GO)
            except (OSError, RuntimeError) as exc:
                log.debug("cannot release worker %s: %s", proc.pid, exc)
        if stage == "graph":
            self._send_questions(proc)

    async def _dismiss(self, procs: Iterable[asyncio.subprocess.Process]) -> None:
        """Held workers that will not be released: their standard input ends, so they exit."""
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), self._stop_timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    async def _run_stage(self, stage: Stage) -> bool:
        if self._stopping:
            return False
        proc = await self._spawn(stage)
        self._procs[stage] = proc
        if stage == "graph":
            self._send_questions(proc)
        return await self._follow(stage, proc)

    async def _follow(self, stage: Stage, proc: asyncio.subprocess.Process) -> bool:
        """Forward a worker's events until it exits; True when its stage completed."""
        finished: Event | None = None
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            event = decode(line)
            if event is None:
                if line:
                    log.info("worker[%s]: %s", stage, line)
                continue
            if isinstance(event, StageDone | StageFailed):
                finished = event
            await self._on_event(event)
        code = await proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
        if isinstance(finished, StageDone) and code == 0:
            return True
        if finished is None:
            reason = "stopped" if self._stopping else f"worker exited with status {code}"
            await self._on_event(StageFailed(stage, reason))
        return False
