"""Many slow clients against one server: half send their request headers a byte every 0.5 s
(they never finish), half send their headers at once and then only part of the body. Meanwhile
one client asks ``/status`` and ``/chat`` in turn; it prints their latencies with and without
the slow clients, and when and how each slow connection ended (closed by the server, or a 408).

    .venv/bin/python benchmarks/slow_clients.py [--clients 1000] [--body-timeout-s 30]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from common import ROOT, percentile

sys.path.insert(0, str(ROOT / "tests"))

from support.corpus import NEEDLE_QUESTION, write_corpus
from support.server import ServerProcess

# One client address stands for many users here: no per-client rate limit or share.
UNLIMITED = {"GRAPHREADY_CHAT_RATE_PER_MINUTE": "0", "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": "10000"}
HEAD = (b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n")


def dribble(port: int, out: list[tuple[str, float]]) -> None:
    began = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120.0) as conn:
            for byte in HEAD:
                conn.sendall(bytes([byte]))
                time.sleep(0.5)
            out.append(("headers: never closed", time.monotonic() - began))
    except OSError:
        out.append(("headers: closed by the server", time.monotonic() - began))


def stall(port: int, out: list[tuple[str, float]]) -> None:
    began = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120.0) as conn:
            conn.sendall(HEAD + b'{"mess')
            reply = b""
            while chunk := conn.recv(4096):
                reply += chunk
        status = reply.split(b"\r\n", 1)[0].decode() or "closed"
        out.append((f"body: {status.strip()}", time.monotonic() - began))
    except OSError as exc:
        out.append((f"body: {type(exc).__name__}", time.monotonic() - began))


def probe(url: str, seconds: float) -> tuple[list[float], list[float], Counter[str]]:
    """``/status`` and ``/chat`` latencies for ``seconds``, and their outcomes."""
    status_s: list[float] = []
    chat_s: list[float] = []
    outcomes: Counter[str] = Counter()
    until = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=30.0) as client:
        while time.monotonic() < until:
            for path, into in (("/status", status_s), ("/chat", chat_s)):
                began = time.monotonic()
                try:
                    response = (client.get(path) if path == "/status" else
                                client.post(path, json={"message": NEEDLE_QUESTION}))
                    outcomes[f"{path} {response.status_code}"] += 1
                except httpx.TransportError as exc:
                    outcomes[f"{path} {type(exc).__name__}"] += 1
                into.append(time.monotonic() - began)
            time.sleep(0.1)
    return status_s, chat_s, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--body-timeout-s", type=int, default=30)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="graphready-slow-"))
    write_corpus(root / "docs", passages=200)
    server = ServerProcess(root / "docs", root / "data", {
        "GRAPHREADY_EMBEDDER": "hashing", **UNLIMITED,
        "GRAPHREADY_BODY_TIMEOUT_S": str(args.body_timeout_s)})
    try:
        server.wait_listening(60.0)
        server.wait_until(lambda: not server.status()["building"], 600.0, "the build")
        quiet = probe(server.url, 5.0)
        ended: list[tuple[str, float]] = []
        threads = [threading.Thread(target=dribble if i % 2 else stall,
                                    args=(server.port, ended), daemon=True)
                   for i in range(args.clients)]
        for thread in threads:
            thread.start()
        loaded = probe(server.url, args.body_timeout_s + 10.0)
        for thread in threads:
            thread.join(120.0)
        assert server.stop() == 0
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.clients} slow clients, GRAPHREADY_BODY_TIMEOUT_S={args.body_timeout_s}\n")
    print("| | /status p50 / p99 ms | /chat p50 / p99 ms | outcomes |")
    print("|---|---|---|---|")
    for name, (status_s, chat_s, outcomes) in (("alone", quiet), ("with slow clients", loaded)):
        print(f"| {name} | {percentile(status_s, 50):.1f} / {percentile(status_s, 99):.1f} | "
              f"{percentile(chat_s, 50):.1f} / {percentile(chat_s, 99):.1f} | {dict(outcomes)} |")
    print("\n| slow connection | count | ended after s (min / max) |")
    print("|---|---|---|")
    for kind in sorted({k for k, _ in ended}):
        seconds = [s for k, s in ended if k == kind]
        print(f"| {kind} | {len(seconds)} | {min(seconds):.1f} / {max(seconds):.1f} |")


if __name__ == "__main__":
    main()
