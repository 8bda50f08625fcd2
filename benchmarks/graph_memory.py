"""Where the server's memory goes once a graph is loaded: the RSS added by each step of
``retrieval/loading.py``'s ``load_graph`` (reading the stored knowledge graph into Python
objects, the graph-local index, the community index, the graph API's view), and the
allocation sites that hold the most (tracemalloc), on a data dir that a build completed.

    .venv/bin/python benchmarks/graph_memory.py --data-dir DIR [--top 12]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil


def rss_mib() -> float:
    """RSS after a collection and with the C heap's free pages returned, as the server does
    after a load (``graphready.heap``)."""
    from graphready.heap import release_free_memory

    gc.collect()
    release_free_memory()
    return float(psutil.Process().memory_info().rss / 2**20)


def measure(label: str, step: Callable[[], Any], rows: list[tuple[str, float, float]]) -> Any:
    """Run ``step``; record the RSS and the traced bytes it added."""
    before_rss, (before_traced, _) = rss_mib(), tracemalloc.get_traced_memory()
    result = step()
    after_rss, (after_traced, _) = rss_mib(), tracemalloc.get_traced_memory()
    rows.append((label, after_rss - before_rss, (after_traced - before_traced) / 2**20))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--no-trace", action="store_true", help="RSS only (tracing costs RSS)")
    args = parser.parse_args()
    from graphready.config import load_settings
    from graphready.explore.view import GraphView
    from graphready.retrieval.graph_global import CommunityIndex
    from graphready.retrieval.graph_local import GraphIndex
    from graphready.stores.registry import open_stores

    settings = load_settings({"GRAPHREADY_DATA_DIR": str(args.data_dir)})
    stores = open_stores(settings)
    start = rss_mib()
    if not args.no_trace:
        tracemalloc.start(1)
    rows: list[tuple[str, float, float]] = []
    graph = measure("stored graph -> KnowledgeGraph", stores.graph.load_graph, rows)
    if graph is None:
        print("no completed graph in this data dir", file=sys.stderr)
        return 1
    chunks = measure("catalog chunks (titles, docs)",
                     lambda: [(c.id, c.title, c.doc_id) for c in stores.catalog.iter_chunks()],
                     rows)
    titles: dict[str, list[str]] = {}
    for chunk_id, title, _ in chunks:
        titles.setdefault(title, []).append(chunk_id)
    measure("GraphIndex (graph-local)", lambda: GraphIndex(graph, titles), rows)
    measure("CommunityIndex", lambda: CommunityIndex(graph.communities), rows)
    measure("GraphView (graph API)",
            lambda: GraphView(graph, {c: d for c, _, d in chunks}), rows)
    snapshot = None if args.no_trace else tracemalloc.take_snapshot()
    print(f"{len(graph.entities):,} entities, {len(graph.relations):,} relations, "
          f"{len(graph.communities):,} communities, {len(chunks):,} chunks")
    print(f"RSS after opening the stores: {start:.0f} MiB")
    print(f"{'step':34s} {'RSS MiB':>8s} {'traced MiB':>11s}")
    for label, rss, traced in rows:
        print(f"{label:34s} {rss:8.1f} {traced:11.1f}")
    print(f"{'total':34s} {sum(r[1] for r in rows):8.1f} {sum(r[2] for r in rows):11.1f}")
    if snapshot is not None:
        print("\nlargest allocation sites (MiB, blocks):")
        for stat in snapshot.statistics("lineno")[: args.top]:
            frame = stat.traceback[0]
            print(f"  {stat.size / 2**20:7.1f} {stat.count:9,d}  {frame.filename}:{frame.lineno}")
    stores.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
