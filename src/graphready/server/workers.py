"""``graphready serve --workers N``: a parent process that serves nothing itself. It opens N
listening sockets on the one port (``SO_REUSEPORT``) and starts N server processes (``python -m
graphready.server.child``), each inheriting one of them; each runs the whole app
(``cluster.py`` says who builds and who follows). The kernel spreads new connections evenly
over the sockets, so each process gets its share of the clients. (With one shared socket, the
process that wakes first accepts a whole burst of connections: 16 clients connecting at once
were split 13 and 3, and kept-alive connections stay where they landed.) The parent keeps the
sockets open, so the connections that reach a process that died wait in its socket's queue for
the process started in its place rather than being refused.

The parent restarts a process that dies (with a growing delay if it keeps dying), forwards
SIGINT and SIGTERM to all of them, and waits for their clean shutdown (SIGKILL after
``STOP_TIMEOUT_S``); it forwards SIGHUP too, on which each reads the keys file again.

A process's standard input is a pipe from the parent that is never written: when the parent
dies, even by SIGKILL, the pipe closes and the process stops itself, so no server outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time

from graphready.config import Settings, settings_to_env
from graphready.settings_spec import ENV_PREFIX

from .run import listen
from .shared import SharedFolder

log = logging.getLogger("graphready.server")

STOP_TIMEOUT_S = 30.0
"""How long a process may take to stop (its build workers included) before SIGKILL."""
RESTART_DELAY_S = (1.0, 30.0)
"""The first and the longest delay before a process that died is started again."""
HEALTHY_S = 30.0
"""A process that ran this long before dying is restarted after the first delay again."""


class WorkerProcess:
    """Server process ``index`` of ``count``, kept running until :meth:`stop`."""

    def __init__(self, settings: Settings, sock: socket.socket, index: int, count: int) -> None:
        self.index = index
        self._settings = settings
        self._sock = sock
        self._count = count
        self._proc: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self.restarts = 0

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        env.update(settings_to_env(self._settings))
        return env

    async def _spawn(self) -> asyncio.subprocess.Process:
        fd = self._sock.fileno()
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "graphready.server.child", "--fd", str(fd),
            "--index", str(self.index), "--count", str(self._count),
            env=self._env(), stdin=asyncio.subprocess.PIPE, pass_fds=(fd,))

    async def keep_running(self) -> None:
        """Run the process; start it again whenever it dies, until :meth:`stop`."""
        delay = RESTART_DELAY_S[0]
        while not self._stopping.is_set():
            started = time.monotonic()
            self._proc = await self._spawn()
            log.info("worker %d started (pid %d)", self.index, self._proc.pid)
            code = await self._proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_S:
                delay = RESTART_DELAY_S[0]
            log.error("worker %d (pid %d) exited with status %s; starting it again in %.0f s",
                      self.index, self._proc.pid, code, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(2 * delay, RESTART_DELAY_S[1])
            self.restarts += 1

    def forward(self, sig: int) -> None:
        """Send ``sig`` to the process, if it is running."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    async def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Ask the process to stop with ``sig``, wait for it (SIGKILL after the timeout); its
        exit status (None if it was not running)."""
        self._stopping.set()
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return None if proc is None else proc.returncode
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            return await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("worker %d (pid %d) did not stop in %.0f s; killing it", self.index,
                        proc.pid, STOP_TIMEOUT_S)
            proc.kill()
            return await proc.wait()


def _forward(workers: list[WorkerProcess], sig: int) -> None:
    for worker in workers:
        worker.forward(sig)


async def serve_workers(settings: Settings) -> int:
    """Serve with ``settings.workers`` processes until SIGINT or SIGTERM; 0 when every
    process stopped cleanly."""
    count = settings.workers
    first = listen(settings.host, settings.port, reuse_port=True)
    port = first.getsockname()[1]  # the port chosen, when the setting was 0
    socks = [first, *(listen(settings.host, port, reuse_port=True) for _ in range(count - 1))]
    SharedFolder(settings.data_dir).reset()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    workers = [WorkerProcess(settings, sock, i, count) for i, sock in enumerate(socks)]
    if settings.keys_file is not None:  # each process reads the keys file again
        loop.add_signal_handler(signal.SIGHUP, _forward, workers, signal.SIGHUP)
    host = first.getsockname()[0]
    log.info("serving on http://%s:%s with %d processes (pid %d supervises)", host, port,
             count, os.getpid())
    tasks = [asyncio.create_task(w.keep_running(), name=f"worker-{w.index}") for w in workers]
    try:
        await stop.wait()
        log.info("stopping %d server processes", count)
        codes = await asyncio.gather(*(w.stop() for w in workers))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in socks:
            sock.close()
    failed = [(w.index, c) for w, c in zip(workers, codes, strict=True) if c not in (0, None)]
    for index, code in failed:
        log.error("worker %d exited with status %s", index, code)
    log.info("server stopped")
    return 1 if failed else 0
