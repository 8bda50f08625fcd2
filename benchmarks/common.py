"""Helpers the benchmark scripts share (run them as ``python benchmarks/NAME.py``, which puts
this folder on the import path)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
"""The repository (its ``.venv`` runs the servers)."""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values`` given in seconds, in milliseconds;
    NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return 1000 * ordered[index]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A ``graphready serve DOCS --data-dir DATA`` process on a free port (its log in ``log``),
    its start time, and a sampler of peak RSS in MiB (every 0.1 s): ``peak_mib["server"]``,
    ``peak_mib["build"]`` (all its children together at one instant) and one key per build
    worker stage (``documents``, ``vectors``, ``graph``; ``other`` for any other child), and
    CPU seconds (user + sys, the last sample before each process ended) under the same keys in
    ``cpu_s`` (``server`` is the server process alone). ``args`` are more flags of ``serve``
    and ``env`` more settings (``GRAPHREADY_*``) for it."""

    def __init__(self, docs: Path, data: Path, log: Path, args: Sequence[str] = (),
                 env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = dict(env or {})
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
        # One client address stands for many users here: no per-client rate limit or share.
        env.update({"GRAPHREADY_CHAT_RATE_PER_MINUTE": "0",
                    "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": "10000", **settings})
        self.started = time.monotonic()
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/graphready"), "serve", str(docs), "--data-dir", str(data),
             "--port", str(self.port), *args], stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.peak_mib: dict[str, float] = {"server": 0.0, "build": 0.0}
        self.cpu_s: dict[str, float] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        me = psutil.Process(self.proc.pid)
        stages: dict[int, str] = {}
        while not self._stop.is_set():
            try:
                self._bump("server", me.memory_info().rss)
                self.cpu_s["server"] = sum(me.cpu_times()[:2])
                together = 0
                for child in me.children(recursive=True):
                    if child.pid not in stages:
                        argv = child.cmdline()
                        module = "graphready.indexing.worker"  # then STAGE [--held]
                        stages[child.pid] = argv[argv.index(module) + 1] if module in argv \
                            else "other"
                    rss = child.memory_info().rss
                    self.cpu_s[stages[child.pid]] = sum(child.cpu_times()[:2])
                    together += rss
                    self._bump(stages[child.pid], rss)
                self._bump("build", together)
            except psutil.Error:
                pass
            time.sleep(0.1)

    def _bump(self, key: str, rss: int) -> None:
        self.peak_mib[key] = max(self.peak_mib.get(key, 0.0), rss / 2**20)

    def worker_peaks_mib(self) -> dict[str, float]:
        """The peak of each build worker stage alone."""
        return {k: v for k, v in self.peak_mib.items() if k not in ("server", "build")}

    def rss_mib(self) -> float:
        """The server process's RSS now."""
        return float(psutil.Process(self.proc.pid).memory_info().rss / 2**20)

    def since_start(self) -> float:
        """Seconds since the process was started."""
        return time.monotonic() - self.started

    def stop(self) -> None:
        """SIGTERM, wait for the exit, stop sampling."""
        self.proc.terminate()
        self.proc.wait(120)
        self._stop.set()
        self._log.close()
