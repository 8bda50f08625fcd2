"""A warm server's memory: a real ``graphready serve`` on a data dir that a build completed,
its RSS once the graph and the vectors are loaded, after questions through ``/chat`` (the
question embedder runs), and the chat latency; the build worker must find nothing to do.

    .venv/bin/python benchmarks/server_memory.py --docs DOCS --data-dir DIR [--questions N]
        [--clients C] [--repeat R]

``--questions-from`` is a ``questions.dev.jsonl``; ``--clients`` sends the questions from that
many concurrent clients (each request thread holds its own buffers); ``--repeat`` starts the
server that many times and prints each run (RSS varies by a few MiB from run to run).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from common import Server, percentile

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = ROOT.parent / "shared" / "data" / "2wikimultihopqa_hipporag" / \
    "questions.dev.jsonl"


def wait_loaded(server: Server, timeout: float) -> dict[str, object]:
    """The first /status with the graph and the vectors loaded and no build running."""
    client = httpx.Client(base_url=server.url, timeout=30)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status: dict[str, object] = client.get("/status").json()
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        retrieval = status.get("retrieval") or {}
        if status.get("graphrag_ready") and isinstance(retrieval, dict) \
                and retrieval.get("vector_ready") and not status.get("building"):
            return status
        time.sleep(0.2)
    raise TimeoutError("the server did not load the graph and the vectors in time")


def ask(url: str, questions: list[str], seconds: list[float]) -> None:
    client = httpx.Client(base_url=url, timeout=120)
    for question in questions:
        started = time.perf_counter()
        client.post("/chat", json={"message": question}).raise_for_status()
        seconds.append(time.perf_counter() - started)


def run_once(docs: Path, data: Path, questions: list[str], clients: int,
             log: Path) -> dict[str, float]:
    server = Server(docs, data, log)
    try:
        status = wait_loaded(server, timeout=600)
        time.sleep(2)  # let the build worker exit and the loads settle
        loaded = server.rss_mib()
        seconds: list[float] = []
        threads = [threading.Thread(target=ask, args=(server.url, questions[i::clients],
                                                      seconds)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counts = status.get("counts") or {}
        return {"loaded_mib": loaded, "after_questions_mib": server.rss_mib(),
                "peak_mib": server.peak_mib["server"], "chat_p50_ms": percentile(seconds, 50),
                "chat_p95_ms": percentile(seconds, 95),
                "entities": float(counts.get("entities", 0)) if isinstance(counts, dict) else 0,
                "relations": float(counts.get("relations", 0)) if isinstance(counts, dict)
                else 0}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--questions-from", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    questions = [json.loads(line)["question"]
                 for line in args.questions_from.open()][: args.questions]
    with tempfile.TemporaryDirectory(prefix="graphready-server-memory-") as work:
        for run in range(args.repeat):
            result = run_once(args.docs, args.data_dir, questions, args.clients,
                              Path(work) / f"{run}.log")
            print(f"run {run + 1}: {result['entities']:,.0f} entities, "
                  f"{result['relations']:,.0f} relations; server RSS loaded "
                  f"{result['loaded_mib']:.0f} MiB, after {len(questions)} questions "
                  f"from {args.clients} client(s) "
                  f"{result['after_questions_mib']:.0f} MiB (peak {result['peak_mib']:.0f}); "
                  f"chat p50 {result['chat_p50_ms']:.0f} ms, p95 {result['chat_p95_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
