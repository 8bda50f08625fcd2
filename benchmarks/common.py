"""Helpers the benchmark scripts share (run them as ``python benchmarks/NAME.py``, which puts
this folder on the import path)."""

from __future__ import annotations

import socket


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
