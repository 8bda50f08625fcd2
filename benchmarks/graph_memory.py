"""Where the server's memory goes once a graph is loaded, on a data dir that a build
completed: the RSS added by each part as ``retrieval/loading.py`` built it in memory (the
stored knowledge graph as Python objects, the graph-local index, the community index, the graph
API's view) and the allocation sites that hold the most (tracemalloc); then (``--mapped``)
what ``load_graph`` itself leaves in a process, as the server calls it: the first process of
the machine, which writes the arrays files, and a later one, which maps them (RSS, and USS:
the pages no other process shares). ``--mapped`` removes the data dir's arrays files first.

    .venv/bin/python benchmarks/graph_memory.py --data-dir DIR [--top 12] [--mapped]
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import threading
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
    parser.add_argument("--one-load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mapped", action="store_true",
                        help="load_graph in a first and a later process (RSS, USS, peak)")
    args = parser.parse_args()
    if args.one_load:
        return one_load(args.data_dir)
    if args.mapped:
        return mapped(args.data_dir)
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


def mapped(data: Path) -> int:
    """``load_graph`` in two fresh processes, one after the other: the first writes the
    arrays files, the second maps them."""
    from graphready.config import load_settings
    from graphready.retrieval.loading import VIEW_FILE, graph_file

    path = graph_file(load_settings({"GRAPHREADY_DATA_DIR": str(data)}))
    for old in (path, path.with_name(VIEW_FILE)):
        old.unlink(missing_ok=True)
    print("load_graph as the server calls it (MiB):")
    for label in ("first process (writes the files)", "later process (maps them)"):
        found = subprocess.run([sys.executable, __file__, "--data-dir", str(data), "--one-load"],
                               check=True, capture_output=True, text=True).stdout.split()
        print(f"  {label:34s} RSS +{float(found[0]):.1f}, USS +{float(found[1]):.1f}, "
              f"peak RSS +{float(found[2]):.1f}")
    sizes = {p.name: p.stat().st_size / 2**20 for p in (path, path.with_name(VIEW_FILE))}
    print("  files: " + ", ".join(f"{name} {mib:.1f} MiB" for name, mib in sizes.items()))
    return 0


def one_load(data: Path) -> int:
    """Print the RSS and USS that ``load_graph`` adds, and its peak RSS above the start."""
    from graphready.config import load_settings
    from graphready.retrieval.loading import graph_file, load_graph
    from graphready.stores.registry import open_stores

    settings = load_settings({"GRAPHREADY_DATA_DIR": str(data)})
    stores = open_stores(settings)
    me = psutil.Process()
    start_rss, start_uss = rss_mib(), me.memory_full_info().uss / 2**20
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], me.memory_info().rss / 2**20)

    sampler = threading.Thread(target=sample)
    sampler.start()
    tools = load_graph(stores, graph_file(settings))
    done.set()
    sampler.join()
    rss = rss_mib()
    print(rss - start_rss, me.memory_full_info().uss / 2**20 - start_uss, peak[0] - start_rss)
    del tools
    stores.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
