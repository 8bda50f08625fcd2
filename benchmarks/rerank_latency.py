"""What a reranker adds to each question's latency, apart from the model itself: `POST /chat`
(auto mode, top_k 5) on one served data dir, without a reranker, then with
`GRAPHREADY_RERANK_URL` pointing at the scripted rerank server of the tests (word overlap, no
model: it answers in well under a millisecond), so the difference is graphready's own cost of
reranking (reading the candidates' text, the request and reply, the hand-over to the event
loop) plus one loopback HTTP exchange. A real cross-encoder adds its own inference time
on top (tens of milliseconds for 20 passages on a GPU server; more on a CPU).

The corpus is the tests' generated biographies (hashing embedder, so it builds in seconds);
each run asks the same Q questions ("Where was NAME born?", one per person) after W warm-up
questions, in turn, one at a time, and prints each configuration's median and p95 latency, the
difference of the medians, and the reranker's own mean time from `/status`.

    .venv/bin/python benchmarks/rerank_latency.py [--passages 300] [--questions 60]
                                                  [--candidates 20] [--warmup 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, percentile

sys.path.insert(0, str(ROOT / "tests"))

from support.corpus import write_corpus
from support.rerank_server import RerankServer
from support.server import ServerProcess


def questions(corpus: Path, count: int) -> list[str]:
    """One question per person of the corpus, up to ``count``."""
    names = [json.loads(line)["title"] for line in corpus.read_text("utf-8").splitlines()]
    people = [n for n in dict.fromkeys(names) if n != "Zephyr Lighthouse"]
    return [f"Where was {name} born?" for name in people[:count]]


def timed(server: ServerProcess, asked: list[str], warmup: int) -> list[float]:
    """Seconds of each ``POST /chat`` after ``warmup`` untimed ones."""
    for question in asked[:warmup]:
        server.chat(question, top_k=5)
    out = []
    for question in asked:
        start = time.perf_counter()
        response = server.chat(question, top_k=5)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return out


def serve(docs: Path, data: Path, env: dict[str, str]) -> ServerProcess:
    server = ServerProcess(docs, data, {"GRAPHREADY_EMBEDDER": "hashing",
                                        "GRAPHREADY_CHAT_RATE_PER_MINUTE": "0", **env})
    server.wait_listening(120)
    server.wait_until(lambda: server.status()["graphrag_ready"], 600, "the graph")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, RerankServer() as reranker:
        root = Path(tmp)
        corpus = write_corpus(root / "docs", args.passages)
        asked = questions(corpus, args.questions)
        results: dict[str, list[float]] = {}
        status: dict[str, object] = {}
        for name, env in (("fused order", {}), ("scripted reranker", {
                "GRAPHREADY_RERANK_URL": reranker.url,
                "GRAPHREADY_RERANK_CANDIDATES": str(args.candidates)})):
            server = serve(root / "docs", root / "data", env)
            try:
                results[name] = timed(server, asked, args.warmup)
                status = server.status().get("reranker") or status
            finally:
                server.stop()
    load = os.getloadavg()
    print(f"{args.passages + 1} passages, {len(asked)} questions each, top_k 5, "
          f"{args.candidates} candidates; load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f} (a shared machine)")
    for name, seconds in results.items():
        print(f"{name:18} median {1000 * statistics.median(seconds):7.1f} ms   "
              f"p95 {percentile(seconds, 95):7.1f} ms")
    base, reranked = (statistics.median(s) for s in results.values())
    print(f"difference of the medians: {1000 * (reranked - base):+.1f} ms "
          f"({reranked / base:.2f}x); the reranker's own mean (/status mean_ms, "
          f"{status.get('reranked')} calls, {status.get('skipped')} skipped): "
          f"{status.get('mean_ms')} ms")


if __name__ == "__main__":
    main()
