"""Graph API benchmark on the 2Wiki corpus, against a real ``graphready serve``:

- ``GET /graph/export?format=graphml``: the server's peak memory growth (RSS, sampled every
  5 ms) while it streams the whole graph, and whether NetworkX reads the file back with the
  node and edge counts ``/status`` reports (target: growth under 50 MiB);
- ``GET /graph/subgraph`` latency, client-side over loopback, for the 100 highest-degree
  entities, ``hops=1`` and ``hops=2``, ``limit=100`` (target: p95 under 50 ms).

    .venv/bin/python benchmarks/graph_api.py [--data-dir DIR] [--corpus CORPUS.jsonl]

The index is built first if DIR holds none (the graph stage takes minutes; the hashing embedder
is used, since dense vectors play no part here); a built DIR is reused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import networkx as nx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.server import ServerProcess  # noqa: E402

CORPUS = ROOT.parent / "shared/data/2wikimultihopqa_hipporag/corpus.jsonl"
ENV = {"GRAPHREADY_EMBEDDER": "hashing"}
MIB = 1024 * 1024


def build(docs: Path, data: Path) -> None:
    """``graphready index`` unless ``data`` already holds a built graph."""
    if (data / "index" / "graph.db").exists():
        print(f"reusing the index in {data}")
        return
    print(f"building the index of {docs} in {data} (minutes)...", flush=True)
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHREADY_")}
    subprocess.run([sys.executable, "-m", "graphready.cli", "index", str(docs), "--data-dir",
                    str(data)], check=True, env={**env, **ENV}, stdout=subprocess.DEVNULL)
    print(f"index built in {time.perf_counter() - started:.0f} s")


class PeakRss:
    """Samples a process's resident memory in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int, every_s: float = 0.005) -> None:
        self._process = psutil.Process(pid)
        self._every = every_s
        self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self._every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def export_memory(server: ServerProcess, out: Path) -> dict[str, Any]:
    """Stream the GraphML export to ``out`` twice; the larger growth of the two."""
    growths = []
    seconds = 0.0
    for _ in range(2):
        before = psutil.Process(server.proc.pid).memory_info().rss
        started = time.perf_counter()
        with PeakRss(server.proc.pid) as sampler, out.open("wb") as sink, \
                server.client.stream("GET", "/graph/export", params={"format": "graphml"},
                                     timeout=600) as response:
            assert response.status_code == 200, response.read()
            for piece in response.iter_bytes():
                sink.write(piece)
        seconds = time.perf_counter() - started
        growths.append((sampler.peak - before) / MIB)
    return {"growth_mib": max(growths), "runs_mib": [round(g, 1) for g in growths],
            "seconds": seconds, "bytes": out.stat().st_size,
            "rss_mib": psutil.Process(server.proc.pid).memory_info().rss / MIB}


def subgraph_latency(server: ServerProcess, ids: list[str], hops: int, limit: int,
                     rounds: int = 3) -> dict[str, float]:
    """Milliseconds per ``GET /graph/subgraph`` over ``ids``, ``rounds`` times (one warm-up
    round first), and the sizes returned."""
    for entity in ids:
        server.client.get("/graph/subgraph", params={"entity": entity, "hops": hops,
                                                     "limit": limit})
    times, nodes = [], []
    for _ in range(rounds):
        for entity in ids:
            started = time.perf_counter()
            response = server.client.get("/graph/subgraph", params={
                "entity": entity, "hops": hops, "limit": limit})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            nodes.append(len(response.json()["nodes"]))
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1],
            "max_ms": times[-1], "mean_nodes": statistics.mean(nodes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-graph-api-"))
    docs = work / "docs"
    docs.mkdir()
    shutil.copy(args.corpus, docs / args.corpus.name)
    data = args.data_dir or work / "data"
    build(docs, data)
    server = ServerProcess(docs, data, ENV)
    try:
        server.wait_listening()
        server.wait_until(lambda: server.status()["graphrag_ready"], 600, "the graph to load")
        counts = server.status()["counts"]
        print(f"graph: {counts['entities']:,} entities, {counts['relations']:,} relations, "
              f"{counts['communities']:,} communities")
        memory = export_memory(server, work / "graph.graphml")
        graph = nx.read_graphml(work / "graph.graphml")
        same = (graph.number_of_nodes(), graph.number_of_edges()) == (
            counts["entities"], counts["relations"])
        print(f"export: {memory['bytes'] / MIB:.1f} MiB GraphML in {memory['seconds']:.1f} s; "
              f"server RSS {memory['rss_mib']:.0f} MiB, peak growth while streaming "
              f"{memory['growth_mib']:.1f} MiB (runs {memory['runs_mib']}; target < 50)")
        print(f"networkx reads {graph.number_of_nodes():,} nodes and "
              f"{graph.number_of_edges():,} edges: "
              f"{'the same as' if same else 'DIFFERENT FROM'} /status")
        top = server.client.get("/graph/entities", params={"limit": 100}).json()["entities"]
        ids = [e["id"] for e in top]
        print(f"subgraph of the {len(ids)} highest-degree entities (degrees "
              f"{top[-1]['degree']}..{top[0]['degree']}), limit {args.limit}:")
        for hops in (1, 2):
            found = subgraph_latency(server, ids, hops, args.limit)
            print(f"  hops={hops}: p50 {found['p50_ms']:.1f} ms, p95 {found['p95_ms']:.1f} ms,"
                  f" max {found['max_ms']:.1f} ms (target p95 < 50), "
                  f"{found['mean_nodes']:.0f} nodes on average")
    finally:
        server.stop()
        if args.data_dir is None:
            print(f"(the index is kept in {data}; pass --data-dir to reuse it)")


if __name__ == "__main__":
    main()
