"""A soak: one server under mixed work for ``--minutes`` (30 for the real thing): chat clients,
a ``/status`` poller, documents added (``POST /documents``) and deleted (``DELETE``) in turn,
and a ``POST /build`` every ``--rebuild-s`` seconds. Every ``--sample-s`` seconds it records the
server's memory (RSS, and its build workers'), its open files and threads; at the end it
prints those samples, each kind of request's count, p50/p99 and errors, and whether memory
and open files stayed flat (the last third of the run against the first third).

    .venv/bin/python benchmarks/soak.py --minutes 30 [--passages 1000] [--chat-clients 2]

An error is any response other than 2xx, except 503 ``not_ready`` before the first index (none
expected after it), and any transport failure. The server uses the hashing embedder, so the
run measures the server, not the embedding model.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import psutil

from common import ROOT, percentile
from graphready.retrieval.modes import MODES

sys.path.insert(0, str(ROOT / "tests"))

import contextlib

from support.corpus import NEEDLE_QUESTION, write_corpus
from support.digest import index_digest, reference_digest
from support.server import ServerProcess

QUESTIONS = (NEEDLE_QUESTION, "Who studied astronomy in Lisbon?", "What are the main themes?",
             "Where was Clara Northcott born?", "Which institution did Hugo Everhart join?")
# One client address stands for many users here: no per-client rate limit or share.
ENV = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_CHAT_RATE_PER_MINUTE": "0",
       "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": "10000"}


class Load:
    """The client threads and what they saw."""

    def __init__(self, url: str, seconds: float, rebuild_s: float) -> None:
        self.url = url
        self.until = time.monotonic() + seconds
        self.rebuild_s = rebuild_s
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self._lock = threading.Lock()

    def _record(self, kind: str, began: float, outcome: str) -> None:
        with self._lock:
            self.latency[kind].append(time.monotonic() - began)
            self.outcomes[kind][outcome] += 1

    def _call(self, client: httpx.Client, kind: str, method: str, path: str,
              **kwargs: object) -> httpx.Response | None:
        began = time.monotonic()
        try:
            response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            self._record(kind, began, f"transport {type(exc).__name__}")
            return None
        outcome = "ok" if response.is_success else f"{response.status_code}"
        if response.status_code == 503 and response.json()["error"]["code"] == "not_ready":
            outcome = "not_ready"
        self._record(kind, began, outcome)
        return response

    def chat(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.url, timeout=60.0) as client:
            while time.monotonic() < self.until:
                body: dict[str, object] = {"message": rng.choice(QUESTIONS),
                                           "mode": rng.choice(MODES)}
                if rng.random() < 0.2:
                    body["stream"] = True
                self._call(client, "chat", "POST", "/chat", json=body)

    def status(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            while time.monotonic() < self.until:
                self._call(client, "status", "GET", "/status")
                time.sleep(0.25)

    def documents(self) -> None:
        """Add a document, wait, delete it, wait; a rebuild every ``rebuild_s``."""
        with httpx.Client(base_url=self.url, timeout=60.0) as client:
            n = 0
            last_build = time.monotonic()
            while time.monotonic() < self.until:
                doc_id = f"soak-{n:05d}"
                text = (f"The Soak Tower number {n} was raised in Lisbon by the engineer "
                        f"Ada Soakwright in {1900 + n % 100}.")
                self._call(client, "documents", "POST", "/documents",
                           json={"documents": [{"id": doc_id, "title": f"Soak {n}",
                                                "text": text}]})
                time.sleep(3.0)
                self._call(client, "documents", "DELETE", f"/documents/{doc_id}")
                time.sleep(3.0)
                n += 1
                if time.monotonic() - last_build > self.rebuild_s:
                    self._call(client, "build", "POST", "/build")
                    last_build = time.monotonic()


def sample(proc: psutil.Process) -> dict[str, float]:
    """The server's RSS (MiB), its build workers' RSS, open files, connections and threads."""
    with proc.oneshot():
        rss = proc.memory_info().rss / 2**20
        fds = proc.num_fds()
        threads = proc.num_threads()
    workers = 0.0
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            workers += child.memory_info().rss / 2**20
    return {"rss": rss, "workers": workers, "fds": fds, "threads": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--chat-clients", type=int, default=2)
    parser.add_argument("--rebuild-s", type=float, default=60.0)
    parser.add_argument("--sample-s", type=float, default=10.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="graphready-soak-"))
    docs = root / "docs"
    write_corpus(docs, passages=args.passages)
    server = ServerProcess(docs, root / "data", ENV)
    try:
        server.wait_listening(60.0)
        server.wait_until(lambda: not server.status()["building"]
                          and server.status()["graphrag_ready"], 900.0, "the first build")
        run(server, args)
        server.wait_until(lambda: not server.status()["building"], 900.0, "the last build")
        assert server.client.post("/build").json()["started"]  # the changes of the last seconds
        server.wait_until(lambda: not server.status()["building"], 900.0, "the final build")
        assert server.stop() == 0
        equal = index_digest(root / "data") == reference_digest(docs, root / "reference", ENV)
        print(f"index equal to an uninterrupted build of what remains: {'yes' if equal else 'NO'}")
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


def run(server: ServerProcess, args: argparse.Namespace) -> None:
    proc = psutil.Process(server.proc.pid)
    load = Load(server.url, args.minutes * 60, args.rebuild_s)
    threads = [threading.Thread(target=load.chat, args=(i,)) for i in range(args.chat_clients)]
    threads += [threading.Thread(target=load.status), threading.Thread(target=load.documents)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    samples: list[tuple[float, dict[str, float]]] = []
    print("| s | server RSS MiB | build workers RSS MiB | open files | threads |")
    print("|---|---|---|---|---|")
    while any(t.is_alive() for t in threads):
        now = sample(proc)
        samples.append((time.monotonic() - began, now))
        print(f"| {samples[-1][0]:.0f} | {now['rss']:.1f} | {now['workers']:.1f} | "
              f"{now['fds']:.0f} | {now['threads']:.0f} |", flush=True)
        time.sleep(args.sample_s)
    for thread in threads:
        thread.join()
    report(load, samples, args.minutes)


def report(load: Load, samples: list[tuple[float, dict[str, float]]], minutes: float) -> None:
    print(f"\n{minutes:g} minutes\n")
    print("| requests | count | p50 ms | p99 ms | outcomes |")
    print("|---|---|---|---|---|")
    errors = 0
    for kind in sorted(load.outcomes):
        outcomes = load.outcomes[kind]
        errors += sum(n for k, n in outcomes.items() if k not in ("ok", "not_ready"))
        print(f"| {kind} | {sum(outcomes.values())} | {percentile(load.latency[kind], 50):.0f}"
              f" | {percentile(load.latency[kind], 99):.0f} | {dict(outcomes)} |")
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    for key in ("rss", "fds", "threads"):
        early = max(s[key] for _, s in first)
        late = max(s[key] for _, s in last)
        print(f"{key}: max in the first third {early:.1f}, in the last third {late:.1f} "
              f"({late - early:+.1f})")
    print(f"\nerrors: {errors}")


if __name__ == "__main__":
    main()
