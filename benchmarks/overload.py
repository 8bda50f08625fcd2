"""Overload benchmark: what the chat limits do when more clients ask than the server can answer.
A real `graphready serve` on a generated corpus (or `--docs`), built once; then closed loops of
`POST /chat` from many clients (each on its own kept-alive connection) for a fixed time, twice:
with the in-flight bound off (`GRAPHREADY_MAX_CHATS_IN_FLIGHT` very large: every chat is
admitted and latency grows with the queue), and on (a few slots, a short queue timeout: the
excess is shed with 503 `overloaded`); the clients share one address, which stands for many
users, so the per-client rate limit and share are off there. Then fairness: one API key
looping from `--clients` connections against one other key asking a question at a time, with
the per-client share off and on (the default: a quarter of the slots kept for others). Then
one client over its rate limit. Prints answers/s, latency p50/p99/max of answers and of
refusals, and the counts of each status.

    .venv/bin/python benchmarks/overload.py [--clients 48] [--seconds 20] [--slots 4]
        [--queue-timeout 1] [--rate-only]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from common import free_port, percentile

UNLIMITED = {"GRAPHREADY_CHAT_RATE_PER_MINUTE": "0", "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": "10000"}
KEYS = ("looping-key-0123456789abcdef", "person-key-0123456789abcdef")
QUESTIONS = [f"Where was Person {i} born and who did they study with?" for i in range(50)]


def write_corpus(folder: Path, passages: int) -> None:
    rng = random.Random(5)
    places = "Lisbon Vienna Krakow Dublin Osaka Nairobi Hanoi Quito Oslo Lima".split()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for i in range(passages):
            where, teacher = rng.choice(places), rng.randrange(passages)
            text = (f"Person {i} was born in {where} and studied with Person {teacher}. "
                    f"Person {i} later taught at the {where} Academy of Sciences.")
            out.write(json.dumps({"id": f"p{i}", "title": f"Person {i}", "text": text}) + "\n")


class Server:
    """``graphready serve`` with extra settings, on a data dir built before."""

    def __init__(self, docs: Path, data: Path, settings: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
        env.update({"GRAPHREADY_EMBEDDER": "hashing", **settings})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphready.cli", "serve", str(docs), "--data-dir", str(data),
             "--port", self.url.rsplit(":", 1)[1]], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_built(self, timeout: float = 600, headers: dict[str, str] | None = None) -> None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                status = httpx.get(f"{self.url}/status", timeout=5, headers=headers).json()
                if status["graphrag_ready"] and not status["building"]:
                    return
            except (httpx.TransportError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not finish its build")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def load(url: str, clients: int, seconds: float,
         key: str | None = None) -> dict[int, list[float]]:
    """Closed loops of ``POST /chat`` from ``clients`` threads: latencies per status."""
    results: dict[int, list[float]] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    def client(index: int) -> None:
        rng = random.Random(index)
        with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
            while time.monotonic() < stop_at:
                started = time.monotonic()
                try:
                    status = http.post("/chat", json={"message": rng.choice(QUESTIONS),
                                                      "mode": "retrieval"}).status_code
                except httpx.TransportError:
                    status = 0
                with lock:
                    results.setdefault(status, []).append(time.monotonic() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(name: str, results: dict[int, list[float]], seconds: float) -> None:
    answered = results.get(200, [])
    refused = [t for status, times in results.items() if status != 200 for t in times]
    counts = ", ".join(f"{s}: {len(t)}" for s, t in sorted(results.items()))
    print(f"{name:<46} {len(answered) / seconds:>7.1f} {percentile(answered, 50):>8.0f} "
          f"{percentile(answered, 99):>8.0f} {1000 * max(answered, default=0):>8.0f} "
          f"{percentile(refused, 99):>10.0f}  {counts}")


def fairness(url: str, clients: int, seconds: float) -> tuple[dict[int, list[float]],
                                                              dict[int, list[float]]]:
    """One key looping from ``clients`` threads while another key asks from one: each key's
    latencies per status."""
    results: dict[int, list[float]] = {}

    def person() -> None:
        results.update(load(url, 1, seconds, KEYS[1]))

    thread = threading.Thread(target=person)
    thread.start()
    looping = load(url, clients, seconds, KEYS[0])
    thread.join()
    return looping, results


def rate_limit(url: str, per_minute: int, seconds: float) -> None:
    """One client asking as fast as it can, over its rate limit."""
    statuses: Counter[int] = Counter()
    retry_after: set[str] = set()
    stop_at = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=60) as http:
        while time.monotonic() < stop_at:
            response = http.post("/chat", json={"message": QUESTIONS[0], "mode": "retrieval"})
            statuses[response.status_code] += 1
            if response.status_code == 429:
                retry_after.add(response.headers.get("retry-after", "?"))
    print(f"one client, {per_minute} a minute allowed, {seconds:.0f} s as fast as it can: "
          f"{dict(statuses)}; Retry-After values {sorted(retry_after, key=str)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--queue-timeout", type=int, default=1)
    parser.add_argument("--rate-only", action="store_true", help="only the rate-limit part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="graphready-overload-") as tmp:
        root = Path(tmp)
        docs = args.docs or root / "docs"
        if args.docs is None:
            write_corpus(docs, args.passages)
        configurations: list[tuple[str, dict[str, Any]]] = [
            ("bound off (10,000 in flight)",
             {**UNLIMITED, "GRAPHREADY_MAX_CHATS_IN_FLIGHT": "10000"}),
            (f"bound on ({args.slots} in flight, {args.queue_timeout} s queue)",
             {**UNLIMITED, "GRAPHREADY_MAX_CHATS_IN_FLIGHT": str(args.slots),
              "GRAPHREADY_CHAT_QUEUE_TIMEOUT_S": str(args.queue_timeout)}),
        ]
        print(f"{args.clients} clients, {args.seconds:.0f} s each")
        print(f"{'configuration':<46} {'answers/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'refused p99':>10}  statuses")
        for name, settings in configurations if not args.rate_only else []:
            server = Server(docs, root / "data", settings)
            try:
                server.wait_built()
                report(name, load(server.url, args.clients, args.seconds), args.seconds)
            finally:
                server.stop()
        bound = {"GRAPHREADY_MAX_CHATS_IN_FLIGHT": str(args.slots),
                 "GRAPHREADY_CHAT_QUEUE_TIMEOUT_S": str(args.queue_timeout),
                 "GRAPHREADY_CHAT_RATE_PER_MINUTE": "0", "GRAPHREADY_API_KEY": ",".join(KEYS)}
        print(f"\none key looping from {args.clients} connections, another asking from one "
              f"({args.slots} in flight, {args.queue_timeout} s queue)")
        for name, share in ((f"share off ({args.slots} of {args.slots} to one key)",
                             str(args.slots)),
                            ("share on (default)", "0")) if not args.rate_only else ():
            server = Server(docs, root / "data",
                            {**bound, "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": share})
            try:
                server.wait_built(headers={"Authorization": f"Bearer {KEYS[1]}"})
                looping, person = fairness(server.url, args.clients, args.seconds)
                report(f"{name}: looping key", looping, args.seconds)
                report(f"{name}: the other key", person, args.seconds)
            finally:
                server.stop()
        server = Server(docs, root / "data", {"GRAPHREADY_CHAT_RATE_PER_MINUTE": "60"})
        try:
            server.wait_built()
            rate_limit(server.url, 60, 10)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
