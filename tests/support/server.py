"""A real ``graphready serve`` subprocess on a free loopback port, and an HTTP client for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """``graphready serve DOCS --data-dir DATA`` as a subprocess; its log goes to a file.
    ``docs=None`` serves uploaded documents only; ``args`` are more command-line flags."""

    def __init__(self, docs: Path | None, data: Path, env: Mapping[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data.parent / f"server-{self.port}.log"
        data.mkdir(parents=True, exist_ok=True)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
        full_env.update(env or {})
        self._log = self.log_path.open("wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphready.cli", "serve",
             *([str(docs)] if docs is not None else []), "--data-dir", str(data),
             "--port", str(self.port), *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=full_env,
        )
        self.client = httpx.Client(base_url=self.url, timeout=30.0)

    def log(self) -> str:
        """Everything the server has logged so far."""
        return self.log_path.read_text("utf-8", "replace")

    def wait_until(self, check: Callable[[], bool], timeout: float, what: str) -> float:
        """Poll ``check`` until true; the seconds it took. Fails with the log on timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited ({self.proc.returncode}) while waiting for "
                                     f"{what}:\n{self.log()[-4000:]}")
            try:
                if check():
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}:\n"
                             f"{self.log()[-4000:]}")

    def wait_listening(self, timeout: float = 30.0) -> float:
        """Wait for ``/health`` to answer 200."""
        return self.wait_until(lambda: self.client.get("/health").status_code == 200, timeout,
                               "the server to listen")

    def status(self) -> dict[str, Any]:
        """``GET /status`` as JSON."""
        response = self.client.get("/status")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def chat(self, message: str, **extra: Any) -> httpx.Response:
        """``POST /chat``."""
        return self.client.post("/chat", json={"message": message, **extra})

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            self.client.close()
            self._log.close()
        return code

    def kill(self) -> None:
        """Make sure the process is gone (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.client.close()
        self._log.close()
