"""The kill matrix: SIGKILL of a build worker, and separately of the server, at every point of
the build (``GRAPHREADY_KILL_AT``, ``indexing/faults.py``), with chat asked throughout; then the
retry (``POST /build`` after a worker was killed, a restart after the server was), and the
index compared with one built without a kill (``tests/support/digest.py``). Prints a table.

    .venv/bin/python benchmarks/faults.py [--passages 300] [--victims worker server]
                                          [--points documents vectors ...]

Chat is a client thread asking the needle question every 0.2 s from the server's start to the
end of the retry: answers, 503 ``not_ready`` (nothing indexed yet: a fresh build's first
seconds, or a kill before the keyword index exists), refused connections while a killed server
is down, and any other outcome (an error).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from common import ROOT

sys.path.insert(0, str(ROOT / "tests"))

from graphready.config import KILL_POINTS
from support.corpus import NEEDLE, NEEDLE_QUESTION, write_corpus
from support.digest import index_digest, reference_digest
from support.server import ServerProcess

# One client address stands for many users here: no per-client rate limit or share.
ENV = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_CHAT_RATE_PER_MINUTE": "0",
       "GRAPHREADY_CHAT_SLOTS_PER_CLIENT": "10000"}
TIMEOUT = 600.0


class Asker:
    """Asks the needle question every 0.2 s of whichever server is current."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.outcomes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=30.0) as client:
            while not self._stop.wait(0.2):
                if self.url is None:
                    continue
                self.outcomes[self._ask(client, self.url)] += 1

    @staticmethod
    def _ask(client: httpx.Client, url: str) -> str:
        try:
            response = client.post(f"{url}/chat", json={"message": NEEDLE_QUESTION})
        except httpx.TransportError:
            return "down"
        if response.status_code == 503 and response.json()["error"]["code"] == "not_ready":
            return "not_ready"
        if response.status_code != 200:
            return f"error {response.status_code}"
        cited = any(c["id"] == NEEDLE["id"] for c in response.json()["citations"])
        return "answered" if cited else "error: needle not cited"

    def stop(self) -> Counter[str]:
        self._stop.set()
        self._thread.join()
        return self.outcomes


def built(server: ServerProcess) -> bool:
    status = server.status()
    return bool(status["graphrag_ready"]) and not status["building"] and all(
        s["state"] == "done" for s in status["stages"].values())


def stage_of(point: str) -> str:
    return point.split(".", 1)[0]


def one_run(docs: Path, data: Path, point: str, victim: str) -> dict[str, object]:
    """Kill at ``point``, retry, and say what happened."""
    kill_at = point if victim == "worker" else f"{point}:server"
    asker = Asker()
    server = ServerProcess(docs, data, {**ENV, "GRAPHREADY_KILL_AT": kill_at})
    servers = [server]
    began = time.monotonic()
    try:
        if victim == "server":
            server.wait_listening(60.0)
            asker.url = server.url
            server.proc.wait(TIMEOUT)
            killed = time.monotonic() - began
            server.kill()
            server = ServerProcess(docs, data, ENV)
            servers.append(server)
            asker.url = server.url
            server.wait_listening(60.0)
            half_built_loaded = bool(server.status()["graphrag_ready"]) and point != "graph.done"
        else:
            stage = stage_of(point)
            server.wait_listening(60.0)
            asker.url = server.url
            server.wait_until(lambda: server.status()["stages"][stage]["state"] == "failed",
                              TIMEOUT, f"the killed {stage} worker")
            killed = time.monotonic() - began
            server.wait_until(lambda: not server.status()["building"], TIMEOUT,
                              "the other stage")  # vectors and graph run side by side
            half_built_loaded = False
            assert server.client.post("/build").json()["started"]
        retried = time.monotonic()
        server.wait_until(lambda: built(server), TIMEOUT, "the build after the kill")
        recovered = time.monotonic() - retried
        counts = server.status()["counts"]
        chat = asker.stop()
        assert server.stop() == 0
    finally:
        for each in servers:
            each.kill()
    fired = (data / "kill-at.fired").read_text().split(" ", 1)[0] if (
        data / "kill-at.fired").exists() else "did not fire"
    return {"killed_s": killed, "recovered_s": recovered, "chat": chat,
            "digest": index_digest(data), "counts": counts, "fired": fired,
            "half_built_loaded": half_built_loaded}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--victims", nargs="+", default=["worker", "server"],
                        choices=["worker", "server"])
    parser.add_argument("--points", nargs="+", default=list(KILL_POINTS), choices=KILL_POINTS)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="graphready-faults-"))
    docs = root / "docs"
    write_corpus(docs, passages=args.passages)
    expected = reference_digest(docs, root / "reference", ENV)
    print(f"{args.passages + 1} passages, hashing embedder; reference digest {expected}\n")
    print("| victim | killed at | fired | killed after (s) | retry built in (s) | chat: answered"
          " / not ready / down / errors | index equal | half-built graph loaded |")
    print("|---|---|---|---|---|---|---|---|")
    failures = 0
    for victim in args.victims:
        for point in args.points:
            data = root / f"data-{victim}-{point}"
            run = one_run(docs, data, point, victim)
            chat = run["chat"]
            assert isinstance(chat, Counter)
            errors = sum(n for k, n in chat.items()
                         if k not in ("answered", "not_ready", "down"))
            equal = run["digest"] == expected
            failures += errors + (not equal) + bool(run["half_built_loaded"])
            print(f"| {victim} | {point} | {run['fired']} | {run['killed_s']:.1f} | "
                  f"{run['recovered_s']:.1f} | {chat['answered']} / {chat['not_ready']} / "
                  f"{chat['down']} / {errors} | {'yes' if equal else 'NO'} | "
                  f"{'YES' if run['half_built_loaded'] else 'no'} |", flush=True)
            if not equal:
                print(f"    differs: {run['digest']}")
            shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    print(f"\n{failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
